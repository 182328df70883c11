"""keepout tag on a generated archive of real photos and SRT files: odd trees, resume,
kill -9 at random points, jobs, shards, recheck, sidecars, /vsizip/."""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile

from kotest import DATA, KEEPOUT, main, run, write

IMAGES = os.path.join(DATA, "images")
SRT = os.path.join(DATA, "srt")


def archive(tmp, copies=1):
    """Nested folders, duplicate names, a symlink loop, a dangling link, a zero-byte JPEG,
    non-images, an SRT; `copies` hard links of each photo for volume."""
    root = os.path.join(tmp, "archive")
    for sub in ("2016/flight1", "2016/flight2", "misc"):
        os.makedirs(os.path.join(root, sub))
    for name in sorted(os.listdir(IMAGES)):
        if not name.endswith(".JPG"):
            continue
        for sub in ("2016/flight1", "2016/flight2"):  # the same names in two folders
            shutil.copy2(os.path.join(IMAGES, name), os.path.join(root, sub, name))
            for k in range(1, copies):  # volume: hard links of the copy
                os.link(os.path.join(root, sub, name), os.path.join(root, sub, f"c{k:04d}_{name}"))
    shutil.copy(os.path.join(SRT, "p4_rtk.SRT"), os.path.join(root, "2016"))
    open(os.path.join(root, "misc", "empty.jpg"), "wb").close()
    os.symlink(os.path.join(root, "missing.jpg"), os.path.join(root, "misc", "dangling.jpg"))
    os.symlink(root, os.path.join(root, "misc", "loop"))
    write(root, "misc/notes.txt", "field notes\n")
    write(root, "misc/readme.md", "# flights\n")
    return root


def rows(cat):
    """The catalogue's content, order-free: footprints, hits and files as sorted tuples."""
    con = sqlite3.connect(cat)
    fp = sorted(con.execute("SELECT path, shot_id, verdict, hit_count, site_ids FROM footprints"))
    hits = sorted(con.execute("SELECT path, shot_id, site_id FROM hits"))
    files = sorted(con.execute("SELECT path, shots, verdict FROM files"))
    con.close()
    return fp, hits, files


def assert_valid_geopackage(cat):
    """GDAL's own validator, and what it does not look at: the R-tree holds exactly each
    footprint's box, the feature counts (where kept) are the row counts."""
    from osgeo import ogr
    from osgeo_utils.samples import validate_gpkg
    validate_gpkg.check(cat, extra_checks=True, warning_as_error=True)
    con = sqlite3.connect(cat)
    for table in ("footprints", "hits", "files"):
        n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        kept = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?",
                           (table,)).fetchone()
        assert kept is not None and kept[0] in (None, n), (table, kept, n)
    boxes = {r[0]: r[1:] for r in con.execute(
        "SELECT id, minx, maxx, miny, maxy FROM rtree_footprints_geom")}
    con.close()
    ds = ogr.Open(cat)  # kept: its layer dies with it
    layer = ds.GetLayerByName("footprints")
    envelopes = {f.GetFID(): f.GetGeometryRef().GetEnvelope() for f in layer
                 if f.GetGeometryRef() is not None}
    assert boxes.keys() == envelopes.keys()
    for fid, (x0, x1, y0, y1) in envelopes.items():  # float32 boxes, rounded outward
        b = boxes[fid]
        assert b[0] <= x0 and b[1] >= x1 and b[2] <= y0 and b[3] >= y1, (fid, b, x0, x1, y0, y1)
        assert max(x0 - b[0], b[1] - x1, y0 - b[2], b[3] - y1) < 1e-4, (fid, b)


def tag(*args, **kw):
    return run("tag", "--focal35", "24", *args, **kw)


