"""The store's index file (STORE.koidx, issue 22): written by every import and by `keepout sites
index`, mapped at open, and never used once the store's sites have changed: a site moved
through plain SQL (SpatiaLite in Python's sqlite3) or through OGR after the index was written
is judged where it now is, so a stale index can never make a photo clear. A damaged index file
is refused with a message naming it; `keepout sites index` writes it again."""
import json
import os
import sqlite3
import stat

from kotest import main, run
from test_check_cli import gps, photos, square, store


def info(db):
    code, out, err = run("sites", "info", "--db", db, "--format", "json")
    assert code == 0, err
    return json.loads(out)["index"]


def check(db, photo):
    code, out, err = run("check", "--db", db, "--format", "jsonl", photo)
    return code, out, err


def wkt(ring):
    return "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in ring) + "))"


def move_sql(db, name, ring):
    """Moves a site with plain SQL through SpatiaLite, as any SQLite client can."""
    c = sqlite3.connect(db)
    c.enable_load_extension(True)
    c.load_extension("mod_spatialite")
    g = f"GeomFromText('{wkt(ring)}', 4326)"
    n = c.execute(f"UPDATE sites SET geom = {g}, geom_buffered = {g} WHERE name = ?",
                  (name,)).rowcount
    c.commit()
    c.close()
    assert n == 1


def move_ogr(db, name, ring):
    """Moves a site through GDAL's SQLite driver (what QGIS and ogrinfo -sql use)."""
    from osgeo import ogr
    ogr.UseExceptions()
    ds = ogr.Open(db, 1)
    g = f"GeomFromText('{wkt(ring)}', 4326)"
    ds.ExecuteSQL(f"UPDATE sites SET geom = {g}, geom_buffered = {g} WHERE name = '{name}'")
    ds = None


def test_stale_index_never_makes_a_photo_clear(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("mover", lat + 0.027, lon, 5), ("far", lat - 0.05, lon, 5)])
    code, _, err = run("sites", "index", db)
    assert code == 0, err
    assert info(db)["state"] == "current"
    code, out, err = check(db, p)
    assert code == 0, (out, err)  # the sites are 3 and 5 km away: clear
    # the site is moved under the camera behind keepout's back
    move_sql(db, "mover", square(lat, lon, 5)[0])
    assert info(db)["state"] == "stale"
    code, out, err = check(db, p)
    assert code == 1 and "mover" in out, (code, out, err)
    # indexed again: the index knows where it is now
    code, _, err = run("sites", "index", db)
    assert code == 0, err
    assert info(db)["state"] == "current"
    code, out, err = check(db, p)
    assert code == 1 and "mover" in out, (code, out, err)
    # moved away through OGR: the index that still has it under the camera is not used
    move_ogr(db, "mover", square(lat + 0.027, lon, 5)[0])
    assert info(db)["state"] == "stale"
    code, out, err = check(db, p)
    assert code == 0, (code, out, err)
    # deleted and added back under the camera: stale again, flagged again
    run("sites", "index", db)
    c = sqlite3.connect(db)
    c.enable_load_extension(True)
    c.load_extension("mod_spatialite")
    c.execute("INSERT INTO sites(source, source_id, name, category, buffer_m, min_gsd_m, geom,"
              " geom_buffered) SELECT source, 'new', 'newcomer', category, buffer_m, min_gsd_m,"
              f" GeomFromText('{wkt(square(lat, lon, 5)[0])}', 4326),"
              f" GeomFromText('{wkt(square(lat, lon, 5)[0])}', 4326) FROM sites LIMIT 1")
    c.commit()
    c.close()
    code, out, err = check(db, p)
    assert code == 1 and "newcomer" in out, (code, out, err)


