"""Bad inputs at the gate (issue 17): a site store that cannot prove itself is an error at open
(exit 2, a message naming the store and what to do) in check, route, tag and sites query; never
a run that answers `clear` from a damaged or empty store. And the exit status follows the one
release policy: --unknown-is applies only to images that were checked."""
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap

from kotest import DATA, main, run, write

IMAGES = os.path.join(DATA, "images")
FLAGGED = os.path.join(IMAGES, "DJI_0021.JPG")  # beside the made-up DEMO substation
PLAN = os.path.join(DATA, "routes", "qgc_plan", "qgroundcontrol_sample.plan")


def store(tmp, name="s.sqlite"):
    """A store holding the DEMO substation (and nothing else), built by keepout itself."""
    db = os.path.join(tmp, name)
    code, _, err = run("sites", "import", "--db", db,
                       os.path.join(DATA, "sites", "brighton_beach_demo.geojson"))
    assert code == 0, err
    return db


def sql(db, *statements):
    con = sqlite3.connect(db, isolation_level=None)
    for s in statements:
        con.execute(s)
    con.close()


def damaged_index(tmp):
    """The spatial index lost the DEMO site's row; the sites table still holds it. (Without
    the index file every import writes, which would answer instead of the R-tree, as a store
    made by another tool has none: test_sites_index covers the store with one.)"""
    db = store(tmp)
    sql(db, "DELETE FROM idx_sites_geom_buffered WHERE pkid IN "
            "(SELECT id FROM sites WHERE name LIKE 'DEMO%')")
    os.remove(db + ".koidx")
    return db


