"""keepout route end to end: every real sample mission, malformed missions, a real site placed
on a sample route's path found on the right leg, remedies that really clear a leg, and the SVG
map rendered by headless Chromium."""
import json
import math
import os
import re
import shutil
import subprocess
import zipfile

from kotest import DATA, main, run, write

ROUTES = os.path.join(DATA, "routes")
QGC = os.path.join(ROUTES, "qgc_plan", "qgroundcontrol_sample.plan")
CAMERA = ["--camera", "focal35=24,size=4000x3000"]
KX = 111320.0  # metres per degree of longitude at the equator
KY = 111132.0  # metres per degree of latitude (mid-latitude mean)


def samples():
    """Every sample mission shipped in data/routes, with its waypoint count read here
    independently of keepout (XML placemarks, CSV rows, plan items with a position)."""
    import xml.etree.ElementTree as ET
    out = []
    kml = "{http://www.opengis.net/kml/2.2}"

    def placemarks(text):
        return len(ET.fromstring(text).findall(f".//{kml}Placemark"))

    for d in ("dji_wpml_m4t_pilot2", "dji_wpml_djifly_waygen"):
        wpml = os.path.join(ROUTES, d, "waylines.wpml")
        out.append((wpml, placemarks(open(wpml, "rb").read())))
    kmz = os.path.join(ROUTES, "dji_wpml_m4t_pilot2", "dev_kmz_file.kmz")
    with zipfile.ZipFile(kmz) as z:
        name = [n for n in z.namelist() if n.endswith("waylines.wpml")][0]
        out.append((kmz, placemarks(z.read(name))))
    rows = open(os.path.join(ROUTES, "litchi_csv", "waypoints.csv")).read().strip().splitlines()
    out.append((os.path.join(ROUTES, "litchi_csv", "waypoints.csv"), len(rows) - 1))
    for p in ("qgroundcontrol_sample.plan", "qgroundcontrol_sample_with_survey.plan"):
        path = os.path.join(ROUTES, "qgc_plan", p)
        out.append((path, None))
    return out


def first_photo_focal(path):
    """35 mm-equivalent focal length of a WPML mission's first photo, read from the XML: an
    orientedShoot carries its own wpml:focalLength; a takePhoto uses the last zoom before it."""
    if path.endswith(".kmz"):
        with zipfile.ZipFile(path) as z:
            text = z.read([n for n in z.namelist() if n.endswith("waylines.wpml")][0]).decode()
    elif path.endswith(".wpml"):
        text = open(path).read()
    else:
        return 24.0
    m = re.search(r"(takePhoto|orientedShoot)</wpml:actionActuatorFunc>", text)
    if not m:
        return 24.0
    if m.group(1) == "orientedShoot":
        own = re.search(r"<wpml:focalLength>([0-9.]+)<", text[m.end():])
        return float(own.group(1))
    before = re.findall(r"<wpml:focalLength>([0-9.]+)<", text[: m.start()])
    return float(before[-1]) if before else 24.0


def empty_store(tmp):
    db = os.path.join(tmp, "empty.sqlite")
    src = write(tmp, "none.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "far away"},
         "geometry": {"type": "Point", "coordinates": [0.001, 0.001]}}]}))
    code, _, err = run("sites", "import", "-q", "--db", db, src)
    assert code == 0, err
    return db


def features(out, kind):
    return [f for f in json.loads(out)["features"] if f["properties"]["kind"] == kind]


def plan_positions(path):
    """Waypoints of a QGC plan read here: items with a position, in order (NAV commands)."""
    items = json.load(open(path))["mission"]["items"]
    return [(it["params"][4], it["params"][5]) for it in items
            if it.get("type") == "SimpleItem" and it["command"] in (16, 22)]