def test_import_writes_the_index_beside_the_store(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under", lat, lon, 5)])
    idx = db + ".koidx"
    assert os.path.exists(idx)
    assert info(db) == {"file": idx, "state": "current"}
    # as private as the store
    assert stat.S_IMODE(os.stat(idx).st_mode) == stat.S_IMODE(os.stat(db).st_mode)
    code, out, err = check(db, p)
    assert code == 1 and "under" in out, (code, out, err)
    # no temporary file left beside it
    assert sorted(os.listdir(tmp)) == ["sites.geojson", "sites.sqlite", "sites.sqlite.koidx"]


def test_index_write_on_a_full_disk_leaves_nothing(tmp):
    """The index is streamed into a temporary file beside the store: a disk that fills (the
    file size limit, SIGXFSZ ignored, so the write fails as ENOSPC would) at its start, in
    its middle or a byte short of its end is an error naming the index, and neither a partial
    index nor the temporary is left; the old index stays as it was."""
    import resource
    import signal
    import subprocess
    from kotest import KEEPOUT
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under", lat, lon, 5)])
    idx = db + ".koidx"
    good = open(idx, "rb").read()
    os.remove(idx)

    def limit(n):
        def pre():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
        return pre
    for n in (0, 100, len(good) // 2, len(good) - 1):
        r = subprocess.run([KEEPOUT, "sites", "index", "--db", db], capture_output=True,
                           text=True, preexec_fn=limit(n))
        assert r.returncode != 0 and "cannot write the site index" in r.stderr, (n, r)
        assert sorted(os.listdir(tmp)) == ["sites.geojson", "sites.sqlite"], (n, os.listdir(tmp))
    code, _, err = run("sites", "index", "--db", db)
    assert code == 0, err
    assert open(idx, "rb").read() == good


def test_nan_vertex_in_a_store_is_damage_not_a_clear(tmp):
    """Adversary adv25: a vertex of a site's buffered ring overwritten with NaN, the blob's box
    header kept. The ring tests read a NaN edge as no crossing and the build's box check
    (fmin/fmax) skipped it: the index was written and a photo wholly inside the site came out
    clear. A coordinate that is not finite is damage: the index is refused and the check fails
    naming the store's site, both for the index and for the store's own R-tree path."""
    import math
    import struct
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("around", lat, lon, 400)])
    code, out, err = check(db, p)
    assert code == 1 and "around" in out, (code, out, err)
    c = sqlite3.connect(db)
    c.enable_load_extension(True)
    c.load_extension("mod_spatialite")  # the store's triggers keep its R-tree
    sid, blob = c.execute("SELECT id, geom_buffered FROM sites").fetchone()
    blob = bytearray(blob)
    assert blob[0] == 0 and blob[1] == 1 and blob[38] == 0x7C  # little-endian SpatiaLite blob
    assert struct.unpack_from("<I", blob, 39)[0] == 3  # a polygon: rings, points, then x y
    struct.pack_into("<d", blob, 51 + 16, math.nan)  # the second vertex's x
    c.execute("UPDATE sites SET geom_buffered = ? WHERE id = ?", (bytes(blob), sid))
    c.commit()
    c.close()
    code, out, err = run("sites", "index", "--db", db)
    assert code != 0 and f"site {sid}: not a plain 2D SpatiaLite geometry" in err, (code, err)
    os.remove(db + ".koidx") if os.path.exists(db + ".koidx") else None
    code, out, err = check(db, p)
    assert code == 2 and f"site {sid}" in err and '"clear"' not in out, (code, out, err)


def test_damaged_index_is_refused_until_written_again(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under", lat, lon, 5)])
    idx = db + ".koidx"
    good = open(idx, "rb").read()
    damages = {
        "truncated": good[: len(good) // 2],
        "header only": good[:256],
        "empty": b"",
        "not an index": b"x" * len(good),
        "header bit flipped": good[:30] + bytes([good[30] ^ 1]) + good[31:],
        "longer": good + b"\0" * 64,
    }
    for what, data in damages.items():
        with open(idx, "wb") as f:
            f.write(data)
        code, out, err = check(db, p)
        assert code == 2, (what, code, out, err)
        assert idx in err, (what, err)
        assert info(db)["state"] == "damaged", what
    code, _, err = run("sites", "index", "--db", db)
    assert code == 0, err
    assert open(idx, "rb").read() == good  # the same sites give the same bytes
    code, out, err = check(db, p)
    assert code == 1 and "under" in out, (code, out, err)
    # deleted: the store answers without it
    os.remove(idx)
    assert info(db)["state"] == "missing"
    code, out, err = check(db, p)
    assert code == 1 and "under" in out, (code, out, err)


def test_store_of_an_older_keepout_is_tracked_once_written_to(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("mover", lat + 0.027, lon, 5)])
    c = sqlite3.connect(db)
    for t in ("insert", "update", "delete"):
        c.execute(f"DROP TRIGGER ko_sites_change_{t}")
    c.commit()
    c.close()
    # without its triggers nothing tells the index is current: it is not used
    assert info(db)["state"] == "untracked"
    move_sql(db, "mover", square(lat, lon, 5)[0])
    code, out, err = check(db, p)
    assert code == 1 and "mover" in out, (code, out, err)
    code, _, err = run("sites", "index", db)
    assert code == 0, err
    assert info(db)["state"] == "current"
    code, out, err = run("sites", "index", os.path.join(tmp, "none.sqlite"))
    assert code == 2 and "no such site store" in err, err
    assert not os.path.exists(os.path.join(tmp, "none.sqlite"))


def test_index_answers_when_the_rtree_lost_rows(tmp):
    """The index file holds every site: a SpatiaLite R-tree that lost rows (which makes a store
    without the file unusable: test_bad_inputs_gate) is not read while the index is current."""
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under", lat, lon, 5)])
    c = sqlite3.connect(db)
    c.execute("DELETE FROM idx_sites_geom_buffered")
    c.commit()
    c.close()
    assert info(db)["state"] == "current"
    code, out, err = check(db, p)
    assert code == 1 and "under" in out, (code, out, err)


if __name__ == "__main__":
    main([test_stale_index_never_makes_a_photo_clear,
          test_import_writes_the_index_beside_the_store,
          test_damaged_index_is_refused_until_written_again,
          test_index_write_on_a_full_disk_leaves_nothing,
          test_nan_vertex_in_a_store_is_damage_not_a_clear,
          test_store_of_an_older_keepout_is_tracked_once_written_to,
          test_index_answers_when_the_rtree_lost_rows])
