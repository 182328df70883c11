"""One catalogue schema in GeoPackage and PostGIS (issue 19), against a real PostgreSQL 15 +
PostGIS started by this test (the server of test_tag_postgis_concurrent.py): the same tables,
columns and column order, the geometry column `geom` in both, `time` and `checked_at` as
timestamp types holding UTC; a PostGIS catalogue written before (wkb_geometry, times as
character varying), made here by SQL, migrated once and appended to, by two shards at once;
and --recheck walking a catalogue of several batches. Skipped (exit 77) only where the server
is not installed."""
import os
import re
import shutil
import subprocess
import sqlite3
import time
from datetime import datetime, timezone

from kotest import DATA, KEEPOUT, main, run
from test_tag_cli import IMAGES, SRT, rows
from test_tag_postgis import BIN, as_postgres, pg_rows, skip_without_postgis
from test_tag_postgis_concurrent import Server

PG = None
PHOTOS = ("DJI_0018.JPG", "DJI_0021.JPG", "DJI_0023.JPG")
DEMO = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")


def photos(tmp, sub="photos", srt=("mavic_air2.srt",)):
    d = os.path.join(tmp, sub)
    os.makedirs(d)
    for n in PHOTOS:
        shutil.copy(os.path.join(IMAGES, n), d)
    for n in srt:
        shutil.copy(os.path.join(SRT, n), d)
    return d


def tag(*args):
    return run("tag", "--focal35", "24", "--jobs", "1", *args)


def counts(err):
    """The run's summary lines (files and shots by verdict), without the catalogue's name."""
    return [line for line in err.splitlines() if re.search(r"files tagged|rechecked", line)]


def sql(db, q):
    """Rows of a query on database db, as lists of strings ('' for NULL)."""
    out = PG.psql_rows(q, db)
    return [line.split("|") for line in out.splitlines() if line]


def pg_columns(db, table):
    return [tuple(r) for r in sql(db, "SELECT column_name, data_type FROM information_schema."
                                      f"columns WHERE table_schema = 'public' AND table_name = "
                                      f"'{table}' ORDER BY ordinal_position")]


def gpkg_columns(cat, table):
    con = sqlite3.connect(cat)
    r = [(c[1], c[2]) for c in con.execute(f"PRAGMA table_info({table})")]
    con.close()
    return r


def exif_time(name):
    """EXIF DateTimeOriginal as GDAL reads it, as ISO 8601 (no zone: the camera's clock)."""
    from osgeo import gdal
    ds = gdal.Open(os.path.join(IMAGES, name))
    t = ds.GetMetadataItem("EXIF_DateTimeOriginal")
    return datetime.strptime(t, "%Y:%m:%d %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%S")


def srt_first_time(name):
    """The first frame's date line of an SRT, to the millisecond."""
    with open(os.path.join(SRT, name)) as f:
        m = re.search(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)[.,](\d{3})", f.read())
    return f"{m.group(1)}T{m.group(2)}.{m.group(3)}"


UTC_TEXT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS')"


def test_one_schema_in_both_backends(tmp):
    d = photos(tmp)
    gpkg = os.path.join(tmp, "c.gpkg")
    db, conn = PG.new_db()
    start = datetime.now(timezone.utc).replace(microsecond=0)
    got = {}
    for cat in (gpkg, conn):
        got[cat] = tag("--catalog", cat, d)
    end = datetime.now(timezone.utc)
    # the verdict counts and the exit status: the same code on both (flagged photos: exit 1)
    (gc, _, gerr), (pc, _, perr) = got[gpkg], got[conn]
    assert gc == pc == 1 and counts(gerr) == counts(perr) and counts(gerr), (gerr, perr)
    assert pg_rows(conn) == rows(gpkg)
    # the same tables, columns and column order; geom in both
    for table in ("footprints", "hits", "files"):
        assert [c for c, _ in pg_columns(db, table)] == [c for c, _ in gpkg_columns(gpkg, table)]
    assert gpkg_columns(gpkg, "footprints")[:2] == [("fid", "INTEGER"), ("geom", "POLYGON")]
    con = sqlite3.connect(gpkg)
    assert con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = "
                       "'footprints'").fetchall() == [("geom",)]
    assert sql(db, "SELECT f_geometry_column, srid, type FROM geometry_columns WHERE "
                   "f_table_name = 'footprints'") == [["geom", "4326", "POLYGON"]]
    # times are timestamp types
    for table, col in (("footprints", "time"), ("footprints", "checked_at"),
                       ("files", "checked_at")):
        assert dict(pg_columns(db, table))[col] == "timestamp with time zone", (table, col)
        assert dict(gpkg_columns(gpkg, table))[col] == "DATETIME", (table, col)
    # holding UTC: the photos' EXIF times (no zone: taken as UTC), the SRT's first frame to the
    # millisecond, and checked_at the time of the run
    want = {n: exif_time(n) + ".000" for n in PHOTOS}
    want["mavic_air2.srt#1"] = srt_first_time("mavic_air2.srt")
    pg_times = dict((r[0], r[1]) for r in sql(db, f"SELECT shot_id, {UTC_TEXT.format('time')} "
                                                  "FROM footprints"))
    gpkg_times = dict(con.execute("SELECT shot_id, time FROM footprints"))
    for shot, t in want.items():
        assert pg_times[shot] == t and gpkg_times[shot] == t + "Z", (shot, pg_times[shot],
                                                                       gpkg_times[shot], t)
    assert len(pg_times) == len(gpkg_times) == 28
    assert {k: v + "Z" for k, v in pg_times.items()} == gpkg_times
    for when in [r[0] for r in sql(db, f"SELECT {UTC_TEXT.format('checked_at')} FROM "
                                       "footprints UNION SELECT "
                                       f"{UTC_TEXT.format('checked_at')} FROM files")] + \
            [r[0][:-1] for r in con.execute("SELECT checked_at FROM footprints UNION SELECT "
                                            "checked_at FROM files")]:
        t = datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
        assert start <= t <= end, (when, start, end)
    con.close()
    # an all-clear catalogue exits 0 on both
    clear = os.path.join(tmp, "clear")
    os.makedirs(clear)
    shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), clear)
    _, conn = PG.new_db()
    got = [tag("--catalog", cat, clear) for cat in (os.path.join(tmp, "clear.gpkg"), conn)]
    assert [c for c, _, _ in got] == [0, 0], got
    assert counts(got[0][2]) == counts(got[1][2]), got


