"""Outputs as GIS tools expect them (issue 20): `sites export` picks the format from the file's
extension, as ogr2ogr does (it wrote GeoJSON into x.gpkg); GeoJSON is RFC 7946 everywhere:
outer rings counterclockwise, holes clockwise, no `crs` member, positions at 9 decimals
(0.1 mm; 7 would make footprints smaller than the ground they show).
Checked with GDAL's own readers and a shoelace written here."""
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


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
