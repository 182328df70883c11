"""An installed keepout, as users and third parties meet it (issue 20): `cmake --install` of this
build into a staging directory (DESTDIR, prefix /usr/local), then
 - the GDAL plugin lands in the directory the system's GDAL itself scans for plugins when no
   GDAL_DRIVER_PATH is set (read off `gdalinfo --formats` under strace, not off keepout's
   build), and GDAL loads it from there;
 - the installed `keepout` uses the installed sample store (share/keepout/sites.sqlite beside
   it), never the build tree's, also after the tree is moved;
 - man pages for keepout and each of its commands are installed and render;
 - a program builds against the installed tree with CMake (find_package(keepout)) and with
   pkg-config, links the shared libkeepout.so.SOVERSION from it, and runs.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ["KEEPOUT_BUILD_DIR"]
SRC = os.environ["KEEPOUT_SOURCE_DIR"]
CMAKE = os.environ.get("CMAKE", "cmake")
VERSION = os.environ["KEEPOUT_VERSION"]
PLUGIN_DIR = os.environ["KEEPOUT_GDAL_PLUGIN_DIR"]
PREFIX = "/usr/local"
PHOTO = os.path.join(SRC, "data", "images", "DJI_0021.JPG")


def sh(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("GDAL_DRIVER_PATH", None)
    e.pop("KEEPOUT_SITES", None)
    e.update(env or {})
    r = subprocess.run(args, capture_output=True, text=True, env=e, cwd=cwd, timeout=600)
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    return r


def gdal_plugin_dirs():
    """The directories GDAL's own gdalinfo scans for plugins with no environment set."""
    r = subprocess.run(["strace", "-f", "-e", "trace=openat", "gdalinfo", "--formats"],
                       capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "GDAL_DRIVER_PATH"})
    return set(re.findall(r'openat\([^"]*"([^"]*gdalplugins[^"]*)".*O_DIRECTORY', r.stderr))


def soversion():
    major, minor, _ = VERSION.split(".")
    return f"0.{minor}" if major == "0" else major


def opened_stores(cmd, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("KEEPOUT_SITES", "GDAL_DRIVER_PATH")}
    e.update(env or {})
    r = subprocess.run(["strace", "-f", "-e", "trace=openat", *cmd], capture_output=True,
                       text=True, env=e)
    return r, set(re.findall(r'openat\([^"]*"([^"]*\.sqlite)"', r.stderr))


def test_install(stage):
    sh(CMAKE, "--install", BUILD, "--prefix", PREFIX, env={"DESTDIR": stage})
    root = stage + PREFIX

    # the plugin: where GDAL looks without being told
    scanned = gdal_plugin_dirs()
    assert scanned, "strace saw gdalinfo open no plugin directory"
    assert PLUGIN_DIR in scanned, (PLUGIN_DIR, scanned)
    plugin = stage + PLUGIN_DIR + "/gdal_KEEPOUT.so"
    assert os.path.isfile(plugin), plugin
    r = sh("gdalinfo", "--formats", env={"GDAL_DRIVER_PATH": stage + PLUGIN_DIR})
    assert re.search(r"^\s*KEEPOUT -raster,vector-", r.stdout, re.M), r.stdout[-500:]

    # the CLI and its store
    exe = os.path.join(root, "bin", "keepout")
    store = os.path.join(root, "share", "keepout", "sites.sqlite")
    assert os.path.isfile(store)
    assert os.path.isfile(PHOTO), PHOTO
    r, stores = opened_stores([exe, "check", "--format", "jsonl", PHOTO])
    assert r.returncode in (0, 1) and '"verdict":"flagged"' in r.stdout.replace(" ", ""), (
        r.stdout[-500:], r.stderr[-1000:])  # DJI_0021 shows a site of the sample store
    assert stores == {store}, stores
    # the same tree moved elsewhere still finds its own store, and never the build tree's
    moved = os.path.join(stage, "moved")
    shutil.copytree(root, moved, symlinks=True)
    r, stores = opened_stores([os.path.join(moved, "bin", "keepout"), "check", PHOTO])
    assert r.returncode in (0, 1), r.stderr[-1000:]
    assert stores == {os.path.join(moved, "share", "keepout", "sites.sqlite")}, stores
    os.unlink(os.path.join(moved, "share", "keepout", "sites.sqlite"))
    r, stores = opened_stores([os.path.join(moved, "bin", "keepout"), "check", PHOTO])
    assert r.returncode == 2 and not any(s.startswith(BUILD) for s in stores), (stores, r.stderr)

    # man pages: keepout(1) and one per command the program lists, each rendering without a
    # warning and naming every option its command's --help names
    man = os.path.join(root, "share", "man", "man1")
    top = sh(exe, "--help").stdout
    cmds = re.findall(r"^  ([a-z]+)  ", top.split("commands:")[1], re.M)
    assert "check" in cmds and "tag" in cmds, top
    for page, help_args in [("keepout", ["--help"])] + [(f"keepout-{c}", [c, "--help"])
                                                       for c in cmds]:
        path = os.path.join(man, page + ".1")
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", path], capture_output=True,
                           text=True)
        assert r.returncode == 0 and not r.stderr, (page, r.stderr)
        text = re.sub(r".\x08", "", r.stdout)
        for opt in set(re.findall(r"--[a-z][a-z0-9-]*", sh(exe, *help_args).stdout)):
            assert opt in text, (page, opt)

    # the shared library
    lib = os.path.join(root, "lib", f"libkeepout.so.{soversion()}")
    assert os.path.islink(lib) or os.path.isfile(lib), os.listdir(os.path.join(root, "lib"))
    lib_env = {"LD_LIBRARY_PATH": os.path.join(root, "lib")}

    # a consumer with CMake
    cbuild = os.path.join(stage, "consumer-cmake")
    sh(CMAKE, "-S", os.path.join(SRC, "tests", "install", "consumer"), "-B", cbuild,
       f"-DCMAKE_PREFIX_PATH={root}")
    sh(CMAKE, "--build", cbuild)
    check_consumer(os.path.join(cbuild, "consumer"), lib, store, lib_env)

    # a consumer with pkg-config
    pc_env = {"PKG_CONFIG_PATH": os.path.join(root, "lib", "pkgconfig")}
    flags = sh("pkg-config", "--define-prefix", "--cflags", "--libs", "keepout",
               env=pc_env).stdout.split()
    exe = os.path.join(stage, "consumer-pc")
    sh("cc", "-std=c99", "-Wall", "-Werror", "-o", exe,
       os.path.join(SRC, "tests", "install", "consumer", "consumer.c"), *flags)
    check_consumer(exe, lib, store, lib_env)


def check_consumer(exe, lib, store, env):
    ldd = sh("ldd", exe, env=env).stdout
    m = re.search(r"libkeepout\.so\S* => (\S+)", ldd)
    assert m and os.path.realpath(m.group(1)) == os.path.realpath(lib), ldd
    out = sh(exe, env=env).stdout.split()
    # the library finds the installed store relative to itself (lib/../share/keepout)
    assert out[0] == VERSION and os.path.realpath(out[1]) == store and int(out[2]) > 0, out


if __name__ == "__main__":
    d = tempfile.mkdtemp()
    try:
        test_install(d)
        print("install: ok")
    finally:
        shutil.rmtree(d, ignore_errors=True)
