"""Outputs as GIS tools expect them (issue 20): `sites export` picks the format from the file's
extension, as ogr2ogr does (it wrote GeoJSON into x.gpkg); GeoJSON is RFC 7946 everywhere:
outer rings counterclockwise, holes clockwise, no `crs` member, positions at 9 decimals
(0.1 mm; 7 would make footprints smaller than the ground they show).
Checked with GDAL's own readers and a shoelace written here."""
import csv
import json
import os
import re

from kotest import DATA, main, run, tool

IMAGES = os.path.join(DATA, "images")


def area2(ring):
    """Twice the signed area (lon/lat): > 0 counterclockwise."""
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
               for i in range(len(ring) - 1))


def polygons(geom):
    if not geom:
        return []
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return geom["coordinates"]
    return []


def numbers(x):
    if isinstance(x, list):
        for v in x:
            yield from numbers(v)
    else:
        yield x


def assert_rfc7946(text):
    doc = json.loads(text)
    assert "crs" not in doc, "legacy crs member"
    # 9 decimals at most, in the text as written (json.loads would hide more)
    for m in re.finditer(r'"coordinates":\s*(\[[^"]*?\]\]+)', text):
        for num in re.findall(r"-?\d+\.(\d+)", m.group(1)):
            assert len(num) <= 9, num
    n = 0
    for f in doc["features"]:
        for poly in polygons(f["geometry"]):
            assert area2(poly[0]) > 0, "outer ring clockwise"
            for hole in poly[1:]:
                assert area2(hole) < 0, "hole counterclockwise"
            n += 1
    return n


def test_footprint_geojson_is_rfc7946(tmp):
    code, out, err = run("footprint", "--format", "geojson", IMAGES)
    assert code in (0, 1), err
    assert assert_rfc7946(out) == 3


def test_sites_export_format_follows_the_extension(tmp):
    code, out, err = run("sites", "info", "--format", "json")
    assert code == 0, err
    total = json.loads(out)["sites"]
    # a Shapefile holds one geometry type: the buffered sites (all polygons)
    for ext, driver, opt in ((".gpkg", "GPKG", []), (".fgb", "FlatGeobuf", []),
                             (".shp", "ESRI Shapefile", ["--buffered"]),
                             (".geojson", "GeoJSON", [])):
        path = os.path.join(tmp, "sites" + ext)
        code, _, err = run("sites", "export", *opt, path)
        assert code == 0, (ext, err)
        code, info, err = tool("ogrinfo", "-so", "-al", path)
        assert code == 0 and f"using driver `{driver}'" in info, (ext, info[:300], err)
        assert re.search(rf"Feature Count: {total}\b", info), (ext, info[:500])
    assert open(os.path.join(tmp, "sites.gpkg"), "rb").read(16) == b"SQLite format 3\x00"
    code, _, err = run("sites", "export", os.path.join(tmp, "sites.unknown"))
    assert code == 2 and "sites.unknown" in err and "extension" in err, err
    code, _, err = run("sites", "export", "-f", "GeoJSON", os.path.join(tmp, "sites.unknown"))
    assert code == 0, err


def test_sites_export_geojson_is_rfc7946(tmp):
    path = os.path.join(tmp, "sites.geojson")
    code, _, err = run("sites", "export", "--buffered", path)
    assert code == 0, err
    assert assert_rfc7946(open(path).read()) > 100


def ogr_rows(path, layer):
    from osgeo import ogr
    ds = ogr.Open(path)
    assert ds is not None, path
    lyr = ds.GetLayerByName(layer)
    assert lyr is not None, (path, [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())])
    rows = []
    for f in lyr:
        g = f.GetGeometryRef()
        rows.append((f.items(), g.ExportToWkt() if g else None))
    return ds.GetDriver().GetName(), rows


def test_o_gpkg_and_fgb_write_those_formats(tmp):
    """-o x.gpkg was GeoJSON text in a file named .gpkg: now a GeoPackage with the same
    records as the GeoJSON output, the fields typed."""
    code, out, err = run("check", "--format", "geojson", IMAGES)
    want = {f["properties"]["id"]: f for f in json.loads(out)["features"]}
    for ext, driver in ((".gpkg", "GPKG"), (".fgb", "FlatGeobuf")):
        path = os.path.join(tmp, "check" + ext)
        code, _, err = run("check", "-o", path, IMAGES)
        assert code == 1, err  # two photos are flagged
        name, rows = ogr_rows(path, "check")
        assert name == driver and len(rows) == 3, (name, rows)
        for props, wkt in rows:
            w = want[props["id"]]["properties"]
            assert props["verdict"] == w["verdict"] and props["hit_count"] == w["hit_count"]
            assert isinstance(props["hit_count"], int) and isinstance(props["min_gsd_m"],
                                                                      (float, type(None)))
            assert wkt.startswith("POLYGON"), wkt
    path = os.path.join(tmp, "fp.gpkg")
    code, _, err = run("footprint", "-o", path, IMAGES)
    assert code == 0, err
    name, rows = ogr_rows(path, "footprints")
    assert name == "GPKG" and len(rows) == 3 and all(w for _, w in rows)
    # the file is replaced, as a text output is
    code, _, err = run("footprint", "-o", path, os.path.join(IMAGES, "DJI_0021.JPG"))
    assert code == 0 and len(ogr_rows(path, "footprints")[1]) == 1, err
    # an explicit text format does not go into a .gpkg
    code, _, err = run("check", "--format", "jsonl", "-o", path, IMAGES)
    assert code == 2 and "--format" in err and "GPKG" in err, err


