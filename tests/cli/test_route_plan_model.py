"""The camera a plan flies, as the aircraft flies it: each photo with the gimbal and heading in
force when the photo action runs (not at the end of the waypoint's actions), turns the way the
plan says, and Litchi's focus-POI legs as Litchi flies them.

Expectations come from the geometry of a pinhole camera worked out here, never from keepout's
output: a site the photo (or the flight) has in view must not be clear; where the plan does not
say what the camera does, the exposure is unknown, never clear."""
import json
import math

from kotest import main, run, write
from routegeo import KX, KY, LAT, LITCHI_HEAD as HOVER_HEAD, LON, pinhole, square_store, verdict

W, H = 4000, 3000


def f_px(f35):
    """Focal length in pixels of a 35 mm-equivalent lens, matched on the 43.27 mm diagonal."""
    return f35 * math.hypot(W, H) / 43.27


def in_view(e, n, up, yaw, pitch, f):
    """Whether the point e/n/up metres from the camera is in a W x H pinhole frame (no roll)."""
    return pinhole(e, n, up, yaw, pitch, f, W, H) is not None


def corners(e, n, side):
    h = side / 2
    return [(e + a, n + b) for a in (-h, h) for b in (-h, h)] + [(e, n)]


def route(db, f35, plan):
    return run("route", "--db", db, "--camera", f"focal35={f35},size={W}x{H}", "--format",
               "geojson", plan)


# ---- 1. the camera state at each photo action ----

# A 2 m site 3 m north of the point under the first waypoint, 30 m up, 24 mm-equivalent lens
# heading north: straight down (-90) it is near the image centre; at -30 the frame's bottom edge
# meets the ground atan-far out (30 / tan(30 + 28.4) = 18.5 m), so the site is not in view.
SITE = (0.0, 3.0, 2.0)


def assert_site_geometry():
    f = f_px(24)
    pts = corners(*SITE)
    assert all(in_view(e, n, -30, 0, -90, f) for e, n in pts)
    assert not any(in_view(e, n, -30, 0, -30, f) for e, n in pts)


def wpml_plan(tmp, actions, pitch="", trigger="reachPoint", heading="fixed"):
    """A two-waypoint WPML plan, 100 m north at 30 m, heading fixed north; the first waypoint
    runs `actions` (gimbalRotate pitches and takePhoto, in order) on reaching it, or every 10 m
    from it to the second with trigger multipleDistance."""
    def act(i, a):
        if a == "pano":
            return (f"<wpml:action><wpml:actionId>{i}</wpml:actionId>"
                    "<wpml:actionActuatorFunc>panoShot</wpml:actionActuatorFunc>"
                    "<wpml:actionActuatorFuncParam><wpml:panoShotSubMode>panoShot_360"
                    "</wpml:panoShotSubMode></wpml:actionActuatorFuncParam></wpml:action>")
        if a == "photo":
            return (f"<wpml:action><wpml:actionId>{i}</wpml:actionId>"
                    "<wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc></wpml:action>")
        return (f"<wpml:action><wpml:actionId>{i}</wpml:actionId>"
                "<wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"
                "<wpml:actionActuatorFuncParam><wpml:gimbalPitchRotateAngle>"
                f"{a}</wpml:gimbalPitchRotateAngle></wpml:actionActuatorFuncParam></wpml:action>")
    group = ("<wpml:actionGroup><wpml:actionGroupId>0</wpml:actionGroupId>"
             "<wpml:actionGroupStartIndex>0</wpml:actionGroupStartIndex>"
             f"<wpml:actionGroupEndIndex>{int(trigger != 'reachPoint')}</wpml:actionGroupEndIndex>"
             "<wpml:actionGroupMode>sequence</wpml:actionGroupMode><wpml:actionTrigger>"
             f"<wpml:actionTriggerType>{trigger}</wpml:actionTriggerType>"
             "<wpml:actionTriggerParam>10</wpml:actionTriggerParam></wpml:actionTrigger>"
             + "".join(act(i, a) for i, a in enumerate(actions)) + "</wpml:actionGroup>")

    def pm(i, n, extra):
        return (f"<Placemark><Point><coordinates>{LON},{LAT + n / KY}</coordinates></Point>"
                f"<wpml:index>{i}</wpml:index><wpml:executeHeight>30</wpml:executeHeight>"
                "<wpml:waypointSpeed>5</wpml:waypointSpeed><wpml:waypointHeadingParam>"
                f"<wpml:waypointHeadingMode>{heading}</wpml:waypointHeadingMode>"
                "<wpml:waypointHeadingAngle>0</wpml:waypointHeadingAngle>"
                f"</wpml:waypointHeadingParam>{extra}</Placemark>")
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
           'xmlns:wpml="http://www.dji.com/wpmz/1.0.6"><Document><Folder>'
           "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>"
           + pm(0, 0, pitch + group) + pm(1, 100, "") + "</Folder></Document></kml>")
    return write(tmp, "waylines.wpml", doc)