# A catalogue as keepout wrote it before issue 19 (pg_dump -s of one): GDAL's PostgreSQL
# driver named the geometry column wkb_geometry and put it last; times were text.
OLD_SCHEMA = """
CREATE TABLE footprints (fid serial PRIMARY KEY, path varchar, shot_id varchar, "time" varchar,
  camera varchar, verdict varchar, reason varchar, hit_count integer, site_ids varchar,
  categories varchar, lat float8, lon float8, height float8, yaw float8, pitch float8,
  roll float8, focal_mm float8, sensor_w_mm float8, sensor_h_mm float8, width_px integer,
  height_px integer, cx_px float8, cy_px float8, k1 float8, k2 float8, k3 float8, p1 float8,
  p2 float8, alt_msl float8, alt_ellipsoid float8, takeoff_lat float8, takeoff_lon float8,
  checked_at varchar, store_version bigint, checked integer,
  wkb_geometry geometry(Polygon, 4326));
CREATE INDEX footprints_wkb_geometry_geom_idx ON footprints USING gist (wkb_geometry);
CREATE TABLE hits (fid serial PRIMARY KEY, path varchar, shot_id varchar, site_id bigint,
  name varchar, category varchar, distance_m float8, fraction_in_view float8, gsd_m float8);
CREATE TABLE files (fid serial PRIMARY KEY, path varchar, size bigint, mtime bigint,
  sha256 varchar, shots integer, verdict varchar, checked_at varchar, store_version bigint);
CREATE UNIQUE INDEX ko_files_path ON files (path);
CREATE UNIQUE INDEX ko_footprints_shot ON footprints (path, shot_id);
CREATE INDEX ko_hits_path ON hits (path);
CREATE INDEX ko_footprints_unclear ON footprints (verdict, checked)
  WHERE coalesce(verdict, '') <> 'clear';
INSERT INTO footprints (path, shot_id, "time", verdict, reason, hit_count, checked_at,
  store_version, checked, wkb_geometry) VALUES
 ('/old/a.JPG', 'a.JPG', '2016-06-23T16:31:59', 'clear', 'old', 0, '2026-12-01T10:00:00Z', 1,
  1, 'SRID=4326;POLYGON((0 0,1 0,1 1,0 0))'),
 ('/old/b.SRT', 'b.SRT#1', '2022-05-01T15:01:58.531+02:00', 'clear', 'old', 0,
  '2026-12-01T10:00:00Z', 1, 1, 'SRID=4326;POLYGON((0 0,2 0,2 2,0 0))'),
 ('/old/b.SRT', 'b.SRT#2', 'not a time', 'clear', 'old', 0, '2026-12-01T10:00:00Z', 1, 1,
  NULL);
INSERT INTO files (path, size, mtime, shots, verdict, checked_at, store_version) VALUES
 ('/old/a.JPG', 1, 1, 1, 'clear', '2026-12-01T10:00:00Z', 1),
 ('/old/b.SRT', 1, 1, 2, 'clear', '2026-12-01T10:00:00Z', 1);
"""