def test_every_sample_mission(tmp):
    db = empty_store(tmp)
    for path, n_wp in samples():
        code, out, err = run("route", "--db", db, *CAMERA, "--gimbal-pitch", "-90",
                             "--height", "50", "--format", "geojson", path)
        assert code == 0, (path, code, err)
        route = features(out, "route")
        assert len(route) == 1, path
        p = route[0]["properties"]
        if n_wp is not None:
            assert p["waypoints"] == n_wp, (path, p["waypoints"], n_wp)
        assert p["exposures"] > 0 and p["verdict"] == "clear", (path, p)
        exposures = features(out, "exposure")
        assert len(exposures) == p["exposures"]
        # nadir at 50 m with a 24 mm-equivalent lens on a 4:3 frame: the footprint is
        # 50 * w / 24 by 50 * h / 24 with w x h the 35 mm-equivalent sensor (43.27 mm diagonal)
        w = 43.27 * 4 / 5
        h = 43.27 * 3 / 5
        f = first_photo_focal(path)
        expect = (50 * w / f) * (50 * h / f)
        ring = exposures[0]["geometry"]["coordinates"][0]
        lat = ring[0][1]
        xs = [(x - ring[0][0]) * KX * math.cos(math.radians(lat)) for x, _ in ring]
        ys = [(y - ring[0][1]) * KY for _, y in ring]
        area = abs(sum(xs[i] * ys[i + 1] - xs[i + 1] * ys[i] for i in range(len(ring) - 1))) / 2
        assert abs(area / expect - 1) < 0.02, (path, area, expect, f)


def test_no_camera_is_a_usage_error(tmp):
    db = empty_store(tmp)
    code, _, err = run("route", "--db", db, os.path.join(ROUTES, "litchi_csv", "waypoints.csv"))
    assert code == 2 and "--camera" in err, (code, err)


def test_malformed_missions(tmp):
    db = empty_store(tmp)
    kmz = os.path.join(ROUTES, "dji_wpml_m4t_pilot2", "dev_kmz_file.kmz")
    data = open(kmz, "rb").read()
    bad = {
        "truncated.kmz": data[: len(data) // 2],
        "wrong_ns.wpml": open(os.path.join(ROUTES, "dji_wpml_djifly_waygen", "waylines.wpml"))
        .read().replace("http://www.dji.com/wpmz/1.0.2", "http://example.com/not-wpml").encode(),
        "empty.plan": json.dumps({"fileType": "Plan", "version": 1, "mission": {
            "version": 2, "items": [], "plannedHomePosition": [47.0, 8.0, 400]}}).encode(),
        "missing.csv": b"latitude,longitude,heading(deg)\n21.25,-157.80,180\n",
        "garbage.plan": b"lat,lon\n1,2\n",
        # found by fuzz_route: json-c asserted on the length of a home that is not a list
        "home_object.plan": json.dumps({"fileType": "Plan", "mission": {
            "items": [], "plannedHomePosition": {"lat": 47.0}}}).encode(),
    }
    # a real sample with no position at all (only DO_DIGICAM_CONTROL): nothing to check
    digicam = os.path.join(ROUTES, "qgc_plan", "qgroundcontrol_sample_with_digicam_control.plan")
    code, out, err = run("route", "--db", db, *CAMERA, "--format", "geojson", digicam)
    assert code == 1 and "no waypoints" in err and "digicam" in err, (code, err)
    for name, content in bad.items():
        path = write(tmp, name, content, "wb")
        code, out, err = run("route", "--db", db, *CAMERA, "--format", "geojson", path)
        assert code == 1, (name, code, err)
        assert name in err and "Traceback" not in err, (name, err)
        assert len(err.strip().splitlines()) <= 3, (name, err)
    assert "mission.plannedHomePosition" in err, err


def substation(tmp, max_extent_m):
    """A real substation outline from the bundled Bremen OSM data (imported and exported by
    keepout itself), the first whose extent is between 12 m and max_extent_m: (ring, w, h)."""
    from osgeo import ogr
    db = os.path.join(tmp, "bremen.sqlite")
    code, _, err = run("sites", "import", "-q", "--db", db, "--preset", "osm",
                       os.path.join(DATA, "sites", "bremen_power.osm"))
    assert code == 0, err
    out = os.path.join(tmp, "bremen.geojson")
    code, _, err = run("sites", "export", "--db", db, "--category", "substation", "-f",
                       "GeoJSON", out)
    assert code == 0, err
    for f in json.load(open(out))["features"]:
        g = ogr.CreateGeometryFromJson(json.dumps(f["geometry"]))
        if g.GetGeometryName() not in ("POLYGON", "MULTIPOLYGON"):
            continue
        poly = g if g.GetGeometryName() == "POLYGON" else g.GetGeometryRef(0)
        ring = json.loads(poly.ExportToJson())["coordinates"][0]
        minx, maxx, miny, maxy = g.GetEnvelope()
        lat = (miny + maxy) / 2
        w = (maxx - minx) * KX * math.cos(math.radians(lat))
        h = (maxy - miny) * KY
        if 12 <= w <= max_extent_m and 12 <= h <= max_extent_m:
            return ring, (minx + maxx) / 2, (miny + maxy) / 2, w, h
    raise AssertionError("no small substation polygon in the Bremen data")


def place(tmp, ring, cx, cy, lat, lon, name="placed"):
    """Moves the ring so that its envelope centre is at (lat, lon); a one-site store."""
    moved = [[x - cx + lon, y - cy + lat] for x, y in ring]
    src = write(tmp, "placed.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name, "sid": "s1"},
         "geometry": {"type": "Polygon", "coordinates": [moved]}}]}))
    db = os.path.join(tmp, "placed.sqlite")
    if os.path.exists(db):
        os.remove(db)
    code, _, err = run("sites", "import", "-q", "--db", db, "--category", "substation",
                       "--buffer", "0", src)
    assert code == 0, err
    return db