def test_wpml_photo_takes_the_gimbal_of_its_action(tmp):
    assert_site_geometry()
    db = square_store(tmp, *SITE)
    # gimbalRotate -90, takePhoto, gimbalRotate -30: the photo is straight down
    code, out, err = route(db, 24, wpml_plan(tmp, [-90, "photo", -30]))
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])
    # gimbalRotate -30, takePhoto, gimbalRotate -90: the photo is at -30 and misses the site;
    # nothing else is captured
    code, out, err = route(db, 24, wpml_plan(tmp, [-30, "photo", -90]))
    assert code == 0 and verdict(out) == "clear", (code, err, out[:400])


def test_wpml_spaced_photos_take_the_gimbal_of_their_action(tmp):
    # The same group repeated every 10 m from the first waypoint (multipleDistance): each photo
    # is taken at the pitch its action has, the first one at the first waypoint, over the site.
    assert_site_geometry()
    db = square_store(tmp, *SITE)
    code, out, err = route(db, 24, wpml_plan(tmp, [-90, "photo", -30], trigger="multipleDistance"))
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])
    # the other way round every photo along the leg is at -30 (the -90 the group ends with is
    # only the gimbal between photos)
    code, out, err = route(db, 24, wpml_plan(tmp, [-30, "photo", -90], trigger="multipleDistance"))
    photos = [f["properties"] for f in json.loads(out)["features"]
              if f["properties"]["kind"] == "exposure" and f["properties"]["trigger"] == "distance"
              and f["properties"]["id"].startswith("sample after WP0")]
    assert len(photos) == 10 and all(p["pitch_deg"] == -30 for p in photos), photos


def test_wpml_photo_before_any_gimbal_is_not_clear(tmp):
    # takePhoto, gimbalRotate -30, the gimbal never set before: the photo's pitch is unknown
    # (taking the -30 set after it would be clear)
    db = square_store(tmp, *SITE)
    code, out, err = route(db, 24, wpml_plan(tmp, ["photo", -30]))
    assert code == 1 and verdict(out) != "clear", (code, err, out[:400])
    assert "waylines.wpml" in out and "waypoint 0" in out, out[:600]


def test_wpml_panorama_is_checked_all_round(tmp):
    # A 2 m site 20 m south of the first waypoint: behind the camera heading north at -30, in
    # view of the same camera turned south. A panorama (panoShot) at the waypoint turns the
    # camera round; checked as one photo at the state in force it was clear.
    site = (0.0, -20.0, 2.0)
    f, pts = f_px(24), corners(*site)
    assert not any(in_view(e, n, -30, 0, -30, f) for e, n in pts)
    assert all(in_view(e, n, -30, 180, -30, f) for e, n in pts)
    db = square_store(tmp, *site)
    code, out, err = route(db, 24, wpml_plan(tmp, [-30, "photo"]))
    assert code == 0 and verdict(out) == "clear", (code, err, out[:400])
    code, out, err = route(db, 24, wpml_plan(tmp, [-30, "pano"]))
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])


def test_wpml_manual_heading_photo_is_checked_all_round(tmp):
    # The panorama's site, 20 m south, behind a camera heading north at -30: with
    # waypointHeadingMode manually the pilot turns the aircraft, to any heading, so the photo
    # may face it. It was refused (before that judged along the course, north: clear).
    site = (0.0, -20.0, 2.0)
    f, pts = f_px(24), corners(*site)
    assert all(in_view(e, n, -30, 180, -30, f) for e, n in pts)
    db = square_store(tmp, *site)
    code, out, err = route(db, 24, wpml_plan(tmp, [-30, "photo"], heading="manually"))
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])


