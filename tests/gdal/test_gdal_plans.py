"""Mission plans through the KEEPOUT driver (issue 20, docs/DESIGN.md "GDAL driver"): a QGC
.plan, a Litchi CSV and a DJI .kmz open as vector datasets of four layers (route, legs,
exposures, conflicts), the route's vertices are the plan's waypoints as the file writes them
(read here), feature ids start at 1, counts and extents come without a scan, ogrinfo and
ogr2ogr print no error, and the layers hold what `keepout route` reports for the same plan."""
import csv
import json
import os
import re
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, main, polygon_store, run, tool  # noqa: E402

ROUTES = os.path.join(DATA, "routes")
QGC = os.path.join(ROUTES, "qgc_plan", "qgroundcontrol_sample.plan")
LITCHI = os.path.join(ROUTES, "litchi_csv", "waypoints.csv")
KMZ = os.path.join(ROUTES, "dji_wpml_m4t_pilot2", "dev_kmz_file.kmz")
LAYERS = ["route", "legs", "exposures", "conflicts"]
OO = ["CAMERA=focal35=24,size=4000x3000", "GIMBAL_PITCH=-90", "HEIGHT=20"]
CLI = ["--camera", "focal35=24,size=4000x3000", "--gimbal-pitch", "-90", "--height", "20"]
KX, KY = 111320.0, 111132.0


def waypoints(path):
    """The plan's waypoints as (lon, lat), read from the file here."""
    if path.endswith(".plan"):
        mission = json.load(open(path))["mission"]
        home = mission["plannedHomePosition"]
        out = []
        for it in mission["items"]:
            if it.get("type") == "SimpleItem" and it["command"] in (16, 22):  # waypoint, takeoff
                out.append((it["params"][5], it["params"][4]))
            elif it.get("type") == "SimpleItem" and it["command"] == 20:  # return to launch
                out.append((home[1], home[0]))
        return out
    if path.endswith(".csv"):
        return [(float(r["longitude"]), float(r["latitude"])) for r in csv.DictReader(open(path))]
    with zipfile.ZipFile(path) as z:
        text = z.read([n for n in z.namelist() if n.endswith("waylines.wpml")][0]).decode()
    return [tuple(map(float, c.split(",")[:2]))
            for c in re.findall(r"<coordinates>\s*([^<]+?)\s*</coordinates>", text)]


def ogr():
    from osgeo import gdal, ogr as o
    gdal.UseExceptions()
    return gdal, o


def open_plan(path, oo, sites):
    gdal, _ = ogr()
    return gdal.OpenEx("KEEPOUT:" + path, gdal.OF_VECTOR,
                       open_options=oo + ["SITES=" + sites])


def site_on_leg3(tmp):
    """A 30 m square site on the midpoint of the QGC sample's third leg."""
    wps = waypoints(QGC)
    lon = (wps[2][0] + wps[3][0]) / 2
    lat = (wps[2][1] + wps[3][1]) / 2
    import math
    dx, dy = 15 / (KX * math.cos(math.radians(lat))), 15 / KY
    ring = [[lon - dx, lat - dy], [lon + dx, lat - dy], [lon + dx, lat + dy], [lon - dx, lat + dy],
            [lon - dx, lat - dy]]
    return polygon_store(tmp, [("Substation on leg 3", ring)])


def test_layers_route_and_counts(tmp):
    sites = os.environ["KEEPOUT_SITES"]
    for path in (QGC, LITCHI, KMZ):
        ds = open_plan(path, OO, sites)
        assert [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())] == LAYERS, path
        want = waypoints(path)
        route = ds.GetLayerByName("route")
        assert route.GetFeatureCount(0) == 1
        feature = route.GetNextFeature()  # kept: the geometry belongs to it
        g = feature.GetGeometryRef()
        got = [(g.GetX(i), g.GetY(i)) for i in range(g.GetPointCount())]
        assert len(got) == len(want) and all(
            abs(a[0] - b[0]) < 1e-9 and abs(a[1] - b[1]) < 1e-9 for a, b in zip(got, want)), \
            (path, got[:3], want[:3])
        # extent of the route: the waypoints' bounding box, known without a scan
        assert route.TestCapability("FastGetExtent") and route.TestCapability("FastFeatureCount")
        minx, maxx, miny, maxy = route.GetExtent(0)
        assert abs(minx - min(x for x, _ in want)) < 1e-9 and abs(maxy - max(y for _, y in want)) < 1e-9
        legs = ds.GetLayerByName("legs")
        assert legs.GetFeatureCount(0) == len(want) - 1, (path, legs.GetFeatureCount(0))
        for name in LAYERS:
            lyr = ds.GetLayerByName(name)
            n = lyr.GetFeatureCount(0)
            fids = [f.GetFID() for f in lyr]
            assert fids == list(range(1, n + 1)), (path, name, fids[:3], n)
            if n:
                assert lyr.GetFeature(n).GetFID() == n


