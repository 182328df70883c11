"""The KEEPOUT driver fails closed (issue 17), through real GDAL clients: a store that is
missing, misspelled, not a store, damaged or empty makes every open fail in every mode (raster
and vector) with an error naming the store; the release decision is the library's
(ko_release_decide): MODE=redact never releases an image it could not check or that came out
unknown, UNKNOWN_IS applies only to checked images; refused images leave no output file and a
non-zero exit. Redaction blanks a flagged photo's site, placed on the DEM when one is given."""
import json
import math
import os
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, FIXTURES, gdal, main, run, tool, write  # noqa: E402

IMG = os.path.join(DATA, "images")
CLEAR = os.path.join(IMG, "DJI_0018.JPG")
FLAGGED = os.path.join(IMG, "DJI_0021.JPG")  # beside the made-up DEMO substation
# the same two at their camera's 4000 x 2250 frame: only a frame the camera recorded is
# redacted (the 160 x 90 copies above are refused by MODE=redact)
FULL = os.path.join(FIXTURES, "fullframe")
CLEAR_FULL = os.path.join(FULL, "DJI_0018.JPG")
FLAGGED_FULL = os.path.join(FULL, "DJI_0021.JPG")


def translate(tmp, src, *oo, env=None, name="out.tif"):
    """gdal_translate KEEPOUT:src -> tmp/name with open options oo; (code, stderr, out path)."""
    out = os.path.join(tmp, name)
    args = ["gdal_translate", "-q"]
    for o in oo:
        args += ["-oo", o]
    code, _, err = tool(*args, "KEEPOUT:" + src, out, env=env)
    return code, err, out


def assert_refused(code, err, out, *words):
    assert code != 0, err
    assert not os.path.exists(out), f"{out} was written"
    for w in words:
        assert w in err, (w, err)


def store(tmp, name="s.sqlite"):
    db = os.path.join(tmp, name)
    code, _, err = run("sites", "import", "--db", db,
                       os.path.join(DATA, "sites", "brighton_beach_demo.geojson"))
    assert code == 0, err
    return db


def sql(db, statement):
    con = sqlite3.connect(db, isolation_level=None)
    con.execute(statement)
    con.close()


def unknown_photo(tmp):
    """DJI_0018 re-encoded by GDAL: the EXIF (GPS) is kept, DJI's XMP (height and attitude) is
    not, so keepout checks it and finds it `unknown`."""
    out = os.path.join(tmp, "no_xmp.jpg")
    code, _, err = tool("gdal_translate", "-q", "-of", "JPEG", CLEAR, out)
    assert code == 0, err
    code, out_csv, err = run("check", "--db", store(tmp, "u.sqlite"), "--format", "csv", out)
    assert ",unknown," in out_csv, out_csv
    return out


NO_STORE = {"KEEPOUT_SITES": ""}


# --- MODE=redact never releases what it could not check -----------------------------------

def test_bad_redact_without_store(tmp):
    code, err, out = translate(tmp, CLEAR, "MODE=redact", env=NO_STORE)
    assert_refused(code, err, out, "no site store")


def test_bad_redact_misspelled_store(tmp):
    db = os.path.join(tmp, "sties.sqlite")
    code, err, out = translate(tmp, FLAGGED, "MODE=redact", f"SITES={db}")
    assert_refused(code, err, out, db)


def test_bad_redact_store_not_a_store(tmp):
    code, err, out = translate(tmp, FLAGGED, "MODE=redact", f"SITES={CLEAR}")
    assert_refused(code, err, out, CLEAR, "not a keepout site store")


def test_bad_redact_unknown_photo(tmp):
    photo = unknown_photo(tmp)
    code, err, out = translate(tmp, photo, "MODE=redact", f"SITES={store(tmp)}")
    assert_refused(code, err, out, "unknown")


def test_bad_redact_unknown_photo_unknown_is_clear(tmp):
    """UNKNOWN_IS belongs to MODE=strict: redaction has no footprint to redact."""
    photo = unknown_photo(tmp)
    code, err, out = translate(tmp, photo, "MODE=redact", "UNKNOWN_IS=clear",
                               f"SITES={store(tmp)}")
    assert_refused(code, err, out, "unknown")