def test_old_postgis_catalogue_is_migrated_once_and_appended_to(tmp):
    d = photos(tmp)
    ref = os.path.join(tmp, "ref.gpkg")
    assert tag("-q", "--catalog", ref, d)[0] == 1
    db, conn = PG.new_db()
    PG.psql(OLD_SCHEMA, db)
    # two shards at once into the old catalogue: one migrates it under the lock, the other
    # waits and finds it done
    procs = [subprocess.Popen([KEEPOUT, "tag", "-q", "--focal35", "24", "--jobs", "1",
                               "--shard", f"{k}/2", "--catalog", conn, d],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in (1, 2)]
    for p in procs:
        err = p.stderr.read()
        assert p.wait(timeout=300) in (0, 1) and "ERROR" not in err, err
    # the schema of today: geom (in the old column's place, the last), timestamps, the index
    cols = dict(pg_columns(db, "footprints"))
    assert "wkb_geometry" not in cols and cols["geom"] == "USER-DEFINED", cols
    assert [c for c, _ in pg_columns(db, "footprints")][-1] == "geom"
    for table, col in (("footprints", "time"), ("footprints", "checked_at"),
                       ("files", "checked_at")):
        assert dict(pg_columns(db, table))[col] == "timestamp with time zone", (table, col)
    assert sql(db, "SELECT f_geometry_column FROM geometry_columns WHERE f_table_name = "
                   "'footprints'") == [["geom"]]
    assert sql(db, "SELECT count(*) FROM pg_indexes WHERE indexname = "
                   "'footprints_geom_geom_idx'") == [["1"]]
    # the old rows kept, their times converted to UTC (no zone: as UTC; an offset converted;
    # text that is not a time: NULL), their geometry untouched
    old = sql(db, f"SELECT shot_id, coalesce({UTC_TEXT.format('time')}, 'NULL'), "
                  f"{UTC_TEXT.format('checked_at')}, coalesce(ST_AsText(geom), 'NULL') FROM "
                  "footprints WHERE path LIKE '/old/%' ORDER BY shot_id")
    assert old == [["a.JPG", "2016-06-23T16:31:59.000", "2026-12-01T10:00:00.000",
                    "POLYGON((0 0,1 0,1 1,0 0))"],
                   ["b.SRT#1", "2022-05-01T13:01:58.531", "2026-12-01T10:00:00.000",
                    "POLYGON((0 0,2 0,2 2,0 0))"],
                   ["b.SRT#2", "NULL", "2026-12-01T10:00:00.000", "NULL"]], old
    assert sql(db, f"SELECT path, {UTC_TEXT.format('checked_at')} FROM files WHERE path LIKE "
                   "'/old/%' ORDER BY 1") == [["/old/a.JPG", "2026-12-01T10:00:00.000"],
                                              ["/old/b.SRT", "2026-12-01T10:00:00.000"]]
    # the new rows are those of a run into a new GeoPackage, times and geometry included
    fp, hits, files = pg_rows(conn)
    new = lambda rs: [r for r in rs if not r[0].startswith("/old/")]
    assert (new(fp), hits, new(files)) == rows(ref)
    con = sqlite3.connect(ref)
    want = {r[0]: r[1] for r in con.execute("SELECT shot_id, time FROM footprints")}
    con.close()
    got = {r[0]: r[1] + "Z" for r in sql(db, f"SELECT shot_id, {UTC_TEXT.format('time')} FROM "
                                             "footprints WHERE path NOT LIKE '/old/%'")}
    assert got == want
    # once: a second run finds the files done and the schema as it is
    before = sql(db, "SELECT table_name, column_name, data_type FROM information_schema.columns "
                     "WHERE table_schema = 'public' ORDER BY 1, ordinal_position")
    code, _, err = tag("--catalog", conn, d)
    assert code == 1 and "0 files tagged" in err, err
    assert sql(db, "SELECT table_name, column_name, data_type FROM information_schema.columns "
                   "WHERE table_schema = 'public' ORDER BY 1, ordinal_position") == before


def snapshot(db):
    """Each footprint's verdict, the hits, each file's verdict."""
    return (sql(db, "SELECT path, shot_id, verdict, coalesce(site_ids, 'NULL') FROM footprints "
                    "ORDER BY 1, 2"),
            sql(db, "SELECT path, shot_id, site_id FROM hits ORDER BY 1, 2, 3"),
            sql(db, "SELECT path, verdict FROM files ORDER BY 1"))


def recheck(conn, store):
    code, _, err = run("tag", "--db", store, "--catalog", conn, "--recheck")
    m = re.search(r"rechecked (\d+) footprints .*: (\d+) changed verdict", err)
    assert m, err
    return code, int(m.group(1)), int(m.group(2))


def test_recheck_on_postgis_walks_batches(tmp):
    """A catalogue of 3 photos and an SRT of 55 frames made 41 times over by SQL (2,378 rows,
    three batches of 1,000, SRT files cut by a batch's end), tagged against store A (the demo
    site beside DJI_0021 and DJI_0023), rechecked against store B (the site removed), then
    against B again (nothing changes), then against A (as before)."""
    d = photos(tmp, srt=("p4_rtk.SRT",))
    far = os.path.join(tmp, "far.geojson")
    with open(far, "w") as f:
        f.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                '{"name": "far away"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]}')
    a, b = os.path.join(tmp, "a.sqlite"), os.path.join(tmp, "b.sqlite")
    for store, src in ((a, DEMO), (b, far)):
        assert run("sites", "import", "-q", "--db", store, src)[0] == 0
    db, conn = PG.new_db()
    code, _, err = tag("--db", a, "--catalog", conn, d)
    assert code == 1, err
    copies = 40
    cols = ("shot_id, time, camera, verdict, reason, hit_count, site_ids, categories, lat, lon, "
            "height, yaw, pitch, roll, focal_mm, sensor_w_mm, sensor_h_mm, width_px, height_px, "
            "cx_px, cy_px, k1, k2, k3, p1, p2, alt_msl, alt_ellipsoid, takeoff_lat, takeoff_lon, "
            "checked_at, store_version, checked, geom")
    PG.psql(f"""
        INSERT INTO footprints (path, {cols}) SELECT path || '.copy' || g, {cols}
          FROM footprints, generate_series(1, {copies}) g ORDER BY g, fid;
        INSERT INTO hits (path, shot_id, site_id, name, category, distance_m, fraction_in_view,
          gsd_m) SELECT path || '.copy' || g, shot_id, site_id, name, category, distance_m,
          fraction_in_view, gsd_m FROM hits, generate_series(1, {copies}) g;
        INSERT INTO files (path, size, mtime, sha256, shots, verdict, checked_at, store_version)
          SELECT path || '.copy' || g, size, mtime, sha256, shots, verdict, checked_at,
          store_version FROM files, generate_series(1, {copies}) g""", db)
    n = int(sql(db, "SELECT count(*) FROM footprints")[0][0])
    assert n == (3 + 55) * (copies + 1) == 2378, n
    before = snapshot(db)
    flagged = {(p, s) for p, s, v, _ in before[0] if v == "flagged"}
    # the site is in view of DJI_0021 and DJI_0023 only (and their copies)
    assert len(flagged) == 2 * (copies + 1)
    assert all(re.search(r"/DJI_002[13]\.JPG(\.copy\d+)?$", p) for p, _ in flagged), flagged
    # B: the site is gone. Exactly the flagged rows change, and the change is reported
    code, total, changed = recheck(conn, b)
    after = snapshot(db)
    old = {(p, s): v for p, s, v, _ in before[0]}
    moved = {(p, s) for p, s, v, _ in after[0] if old[(p, s)] != v}
    # (all clear now: exit 0)
    assert code == 0 and total == n and changed == len(moved) and moved == flagged, \
        (code, total, changed, len(moved))
    assert all(v != "flagged" for _, _, v, _ in after[0]) and after[1] == []
    version_b = sql(db, "SELECT DISTINCT store_version FROM footprints WHERE geom IS NOT NULL")
    assert len(version_b) == 1, version_b
    # each file's verdict the worst of its rows'
    worst = {}
    rank = {"clear": 0, "flagged": 1, "unknown": 2}
    for p, _, v, _ in after[0]:
        worst[p] = max(worst.get(p, "clear"), v, key=rank.get)
    assert {p: v for p, v in after[2]} == worst
    # the original rows are what a new run against B gives
    ref = os.path.join(tmp, "b.gpkg")
    assert tag("-q", "--db", b, "--catalog", ref, d)[0] == 0
    fp, hits, files = pg_rows(conn)
    orig = lambda rs: [r for r in rs if ".copy" not in r[0]]
    assert (orig(fp), orig(hits), orig(files)) == rows(ref)
    # B again: nothing changes
    code, total, changed = recheck(conn, b)
    assert (code, total, changed) == (0, n, 0) and snapshot(db) == after
    # A again: the rows flagged before, with their hits
    code, total, changed = recheck(conn, a)
    assert (code, total, changed) == (1, n, len(flagged)) and snapshot(db) == before


if __name__ == "__main__":
    skip_without_postgis()
    PG = Server()

    def psql_rows(q, db):
        r = as_postgres(f"{BIN}/psql", "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-h",
                        PG.sock, "-p", str(PG.port), "-d", db, "-c", q)
        assert r.returncode == 0, r.stderr
        return r.stdout

    PG.psql_rows = psql_rows
    try:
        main([test_one_schema_in_both_backends,
              test_old_postgis_catalogue_is_migrated_once_and_appended_to,
              test_recheck_on_postgis_walks_batches])
    finally:
        PG.stop()
