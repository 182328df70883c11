"""Issue 17's bad-input matrix for `keepout route` and `keepout sites import`: missions that
hover over a site, unparsable numbers in every mission format, and UAS zone files whose fields
have the wrong JSON types. None may be `clear` or exit 0; none may crash.

Every route case puts a real-sized protected site (a 40 m square, category substation, no
buffer) right under the mission, so a mission that is checked at all is flagged: a `clear` or
exit 0 means the hover or the bad number was not looked at."""
import json
import os

from kotest import main, polygon_store, run, write

LAT, LON = 47.0, 8.0  # the site's centre
FAR = LAT + 0.02  # a waypoint well away from the site
KY = 111132.0
KX = 111320.0 * 0.6819983600624985  # cos(47 deg)
CAMERA = ["--camera", "focal35=24,size=4000x3000", "--gimbal-pitch", "-90"]


def site_store(tmp):
    half_x, half_y = 20 / KX, 20 / KY
    ring = [[LON - half_x, LAT - half_y], [LON + half_x, LAT - half_y],
            [LON + half_x, LAT + half_y], [LON - half_x, LAT + half_y],
            [LON - half_x, LAT - half_y]]
    return polygon_store(tmp, [("substation under the hover", ring)])


def route(tmp, name, content, *extra):
    db = site_store(tmp)
    path = write(tmp, name, content, "wb" if isinstance(content, bytes) else "w")
    return run("route", "--db", db, *CAMERA, "--height", "50", "--format", "geojson", *extra,
               path)


def assert_flagged(code, out, err):
    """The hover was checked and it shows the site."""
    assert code == 1, (code, err)
    routes = [f["properties"] for f in json.loads(out)["features"]
              if f["properties"]["kind"] == "route"]
    assert routes and routes[0]["exposures"] > 0, (routes, err)
    assert routes[0]["verdict"] == "flagged", routes


def assert_format_error(code, out, err, name, *words):
    """An unreadable plan: exit 1 (not clear), one message naming the file and the field."""
    assert code == 1, (code, err)
    assert "Traceback" not in err and code >= 0, err
    assert name in err, err
    for w in words:
        assert w in err, (w, err)
    assert '"verdict": "clear"' not in out, out


def wpl(*rows):
    lines = ["QGC WPL 110"]
    for r in rows:
        lines.append("\t".join(str(v) for v in r))
    return "\n".join(lines) + "\n"


HOME = (0, 1, 0, 16, 0, 0, 0, 0, LAT, LON, 500, 1)


def wp(i, lat=LAT, lon=LON, alt=50, cmd=16, p=(0, 0, 0, 0)):
    return (i, 0, 3, cmd, *p, lat, lon, alt, 1)


def plan(items, home=(LAT, LON, 500)):
    out = []
    for k, (cmd, params) in enumerate(items):
        out.append({"type": "SimpleItem", "command": cmd, "frame": 3, "doJumpId": k + 1,
                    "autoContinue": True, "params": params})
    return json.dumps({"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",
                       "mission": {"version": 2, "cruiseSpeed": 5, "firmwareType": 12,
                                   "plannedHomePosition": list(home), "items": out}})


def pos(cmd, lat=LAT, lon=LON, alt=50, p1=0):
    return (cmd, [p1, 0, 0, None, lat, lon, alt])


LITCHI_HEAD = ("latitude,longitude,altitude(m),heading(deg),curvesize(m),rotationdir,gimbalmode,"
               "gimbalpitchangle,actiontype1,actionparam1,altitudemode,speed(m/s),"
               "photo_timeinterval,photo_distinterval\n")


def wpml(placemarks, extra=""):
    body = "".join(
        f"<Placemark><Point><coordinates>{lon},{lat}</coordinates></Point>"
        f"<wpml:index>{i}</wpml:index><wpml:executeHeight>{h}</wpml:executeHeight>{more}"
        f"</Placemark>" for i, lat, lon, h, more in placemarks)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<kml xmlns="http://www.opengis.net/kml/2.2" '
            'xmlns:wpml="http://www.dji.com/wpmz/1.0.2"><Document>'
            f"<wpml:missionConfig>{extra}</wpml:missionConfig><Folder>"
            "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>"
            f"{body}</Folder></Document></kml>\n")


# ------------------------------------------------------------------ hovering over a site

def test_bad_hover_single_waypoint_wpl(tmp):
    assert_flagged(*route(tmp, "one.waypoints", wpl(HOME, wp(1))))


def test_bad_hover_single_waypoint_continuous(tmp):
    assert_flagged(*route(tmp, "one.waypoints", wpl(HOME, wp(1)), "--continuous"))


def test_bad_hover_two_waypoints_same_point(tmp):
    assert_flagged(*route(tmp, "two.waypoints", wpl(HOME, wp(1), wp(2)), "--continuous"))


def test_bad_hover_takeoff_and_loiter(tmp):
    # take-off, start video, loiter 60 s over the site, land where it took off
    items = [pos(22), (2500, [0, 0, 0, None, 0, 0, 0]), pos(19, p1=60), pos(21, alt=0)]
    assert_flagged(*route(tmp, "loiter.plan", plan(items)))


