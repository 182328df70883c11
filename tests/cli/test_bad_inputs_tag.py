"""Issue 17's bad-input matrix for `keepout tag`: sidecars that must not be written where they
would do harm, and catalogues that must stay whole. Each case asserts the outcome is not clear
(exit status non-zero, or the file left out of the catalogue) and that nothing was harmed."""
import os
import shutil
import signal
import sqlite3
import subprocess
import tarfile
import time
import zipfile

from kotest import DATA, KEEPOUT, main, run, write

IMAGES = os.path.join(DATA, "images")
CLEAR = "DJI_0018.JPG"  # clear against the sample store
USER_XMP = ('<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
            'xmp:Rating="5"/></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>\n')


def photos(tmp, names=(CLEAR,), sub="photos"):
    d = os.path.join(tmp, sub)
    os.makedirs(d, exist_ok=True)
    for n in names:
        shutil.copy(os.path.join(IMAGES, n), d)
    return d


def tag(*args, timeout=120, cwd=None, preexec_fn=None):
    p = subprocess.run([KEEPOUT, "tag", "--focal35", "24", *args], capture_output=True,
                       timeout=timeout, cwd=cwd, preexec_fn=preexec_fn)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def catalogued(cat):
    if not os.path.exists(cat):
        return {}
    con = sqlite3.connect(cat)
    r = dict(con.execute("SELECT path, verdict FROM files"))
    con.close()
    return r


def files_under(top):
    return sorted(os.path.relpath(os.path.join(d, f), top)
                  for d, _, fs in os.walk(top) for f in fs)


def test_bad_sidecar_symlink_is_not_followed(tmp):
    d = photos(tmp)
    victim = write(tmp, "victim.txt", "precious\n")
    link = os.path.join(d, CLEAR + ".xmp")
    os.symlink(victim, link)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--sidecar", "--catalog", cat, d)
    assert open(victim).read() == "precious\n"
    assert os.path.islink(link) and os.readlink(link) == victim
    assert code != 0 and "symbolic link" in err, (code, err)
    assert catalogued(cat) == {}  # the row waits for its sidecar


def test_bad_sidecar_users_own_xmp_survives(tmp):
    d = photos(tmp)
    mine = write(d, CLEAR + ".xmp", USER_XMP)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--sidecar", "--catalog", cat, d)
    assert open(mine).read() == USER_XMP
    assert code != 0 and "not written by keepout" in err, (code, err)
    assert catalogued(cat) == {}