def test_archive_tree_is_tagged_completely(tmp):
    root = archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    code, out, err = tag("--catalog", cat, root)
    assert code == 1, err  # the demo site flags DJI_0021/0023
    fp, hits, files = rows(cat)
    paths = [f[0] for f in files]
    assert len(paths) == len(set(paths))
    assert sum(p.endswith("/DJI_0018.JPG") for p in paths) == 2  # duplicate names kept apart
    by = {os.path.relpath(p, root): (n, v) for p, n, v in files}
    assert by["misc/empty.jpg"][1] == "unknown" and by["misc/dangling.jpg"][1] == "unknown"
    assert by["2016/p4_rtk.SRT"][0] == 55  # 55 frames in the file
    assert by["2016/flight1/DJI_0021.JPG"][1] == "flagged"
    assert by["2016/flight1/DJI_0018.JPG"][1] == "clear"
    assert not any("loop" in p or p.endswith((".txt", ".md")) for p in paths)
    assert "2 non-imagery files ignored" in err, err
    assert len(fp) == sum(n for n, _ in by.values())
    assert {h[0] for h in hits} == {p for p, n, v in files if v == "flagged"}
    assert_valid_geopackage(cat)
    # opens as is in an OGR client
    from osgeo import ogr
    ds = ogr.Open(cat)
    assert ds.GetLayerByName("footprints").GetGeomType() == ogr.wkbPolygon
    flagged = ds.GetLayerByName("footprints")
    flagged.SetAttributeFilter("verdict = 'flagged'")
    assert flagged.GetFeatureCount() == 4


def test_rerun_skips_and_changes_are_replaced(tmp):
    root = archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    tag("--catalog", cat, root)
    before = rows(cat)
    code, out, err = tag("--catalog", cat, root)
    assert "0 files tagged" in err and "unchanged skipped" in err, err
    assert rows(cat) == before
    p = os.path.join(root, "2016", "flight2", "DJI_0018.JPG")
    os.utime(p, (time.time() + 100, time.time() + 100))
    code, out, err = tag("--catalog", cat, root)
    assert "1 files tagged" in err, err
    assert rows(cat) == before  # replaced, not duplicated


def test_jobs_do_not_change_the_catalogue(tmp):
    root = archive(tmp, copies=5)
    a, b = os.path.join(tmp, "a.gpkg"), os.path.join(tmp, "b.gpkg")
    tag("-q", "--jobs", "1", "--catalog", a, root)
    tag("-q", "--jobs", "2", "--catalog", b, root)
    assert rows(a) == rows(b)
    con = sqlite3.connect(b)
    order = [r[0] for r in con.execute("SELECT path FROM files ORDER BY fid")]
    assert order == sorted(order)  # written in path order whatever the thread timing


def test_a_store_without_its_index_file_gets_it_written(tmp):
    """A store without its index file (deleted, or made by another tool): a tag run of a few
    files writes it again and its workers share it mapped (there is no rule of 'a quarter of
    the sites' any more); a store that does not track changes gets the index in memory and is
    left as it was. The same verdicts and hits per photo each way."""
    far = [{"type": "Feature", "properties": {"name": f"far {i}"},
            "geometry": {"type": "Point", "coordinates": [10.0 + i * 0.01, 50.0]}}
           for i in range(60)]
    store = os.path.join(tmp, "s.sqlite")
    src = write(tmp, "far.geojson", json.dumps({"type": "FeatureCollection", "features": far}))
    demo = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")
    assert run("sites", "import", "--db", store, src)[0] == 0
    assert run("sites", "import", "--db", store, demo)[0] == 0
    small = os.path.join(tmp, "small")
    os.makedirs(small)
    for name in sorted(os.listdir(IMAGES)):
        if name.endswith(".JPG"):
            shutil.copy(os.path.join(IMAGES, name), small)
    def per_photo(cat):
        con = sqlite3.connect(cat)
        got = {}
        for path, verdict, sites in con.execute("SELECT path, verdict, site_ids FROM footprints"):
            got.setdefault(os.path.basename(path)[-12:], set()).add((verdict, sites))
        con.close()
        return got
    a, b, c = (os.path.join(tmp, f"{x}.gpkg") for x in "abc")
    code, _, err = tag("--db", store, "--catalog", a, small)
    assert "site index file mapped" in err, err
    os.remove(store + ".koidx")
    code, _, err = tag("--db", store, "--catalog", b, small)
    assert "site index file mapped" in err, err
    assert os.path.exists(store + ".koidx")
    con = sqlite3.connect(store)
    for t in ("insert", "update", "delete"):
        con.execute(f"DROP TRIGGER ko_sites_change_{t}")
    con.commit()
    con.close()
    code, _, err = tag("--db", store, "--catalog", c, small)
    assert "site index built in memory" in err, err
    con = sqlite3.connect(store)
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                       " AND name LIKE 'ko_sites_change_%'").fetchone()[0] == 0
    con.close()
    mapped, rewritten, in_memory = per_photo(a), per_photo(b), per_photo(c)
    assert mapped and any(v == "flagged" for s in mapped.values() for v, _ in s)
    assert rewritten == mapped
    assert in_memory == mapped