def test_bad_hover_litchi_recording_single_waypoint(tmp):
    # one waypoint over the site, "start recording" there (actiontype 2)
    row = f"{LAT},{LON},50,0,0,0,0,-90,2,0,0,5,-1,-1\n"
    assert_flagged(*route(tmp, "one.csv", LITCHI_HEAD + row))


def test_bad_hover_distance_trigger_zero_length_leg(tmp):
    # a distance trigger set at a waypoint and a second waypoint at the same place: the leg
    # has no length, but the camera triggers there
    items = [pos(16), (206, [5, 0, 0, 0, 0, 0, 0]), pos(16)]
    assert_flagged(*route(tmp, "trigger.plan", plan(items)))


def test_bad_hover_single_point_geojson(tmp):
    gj = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                     "properties": {}, "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]})
    assert_flagged(*route(tmp, "hover.geojson", gj))


# ------------------------------------------------------------------ unparsable numbers

def test_bad_wpl_home_nan(tmp):
    home = (0, 1, 0, 16, 0, 0, 0, 0, "nan", "nan", 500, 1)
    r = route(tmp, "home.waypoints", wpl(home, wp(1, lat=FAR), wp(2, lat=FAR + 0.01)))
    assert_format_error(*r, "home.waypoints", "line 2", "field 9")


def test_bad_wpl_home_overflow(tmp):
    home = (0, 1, 0, 16, 0, 0, 0, 0, LAT, LON, "1e999", 1)
    r = route(tmp, "home.waypoints", wpl(home, wp(1, lat=FAR), wp(2, lat=FAR + 0.01)))
    assert_format_error(*r, "home.waypoints", "line 2", "field 11")


def test_bad_wpl_waypoint_altitude_nan(tmp):
    r = route(tmp, "alt.waypoints", wpl(HOME, wp(1, lat=FAR), wp(2, lat=FAR + 0.01, alt="nan")))
    assert_format_error(*r, "alt.waypoints", "line 4", "field 11")


def test_bad_plan_home_not_a_number(tmp):
    items = [pos(16, lat=FAR), pos(16, lat=FAR + 0.01)]
    r = route(tmp, "home.plan", plan(items, home=("47.0x", LON, 500)))
    assert_format_error(*r, "home.plan", "plannedHomePosition")


def test_bad_plan_altitude_infinite(tmp):
    text = plan([pos(16, lat=FAR), pos(16, lat=FAR + 0.01, alt=12345)]).replace("12345", "1e999")
    assert_format_error(*route(tmp, "alt.plan", text), "alt.plan", "mission.items[1]", "params")


def test_bad_plan_param_string(tmp):
    # the gimbal command's pitch is a string: not "unset"
    items = [pos(16, lat=FAR), (205, ["-90", 0, 0, 0, 0, 0, 2]), pos(16, lat=FAR + 0.01)]
    assert_format_error(*route(tmp, "pitch.plan", plan(items)), "pitch.plan", "mission.items[1]")


def test_bad_plan_command_not_a_number(tmp):
    items = [pos(16, lat=FAR), pos(16, lat=FAR + 0.01)]
    text = json.loads(plan(items))
    text["mission"]["items"][1]["command"] = "16"
    r = route(tmp, "cmd.plan", json.dumps(text))
    assert_format_error(*r, "cmd.plan", "mission.items[1]", "command")


def test_bad_wpml_height_nan(tmp):
    r = route(tmp, "h.wpml", wpml([(0, FAR, LON, 50, ""), (1, FAR + 0.01, LON, "nan", "")]))
    assert_format_error(*r, "h.wpml", "executeHeight")


def test_bad_wpml_takeoff_point_garbage(tmp):
    r = route(tmp, "t.wpml", wpml([(0, FAR, LON, 50, ""), (1, FAR + 0.01, LON, 50, "")],
                                  "<wpml:takeOffRefPoint>47.0,x,500</wpml:takeOffRefPoint>"))
    assert_format_error(*r, "t.wpml", "takeOffRefPoint")


def test_bad_wpml_poi_nan(tmp):
    poi = "<wpml:waypointPoiPoint>nan,nan,0</wpml:waypointPoiPoint>"
    r = route(tmp, "p.wpml", wpml([(0, FAR, LON, 50, poi), (1, FAR + 0.01, LON, 50, "")]))
    assert_format_error(*r, "p.wpml", "waypointPoiPoint")


def test_bad_wpml_negative_index(tmp):
    r = route(tmp, "i.wpml", wpml([(0, FAR, LON, 50, ""), (-3, FAR + 0.01, LON, 50, "")]))
    assert_format_error(*r, "i.wpml", "index")


def test_bad_geojson_route_infinite_coordinate(tmp):
    text = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature",
                       "properties": {}, "geometry": {"type": "LineString", "coordinates":
                                                      [[LON, FAR], [12345, FAR]]}}]})
    r = route(tmp, "inf.geojson", text.replace("12345", "1e999"))
    assert_format_error(*r, "inf.geojson", "feature")


# ------------------------------------------------------------------ UAS zones of wrong types