def test_site_on_the_path_is_found_on_the_right_leg(tmp):
    wps = plan_positions(QGC)
    assert len(wps) >= 4
    # the midpoint of the third leg (waypoint 3 -> 4 in flight order)
    lat = (wps[2][0] + wps[3][0]) / 2
    lon = (wps[2][1] + wps[3][1]) / 2
    ring, cx, cy, w, h = substation(tmp, 30)
    db = place(tmp, ring, cx, cy, lat, lon, "Bremen substation moved to Zurich")
    args = ["route", "--db", db, *CAMERA, "--gimbal-pitch", "-90", "--height", "20"]
    # photos only: the plan takes a single photo, after waypoint 2 -- it does not see the site
    code, out, err = run(*args, "--format", "geojson", QGC)
    assert code == 0, (code, err)
    # video over the whole route: the site is on leg 3 and only there
    code, out, err = run(*args, "--continuous", "--format", "geojson", QGC)
    assert code == 1, (code, err)
    conflicts = features(out, "conflict")
    assert conflicts and {c["properties"]["leg"] for c in conflicts} == {3}, conflicts
    legs = {f["properties"]["leg"]: f["properties"]["verdict"] for f in features(out, "leg")}
    assert legs[3] == "flagged" and all(v == "clear" for k, v in legs.items() if k != 3), legs
    assert conflicts[0]["properties"]["name"] == "Bremen substation moved to Zurich"
    # the table names the leg too, and each conflict's exposure whole (ids were cut at 24
    # characters: "#196 sample after WP4 +1~")
    code, out, err = run(*args, "--continuous", "--format", "table", QGC)
    assert code == 1 and "leg 3" in out, out
    for c in conflicts:
        label = f"#{c['properties']['exposure']} {c['properties']['exposure_id']}"
        assert label + " " in out, (label, out)