def test_bad_redact_unreadable_image(tmp):
    """A PNG keepout cannot read: never checked, so never released, whatever GDAL can do. (A
    TIFF copy is read since issue 21: checked, flagged, and its resized pixels not redacted.)"""
    png = os.path.join(tmp, "photo.png")
    assert tool("gdal_translate", "-q", "-of", "PNG", FLAGGED, png)[0] == 0
    code, err, out = translate(tmp, png, "MODE=redact", f"SITES={store(tmp)}")
    assert_refused(code, err, out, "not checked")
    tif = os.path.join(tmp, "photo.tif")
    assert tool("gdal_translate", "-q", "-of", "GTiff", FLAGGED, tif)[0] == 0
    code, err, out = translate(tmp, tif, "MODE=redact", f"SITES={store(tmp)}")
    assert_refused(code, err, out, "flagged")


# --- MODE=strict ----------------------------------------------------------------------------

def test_bad_strict_unknown_is_clear_misspelled_store(tmp):
    db = os.path.join(tmp, "sties.sqlite")
    code, err, out = translate(tmp, FLAGGED, "MODE=strict", "UNKNOWN_IS=clear", f"SITES={db}")
    assert_refused(code, err, out, db)


def test_bad_strict_unknown_is_clear_no_store(tmp):
    code, err, out = translate(tmp, FLAGGED, "MODE=strict", "UNKNOWN_IS=clear", env=NO_STORE)
    assert_refused(code, err, out, "no site store")


def test_bad_strict_unknown_is_clear_unreadable_image(tmp):
    png = os.path.join(tmp, "photo.png")
    assert tool("gdal_translate", "-q", "-of", "PNG", FLAGGED, png)[0] == 0
    code, err, out = translate(tmp, png, "MODE=strict", "UNKNOWN_IS=clear",
                               f"SITES={store(tmp)}")
    assert_refused(code, err, out, "not checked")
    tif = os.path.join(tmp, "photo.tif")  # read since issue 21: checked and flagged
    assert tool("gdal_translate", "-q", "-of", "GTiff", FLAGGED, tif)[0] == 0
    code, err, out = translate(tmp, tif, "MODE=strict", "UNKNOWN_IS=clear",
                               f"SITES={store(tmp)}")
    assert_refused(code, err, out, "flagged")


def test_strict_unknown_is_clear_releases_a_checked_unknown(tmp):
    """Not a bad input: the caller's choice for images keepout did check."""
    photo = unknown_photo(tmp)
    code, err, out = translate(tmp, photo, "MODE=strict", "UNKNOWN_IS=clear",
                               f"SITES={store(tmp)}")
    assert code == 0 and os.path.exists(out), err
    code, err, out = translate(tmp, photo, "MODE=strict", f"SITES={store(tmp, 'b.sqlite')}",
                               name="o2.tif")
    assert_refused(code, err, out, "unknown")


# --- the store proves itself, in every mode -------------------------------------------------

def test_bad_tag_without_store(tmp):
    code, out, err = tool("gdalinfo", "KEEPOUT:" + FLAGGED, env=NO_STORE)
    assert code != 0 and "no site store" in err, (code, out, err)
    assert "KEEPOUT_VERDICT" not in out


def test_bad_tag_misspelled_store(tmp):
    db = os.path.join(tmp, "sties.sqlite")
    code, out, err = tool("gdalinfo", "-oo", f"SITES={db}", "KEEPOUT:" + FLAGGED)
    assert code != 0 and db in err, (code, out, err)