def zones(tmp, name, doc):
    db = os.path.join(tmp, "zones.sqlite")
    path = write(tmp, name, doc if isinstance(doc, str) else json.dumps(doc))
    code, out, err = run("sites", "import", "--db", db, path)
    assert code >= 0 and code != 134, ("crashed", code, err)
    return code, err, db


def site_count(db):
    if not os.path.exists(db):
        return 0
    code, out, _ = run("sites", "info", "--db", db, "--format", "json")
    return json.loads(out)["sites"] if code == 0 else 0


def zone(**over):
    z = {"identifier": "LSZ1", "name": "Unterwerk", "reason": ["SENSITIVE"],
         "geometry": [{"horizontalProjection": {"type": "Circle", "center": [LON, LAT],
                                                "radius": 100}}]}
    z.update(over)
    return z


def test_bad_ed269_list_is_a_string(tmp):
    code, err, db = zones(tmp, "z.json", {"UASZoneList": "x"})
    assert code == 2 and "UASZoneList" in err, (code, err)


def test_bad_ed269_zone_is_a_string(tmp):
    code, err, db = zones(tmp, "z.json", {"UASZoneList": ["x", zone()]})
    assert code != 0 and "zone#1" in err and "not an object" in err, (code, err)


def test_bad_ed269_zone_is_null(tmp):
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [None]})
    assert code != 0 and "not an object" in err, (code, err)


def test_bad_ed269_projection_type_null(tmp):
    z = zone(geometry=[{"horizontalProjection": {"type": None}}])
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [z]})
    assert code != 0 and "horizontalProjection.type" in err and site_count(db) == 0, (code, err)


def test_bad_ed269_name_lang_null(tmp):
    z = zone(name=[{"text": "Unterwerk", "lang": None}])
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [z]})
    assert code != 0 and "name[0].lang" in err and site_count(db) == 0, (code, err)


def test_bad_ed269_circle_center_strings(tmp):
    # json-c reads "a" as 0: the zone would land at 0,0
    z = zone(geometry=[{"horizontalProjection": {"type": "Circle", "center": ["a", "b"],
                                                 "radius": 100}}])
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [z]})
    assert code != 0 and "center" in err and site_count(db) == 0, (code, err)


def test_bad_ed269_radius_string(tmp):
    z = zone(geometry=[{"horizontalProjection": {"type": "Circle", "center": [LON, LAT],
                                                 "radius": "100"}}])
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [z]})
    assert code != 0 and "radius" in err and site_count(db) == 0, (code, err)


def test_bad_ed269_identifier_object(tmp):
    z = zone(identifier={"id": 1})
    code, err, db = zones(tmp, "z.json", {"UASZoneList": [z]})
    assert code != 0 and "identifier" in err and site_count(db) == 0, (code, err)


def test_bad_ed318_properties_name_not_text(tmp):
    f = {"type": "Feature", "properties": {"identifier": "X1", "reason": ["SENSITIVE"],
                                           "name": [{"text": 5, "lang": "en-GB"}]},
         "geometry": {"type": "Point", "coordinates": [LON, LAT]}}
    code, err, db = zones(tmp, "z.geojson", {"type": "FeatureCollection", "features": [f]})
    assert code != 0 and "name" in err and site_count(db) == 0, (code, err)


def test_bad_csv_duplicate_header(tmp):
    # found by fuzz_import (tests/fuzz/crashes_found): GDAL 3.6's CSV driver segfaulted on a
    # header naming Latitude twice with a row longer than the header
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus",
                       "import", "csv_duplicate_latitude_gdal36_segv.bin")
    code, err, db = zones(tmp, "plants.csv", open(src, "rb").read()[1:].decode("latin-1"))
    assert code == 2 and "appears twice" in err and "header" in err, (code, err)



# --- FIFOs: a plan or a site source that is a FIFO, or beneath /vsizip/, must not block -----

def fifo_paths(tmp, name):
    plain = os.path.join(tmp, name)
    os.mkfifo(plain)
    z = os.path.join(tmp, "archive.zip")
    if not os.path.exists(z):
        os.mkfifo(z)
    return plain, "/vsizip/" + z + "/" + name


def quick(*args):
    import subprocess
    from kotest import KEEPOUT
    p = subprocess.run([KEEPOUT, *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_bad_fifo_plan(tmp):
    db = site_store(tmp)
    for name in ("mission.plan", "mission.kmz", "route.geojson"):
        for path in fifo_paths(tmp, name):
            code, out, err = quick("route", "--db", db, *CAMERA, "--height", "50", path)
            assert code != 0 and "not a regular file" in err, (path, code, err)


def test_bad_fifo_site_source(tmp):
    db = os.path.join(tmp, "new.sqlite")
    for name in ("sites.geojson", "zones.json", "sites.csv"):
        for path in fifo_paths(tmp, name):
            code, out, err = quick("sites", "import", "--db", db, path)
            assert code == 2 and "not a regular file" in err, (path, code, err)


if __name__ == "__main__":
    main([f for n, f in sorted(globals().items()) if n.startswith("test_bad_")])
