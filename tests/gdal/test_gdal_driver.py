"""The KEEPOUT driver through real GDAL clients: gdalinfo, gdal_translate, ogr2ogr, ogrinfo,
osgeo.gdal. The plugin is loaded with GDAL_DRIVER_PATH; the bundled sample store (with its
made-up demo site beside the Brighton Beach photos) is KEEPOUT_SITES."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, FIXTURES, gdal, main, run, tool, write  # noqa: E402

IMG = os.path.join(DATA, "images")
# photos at their camera's 4000 x 2250 frame (only those are redacted; data/images holds
# 160 x 90 copies)
FULL = os.path.join(FIXTURES, "fullframe")
PLUGIN = os.environ["KEEPOUT_PLUGIN"]


def test_format_documented(tmp):
    code, out, err = tool("gdalinfo", "--format", "KEEPOUT")
    assert code == 0, err
    for s in ("Supports: Raster", "Supports: Vector", "Connection prefix: KEEPOUT:",
              "name=\"SITES\"", "name=\"MODE\"", "name=\"DEM\"", "name=\"MAX_RANGE\"",
              "name=\"UNKNOWN_IS\"", "Help Topic"):
        assert s in out, s


def test_only_register_symbol_exported(tmp):
    code, out, err = tool("nm", "-D", "--defined-only", PLUGIN)
    syms = [l.split()[-1] for l in out.splitlines() if l.strip()]
    assert syms == ["GDALRegister_KEEPOUT"], syms


def test_gdalinfo_flagged(tmp):
    code, out, err = tool("gdalinfo", "KEEPOUT:" + os.path.join(IMG, "DJI_0021.JPG"))
    assert code == 0, err
    assert "Driver: KEEPOUT/" in out and "KEEPOUT_VERDICT=flagged" in out, out


def test_translate_clear_passes_pixels_and_verdict(tmp):
    out_tif = os.path.join(tmp, "o.tif")
    src = os.path.join(IMG, "DJI_0018.JPG")
    code, out, err = tool("gdal_translate", "-q", "KEEPOUT:" + src, out_tif)
    assert code == 0, err
    g = gdal()
    ds = g.Open(out_tif)
    assert ds.GetMetadataItem("KEEPOUT_VERDICT") == "clear"
    assert not any(k.startswith("EXIF_") for k in ds.GetMetadata())  # no GPS leaks through
    orig = g.Open(src)
    for b in range(1, 4):
        assert ds.GetRasterBand(b).ReadRaster() == orig.GetRasterBand(b).ReadRaster()


def test_strict_refuses_flagged_and_storeless(tmp):
    code, out, err = tool("gdal_translate", "-q", "-oo", "MODE=strict",
                          "KEEPOUT:" + os.path.join(IMG, "DJI_0021.JPG"),
                          os.path.join(tmp, "o.tif"))
    assert code != 0 and "DEMO substation" in err and "flagged" in err, err
    assert not os.path.exists(os.path.join(tmp, "o.tif"))
    code, out, err = tool("gdal_translate", "-q", "-oo", "MODE=strict",
                          "KEEPOUT:" + os.path.join(IMG, "DJI_0018.JPG"),
                          os.path.join(tmp, "o2.tif"), env={"KEEPOUT_SITES": ""})
    assert code != 0 and "no site store" in err, err
    code, out, err = tool("gdal_translate", "-q", "-oo", "MODE=strict",
                          "KEEPOUT:" + os.path.join(IMG, "DJI_0018.JPG"),
                          os.path.join(tmp, "o3.tif"))
    assert code == 0, err


def test_redact_blanks_only_the_site(tmp):
    """A 8 m square site (no buffer) right under DJI_0018's camera: the redacted pixels form a
    blob at the image centre (a nadir shot), zero in the output; every other pixel is the
    original's. Its 160 x 90 copy (the same metadata) is refused: not the camera's frame."""
    g = gdal()
    src = os.path.join(FULL, "DJI_0018.JPG")
    lat, lon = 46.8426070833333, -91.9945598888889  # its EXIF GPS
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
    out_tif = os.path.join(tmp, "r.tif")
    code, out, err = tool("gdal_translate", "-q", "-oo", "MODE=redact", "-oo", f"SITES={db}",
                          "KEEPOUT:" + src, out_tif)
    assert code == 0, err
    kd = g.OpenEx("KEEPOUT:" + src, open_options=["MODE=redact", f"SITES={db}"])
    n = int(kd.GetMetadataItem("REDACTED_PIXELS", "KEEPOUT"))
    mask = kd.GetRasterBand(1).GetMaskBand().ReadAsArray()
    assert kd.GetRasterBand(1).GetMaskFlags() == g.GMF_PER_DATASET
    assert (mask == 0).sum() == n
    # 64 m2 of a ~2,950 m2 footprint on 4000x2250 pixels is ~195,000 pixels (a square of ~440),
    # plus a 22-pixel margin round it
    assert 100000 < n < 400000, n
    ys, xs = (mask == 0).nonzero()
    assert abs(xs.mean() - 2000) < 150 and abs(ys.mean() - 1125) < 150, (xs.mean(), ys.mean())
    red = g.Open(out_tif)
    orig = g.Open(src)
    for b in range(1, 4):
        a = red.GetRasterBand(b).ReadAsArray()
        o = orig.GetRasterBand(b).ReadAsArray()
        assert (a[mask == 0] == 0).all()
        assert (a[mask != 0] == o[mask != 0]).all()
    small = os.path.join(IMG, "DJI_0018.JPG")
    code, out, err = tool("gdal_translate", "-q", "-oo", "MODE=redact", "-oo", f"SITES={db}",
                          "KEEPOUT:" + small, os.path.join(tmp, "small.tif"))
    assert code != 0 and "is 160x90 pixels but its camera recorded a 4000x2250 frame" in err, err
    assert not os.path.exists(os.path.join(tmp, "small.tif"))


def test_ogr2ogr_where_and_sql(tmp):
    out = os.path.join(tmp, "o.gpkg")
    code, _, err = tool("ogr2ogr", "-f", "GPKG", out, "KEEPOUT:" + IMG, "-where",
                        "verdict<>'clear'")
    assert code == 0, err
    from osgeo import ogr
    ds = ogr.Open(out)
    lyr = ds.GetLayer(0)
    assert lyr.GetName() == "footprints"
    ids = sorted(f.GetField("id") for f in lyr)
    assert ids == ["DJI_0021.JPG", "DJI_0023.JPG"], ids
    code, out, err = tool("ogrinfo", "-ro", "-q", "KEEPOUT:" + IMG, "-sql",
                          "SELECT id FROM footprints WHERE verdict = 'clear'")
    assert code == 0 and "DJI_0018.JPG" in out and "DJI_0021" not in out, out
    # a spatial filter around DJI_0018 only
    code, out, err = tool("ogrinfo", "-ro", "-q", "KEEPOUT:" + IMG, "footprints", "-spat",
                          "-91.9948", "46.8424", "-91.9944", "46.8427")
    assert "DJI_0018.JPG" in out and "DJI_0023.JPG" not in out, out


def test_python_bindings_read_the_domain(tmp):
    g = gdal()
    ds = g.Open("KEEPOUT:" + os.path.join(IMG, "DJI_0023.JPG"))
    md = ds.GetMetadata("KEEPOUT")
    assert md["VERDICT"] == "flagged"
    hits = json.loads(md["HITS"])
    assert hits[0]["name"].startswith("DEMO substation") and hits[0]["disclosed"] is True
    assert md["FOOTPRINT"].startswith("POLYGON ((")
    assert ds.GetDriver().ShortName == "KEEPOUT"


def _wkt_points(wkt):
    inner = wkt[wkt.index("((") + 2:wkt.rindex("))")]
    return [tuple(float(v) for v in p.split()) for p in inner.split(",")]


def test_faces_share_the_record_vocabulary(tmp):
    """The driver's footprints layer and KEEPOUT metadata say what `keepout check` says, in its
    field names (docs/DESIGN.md, "Result records"): the layer's fields are check's flat ones
    with the same values, HITS holds check's findings (hits and in_view_unresolved) as they
    are, FOOTPRINT is check's CSV wkt, SITES/SITE_IDS/CATEGORIES/HIT_COUNT its flat fields."""
    import csv
    g = gdal()
    from osgeo import ogr
    code, out, err = run("check", "-q", "--format", "jsonl", IMG)
    assert code == 1, err
    rec = {r["id"]: r for r in (json.loads(l)["properties"] for l in out.splitlines())}
    code, out, err = run("check", "-q", "--format", "csv", IMG)
    wkt = {row["id"]: row["wkt"] for row in csv.DictReader(out.splitlines())}
    assert len(rec) == len(wkt) >= 3 and "flagged" in {r["verdict"] for r in rec.values()}
    flat = ["id", "source", "time", "verdict", "reason", "hit_count", "site_ids", "site_names",
            "categories", "min_gsd_m"]
    ds = ogr.Open("KEEPOUT:" + IMG)
    lyr = ds.GetLayer(0)
    defn = lyr.GetLayerDefn()
    assert [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())] == flat
    seen = 0
    for f in lyr:
        r = rec[f.GetField("id")]
        for k in flat:
            v = f.GetField(k)
            if k == "min_gsd_m" and r[k] is not None:
                assert math.isclose(v, r[k], rel_tol=1e-11), (k, v, r[k])
            else:
                assert v == r[k], (k, v, r[k])
        got = _wkt_points(f.GetGeometryRef().ExportToWkt())
        want = _wkt_points(wkt[r["id"]])
        assert len(got) == len(want) and all(
            abs(a - b) <= 1e-9 for p, q in zip(got, want) for a, b in zip(p, q)), r["id"]
        seen += 1
    assert seen == len(rec)
    for name, r in rec.items():
        md = g.Open("KEEPOUT:" + os.path.join(IMG, name)).GetMetadata("KEEPOUT")
        assert md["VERDICT"] == r["verdict"] and md["REASON"] == r["reason"]
        assert md["HIT_COUNT"] == str(r["hit_count"])
        assert (md["SITES"], md["SITE_IDS"], md["CATEGORIES"]) == (
            r["site_names"], r["site_ids"], r["categories"])
        key = lambda h: h["site_id"]  # noqa: E731
        assert sorted(json.loads(md["HITS"]), key=key) == sorted(
            r["hits"] + r["in_view_unresolved"], key=key)
        assert md["FOOTPRINT"] == wkt[name]