def test_shards_partition_the_archive(tmp):
    root = archive(tmp, copies=3)
    whole = os.path.join(tmp, "w.gpkg")
    tag("-q", "--catalog", whole, root)
    sharded = os.path.join(tmp, "s.gpkg")
    for k in (1, 2, 3):
        tag("-q", "--shard", f"{k}/3", "--catalog", sharded, root)
    tag("-q", "--shard", "2/3", "--catalog", sharded, root)  # a shard re-run is harmless
    assert rows(whole) == rows(sharded)


def test_kill_9_and_resume_gives_the_same_catalogue(tmp):
    root = archive(tmp, copies=200)
    ref = os.path.join(tmp, "ref.gpkg")
    t0 = time.monotonic()
    tag("-q", "--catalog", ref, root)
    whole = time.monotonic() - t0  # how long an uninterrupted run takes here
    cat = os.path.join(tmp, "k.gpkg")
    rnd = random.Random(9)
    kills = 0
    for attempt in range(8):
        p = subprocess.Popen([KEEPOUT, "tag", "-q", "--focal35", "24", "--jobs", "2",
                              "--catalog", cat, root], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # early in the run: later runs resume and have less left to do
        time.sleep(rnd.uniform(0.02, 0.3) * whole)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    tag("-q", "--catalog", cat, root)
    assert kills >= 3, kills
    assert rows(cat) == rows(ref)
    assert_valid_geopackage(cat)


def test_recheck_follows_the_store(tmp):
    root = archive(tmp)
    empty = os.path.join(tmp, "empty.sqlite")
    src = write(tmp, "none.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "far away"},
         "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}}]}))
    assert run("sites", "import", "--db", empty, src)[0] == 0
    cat = os.path.join(tmp, "c.gpkg")
    code, out, err = tag("--db", empty, "--catalog", cat, root)
    fp0, _, _ = rows(cat)
    assert not any(v == "flagged" for _, _, v, _, _ in fp0)
    demo = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")
    assert run("sites", "import", "--db", empty, demo)[0] == 0
    code, out, err = run("tag", "--db", empty, "--catalog", cat, "--recheck")
    # the exit status covers the whole catalogue, now with flagged shots (it used to be 0)
    assert code == 1 and "changed verdict" in err, err
    fp1, hits, files = rows(cat)
    flagged = {(p, s) for p, s, v, _, _ in fp1 if v == "flagged"}
    assert len(flagged) == 4 and all(p.endswith(("DJI_0021.JPG", "DJI_0023.JPG")) for p, _ in flagged)
    assert {(p, s) for p, s, _ in hits} == flagged
    assert [v for p, n, v in files if p.endswith("flight1/DJI_0021.JPG")] == ["flagged"]


def old_geopackage(cat):
    """A catalogue as keepout wrote it before issue 19 (times as TEXT), made with GDAL here,
    holding one file that could not be read."""
    from osgeo import ogr, osr
    real, text, i32, i64 = ogr.OFTReal, ogr.OFTString, ogr.OFTInteger, ogr.OFTInteger64
    layers = {
        "footprints": [("path", text), ("shot_id", text), ("time", text), ("camera", text),
                       ("verdict", text), ("reason", text), ("hit_count", i32),
                       ("site_ids", text), ("categories", text)] +
                      [(n, real) for n in ("lat", "lon", "height", "yaw", "pitch", "roll",
                                           "focal_mm", "sensor_w_mm", "sensor_h_mm")] +
                      [("width_px", i32), ("height_px", i32)] +
                      [(n, real) for n in ("cx_px", "cy_px", "k1", "k2", "k3", "p1", "p2",
                                           "alt_msl", "alt_ellipsoid", "takeoff_lat",
                                           "takeoff_lon")] +
                      [("checked_at", text), ("store_version", i64), ("checked", i32)],
        "hits": [("path", text), ("shot_id", text), ("site_id", i64), ("name", text),
                 ("category", text), ("distance_m", real), ("fraction_in_view", real),
                 ("gsd_m", real)],
        "files": [("path", text), ("size", i64), ("mtime", i64), ("sha256", text),
                  ("shots", i32), ("verdict", text), ("checked_at", text),
                  ("store_version", i64)]}
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(cat)
    srs = osr.SpatialReference()
    srs.SetWellKnownGeogCS("WGS84")
    for name, fields in layers.items():
        poly = name == "footprints"
        layer = ds.CreateLayer(name, srs if poly else None,
                               ogr.wkbPolygon if poly else ogr.wkbNone, ["FID=fid"])
        for n, t in fields:
            layer.CreateField(ogr.FieldDefn(n, t))
        f = ogr.Feature(layer.GetLayerDefn())
        for k, v in {"path": "/old/a.JPG", "shot_id": "a.JPG", "time": "2016-06-23T16:31:59",
                     "verdict": "unknown", "reason": "old", "checked": 0, "shots": 1,
                     "checked_at": "2026-12-01T10:00:00Z"}.items():
            if layer.GetLayerDefn().GetFieldIndex(k) >= 0:
                f.SetField(k, v)
        if name != "hits":
            layer.CreateFeature(f)
    ds = None


def test_old_geopackage_with_text_times_is_appended_to(tmp):
    """A GeoPackage catalogue written before issue 19 keeps its TEXT time columns (SQLite
    cannot change a column's type) and gets rows written as they were: the photo's time as
    the reader gives it, checked_at in UTC with Z."""
    d = os.path.join(tmp, "photos")
    os.makedirs(d)
    for n in ("DJI_0018.JPG", "DJI_0021.JPG", "DJI_0023.JPG"):
        shutil.copy(os.path.join(IMAGES, n), d)
    cat, ref = os.path.join(tmp, "old.gpkg"), os.path.join(tmp, "ref.gpkg")
    old_geopackage(cat)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    code, _, err = tag("--catalog", cat, d)
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert code == 1 and "3 files tagged" in err, err
    assert tag("-q", "--catalog", ref, d)[0] == 1
    con = sqlite3.connect(cat)
    types = {(t, c[1]): c[2] for t in ("footprints", "files")
             for c in con.execute(f"PRAGMA table_info({t})")}
    assert types[("footprints", "time")] == types[("footprints", "checked_at")] == "TEXT"
    assert types[("files", "checked_at")] == "TEXT"
    got = dict((r[0], r[1:]) for r in con.execute(
        "SELECT shot_id, time, checked_at, verdict FROM footprints"))
    assert got.pop("a.JPG") == ("2016-06-23T16:31:59", "2026-12-01T10:00:00Z", "unknown")
    # EXIF DateTimeOriginal of the photos as GDAL reads it, in ISO 8601 as before
    from osgeo import gdal
    exif = {n: gdal.Open(os.path.join(d, n)).GetMetadataItem("EXIF_DateTimeOriginal")
            for n in got}
    assert {k: v[0] for k, v in got.items()} == {
        n: t[:10].replace(":", "-") + "T" + t[11:] for n, t in exif.items()}, (got, exif)
    assert all(start <= v[1] <= end and len(v[1]) == 20 for v in got.values()), got
    con.close()
    fp, hits, files = rows(cat)
    new = lambda rs: [r for r in rs if not r[0].startswith("/old/")]
    assert (new(fp), hits, new(files)) == rows(ref)
    # a recheck rewrites checked_at in the same form, and leaves the unreadable row alone
    time.sleep(1.1)
    code, _, err = run("tag", "--catalog", cat, "--recheck")
    assert code == 1 and "rechecked 4 footprints" in err and "0 changed" in err, err
    con = sqlite3.connect(cat)
    when = dict(con.execute("SELECT shot_id, checked_at FROM footprints"))
    assert when.pop("a.JPG") == "2026-12-01T10:00:00Z"
    assert all(end < v <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) and len(v) == 20
               for v in when.values()), when
    con.close()
    assert_valid_geopackage(cat)


def test_recheck_with_a_dem_places_cameras_as_the_first_run(tmp):
    """The catalogue keeps each shot's absolute altitude and take-off, and --recheck opens the
    DEM: a recheck with the same DEM gives the same reasons (the camera placed from the XMP
    AbsoluteAltitude and the relative height, both named), not a flat-ground recheck."""
    from osgeo import gdal
    dem = os.path.join(tmp, "lake.tif")
    ds = gdal.GetDriverByName("GTiff").Create(dem, 100, 100, 1, gdal.GDT_Float32)
    ds.SetGeoTransform([-92.05, 0.001, 0, 46.9, 0, -0.001])
    ds.SetProjection("EPSG:4326")
    ds.GetRasterBand(1).Fill(183.0)
    ds = None
    root = os.path.join(tmp, "photos")
    os.makedirs(root)
    for name in ("DJI_0018.JPG", "DJI_0021.JPG"):
        shutil.copy(os.path.join(IMAGES, name), root)
    cat = os.path.join(tmp, "c.gpkg")
    code, out, err = tag("--dem", dem, "--catalog", cat, root)
    assert code == 1, err  # DJI_0021 sees the demo site

    def reasons():
        con = sqlite3.connect(cat)
        r = dict(con.execute("SELECT shot_id, reason FROM footprints"))
        alt = dict(con.execute("SELECT shot_id, alt_msl FROM footprints"))
        con.close()
        return r, alt
    first, alt = reasons()
    assert alt == {"DJI_0018.JPG": 198.31, "DJI_0021.JPG": 198.61}, alt  # XMP AbsoluteAltitude
    assert all("from alt_msl" in r and "joins both" in r for r in first.values()), first
    code, out, err = run("tag", "--dem", dem, "--catalog", cat, "--recheck")
    assert code == 1 and "0 changed verdict" in err, err  # DJI_0021 is still flagged
    assert reasons()[0] == first
    code, out, err = run("tag", "--catalog", cat, "--recheck")
    assert code == 1 and not any("alt_msl" in r for r in reasons()[0].values())


def test_sidecars_never_touch_originals(tmp):
    root = archive(tmp)
    before = {p: open(os.path.join(IMAGES, p), "rb").read() for p in os.listdir(IMAGES)}
    side = os.path.join(tmp, "side")
    tag("-q", "--catalog", os.path.join(tmp, "c.gpkg"), "--sidecar-dir", side, root)
    x = os.path.join(side, root.lstrip("/"), "2016", "flight1", "DJI_0021.JPG.xmp")
    desc = ET.parse(x).getroot().find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc.get("{urn:keepout:xmp:1.0/}Verdict") == "flagged"
    assert "DEMO substation" in desc.get("{urn:keepout:xmp:1.0/}Sites")
    assert before == {p: open(os.path.join(IMAGES, p), "rb").read() for p in os.listdir(IMAGES)}
    tag("-q", "--catalog", os.path.join(tmp, "d.gpkg"), "--sidecar", root)
    assert os.path.exists(os.path.join(root, "2016", "flight1", "DJI_0018.JPG.xmp"))


def test_vsizip_archive(tmp):
    z = os.path.join(tmp, "photos.zip")
    with zipfile.ZipFile(z, "w") as f:
        for name in ("DJI_0018.JPG", "DJI_0021.JPG"):
            f.write(os.path.join(IMAGES, name), f"flight/{name}")
    cat = os.path.join(tmp, "c.gpkg")
    code, out, err = tag("--catalog", cat, f"/vsizip/{z}")
    _, _, files = rows(cat)
    assert [(os.path.basename(p), v) for p, n, v in files] == [
        ("DJI_0018.JPG", "clear"), ("DJI_0021.JPG", "flagged")], files


def test_catalogue_is_created_whole(tmp):
    """A new catalogue is built as CAT.partial.gpkg and renamed into place, so a run killed while
    creating it leaves nothing the next run cannot open; a stale one (and its journal) from such
    a kill is started afresh; an unwritable place fails with a message naming the file."""
    root = archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    write(tmp, "c.gpkg.partial.gpkg", "half a GeoPackage")
    write(tmp, "c.gpkg.partial.gpkg-journal", "a hot journal of another database")
    code, _, err = tag("-q", "--catalog", cat, root)
    assert code == 1 and "Warning" not in err, err
    assert not [f for f in os.listdir(tmp) if ".partial" in f]
    fp, _, files = rows(cat)
    assert len(files) >= 8 and fp  # 6 photos, the SRT, the zero-byte JPEG
    bad = os.path.join(tmp, "no", "such", "dir", "c.gpkg")
    code, _, err = tag("-q", "--catalog", bad, root)
    assert code == 2 and bad in err, err
    assert not os.path.exists(bad + ".partial.gpkg")


def spatial_count(cat):
    """Footprints a spatial client sees: `ogrinfo -spat` over the whole world goes through the
    GeoPackage's R-tree (the real GDAL tool, as QGIS would)."""
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-spat", "-180", "-90", "180", "90", cat,
                          "footprints"], capture_output=True, text=True).stdout
    return int(out.split("Feature Count:")[1].split()[0])