def test_wpml_panoramas_cannot_make_a_plan_millions_of_photos(tmp):
    # Each panorama is 70 photos at 24 mm (about 3,000 zoomed in): 240 waypoints with 63
    # panoShot actions each (a 64-action group is the most a group holds) would be 1,058,400
    # photos to check. The plan is refused (unknown, exit 1) naming the limit.
    db = square_store(tmp, 0.0, -20.0, 2.0)
    doc = open(wpml_plan(tmp, [-30] + ["pano"] * 63)).read()
    head, rest = doc.split("<Placemark>", 1)
    first, tail = rest.split("</Placemark>", 1)
    # 240 waypoints 1 m apart, each with the 63 panoramas: 240 x 63 x 70 = 1,058,400 photos
    pms = "".join("<Placemark>" + first.replace(f"{LAT},", f"{LAT + i / KY},", 1)
                  .replace("<wpml:index>0</wpml:index>", f"<wpml:index>{i}</wpml:index>")
                  .replace("<wpml:actionGroupStartIndex>0<", f"<wpml:actionGroupStartIndex>{i}<")
                  .replace("<wpml:actionGroupEndIndex>0<", f"<wpml:actionGroupEndIndex>{i}<")
                  .replace("<wpml:actionGroupId>0<", f"<wpml:actionGroupId>{i}<")
                  + "</Placemark>" for i in range(240))
    plan = write(tmp, "many.wpml", head + pms + tail.split("<Placemark>")[0]
                 + "</Folder></Document></kml>")
    code, out, err = route(db, 24, plan)
    assert code == 1 and "more than 1000000 photos" in err, (code, err[-400:])


LITCHI_HEAD = ("latitude,longitude,altitude(m),heading(deg),curvesize(m),rotationdir,gimbalmode,"
               "gimbalpitchangle,actiontype1,actionparam1,actiontype2,actionparam2,actiontype3,"
               "actionparam3,altitudemode,speed(m/s),photo_timeinterval,photo_distinterval\n")


def test_litchi_photo_takes_the_tilt_of_its_action(tmp):
    assert_site_geometry()
    db = square_store(tmp, *SITE)
    for first, last, want in ((-90, -30, "flagged"), (-30, -90, "clear")):
        # tilt camera (5) first, take photo (1), tilt camera last
        plan = write(tmp, "plan.csv", LITCHI_HEAD +
                     f"{LAT},{LON},30,0,0,0,0,0,5,{first},1,0,5,{last},0,5,-1,-1\n"
                     f"{LAT + 100 / KY},{LON},30,0,0,0,0,0,-1,0,-1,0,-1,0,0,5,-1,-1\n")
        code, out, err = route(db, 24, plan)
        assert verdict(out) == want and code == (1 if want == "flagged" else 0), (first, code,
                                                                                    err)


def test_litchi_photo_takes_the_heading_of_its_action(tmp):
    # rotate aircraft (4) to 90, take photo, rotate to 0; gimbal -30, 30 m up. A site 40 m east
    # is in view heading 90 (and not heading 0): the photo shows it.
    f = f_px(24)
    pts = corners(40, 0, 2)
    assert all(in_view(e, n, -30, 90, -30, f) for e, n in pts)
    assert not any(in_view(e, n, -30, 0, -30, f) for e, n in pts)
    db = square_store(tmp, 40, 0, 2)
    for first, last, want in ((90, 0, "flagged"), (0, 90, "clear")):
        plan = write(tmp, "plan.csv", LITCHI_HEAD +
                     f"{LAT},{LON},30,0,0,0,2,-30,4,{first},1,0,4,{last},0,5,-1,-1\n"
                     f"{LAT + 100 / KY},{LON},30,0,0,0,2,-30,-1,0,-1,0,-1,0,0,5,-1,-1\n")
        code, out, err = route(db, 24, plan)
        assert verdict(out) == want and code == (1 if want == "flagged" else 0), (first, code,
                                                                                    err)