def test_rasterio_reads_through_the_driver(tmp):
    import rasterio
    with rasterio.open("KEEPOUT:" + os.path.join(IMG, "DJI_0021.JPG")) as ds:
        assert ds.driver == "KEEPOUT"
        assert ds.tags()["KEEPOUT_VERDICT"] == "flagged"
        assert ds.tags(ns="KEEPOUT")["VERDICT"] == "flagged"
        assert ds.read(1).shape == (90, 160)


def test_dem_open_option(tmp):
    """DEM=: a flat DEM at Lake Superior's 183 m written here with GDAL; DJI_0021's XMP
    AbsoluteAltitude (198.6 m) and RelativeAltitude (40.1 m) both place the camera, and the
    reason says so. A DEM that does not cover the photo (Andorra) gives unknown, never clear."""
    g = gdal()
    dem = os.path.join(tmp, "lake.tif")
    ds = g.GetDriverByName("GTiff").Create(dem, 100, 100, 1, g.GDT_Float32)
    ds.SetGeoTransform([-92.05, 0.001, 0, 46.9, 0, -0.001])
    ds.SetProjection("EPSG:4326")
    ds.GetRasterBand(1).Fill(183.0)
    ds = None
    src = "KEEPOUT:" + os.path.join(IMG, "DJI_0021.JPG")
    code, out, err = tool("gdalinfo", "-mdd", "KEEPOUT", "-oo", "DEM=" + dem, src)
    assert code == 0, err
    assert "KEEPOUT_VERDICT=flagged" in out, out
    assert "camera altitude: 198.6 m from alt_msl (15.6 m above the DEM ground; height 40.1 m)" \
        in out and "joins both" in out, out
    andorra = os.path.join(DATA, "dem", "andorra_srtm3_subset.tif")
    code, out, err = tool("gdalinfo", "-mdd", "KEEPOUT", "-oo", "DEM=" + andorra, src)
    assert code == 0 and "KEEPOUT_VERDICT=unknown" in out and "no DEM elevation" in out, out