def assert_in_step(cat):
    """Rows, R-tree and kept feature counts agree (integrity_check alone says ok regardless)."""
    con = sqlite3.connect(cat)
    with_geom = con.execute("SELECT count(*) FROM footprints WHERE geom IS NOT NULL").fetchone()[0]
    in_rtree = con.execute("SELECT count(*) FROM rtree_footprints_geom").fetchone()[0]
    orphans = con.execute("SELECT count(*) FROM rtree_footprints_geom WHERE id NOT IN "
                          "(SELECT fid FROM footprints)").fetchone()[0]
    for table in ("footprints", "hits", "files"):
        n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        kept = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?",
                           (table,)).fetchone()
        assert kept is not None and kept[0] in (None, n), (table, kept, n)
    con.close()
    assert in_rtree == with_geom and orphans == 0, (in_rtree, with_geom, orphans)
    assert spatial_count(cat) == with_geom, (spatial_count(cat), with_geom)


def limited(limit):
    """A child whose files cannot grow past `limit` bytes: writes fail with EFBIG, as on a
    full disk (SIGXFSZ ignored so the write returns the error)."""
    import resource

    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def test_disk_full_keeps_the_spatial_index_in_step(tmp):
    """A disk that fills during a first run or a resumed one, at several points: the failed run
    exits 2, whatever it committed has rows, R-tree and counts in step, and a resume ends with
    the catalogue of an uninterrupted run (row by row) that `ogrinfo -spat` sees whole."""
    root = archive(tmp, copies=400)
    ref = os.path.join(tmp, "ref.gpkg")
    tag("-q", "--catalog", ref, root)
    size = os.path.getsize(ref)
    for n, (shard, frac) in enumerate([(None, 0.35), (None, 0.6), (None, 0.85),
                                       ("1/2", 0.6), ("1/3", 0.9)]):
        cat = os.path.join(tmp, f"c{n}.gpkg")
        if shard:  # a catalogue that already holds part of the archive: a resumed run fills it
            assert tag("-q", "--shard", shard, "--catalog", cat, root)[0] == 1
        p = subprocess.run([KEEPOUT, "tag", "-q", "--focal35", "24", "--catalog", cat, root],
                           preexec_fn=limited(int(size * frac)), capture_output=True)
        assert p.returncode == 2, (n, p.returncode, p.stderr)
        assert_in_step(cat)
        code, _, err = tag("-q", "--catalog", cat, root)
        assert code == 1 and "ERROR" not in err, (n, err)
        assert rows(cat) == rows(ref), n
        assert_in_step(cat)
        assert_valid_geopackage(cat)