def test_bad_strict_store_index_lost_rows(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM idx_sites_geom_buffered")
    os.remove(db + ".koidx")  # (else the index file answers, not the R-tree: test_sites_index)
    code, err, out = translate(tmp, FLAGGED, "MODE=strict", f"SITES={db}")
    assert_refused(code, err, out, db, "index", "rebuild")


def test_bad_redact_store_index_lost_rows(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM idx_sites_geom_buffered")
    os.remove(db + ".koidx")  # (else the index file answers, not the R-tree: test_sites_index)
    code, err, out = translate(tmp, FLAGGED, "MODE=redact", f"SITES={db}")
    assert_refused(code, err, out, db, "index")


def test_bad_strict_store_without_sites(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM sites")
    code, err, out = translate(tmp, FLAGGED, "MODE=strict", f"SITES={db}")
    assert_refused(code, err, out, db, "no sites")


def test_bad_tag_store_without_sites(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM sites")
    code, out, err = tool("gdalinfo", "-oo", f"SITES={db}", "KEEPOUT:" + FLAGGED)
    assert code != 0 and "no sites" in err, (code, out, err)


def test_bad_vector_misspelled_store(tmp):
    db = os.path.join(tmp, "sties.sqlite")
    code, out, err = tool("ogrinfo", "-ro", "-al", "-q", "-oo", f"SITES={db}", "KEEPOUT:" + IMG)
    assert code != 0 and db in err, (code, out, err)
    assert "verdict" not in out


def test_bad_vector_without_store(tmp):
    out_gpkg = os.path.join(tmp, "o.gpkg")
    code, out, err = tool("ogr2ogr", "-f", "GPKG", out_gpkg, "KEEPOUT:" + IMG, env=NO_STORE)
    assert code != 0 and "no site store" in err, (code, out, err)


def test_bad_vector_store_index_lost_rows(tmp):
    db = store(tmp)
    sql(db, "DELETE FROM idx_sites_geom_buffered")
    os.remove(db + ".koidx")  # (else the index file answers, not the R-tree: test_sites_index)
    code, out, err = tool("ogrinfo", "-ro", "-al", "-q", "-oo", f"SITES={db}", "KEEPOUT:" + IMG)
    assert code != 0 and "index" in err, (code, out, err)


def test_bad_python_open_store_locked(tmp):
    """osgeo.gdal: a store locked by a writer raises, saying so."""
    g = gdal()
    db = store(tmp)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        g.OpenEx("KEEPOUT:" + FLAGGED, open_options=[f"SITES={db}"])
        raise AssertionError("opened")
    except RuntimeError as e:
        assert "locked" in str(e), str(e)
    finally:
        con.execute("ROLLBACK")
        con.close()


KILLED_WRITER = """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size=2")  # spill changed pages into the file before commit
con.execute("BEGIN")
con.execute("DELETE FROM sites")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_bad_read_only_user_store_hot_journal(tmp):
    """A user who may read the store but not write it (nor its folder) meets the hot journal a
    killed import left: every mode refuses, saying it is a journal that needs a writer, not
    that the file is no store. Run as nobody when we are root."""
    import signal
    import stat
    import subprocess
    if os.geteuid() == 0:
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True).returncode:
            print("skip: no setpriv to drop privileges")
            return
    else:
        prefix = []
    d = os.path.join(tmp, "ro")
    os.mkdir(d)
    db = store(d)
    os.chmod(db, 0o644)
    assert subprocess.run([sys.executable, "-c", KILLED_WRITER, db]).returncode == \
        -signal.SIGKILL
    assert os.path.getsize(db + "-journal") > 0
    if not prefix:
        os.chmod(db, 0o444)
    os.chmod(d, 0o555)
    p = os.path.abspath(tmp)
    while p != "/":
        os.chmod(p, os.stat(p).st_mode | stat.S_IXOTH | stat.S_IROTH)
        p = os.path.dirname(p)
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    os.chmod(out, 0o777)
    try:
        for mode in ("tag", "redact", "strict"):
            dst = os.path.join(out, mode + ".tif")
            code, _, err = tool(*prefix, "gdal_translate", "-q", "-oo", f"SITES={db}", "-oo",
                                f"MODE={mode}", "KEEPOUT:" + FLAGGED, dst)
            assert_refused(code, err, dst, db, "journal", "write access")
            assert "not a keepout site store" not in err, err
    finally:
        os.chmod(d, 0o755)


# --- redaction: the verdict's footprint -----------------------------------------------------

def test_redact_flagged_photo_blanks_the_site(tmp):
    """DJI_0021 is flagged (the DEMO substation): MODE=redact writes it with the site's pixels
    zero and every other pixel the original's."""
    g = gdal()
    db = store(tmp)
    code, err, out = translate(tmp, FLAGGED_FULL, "MODE=redact", f"SITES={db}")
    assert code == 0, err
    kd = g.OpenEx("KEEPOUT:" + FLAGGED_FULL, open_options=["MODE=redact", f"SITES={db}"])
    assert kd.GetMetadataItem("DECISION", "KEEPOUT") == "redact"
    mask = kd.GetRasterBand(1).GetMaskBand().ReadAsArray()
    n = int(kd.GetMetadataItem("REDACTED_PIXELS", "KEEPOUT"))
    assert n > 0 and (mask == 0).sum() == n, n
    red, orig = g.Open(out), g.Open(FLAGGED_FULL)
    for b in range(1, 4):
        a = red.GetRasterBand(b).ReadAsArray()
        o = orig.GetRasterBand(b).ReadAsArray()
        assert (a[mask == 0] == 0).all()
        assert (a[mask != 0] == o[mask != 0]).all()


def test_redact_on_a_dem_places_the_site_on_the_terrain(tmp):
    """An 8 m square site right under DJI_0018 (nadir), and a flat DEM at 183 m: the photo's
    AbsoluteAltitude (198.3 m) puts the camera 15.3 m above that ground (the verdict's
    footprint joins it with the 39.8 m of RelativeAltitude). Seen from 15.3 m the square spans
    8 / (2 * 15.3 * 6.3175 / 2 / 3.61) of the frame's width (EXIF: a 3.61 mm lens; the camera
    table's FC300S: a 6.3175 mm wide sensor, 16:9 frames cropped from its full width), about
    1,190 of the 4,000 pixels; a flat-ground projection from 39.8 m gives about 460. The redacted
    blob must cover the nearer view: at least 0.8 of that square's pixels (the photo's yaw
    turns the square, so its area is compared), at most its diagonal's square plus the
    margin."""
    g = gdal()
    lat, lon = 46.8426070833333, -91.9945598888889  # DJI_0018's EXIF GPS
    d = 4 / 111132.0
    e = 4 / (111320.0 * math.cos(math.radians(lat)))
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "name": "test square"}, "geometry": {"type": "Polygon", "coordinates": [[
            [lon - e, lat - d], [lon + e, lat - d], [lon + e, lat + d], [lon - e, lat + d],
            [lon - e, lat - d]]]}}]}
    db = os.path.join(tmp, "s.sqlite")
    code, out, err = run("sites", "import", "--db", db, "--category", "substation", "--buffer",
                         "0", write(tmp, "s.geojson", json.dumps(fc)))
    assert code == 0, err
    dem = os.path.join(tmp, "lake.tif")
    ds = g.GetDriverByName("GTiff").Create(dem, 100, 100, 1, g.GDT_Float32)
    ds.SetGeoTransform([-92.05, 0.001, 0, 46.9, 0, -0.001])
    ds.SetProjection("EPSG:4326")
    ds.GetRasterBand(1).Fill(183.0)
    ds = None
    kd = g.OpenEx("KEEPOUT:" + CLEAR_FULL,
                  open_options=["MODE=redact", f"SITES={db}", f"DEM={dem}"])
    assert kd.GetMetadataItem("VERDICT", "KEEPOUT") == "flagged"
    mask = kd.GetRasterBand(1).GetMaskBand().ReadAsArray()
    n = int(kd.GetMetadataItem("REDACTED_PIXELS", "KEEPOUT"))
    side = 4000 * 8 / (2 * 15.3 * 6.3175 / 2 / 3.61)
    margin = math.ceil(2 + 0.005 * 4000)
    assert (mask == 0).sum() == n
    assert 0.8 * side ** 2 <= n <= (side * math.sqrt(2) + 2 * margin + 2) ** 2, (n, side)
    ys, xs = (mask == 0).nonzero()
    assert abs(xs.mean() - 2000) < 200 and abs(ys.mean() - 1125) < 200, (xs.mean(), ys.mean())
    code, err, out = translate(tmp, CLEAR_FULL, "MODE=redact", f"SITES={db}", f"DEM={dem}")
    assert code == 0, err
    red = g.Open(out)  # kept: a band of a collected dataset would dangle
    a = red.GetRasterBand(1).ReadAsArray()
    assert (a[mask == 0] == 0).all()


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