# ---- 2. the way the aircraft turns ----

# A hover 20 m up, recording, gimbal -30, 50 mm-equivalent lens: heading 0 then 270. A 2 m site
# at bearing 135, 30 m out, is in view heading 135 and at no heading from 270 to 360 (the
# shorter way, counter-clockwise): only a clockwise turn (0, 90, 180, 270) shows it.
HOVER_SITE = (30 * math.sin(math.radians(135)), 30 * math.cos(math.radians(135)), 2.0)


def assert_hover_geometry():
    f = f_px(50)
    pts = corners(*HOVER_SITE)
    assert all(in_view(e, n, -20, 135, -30, f) for e, n in pts)
    assert not any(in_view(e, n, -20, 270 + a / 10, -30, f) for e, n in pts
                   for a in range(901))


def test_litchi_hover_turns_the_way_rotationdir_says(tmp):
    assert_hover_geometry()
    db = square_store(tmp, *HOVER_SITE)
    # rotationdir 0 clockwise, 1 counter-clockwise; differing: either way, judged both
    for dirs, want in (((0, 0), "flagged"), ((1, 1), "clear"), ((1, 0), "flagged")):
        plan = write(tmp, "hover.csv", HOVER_HEAD +
                     f"{LAT},{LON},20,0,0,{dirs[0]},2,-30,2,0,0,5,-1,-1\n"
                     f"{LAT},{LON},20,270,0,{dirs[1]},2,-30,-1,0,0,5,-1,-1\n")
        code, out, err = route(db, 50, plan)
        assert verdict(out) == want and code == (1 if want == "flagged" else 0), (dirs, code,
                                                                                   err)


def wpml_hover(tmp, mode):
    """WPML: a hover 20 m up at two placemarks, heading fixed 0 then 270, gimbal -30 (the
    placemarks' pitch, and a gimbalRotate: without template.kml's gimbalPitchMode the
    placemark's alone is not certain), recording from the first; mode: each placemark's
    waypointHeadingPathMode (None: not given)."""
    path = f"<wpml:waypointHeadingPathMode>{mode}</wpml:waypointHeadingPathMode>" if mode else ""
    rec = ("<wpml:actionGroup><wpml:actionGroupId>0</wpml:actionGroupId>"
           "<wpml:actionGroupStartIndex>0</wpml:actionGroupStartIndex>"
           "<wpml:actionGroupEndIndex>0</wpml:actionGroupEndIndex>"
           "<wpml:actionGroupMode>sequence</wpml:actionGroupMode><wpml:actionTrigger>"
           "<wpml:actionTriggerType>reachPoint</wpml:actionTriggerType></wpml:actionTrigger>"
           "<wpml:action><wpml:actionId>0</wpml:actionId><wpml:actionActuatorFunc>gimbalRotate"
           "</wpml:actionActuatorFunc><wpml:actionActuatorFuncParam><wpml:gimbalPitchRotateAngle>"
           "-30</wpml:gimbalPitchRotateAngle></wpml:actionActuatorFuncParam></wpml:action>"
           "<wpml:action><wpml:actionId>1</wpml:actionId><wpml:actionActuatorFunc>startRecord"
           "</wpml:actionActuatorFunc></wpml:action></wpml:actionGroup>")

    def pm(i, heading, extra):
        return (f"<Placemark><Point><coordinates>{LON},{LAT}</coordinates></Point>"
                f"<wpml:index>{i}</wpml:index><wpml:executeHeight>20</wpml:executeHeight>"
                "<wpml:waypointSpeed>5</wpml:waypointSpeed><wpml:waypointHeadingParam>"
                "<wpml:waypointHeadingMode>fixed</wpml:waypointHeadingMode>"
                f"<wpml:waypointHeadingAngle>{heading}</wpml:waypointHeadingAngle>{path}"
                "</wpml:waypointHeadingParam><wpml:waypointGimbalHeadingParam>"
                "<wpml:waypointGimbalPitchAngle>-30</wpml:waypointGimbalPitchAngle>"
                f"</wpml:waypointGimbalHeadingParam>{extra}</Placemark>")
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
           'xmlns:wpml="http://www.dji.com/wpmz/1.0.6"><Document><Folder>'
           "<wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>"
           + pm(0, 0, rec) + pm(1, 270, "") + "</Folder></Document></kml>")
    return write(tmp, "waylines.wpml", doc)