def test_kill_9_during_resumed_runs_keeps_the_spatial_index_in_step(tmp):
    """kill -9 at random points of runs that resume into an existing catalogue (GDAL treats a
    layer it did not create in this session differently): after the last resume, the same
    rows as an uninterrupted run and an R-tree with exactly them."""
    root = archive(tmp, copies=300)
    ref = os.path.join(tmp, "ref.gpkg")
    t0 = time.monotonic()
    tag("-q", "--catalog", ref, root)
    whole = time.monotonic() - t0
    cat = os.path.join(tmp, "k.gpkg")
    tag("-q", "--shard", "1/4", "--catalog", cat, root)
    rnd = random.Random(17)
    for attempt in range(6):
        p = subprocess.Popen([KEEPOUT, "tag", "-q", "--focal35", "24", "--catalog", cat, root],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.1, 0.6) * whole)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        assert_in_step(cat)
    tag("-q", "--catalog", cat, root)
    assert rows(cat) == rows(ref)
    assert_in_step(cat)
    assert_valid_geopackage(cat)


def test_catalogue_is_private(tmp):
    """A catalogue lists where protected sites were seen: created 0600 (umask permitting)."""
    root = archive(tmp)
    cat = os.path.join(tmp, "c.gpkg")
    old = os.umask(0o022)
    try:
        tag("-q", "--catalog", cat, root)
        assert (os.stat(cat).st_mode & 0o777) == 0o600, oct(os.stat(cat).st_mode)
        os.umask(0o077)
        cat2 = os.path.join(tmp, "d.gpkg")
        tag("-q", "--catalog", cat2, root)
        assert (os.stat(cat2).st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


def test_usage(tmp):
    assert run("tag", "x")[0] == 2
    assert run("tag", "--catalog", os.path.join(tmp, "c.gpkg"))[0] == 2
    assert run("tag", "--catalog", "c.gpkg", "--shard", "4/3", "x")[0] == 2
    code, out, _ = run("tag", "--help")
    assert code == 0 and "--recheck" in out


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