def test_no_record_is_silently_left_out(tmp):
    """Adversary (adv23d): GDAL 3.6's FlatGeobuf writer skips a feature without a geometry and
    says nothing, so -o x.fgb left out every unknown record (exit 1, no message). Now the file
    is read back: when it holds fewer records than were written, it is deleted and the run
    fails (exit 2) saying why; GeoPackage keeps them all."""
    import shutil
    d = os.path.join(tmp, "in")
    os.makedirs(d)
    shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), d)
    with open(os.path.join(d, "broken.jpg"), "wb") as f:
        f.write(b"not a jpeg")  # unknown: no footprint
    for cmd in ("check", "footprint"):
        fgb = os.path.join(tmp, cmd + ".fgb")
        code, _, err = run(cmd, "-o", fgb, d)
        assert code == 2 and "FlatGeobuf" in err and "1 of 2" in err, (cmd, code, err)
        assert not os.path.exists(fgb), cmd
        gpkg = os.path.join(tmp, cmd + ".gpkg")
        code, _, err = run(cmd, "-o", gpkg, d)
        assert code == 1, (cmd, code, err)
        layer = "check" if cmd == "check" else "footprints"
        assert len(ogr_rows(gpkg, layer)[1]) == 2, cmd


def test_route_to_geopackage(tmp):
    plan = os.path.join(DATA, "routes", "litchi_csv", "waypoints.csv")
    path = os.path.join(tmp, "route.gpkg")
    code, out, err = run("route", "--camera", "focal35=24,size=4000x3000", "--format",
                         "geojson", plan)
    want = json.loads(out)["features"]
    code, _, err = run("route", "--camera", "focal35=24,size=4000x3000", "-o", path, plan)
    assert code in (0, 1), err
    name, rows = ogr_rows(path, "route")
    assert name == "GPKG" and len(rows) == len(want), (len(rows), len(want))


def test_o_csv_and_jsonl_take_their_format_from_the_extension(tmp):
    """-o x.csv and -o x.jsonl without --format wrote GeoJSON into those files: the extension
    now picks the text format (as ogr2ogr does), read back here as CSV and JSON lines; an
    extension that names no format is a usage error unless --format says."""
    code, out, err = run("check", "--format", "geojson", IMAGES)
    want = sorted((f["properties"]["id"], f["properties"]["verdict"])
                  for f in json.loads(out)["features"])
    for cmd in ("check", "footprint"):
        path = os.path.join(tmp, cmd + ".csv")
        code, _, err = run(cmd, "-o", path, IMAGES)
        assert code in (0, 1), err
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert sorted(r["id"] for r in rows) == [i for i, _ in want], (cmd, rows[:1])
        if cmd == "check":
            assert sorted((r["id"], r["verdict"]) for r in rows) == want
        for ext in (".jsonl", ".geojsonl"):
            path = os.path.join(tmp, cmd + ext)
            code, _, err = run(cmd, "-o", path, IMAGES)
            assert code in (0, 1), err
            lines = [json.loads(l) for l in open(path).read().splitlines()]
            assert len(lines) == 3 and all(l["type"] == "Feature" for l in lines), (cmd, ext)
        path = os.path.join(tmp, cmd + ".geojson")
        code, _, err = run(cmd, "-o", path, IMAGES)
        assert json.load(open(path))["type"] == "FeatureCollection"
    # route: CSV is its conflicts table (header only for this clear plan)
    plan = os.path.join(DATA, "routes", "qgc_plan", "qgroundcontrol_sample.plan")
    path = os.path.join(tmp, "route.csv")
    code, _, err = run("route", "--camera", "focal35=24,size=4000x3000", "-o", path, plan)
    assert code in (0, 1), err
    assert open(path).readline().startswith("source,leg,from_wp"), open(path).read()[:200]
    # no format in the name: a usage error naming the file, unless --format is given
    path = os.path.join(tmp, "report.txt")
    code, _, err = run("check", "-o", path, IMAGES)
    assert code == 2 and "report.txt" in err and "--format" in err, (code, err)
    assert not os.path.exists(path)
    code, _, err = run("check", "--format", "jsonl", "-o", path, IMAGES)
    assert code in (0, 1) and len(open(path).read().splitlines()) == 3, err


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