def test_wpml_hover_turns_the_way_its_path_mode_says(tmp):
    assert_hover_geometry()
    db = square_store(tmp, *HOVER_SITE)
    # followBadArc is DJI's minor arc, the shorter way; not given: either way
    for mode, want in (("clockwise", "flagged"), ("counterClockwise", "clear"),
                       ("followBadArc", "clear"), (None, "flagged")):
        code, out, err = route(db, 50, wpml_hover(tmp, mode))
        assert verdict(out) == want and code == (1 if want == "flagged" else 0), (mode, code,
                                                                                   err)


# ---- 3. Litchi focus POI ----

POI_HEAD = ("latitude,longitude,altitude(m),heading(deg),curvesize(m),rotationdir,gimbalmode,"
            "gimbalpitchangle,actiontype1,actionparam1,altitudemode,speed(m/s),"
            "photo_timeinterval,photo_distinterval,poi_latitude,poi_longitude,poi_altitude(m)\n")


def test_litchi_focus_poi_leg_is_flown_as_litchi_interpolates(tmp):
    # Litchi, 200 m north at 80 m, recording, both waypoints focused (gimbal mode 1) on a POI on
    # the ground 40 m east, 150 m north. Litchi sets each waypoint's heading and pitch to face
    # the POI from there (15 deg / -27 deg, then 141 deg / -51 deg) and turns both evenly along
    # the leg (litchiutilities.com, "why"); DJI's hotpoint keeps facing the POI all the way.
    # A 2 m site 210 m east, 108 m north is in a 50 mm-equivalent frame of the first (at 37 %
    # of the leg, 0.04 m/px) and in none of the second: it must not be clear.
    f, height, length, poi = f_px(50), 80.0, 200.0, (40.0, 150.0)

    def aim(n):
        de, dn = poi[0], poi[1] - n
        return (math.degrees(math.atan2(de, dn)) % 360,
                -math.degrees(math.atan2(height, math.hypot(de, dn))))
    (h1, p1), (h2, p2) = aim(0), aim(length)
    dh = (h2 - h1 + 180) % 360 - 180  # 126 deg clockwise: the shorter way, and rotationdir 0
    pts = corners(210, 108, 2)

    def seen(pose):
        return any(all(in_view(e, n - length * k / 2000, -height, *pose(k / 2000), f)
                       for e, n in pts) for k in range(2001))
    assert seen(lambda t: (h1 + dh * t, p1 + (p2 - p1) * t))
    assert not any(in_view(e, n - length * k / 2000, -height, *aim(length * k / 2000), f)
                   for e, n in pts for k in range(2001))
    db = square_store(tmp, 210, 108, 2)
    plat, plon = LAT + poi[1] / KY, LON + poi[0] / KX
    plan = write(tmp, "poi.csv", POI_HEAD +
                 f"{LAT},{LON},80,{h1:.2f},0,0,1,{p1:.2f},2,0,0,5,-1,-1,{plat},{plon},0\n"
                 f"{LAT + length / KY},{LON},80,{h2:.2f},0,0,1,{p2:.2f},-1,0,0,5,-1,-1,{plat},"
                 f"{plon},0\n")
    code, out, err = route(db, 50, plan)
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])


if __name__ == "__main__":
    main([test_wpml_photo_takes_the_gimbal_of_its_action,
          test_wpml_spaced_photos_take_the_gimbal_of_their_action,
          test_wpml_photo_before_any_gimbal_is_not_clear,
          test_wpml_panorama_is_checked_all_round,
          test_wpml_manual_heading_photo_is_checked_all_round,
          test_wpml_panoramas_cannot_make_a_plan_millions_of_photos,
          test_litchi_photo_takes_the_tilt_of_its_action,
          test_litchi_photo_takes_the_heading_of_its_action,
          test_litchi_hover_turns_the_way_rotationdir_says,
          test_wpml_hover_turns_the_way_its_path_mode_says,
          test_litchi_focus_poi_leg_is_flown_as_litchi_interpolates])
