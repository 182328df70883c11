"""Tiny harness for keepout's CLI tests: run the real binary, collect named test functions,
print 'N passed, M failed' and exit non-zero on any failure."""
import json
import os
import subprocess
import sys
import tempfile
import traceback

KEEPOUT = os.environ.get("KEEPOUT_BIN", "keepout")
SRC = os.environ.get("KEEPOUT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(SRC, "data")
FIXTURES = os.path.join(SRC, "tests", "data")  # test extracts (tests/data/README.md)


def run(*args, stdin=None, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([KEEPOUT, *args], input=stdin, capture_output=True, env=e, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def geojson(*args, **kw):
    code, out, err = run(*args, "--format", "geojson", **kw)
    return code, json.loads(out), err


def polygon_store(tmp, sites, category="substation"):
    """A store of polygon sites imported by keepout itself with no buffer, so the stored
    geometry is exactly the test's: sites is a list of (name, ring), ring [[lon, lat], ...]
    closed. Returns the store's path."""
    src = write(tmp, "site.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for name, ring in sites]}))
    db = os.path.join(tmp, "site.sqlite")
    if os.path.exists(db):
        os.remove(db)
    code, _, err = run("sites", "import", "-q", "--db", db, "--category", category,
                       "--buffer", "0", src)
    assert code == 0, err
    return db


def write(tmp, name, content, mode="w"):
    path = os.path.join(tmp, name)
    with open(path, mode) as f:
        f.write(content)
    return path


def main(tests):
    passed = failed = 0
    for t in tests:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                t(tmp)
                passed += 1
                print(f"ok   {t.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}")
                traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def tool(*args, env=None):
    """Runs a real external tool (gdal_translate, ogrinfo, ...) with env added to ours:
    (exit status, stdout, stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(list(args), capture_output=True, text=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def gdal():
    """Debian's osgeo.gdal with exceptions on, imported only by the tests that use it."""
    from osgeo import gdal as g
    g.UseExceptions()
    return g