def test_ordinary_files_unaffected(tmp):
    """With the plugin loaded, a GeoTIFF and a shapefile open exactly as without it."""
    tif = os.path.join(tmp, "a.tif")
    shp = os.path.join(tmp, "a.shp")
    assert tool("gdal_translate", "-q", "-of", "GTiff", os.path.join(IMG, "DJI_0018.JPG"),
                tif)[0] == 0
    assert tool("ogr2ogr", "-q", shp, os.path.join(DATA, "sites",
                                                   "brighton_beach_demo.geojson"))[0] == 0
    for args in (("gdalinfo", tif), ("ogrinfo", "-ro", "-al", shp)):
        with_plugin = tool(*args)
        without = tool(*args, env={"GDAL_DRIVER_PATH": os.path.join(tmp, "none")})
        assert with_plugin == without, (with_plugin, without)
        assert "KEEPOUT" not in with_plugin[1] + with_plugin[2]



def _display(name):
    """A name as text to show (the CLI's table and CSV form, docs/DESIGN.md): C0 and DEL as
    \\xHH, C1, bidirectional controls and line separators as \\uHHHH, the rest as it is."""
    bidi = {0x061c, 0x200e, 0x200f} | set(range(0x2028, 0x202f)) | set(range(0x2066, 0x206a))
    out = []
    for c in name:
        o = ord(c)
        if o < 0x20 or o == 0x7f:
            out.append("\\x%02x" % o)
        elif 0x80 <= o <= 0x9f or o in bidi:
            out.append("\\u%04x" % o)
        else:
            out.append(c)
    return "".join(out)