def test_layers_hold_what_keepout_route_reports(tmp):
    sites = site_on_leg3(tmp)
    ds = open_plan(QGC, OO + ["CONTINUOUS=YES"], sites)
    code, out, err = run("route", "--db", sites, *CLI, "--continuous", "--format", "geojson", QGC)
    assert code == 1, (code, err)
    cli = {}
    for f in json.loads(out)["features"]:
        cli.setdefault(f["properties"]["kind"], []).append(f["properties"])
    kinds = {"route": "route", "legs": "leg", "exposures": "exposure", "conflicts": "conflict"}
    for name, kind in kinds.items():
        lyr = ds.GetLayerByName(name)
        rows = [{k: f.GetField(k) for k in f.keys()} for f in lyr]
        assert len(rows) == len(cli[kind]), (name, len(rows), len(cli[kind]))
        for mine, theirs in zip(rows, cli[kind]):
            assert set(mine) == set(theirs), (name, set(mine) ^ set(theirs))
            for k in mine:
                a, b = mine[k], theirs[k]
                assert a == b or (isinstance(a, float) and abs(a - b) < 1e-9), (name, k, a, b)
    # the independent expectation: the site on leg 3's midpoint is a conflict of leg 3 only
    conflicts = [f for f in ds.GetLayerByName("conflicts")]
    assert conflicts and {f.GetField("leg") for f in conflicts} == {3}
    assert conflicts[0].GetField("name") == "Substation on leg 3"
    legs = {f.GetField("leg"): f.GetField("verdict") for f in ds.GetLayerByName("legs")}
    assert legs[3] == "flagged" and all(v == "clear" for k, v in legs.items() if k != 3), legs
    # where clause and spatial filter work on the layers
    lyr = ds.GetLayerByName("exposures")
    lyr.SetAttributeFilter("verdict = 'flagged'")
    assert lyr.GetFeatureCount() == sum(1 for e in cli["exposure"] if e["verdict"] == "flagged")


def test_ogrinfo_and_ogr2ogr_without_errors(tmp):
    sites = site_on_leg3(tmp)
    oo = [x for o in OO + ["CONTINUOUS=YES", "SITES=" + sites] for x in ("-oo", o)]
    code, out, err = tool("ogrinfo", "-ro", "-so", "-al", *oo, "KEEPOUT:" + QGC)
    assert code == 0 and "ERROR" not in err and "Warning" not in err, err
    assert "Layer name: conflicts" in out and "Feature Count: " in out
    # ogrinfo -sql opens for update first: served read-only, no error
    code, out, err = tool("ogrinfo", *oo, "-sql", "SELECT COUNT(*) FROM legs", "KEEPOUT:" + QGC)
    assert code == 0 and "ERROR" not in err, err
    gpkg = os.path.join(tmp, "plan.gpkg")
    code, out, err = tool("ogr2ogr", "-f", "GPKG", gpkg, *oo, "KEEPOUT:" + QGC)
    assert code == 0 and "ERROR" not in err, err
    gdal, o = ogr()
    back = gdal.OpenEx(gpkg)
    src = open_plan(QGC, OO + ["CONTINUOUS=YES"], sites)
    for name in LAYERS:
        assert back.GetLayerByName(name).GetFeatureCount() == \
            src.GetLayerByName(name).GetFeatureCount(), name


def test_bad_opens_say_what_to_give(tmp):
    sites = os.environ["KEEPOUT_SITES"]
    # no camera in a Litchi plan: the open fails naming the open option
    code, out, err = tool("ogrinfo", "-ro", "-so", "-oo", "SITES=" + sites, "KEEPOUT:" + LITCHI)
    assert code != 0 and "CAMERA=" in err, err
    code, out, err = tool("ogrinfo", "-ro", "-so", "-oo", "SITES=" + sites, "-oo",
                          "CAMERA=focal35=abc", "KEEPOUT:" + QGC)
    assert code != 0 and "CAMERA=focal35=abc" in err, err
    code, out, err = tool("ogrinfo", "-ro", "-so", "-oo", "SITES=" + sites, "-oo",
                          "GIMBAL_PITCH=-200", *[x for o in OO[:1] for x in ("-oo", o)],
                          "KEEPOUT:" + QGC)
    assert code != 0 and "GIMBAL_PITCH=-200" in err, err
    # a plan is no raster
    code, out, err = tool("gdalinfo", "-oo", "SITES=" + sites, "KEEPOUT:" + QGC)
    assert code != 0 and "vector" in err, err


if __name__ == "__main__":
    main([test_layers_route_and_counts, test_layers_hold_what_keepout_route_reports,
          test_ogrinfo_and_ogr2ogr_without_errors, test_bad_opens_say_what_to_give])