def test_remedy_really_clears_the_leg(tmp):
    wps = plan_positions(QGC)
    ring, cx, cy, w, h = substation(tmp, 22)
    # beside the first leg (west -> east): its near edge 16 m north of the track
    lat0 = (wps[0][0] + wps[1][0]) / 2
    lon0 = (wps[0][1] + wps[1][1]) / 2
    lat = lat0 + (16 + h / 2) / KY
    db = place(tmp, ring, cx, cy, lat, lon0)
    base = ["route", "--db", db, *CAMERA, "--gimbal-pitch", "-90", "--continuous",
            "--format", "geojson", QGC]
    code, out, err = run(*base, "--height", "25")
    assert code == 1, (code, err)
    leg1 = [f["properties"] for f in features(out, "leg") if f["properties"]["leg"] == 1][0]
    assert leg1["verdict"] == "flagged", leg1
    dh, pitch = leg1["remedy_height_change_m"], leg1["remedy_pitch_deg"]
    assert dh is not None or pitch is not None, leg1
    assert "skip exposures" in leg1["remedy"]
    if dh is not None:
        code, out, err = run(*base, "--height", str(25 + dh))
        legs = {f["properties"]["leg"]: f["properties"]["verdict"] for f in features(out, "leg")}
        assert legs[1] == "clear", (dh, legs)
    if pitch is not None:
        args = [a if a != "-90" else str(pitch) for a in base]
        code, out, err = run(*args, "--height", "25")
        legs = {f["properties"]["leg"]: f["properties"]["verdict"] for f in features(out, "leg")}
        assert legs[1] == "clear", (pitch, legs)


def test_map_renders_with_the_conflict(tmp):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: run scripts/install-deps.sh"
    wps = plan_positions(QGC)
    ring, cx, cy, w, h = substation(tmp, 30)
    name = 'Umspannwerk <Nord> & "Süd"'  # named on the map, escaped, never markup
    db = place(tmp, ring, cx, cy, (wps[2][0] + wps[3][0]) / 2, (wps[2][1] + wps[3][1]) / 2,
               name)
    svg = os.path.join(tmp, "route.svg")
    code, out, err = run("route", "--db", db, *CAMERA, "--gimbal-pitch", "-90", "--height",
                         "20", "--continuous", "--map", svg, "--format", "jsonl", QGC)
    assert code == 1 and os.path.getsize(svg) > 1000, (code, err)
    text = open(svg).read()
    assert "http" not in text.replace("http://www.w3.org/2000/svg", ""), "no external refs"
    import xml.etree.ElementTree as ET
    root = ET.fromstring(text.encode())  # well-formed whatever the site is called
    ns = "{http://www.w3.org/2000/svg}"
    order = [e for e in root.iter() if e.tag in (ns + "circle", ns + "text")]
    names = [e for e in order if e.get("class") == "site"]
    assert [e.text for e in names] == [name], [e.text for e in names]
    # the labels come after (over) the conflict dots
    last_dot = max(i for i, e in enumerate(order) if e.get("class") == "conflict")
    assert order.index(names[0]) > last_dot
    assert root.get("width") is None and root.get("viewBox"), root.attrib
    png = os.path.join(tmp, "route.png")
    # a 1,200 px window (the map was 1,260 px wide, its legend cut off): the whole legend shows
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={png}", "--window-size=1200,900", "file://" + svg],
                   capture_output=True, timeout=120)
    from osgeo import gdal
    import numpy as np
    ds = gdal.Open(png)
    px = np.dstack([ds.GetRasterBand(b + 1).ReadAsArray() for b in range(3)]).astype(int)
    colours = len(np.unique(px.reshape(-1, 3), axis=0))
    assert colours > 20, f"blank render ({colours} colours)"
    red = (abs(px[..., 0] - 215) < 20) & (px[..., 1] < 60) & (px[..., 2] < 60)
    assert red.sum() > 200, f"conflict not drawn ({red.sum()} red pixels)"
    # the legend's frame (#999) closes inside the window: grey pixels near its right edge
    grey = (abs(px[..., 0] - 153) < 6) & (abs(px[..., 1] - 153) < 6) & (abs(px[..., 2] - 153) < 6)
    cols = np.nonzero(grey.any(axis=0))[0]
    assert len(cols) and cols.max() >= 1150, f"legend frame ends at x={cols.max() if len(cols) else None}"


if __name__ == "__main__":
    main([test_every_sample_mission, test_no_camera_is_a_usage_error, test_malformed_missions,
          test_site_on_the_path_is_found_on_the_right_leg, test_remedy_really_clears_the_leg,
          test_map_renders_with_the_conflict])