def test_site_names_in_metadata_are_escaped(tmp):
    """A site named with quotes, a backslash, a tab, a newline that forges a metadata line, a
    bidirectional override and non-ASCII text, right under DJI_0018: HITS is JSON that gives
    the name back exactly; SITES (text, like gdalinfo's lines) holds it escaped as the CLI's
    table does, so gdalinfo shows one VERDICT, the true one."""
    g = gdal()
    src = os.path.join(IMG, "DJI_0018.JPG")
    lat, lon = 46.8426070833333, -91.9945598888889  # its EXIF GPS
    d = 4 / 111132.0
    e = 4 / (111320.0 * math.cos(math.radians(lat)))
    name = 'Q "x" \\ b\tc\n  VERDICT=clear\n  KEEPOUT_VERDICT=clear \u202eevil \u00e9 \u4e2d'
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "name": name}, "geometry": {"type": "Polygon", "coordinates": [[
            [lon - e, lat - d], [lon + e, lat - d], [lon + e, lat + d], [lon - e, lat + d],
            [lon - e, lat - d]]]}}]}
    db = os.path.join(tmp, "s.sqlite")
    code, out, err = run("sites", "import", "-q", "--db", db, "--category", "substation",
                         "--buffer", "0", write(tmp, "s.geojson", json.dumps(fc)))
    assert code == 0, err
    md = g.OpenEx("KEEPOUT:" + src, open_options=[f"SITES={db}"]).GetMetadata("KEEPOUT")
    assert md["VERDICT"] == "flagged", md
    hits = json.loads(md["HITS"])
    assert [h["name"] for h in hits] == [name], hits
    assert md["SITES"] == _display(name), (md["SITES"], _display(name))
    for k, v in md.items():  # (JSON keeps U+202E as it is, as check's JSON does)
        assert not any(ord(c) < 0x20 for c in v) and (k == "HITS" or "\u202e" not in v), (k, v)
    code, out, err = tool("gdalinfo", "-mdd", "KEEPOUT", "-oo", f"SITES={db}", "KEEPOUT:" + src)
    assert code == 0, err
    lines = [l.strip() for l in out.splitlines()]
    assert [l for l in lines if l.startswith("VERDICT=")] == ["VERDICT=flagged"], out
    assert [l for l in lines if l.startswith("KEEPOUT_VERDICT=")] == [
        "KEEPOUT_VERDICT=flagged"], out



def test_telemetry_txt_is_a_footprints_layer(tmp):
    """keepout reads a telemetry table named .txt as it reads a .csv (the library's reader):
    the driver opens it as the footprints layer, one feature per row, as `keepout check`
    checks it (same ids and verdicts), instead of trying it as an image."""
    from osgeo import ogr
    src = os.path.join(DATA, "telemetry", "brighton_beach.csv")
    with open(src) as f:
        txt = write(tmp, "flight.txt", f.read())
    code, out, err = run("check", "-q", "--format", "jsonl", txt)
    assert code in (0, 1), err
    want = {r["id"]: r["verdict"] for r in (json.loads(l)["properties"] for l in out.splitlines())}
    assert len(want) == 6, want
    ds = ogr.Open("KEEPOUT:" + txt)
    assert ds is not None and ds.GetLayerCount() == 1
    got = {f.GetField("id"): f.GetField("verdict") for f in ds.GetLayer(0)}
    assert got == want, (got, want)


def test_gopro_gpmf_video_is_a_footprints_layer(tmp):
    """A GoPro video's GPMF telemetry (tests/data/gopro/karma_gpmf.mp4, 47 Karma positions) opens
    as the footprints layer with the readers' open options, ids and verdicts as `keepout check`
    gives them; without ASSUME_NADIR every feature is unknown, naming the airframe attitude."""
    from osgeo import ogr, gdal as g
    src = os.path.join(FIXTURES, "gopro", "karma_gpmf.mp4")
    code, out, err = run("check", "-q", "--format", "jsonl", "--assume-nadir", "--focal35", "20",
                         src)
    assert code in (0, 1), err
    want = {r["id"]: r["verdict"] for r in (json.loads(l)["properties"] for l in out.splitlines())}
    assert len(want) == 47, len(want)
    ds = g.OpenEx("KEEPOUT:" + src, g.OF_VECTOR, open_options=["ASSUME_NADIR=YES", "FOCAL35=20"])
    assert ds is not None and ds.GetLayerCount() == 1
    got = {f.GetField("id"): f.GetField("verdict") for f in ds.GetLayer(0)}
    assert got == want, (got, want)
    ds = g.OpenEx("KEEPOUT:" + src, g.OF_VECTOR, open_options=["FOCAL35=20"])
    reasons = {f.GetField("reason") for f in ds.GetLayer(0)}
    assert all("airframe attitude" in r for r in reasons), reasons


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