def empty_store(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM sites")
    return db


def assert_store_error(code, err, db, *words):
    assert code == 2, (code, err)
    assert db in err, err
    for w in words:
        assert w in err, (w, err)


# --- a spatial index that lost rows -------------------------------------------------------

def test_bad_check_store_index_lost_rows(tmp):
    db = damaged_index(tmp)
    code, out, err = run("check", "--db", db, "--format", "csv", FLAGGED)
    assert_store_error(code, err, db, "index", "rebuild")
    assert ",clear," not in out, out


def test_bad_route_store_index_lost_rows(tmp):
    db = damaged_index(tmp)
    code, out, err = run("route", "--db", db, "--format", "jsonl", PLAN)
    assert_store_error(code, err, db, "index")


def test_bad_tag_store_index_lost_rows(tmp):
    db = damaged_index(tmp)
    code, out, err = run("tag", "--db", db, "--catalog", os.path.join(tmp, "c.gpkg"), FLAGGED)
    assert_store_error(code, err, db, "index")


def test_bad_sites_query_store_index_lost_rows(tmp):
    db = damaged_index(tmp)
    code, out, err = run("sites", "query", "--db", db, "--ring",
                         "-91.995 46.842,-91.993 46.842,-91.993 46.844,-91.995 46.844,"
                         "-91.995 46.842", "--camera", "-91.994,46.843")
    assert code == 2, (code, out, err)


# --- a store with no sites ----------------------------------------------------------------

def test_bad_check_store_without_sites(tmp):
    db = empty_store(tmp)
    code, out, err = run("check", "--db", db, "--format", "csv", FLAGGED)
    assert_store_error(code, err, db, "no sites")
    assert ",clear," not in out, out


def test_bad_route_store_without_sites(tmp):
    db = empty_store(tmp)
    code, out, err = run("route", "--db", db, "--format", "jsonl", PLAN)
    assert_store_error(code, err, db, "no sites")


def test_bad_tag_store_without_sites(tmp):
    db = empty_store(tmp)
    code, out, err = run("tag", "--db", db, "--catalog", os.path.join(tmp, "c.gpkg"), FLAGGED)
    assert_store_error(code, err, db, "no sites")
    assert not os.path.exists(os.path.join(tmp, "c.gpkg"))


def test_bad_sites_query_store_without_sites(tmp):
    db = empty_store(tmp)
    code, out, err = run("sites", "query", "--db", db, "--ring",
                         "-91.995 46.842,-91.993 46.842,-91.993 46.844,-91.995 46.844,"
                         "-91.995 46.842", "--camera", "-91.994,46.843")
    assert code == 2, (code, out, err)


def test_empty_store_still_has_info(tmp):
    """Not a bad input: `sites info/list` show an empty store (0 sites) instead of refusing."""
    db = empty_store(tmp)
    code, out, err = run("sites", "info", "--db", db)
    assert code == 0 and "sites:          0" in out, (code, out, err)
    code, out, err = run("sites", "list", "--db", db, "--format", "csv")
    assert code == 0, err


# --- an interrupted writer ----------------------------------------------------------------

KILLED_WRITER = textwrap.dedent("""
    import os, signal, sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("PRAGMA cache_size=2")  # spill changed pages into the file before commit
    con.execute("BEGIN")
    con.execute("DELETE FROM sites")
    con.execute("UPDATE meta SET value = 'garbage' WHERE key = 'schema_version'")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_bad_check_store_hot_journal(tmp):
    """A writer killed mid-transaction leaves a hot journal: keepout rolls it back (the file is
    writable) and answers from the store as it was, the DEMO site flagged."""
    db = store(tmp)
    p = subprocess.run([sys.executable, "-c", KILLED_WRITER, db])
    assert p.returncode == -signal.SIGKILL
    assert os.path.getsize(db + "-journal") > 0
    code, out, err = run("check", "--db", db, "--format", "csv", FLAGGED)
    assert code == 1 and ",flagged," in out, (code, out, err)
    assert "not a keepout site store" not in err, err
    assert not os.path.exists(db + "-journal") or os.path.getsize(db + "-journal") == 0


def as_nobody():
    """A prefix running a command as an unprivileged user when we are root (root may write any
    file), or [] when permissions already bind us; None if that is not possible."""
    if os.geteuid() != 0:
        return []
    if subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True).returncode:
        return None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def open_to_others(path):
    """Lets others reach path (x on every ancestor) and read it."""
    p = os.path.abspath(path)
    os.chmod(p, os.stat(p).st_mode | stat.S_IROTH | (stat.S_IXOTH if os.path.isdir(p) else 0))
    p = os.path.dirname(p)
    while p != "/":
        os.chmod(p, os.stat(p).st_mode | stat.S_IXOTH)
        p = os.path.dirname(p)


def hot_journal_for_a_reader(tmp, journal_mode=0o644, file_owner=None):
    """A store left with a hot journal by a killed writer, which the user that runs keepout
    (nobody when we are root) may read but cannot roll back: the store or its folder is not
    theirs to write. Returns (command prefix, store) or None where that cannot be arranged."""
    prefix = as_nobody()
    if prefix is None:
        return None
    d = os.path.join(tmp, "ro")
    os.mkdir(d)
    db = store(d)
    os.chmod(db, 0o644)
    p = subprocess.run([sys.executable, "-c", KILLED_WRITER, db])
    assert p.returncode == -signal.SIGKILL
    assert os.path.getsize(db + "-journal") > 0
    os.chmod(db + "-journal", journal_mode)
    if file_owner is not None and os.geteuid() == 0:
        os.chown(db, file_owner, -1)  # the store is theirs, its folder is not
    elif not prefix:  # not root: take write access away from ourselves
        os.chmod(db, 0o444)
        os.chmod(d, 0o555)
    open_to_others(d)
    open_to_others(db)
    return prefix, db


def reader_run(prefix, *args):
    p = subprocess.run(prefix + [os.environ.get("KEEPOUT_BIN", "keepout"), *args],
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def assert_hot_journal_named(tmp, code, err, db):
    assert_store_error(code, err, db, "journal", "write access")
    assert "not a keepout site store" not in err, err
    assert os.path.getsize(db + "-journal") > 0  # left for a writer to roll back
    os.chmod(os.path.dirname(db), 0o755)


def test_bad_check_store_hot_journal_read_only_store(tmp):
    """A reader who cannot write the store meets a hot journal: exit 2 saying what it is and
    what to do (a writer opens it once), not "not a keepout site store"."""
    got = hot_journal_for_a_reader(tmp)
    if got is None:
        print("skip: cannot run as a user without write access")
        return
    prefix, db = got
    code, out, err = reader_run(prefix, "check", "--db", db, "--format", "csv", FLAGGED)
    assert_hot_journal_named(tmp, code, err, db)


def test_bad_check_store_hot_journal_unreadable_journal(tmp):
    """The journal itself cannot be read by the reader (mode 0600): still named."""
    got = hot_journal_for_a_reader(tmp, journal_mode=0o600)
    if got is None or not got[0]:
        print("skip: needs root to make a journal another user cannot read")
        return
    prefix, db = got
    code, out, err = reader_run(prefix, "check", "--db", db, "--format", "csv", FLAGGED)
    assert_hot_journal_named(tmp, code, err, db)


def test_bad_check_store_hot_journal_read_only_folder(tmp):
    """The store file is the reader's, its folder is not (the journal cannot be deleted)."""
    got = hot_journal_for_a_reader(tmp, file_owner=65534)
    if got is None or not got[0]:
        print("skip: needs root to give the store to another user")
        return
    prefix, db = got
    code, out, err = reader_run(prefix, "check", "--db", db, "--format", "csv", FLAGGED)
    assert_hot_journal_named(tmp, code, err, db)


def test_bad_sites_query_and_tag_store_hot_journal_read_only(tmp):
    got = hot_journal_for_a_reader(tmp)
    if got is None:
        print("skip: cannot run as a user without write access")
        return
    prefix, db = got
    code, out, err = reader_run(prefix, "sites", "query", "--db", db, "--ring",
                                "-91.995 46.842,-91.993 46.842,-91.993 46.844,-91.995 46.844,"
                                "-91.995 46.842", "--camera", "-91.994,46.843")
    assert_hot_journal_named(tmp, code, err, db)
    code, out, err = reader_run(prefix, "sites", "info", "--db", db)
    assert_hot_journal_named(tmp, code, err, db)


def test_bad_check_store_locked_by_writer(tmp):
    db = store(tmp)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = run("check", "--db", db, "--format", "csv", FLAGGED)
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert_store_error(code, err, db, "locked")
    assert "not a keepout site store" not in err, err


# --- a site whose geometry strays outside the box its blob records ------------------------

RING = ("-91.995 46.842,-91.993 46.842,-91.993 46.844,-91.995 46.844,-91.995 46.842", "-91.994,46.843")


def box_moved(tmp, dx=1.0):
    """The DEMO site's SpatiaLite blob (geom_buffered) with its header MBR moved dx degrees
    east, its coordinates and its spatial index entry untouched: the packed index, built from
    the header boxes, would never look at the site where it is."""
    import struct
    db = store(tmp)
    con = sqlite3.connect(db, isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension("mod_spatialite")
    sid, blob = con.execute("SELECT id, geom_buffered FROM sites WHERE name LIKE 'DEMO%'").fetchone()
    box = con.execute("SELECT xmin, xmax, ymin, ymax FROM idx_sites_geom_buffered WHERE pkid = ?",
                      (sid,)).fetchone()
    b = bytearray(blob)
    assert b[0] == 0 and b[38] == 0x7C, b[:44]
    bo = "<" if b[1] == 1 else ">"
    x0, y0, x1, y1 = struct.unpack_from(bo + "4d", b, 6)
    struct.pack_into(bo + "4d", b, 6, x0 + dx, y0, x1 + dx, y1)
    con.execute("UPDATE sites SET geom_buffered = ? WHERE id = ?", (bytes(b), sid))
    con.execute("UPDATE idx_sites_geom_buffered SET xmin = ?, xmax = ?, ymin = ?, ymax = ? "
                "WHERE pkid = ?", (*box, sid))
    assert con.execute("SELECT count(*) FROM idx_sites_geom_buffered").fetchone()[0] == 1
    con.close()
    return db


def test_bad_packed_index_blob_outside_its_box_check(tmp):
    """The store's index file is written again for one photo as for a folder (there is no
    on-disk path for a few photos any more): its build must refuse the damaged store rather
    than miss the site, both times."""
    import shutil
    db = box_moved(tmp)
    code, out, err = run("check", "--db", db, "--format", "csv", FLAGGED)
    assert ",clear," not in out, out
    assert_store_error(code, err, db, "outside")
    d = os.path.join(tmp, "photos")
    os.mkdir(d)
    shutil.copy(FLAGGED, d)
    code, out, err = run("check", "--db", db, "--format", "csv", d)
    assert ",clear," not in out, out
    assert_store_error(code, err, db, "outside")


def test_bad_packed_index_blob_outside_its_box_tag(tmp):
    db = box_moved(tmp)
    code, out, err = run("tag", "--db", db, "--catalog", os.path.join(tmp, "c.gpkg"), FLAGGED)
    assert_store_error(code, err, db, "outside")


def test_bad_packed_index_blob_outside_its_box_query(tmp):
    db = box_moved(tmp)
    code, out, err = run("sites", "query", "--db", db, "--packed", "--ring", RING[0],
                         "--camera", RING[1])
    assert code == 2 and "outside" in err, (code, out, err)


# --- the exit status is the library's policy ----------------------------------------------

def test_bad_check_unknown_is_clear_unsupported_image(tmp):
    """--unknown-is clear counts checked `unknown` images as clear; an input keepout cannot
    read at all (a PNG; TIFFs are read since issue 21) was never checked and still fails the
    run."""
    db = store(tmp)
    tif = os.path.join(tmp, "photo.png")
    subprocess.run(["gdal_translate", "-q", "-of", "PNG", FLAGGED, tif], check=True)
    code, out, err = run("check", "--db", db, "--unknown-is", "clear", "--format", "csv", tif)
    assert code == 1, (code, out, err)


def test_bad_route_unknown_is_clear_unreadable_plan(tmp):
    db = store(tmp)
    bad = write(tmp, "mission.plan", "{ not json")
    code, out, err = run("route", "--db", db, "--unknown-is", "clear", "--format", "jsonl", bad)
    assert code != 0, (code, out, err)


# --- a new store is private -----------------------------------------------------------------

def test_bad_new_store_readable_by_others(tmp):
    """A list of critical sites is sensitive: a new store is 0600 under the usual umask 022."""
    old = os.umask(0o022)
    try:
        db = store(tmp, "new.sqlite")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600, oct(os.stat(db).st_mode)


def test_bad_new_store_umask_stricter_kept(tmp):
    old = os.umask(0o277)
    try:
        db = store(tmp, "new.sqlite")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o400, oct(os.stat(db).st_mode)


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