def test_bad_sidecar_user_xmp_with_keepout_properties_merged_survives(tmp):
    """A user's XMP into which a tool merged keepout's properties is still the user's."""
    d = photos(tmp)
    merged = USER_XMP.replace(
        'xmp:Rating="5"', 'xmp:Rating="5" xmlns:keepout="urn:keepout:xmp:1.0/" '
        'keepout:Verdict="clear" keepout:Version="0.1"')
    mine = write(d, CLEAR + ".xmp", merged)
    code, err = tag("--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), d)
    assert open(mine).read() == merged
    assert code != 0, err


def test_bad_sidecar_hard_link_to_a_user_file_survives(tmp):
    d = photos(tmp)
    other = write(tmp, "notes.txt", "my notes\n")
    os.link(other, os.path.join(d, CLEAR + ".xmp"))
    code, err = tag("--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), d)
    assert open(other).read() == "my notes\n"
    assert code != 0, err


def test_bad_sidecar_fifo_does_not_hang(tmp):
    d = photos(tmp)
    fifo = os.path.join(d, CLEAR + ".xmp")
    os.mkfifo(fifo)
    code, err = tag("--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), d, timeout=60)
    assert code != 0 and "not a regular file" in err, (code, err)
    assert not os.path.isfile(fifo)


def test_bad_sidecar_directory_in_the_way_leaves_the_file_out(tmp):
    d = photos(tmp)
    os.mkdir(os.path.join(d, CLEAR + ".xmp"))
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--sidecar", "--catalog", cat, d)
    assert code != 0, err
    assert catalogued(cat) == {}, catalogued(cat)


def test_bad_sidecar_that_cannot_be_placed_leaves_the_row_uncommitted(tmp):
    """The sidecar's mirror directory cannot be made (a file holds its name): the file's row
    is not committed, so the next run tries again rather than skipping it as done."""
    d = photos(tmp, names=(CLEAR, "DJI_0021.JPG"))
    side = os.path.join(tmp, "side")
    os.makedirs(side)
    first = os.path.abspath(d).lstrip("/").split("/")[0]
    write(side, first, "a file where a directory would go")
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--sidecar-dir", side, "--catalog", cat, d)
    assert code != 0, err
    assert catalogued(cat) == {}, catalogued(cat)


def test_bad_sidecar_never_written_into_a_zip(tmp):
    z = os.path.join(tmp, "photos.zip")
    with zipfile.ZipFile(z, "w") as f:  # two files: a zip of one is that file itself
        for n in (CLEAR, "DJI_0021.JPG"):
            f.write(os.path.join(IMAGES, n), f"flight/{n}")
    before = open(z, "rb").read()
    code, err = tag("--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), f"/vsizip/{z}")
    assert open(z, "rb").read() == before
    assert code == 2 and "--sidecar-dir" in err, (code, err)
    side = os.path.join(tmp, "side")  # under --sidecar-dir they are written, outside the zip
    code, err = tag("--sidecar-dir", side, "--catalog", os.path.join(tmp, "d.gpkg"),
                    f"/vsizip/{z}")
    assert code == 1 and "not catalogued" not in err, err  # DJI_0021 is flagged
    assert open(z, "rb").read() == before
    assert [p for p in files_under(side) if p.endswith(CLEAR + ".xmp")], files_under(side)


def test_bad_sidecar_never_written_into_a_tar(tmp):
    t = os.path.join(tmp, "photos.tar")
    with tarfile.open(t, "w") as f:
        for n in (CLEAR, "DJI_0021.JPG"):
            f.add(os.path.join(IMAGES, n), f"flight/{n}")
    before = open(t, "rb").read()
    code, err = tag("--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), f"/vsitar/{t}")
    assert open(t, "rb").read() == before
    assert code == 2, (code, err)
    assert not [f for f in os.listdir(tmp) if f.endswith(".xmp")], os.listdir(tmp)


def test_bad_sidecar_dir_dotdot_does_not_escape(tmp):
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    photos(tmp)
    code, err = tag("--sidecar-dir", "side", "--catalog", "c.gpkg", "../photos", cwd=work)
    assert code == 0, err
    assert sorted(os.listdir(work)) == ["c.gpkg", "side"], os.listdir(work)
    assert sorted(os.listdir(os.path.join(tmp, "photos"))) == [CLEAR]
    inside = files_under(os.path.join(work, "side"))
    assert len(inside) == 1 and inside[0].endswith("photos/" + CLEAR + ".xmp"), inside


def test_bad_sidecar_dir_symlink_component_is_not_followed(tmp):
    d = photos(tmp)
    side = os.path.join(tmp, "side")
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(side)
    os.makedirs(elsewhere)
    first = os.path.abspath(d).lstrip("/").split("/")[0]
    os.symlink(elsewhere, os.path.join(side, first))
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--sidecar-dir", side, "--catalog", cat, d)
    assert os.listdir(elsewhere) == [], files_under(elsewhere)
    assert code != 0 and "symbolic link" in err, (code, err)
    assert catalogued(cat) == {}


def test_bad_sidecar_on_a_full_disk_is_never_empty(tmp):
    """Sidecars on a filesystem with no room: no 0-byte (or partial) sidecar is left, and the
    file's row is not committed. Needs a small tmpfs (root, as in CI)."""
    d = photos(tmp, names=(CLEAR, "DJI_0021.JPG", "DJI_0023.JPG"))
    side = os.path.join(tmp, "side")
    os.makedirs(side)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", side],
                      capture_output=True).returncode != 0:
        print("     (skipped: cannot mount a tmpfs here)")
        return
    try:
        # the mirror directories first, then fill what is left
        mirror = os.path.join(side, os.path.abspath(d).lstrip("/"))
        os.makedirs(mirror)
        fd = os.open(os.path.join(side, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass
        os.close(fd)
        cat = os.path.join(tmp, "c.gpkg")
        code, err = tag("--sidecar-dir", side, "--catalog", cat, d)
        assert code != 0, err
        left = [p for p in files_under(side) if p != "filler"]
        for p in left:
            text = open(os.path.join(side, p)).read()
            assert text.endswith('<?xpacket end="w"?>\n'), (p, len(text))
        done = {os.path.basename(p) for p in catalogued(cat)}
        assert done == {p[:-4].rsplit("/", 1)[-1] for p in left}, (done, left)
    finally:
        subprocess.run(["umount", side])


def test_bad_sidecar_on_a_full_disk_is_never_empty_everywhere(tmp):
    """The full-disk case above without a tmpfs (which needs root and a mount): a file size
    limit (RLIMIT_FSIZE, 200 bytes, in the child) cuts every sidecar's write short, as a full
    disk does. No partial or empty sidecar is left, no row is committed (the catalogue, made
    before, is unchanged), the run is not clear; the next run without the limit does them all."""
    d = photos(tmp, names=(CLEAR, "DJI_0021.JPG", "DJI_0023.JPG"))
    first = photos(tmp, sub="first")
    side = os.path.join(tmp, "side")
    os.makedirs(side)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--catalog", cat, first)
    assert code == 0, err
    before = catalogued(cat)
    code, err = tag("--sidecar-dir", side, "--catalog", cat, d, preexec_fn=limited(200))
    assert code == 1 and "not catalogued" in err, (code, err)
    assert files_under(side) == [], files_under(side)
    assert catalogued(cat) == before
    code, err = tag("--sidecar-dir", side, "--catalog", cat, d)
    assert code == 1, err  # DJI_0021 and DJI_0023 see the demo site
    left = files_under(side)
    assert len(left) == 3, left
    for p in left:
        assert open(os.path.join(side, p)).read().endswith('<?xpacket end="w"?>\n'), p
    assert len(catalogued(cat)) == 4


def limited(limit):
    import resource

    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def big_archive(tmp, copies=400):
    root = os.path.join(tmp, "archive")
    for sub in ("a", "b"):
        os.makedirs(os.path.join(root, sub))
        for n in (CLEAR, "DJI_0021.JPG", "DJI_0023.JPG"):
            first = os.path.join(root, sub, n)
            shutil.copy(os.path.join(IMAGES, n), first)
            for k in range(1, copies):
                os.link(first, os.path.join(root, sub, f"c{k:04d}_{n}"))
    return root


def in_step(cat):
    con = sqlite3.connect(cat)
    rows = con.execute("SELECT count(*) FROM footprints WHERE geom IS NOT NULL").fetchone()[0]
    rtree = con.execute("SELECT count(*) FROM rtree_footprints_geom").fetchone()[0]
    counts = {t: (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0],
                  con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?",
                              (t,)).fetchone()[0]) for t in ("footprints", "hits", "files")}
    con.close()
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-spat", "-180", "-90", "180", "90", cat,
                          "footprints"], capture_output=True, text=True).stdout
    seen = int(out.split("Feature Count:")[1].split()[0])
    assert rtree == rows == seen, (rows, rtree, seen)
    for t, (n, kept) in counts.items():
        assert kept in (None, n), (t, n, kept)
    return rows


def test_bad_catalog_disk_full_leaves_no_index_of_uncommitted_rows(tmp):
    root = big_archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("-q", "--catalog", cat, root, preexec_fn=limited(1_500_000))
    assert code == 2, (code, err)
    in_step(cat)


def test_bad_catalog_resume_after_disk_full_indexes_every_footprint(tmp):
    root = big_archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("-q", "--catalog", cat, root, preexec_fn=limited(1_500_000))
    assert code == 2, (code, err)
    code, err = tag("-q", "--catalog", cat, root)
    assert code == 1 and "ERROR" not in err, (code, err)
    assert in_step(cat) == 2400


def test_bad_catalog_is_not_world_readable(tmp):
    d = photos(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    old = os.umask(0o022)
    try:
        code, err = tag("--catalog", cat, d)
    finally:
        os.umask(old)
    assert code == 0, err
    assert os.stat(cat).st_mode & 0o077 == 0, oct(os.stat(cat).st_mode)



# --- --unknown-is: only images that were read and checked may count as clear -----------------

def no_xmp(src, dst):
    """A copy of a DJI photo without its XMP packet (height, attitude): keepout reads it and
    finds it unknown, a checked unknown."""
    data = open(src, "rb").read()
    out, i = bytearray(data[:2]), 2
    while data[i] == 0xFF and data[i + 1] not in (0xDA, 0xD9):
        n = int.from_bytes(data[i + 2:i + 4], "big")
        if not (data[i + 1] == 0xE1 and data[i + 4:i + 33].startswith(b"http://ns.adobe.com/xap")):
            out += data[i:i + 2 + n]
        i += 2 + n
    open(dst, "wb").write(out + data[i:])


def test_tag_unknown_is_clear_releases_a_checked_unknown(tmp):
    """Control (not a bad input): a photo keepout read but could not place is the caller's to
    count as clear; without --unknown-is it is not clear."""
    d = photos(tmp)
    no_xmp(os.path.join(IMAGES, CLEAR), os.path.join(d, "stripped.jpg"))
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--catalog", cat, d)
    assert code == 1, (code, err)
    assert catalogued(cat)[os.path.join(d, "stripped.jpg")] == "unknown"
    code, err = tag("--unknown-is", "clear", "--catalog", cat, d)
    assert code == 0, (code, err)
    code, err = tag("--unknown-is", "flagged", "--catalog", cat, d)
    assert code == 1, (code, err)


def test_bad_tag_unknown_is_clear_text_named_jpg(tmp):
    d = photos(tmp)
    write(d, "notes.jpg", "not a photo\n")
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--unknown-is", "clear", "--catalog", cat, d)
    assert code == 1, (code, err)
    assert catalogued(cat)[os.path.join(d, "notes.jpg")] == "unknown"
    # the next run skips the file as done: the catalogue still knows it was never checked
    code, err = tag("--unknown-is", "clear", "--catalog", cat, d)
    assert code == 1, (code, err)


def test_bad_tag_unknown_is_clear_truncated_and_png(tmp):
    d = photos(tmp)
    data = open(os.path.join(IMAGES, CLEAR), "rb").read()
    write(d, "cut.jpg", data[:70000], mode="wb")
    write(d, "scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, mode="wb")
    code, err = tag("--unknown-is", "clear", "--catalog", os.path.join(tmp, "c.gpkg"), d)
    assert code == 1, (code, err)


def test_bad_tag_unknown_is_clear_sidecar_not_placed(tmp):
    """A file left out of the catalogue (its sidecar could not be written) was not tagged."""
    d = photos(tmp)
    write(d, CLEAR + ".xmp", USER_XMP)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--unknown-is", "clear", "--sidecar", "--catalog", cat, d)
    assert code == 1 and "not written by keepout" in err, (code, err)
    assert catalogued(cat) == {}


def test_bad_tag_unknown_is_clear_recheck(tmp):
    d = photos(tmp)
    write(d, "notes.jpg", "not a photo\n")
    cat = os.path.join(tmp, "c.gpkg")
    tag("--catalog", cat, d)
    code, err = tag("--unknown-is", "clear", "--recheck", "--catalog", cat)
    assert code == 1, (code, err)


def test_bad_tag_unknown_is_value(tmp):
    code, err = tag("--unknown-is", "maybe", "--catalog", os.path.join(tmp, "c.gpkg"),
                    photos(tmp))
    assert code == 2 and "--unknown-is" in err, (code, err)



# --- --recheck is one transaction: all of it or nothing ---------------------------------------

def snapshot(cat):
    con = sqlite3.connect(cat)
    r = (con.execute("SELECT fid, path, shot_id, verdict, reason, hit_count, checked_at, "
                     "store_version FROM footprints ORDER BY fid").fetchall(),
         con.execute("SELECT path, shot_id, site_id FROM hits ORDER BY 1, 2, 3").fetchall(),
         con.execute("SELECT path, verdict, store_version FROM files ORDER BY 1").fetchall())
    con.close()
    return r


def test_bad_recheck_failing_write_commits_nothing(tmp):
    """A row that cannot be rewritten half-way through --recheck (a trigger refuses it, as a
    full disk or an I/O error would): nothing of the recheck is committed, the run exits 2
    naming the catalogue. It used to commit the rows before it, with every hit deleted."""
    d = photos(tmp, names=(CLEAR, "DJI_0021.JPG", "DJI_0023.JPG"))
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("--catalog", cat, d)
    assert code == 1, err
    con = sqlite3.connect(cat)
    last = con.execute("SELECT max(fid) FROM footprints").fetchone()[0]
    con.execute(f"CREATE TRIGGER ko_test_refuse BEFORE UPDATE ON footprints WHEN NEW.fid = {last} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    con.commit()
    con.close()
    before = snapshot(cat)
    assert len(before[1]) == 2, before  # the demo site in view of DJI_0021 and DJI_0023
    code, err = tag("--recheck", "--catalog", cat)
    assert code == 2 and cat in err, (code, err)
    assert snapshot(cat) == before



def test_bad_recheck_failing_write_keeps_whole_batches(tmp):
    """--recheck commits 1,000 rows at a time (issue 19: bounded memory): a row it cannot
    rewrite in the second batch fails the run (exit 2, naming the catalogue and how far it
    got); the first batch stays committed whole, the second is rolled back whole, and every
    file's verdict is the worst of its rows either way."""
    root = big_archive(tmp, copies=200)  # 1,200 photos, one shot each
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("-q", "--catalog", cat, root)
    assert code == 1, err
    time.sleep(1.1)  # checked_at tells rechecked rows from the others
    # what a recheck must change: every row's reason (as if its verdict had come from an
    # older store); the first batch's rows get theirs back. (Through GDAL: the GeoPackage's
    # R-tree triggers call its SQL functions.)
    from osgeo import ogr
    ds = ogr.Open(cat, 1)
    ds.ExecuteSQL("UPDATE footprints SET reason = 'stale'")
    ds = None
    con = sqlite3.connect(cat)
    con.execute("CREATE TRIGGER ko_test_refuse BEFORE UPDATE ON footprints WHEN NEW.fid = 1100 "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    con.commit()
    before = snapshot(cat)
    code, err = tag("--recheck", "--catalog", cat)
    assert code == 2 and cat in err and "after 1000 rows" in err and "refused by the test" in err, \
        (code, err)
    con = sqlite3.connect(cat)
    fp = con.execute("SELECT fid, reason, checked_at, verdict FROM footprints ORDER BY fid").fetchall()
    assert len(fp) == 1200
    old = {r[0]: r for r in before[0]}
    for fid, reason, checked_at, verdict in fp:
        if fid <= 1000:
            assert reason != "stale" and checked_at > old[fid][6], (fid, reason, checked_at)
        else:
            assert (reason, checked_at) == ("stale", old[fid][6]), (fid, reason, checked_at)
        assert verdict == old[fid][3]  # the same store: the same verdicts
    # hits: one per flagged row, whichever batch it is in
    flagged = {r[:2] for r in con.execute("SELECT path, shot_id FROM footprints WHERE "
                                          "verdict = 'flagged'")}
    assert {r[:2] for r in snapshot(cat)[1]} == flagged and len(snapshot(cat)[1]) == len(flagged)
    worst = dict(con.execute("SELECT path, verdict FROM footprints"))  # one shot per file
    assert dict((p, v) for p, v, _ in snapshot(cat)[2]) == worst
    con.close()
    in_step(cat)


def test_bad_recheck_on_a_full_disk_commits_nothing(tmp):
    """--recheck whose journal cannot grow (RLIMIT_FSIZE at a third of the catalogue): exit 2
    naming the catalogue, which is left exactly as it was."""
    root = big_archive(tmp, copies=150)
    cat = os.path.join(tmp, "c.gpkg")
    code, err = tag("-q", "--catalog", cat, root)
    assert code == 1, err
    before = snapshot(cat)
    code, err = tag("--recheck", "--catalog", cat,
                    preexec_fn=limited(os.path.getsize(cat) // 3))
    assert code == 2 and cat in err and "nothing of it was committed" in err, (code, err)
    assert snapshot(cat) == before
    in_step(cat)



# --- sidecars are durable before their rows are committed -----------------------------------

def syscalls(tmp, *args):
    """The file system calls of `keepout tag` (one job) as strace saw them, in order; None if
    strace cannot run here."""
    import shutil as sh
    if not sh.which("strace"):
        return None
    log = os.path.join(tmp, "strace.log")
    p = subprocess.run(["strace", "-f", "-qq", "-o", log, "-e",
                        "trace=openat,fsync,fdatasync,rename,renameat,renameat2,linkat,close",
                        KEEPOUT, "tag", "--jobs", "1", *args], capture_output=True, timeout=120)
    if not os.path.exists(log) or b"ptrace" in p.stderr:
        return None
    calls, pending = [], {}
    for line in open(log).read().splitlines():
        first, _, rest = line.strip().partition(" ")
        pid, call = (first, rest.strip()) if first.isdigit() else ("", line.strip())
        if call.endswith("<unfinished ...>"):  # another thread ran meanwhile: join the halves
            pending[pid] = call[:-len("<unfinished ...>")]
        elif call.startswith("<... ") and pid in pending:
            calls.append(pending.pop(pid) + call.split("resumed>", 1)[-1])
        else:
            calls.append(call)
    return calls


def test_bad_sidecar_synced_before_its_row_is_committed(tmp):
    """Each sidecar's temporary file is fsync'ed before it is renamed into place, and its
    directory after the rename and before the catalogue commits the file's row: a power cut
    cannot leave a committed row whose sidecar is empty or missing."""
    import re
    d = photos(tmp, names=(CLEAR, "DJI_0021.JPG"))
    cat = os.path.join(tmp, "c.gpkg")
    calls = syscalls(tmp, "--sidecar", "--catalog", cat, d)
    if calls is None:
        print("skip: strace cannot trace here")
        return
    assert sorted(f for f in os.listdir(d) if f.endswith(".xmp")) == [
        CLEAR + ".xmp", "DJI_0021.JPG.xmp"]
    fd_of = {}
    opened = []  # (index, fd, path)
    synced = []  # (index, fd)
    renames = []  # (index, dirfd, tmp name)
    commit_sync = None  # first sync of the catalogue or its journal after the sidecars
    cat_fds = set()
    for i, c in enumerate(calls):
        m = re.match(r'openat\((\w+|-?\d+), "([^"]+)".*\)\s*=\s*(\d+)', c)
        if m:
            fd_of[m.group(3)] = m.group(2)
            opened.append((i, m.group(3), m.group(2)))
            if os.path.basename(m.group(2)).startswith("c.gpkg"):
                cat_fds.add(m.group(3))
            continue
        m = re.match(r'close\((\d+)', c)
        if m:  # its number may name another file next
            cat_fds.discard(m.group(1))
            continue
        m = re.match(r'(fsync|fdatasync)\((\d+)', c)
        if m:
            synced.append((i, m.group(2)))
            if m.group(2) in cat_fds and renames and commit_sync is None:
                commit_sync = i
            continue
        m = re.match(r'renameat2?\((\d+), "([^"]+keepout-tmp)"', c)
        if m:
            renames.append((i, m.group(1), m.group(2)))
    assert len(renames) == 2, calls
    assert commit_sync is not None, "the catalogue was never synced"
    for at, dirfd, tmpname in renames:
        o, tmp_fd = [(j, fd) for j, fd, name in opened if name.endswith(tmpname)][-1]
        assert any(fd == tmp_fd and o < j < at for j, fd in synced), (tmpname, "not fsync'ed")
        assert any(fd == dirfd and at < j < commit_sync for j, fd in synced), (
            tmpname, "directory not fsync'ed before the commit")


def test_bad_shard_spec_is_a_usage_error(tmp):
    """A shard spelled another way (trailing text, overflow, K outside 1..N) would tag another
    share of the files than the user meant: a usage error that writes nothing."""
    photos = os.path.join(DATA, "images")
    for spec in ("1/4x", "1/4/8", "0/4", "5/4", "1/0", "-1/4", "1/-4", "", "/4", "1/",
                 "1/99999999999999999999", "99999999999999999999/4"):
        cat = os.path.join(tmp, "c.gpkg")
        code, _, err = run("tag", "-q", "--shard", spec, "--catalog", cat, photos)
        assert code == 2 and "--shard" in err, (spec, code, err)
        assert not os.path.exists(cat), spec
    code, _, err = run("tag", "-q", "--focal35", "24", "--shard", "4/4", "--catalog",
                       os.path.join(tmp, "ok.gpkg"), photos)
    assert code in (0, 1), err


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
