"""Video is continuous: a route recorded on video shows everything the camera passes over or
turns across, not only what its samples every --spacing metres show. Each case puts a small
site where an analytic look at the flight says the camera sees it, but no sample does:

- a narrow lens passing straight over a 1 m site that falls between two samples;
- a camera hovering 30 degrees down that turns from heading 0 to 90, sweeping over a site at
  bearing 45 that neither heading has in its field of view.

The expected verdict is worked out here from the geometry (height, pitch, field of view), not
from keepout's output: the site must be flagged, never clear."""
import json
import math

from kotest import main, run, write
from routegeo import KX, KY, LAT, LITCHI_HEAD, LON, pinhole, verdict
from routegeo import square_store_at as square_store


def line(tmp, pts):
    """A vector route through (lat, lon) points: no capture actions, so it is video."""
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
          "geometry": {"type": "LineString", "coordinates": [[lo, la] for la, lo in pts]}}]}
    return write(tmp, "route.geojson", json.dumps(gj))


def test_narrow_lens_passes_over_a_site_between_samples(tmp):
    # 200 mm-equivalent lens at 20 m, straight down: the frame covers 20 * 36 / 200 = 3.6 m by
    # 2.4 m of ground. Samples every 10 m from the start see 0 +- 1.8 m, 10 +- 1.8 m, ...
    # along the track; a 1 m site centred 45 m along lies between the samples at 40 and 50 m
    # but the aircraft flies straight over it with the video running.
    along = 45.0
    db = square_store(tmp, LAT + along / KY, LON, 1.0)
    path = line(tmp, [(LAT, LON), (LAT + 100 / KY, LON)])
    args = ["route", "--db", db, "--camera", "focal35=200,size=4000x3000",
            "--gimbal-pitch", "-90", "--height", "20", "--format", "geojson", path]
    code, out, err = run(*args)
    # GSD at 20 m: 20 * 36 mm / 200 mm / 4000 px = 0.9 mm/px, far finer than any threshold
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])
    # the same site well beside the track (12 m off, frame half-width 1.8 m plus the
    # conservative sweep margin of half the spacing) stays clear: the fix is a margin, not a
    # blanket flag
    db2 = square_store(tmp, LAT + along / KY, LON + 12 / KX, 1.0)
    code, out, err = run(*[db2 if a == db else a for a in args])
    assert code == 0 and verdict(out) == "clear", (code, err, out[:400])


def widest_bearing(tan_x, tan_y, depression_deg):
    """The largest bearing off the heading of any ray of a pinhole camera (half-field tangents
    tan_x, tan_y) pitched depression_deg down that meets the ground: over the image border,
    the ray forward + u right + v down has north cos(t) - v sin(t), east u, down sin(t) +
    v cos(t); the bearing atan2(east, north) is largest at a bottom corner."""
    t = math.radians(depression_deg)
    best = 0.0
    for k in range(2001):
        for u, v in ((tan_x, -tan_y + 2 * tan_y * k / 2000), (tan_x * k / 2000, tan_y)):
            north, down = math.cos(t) - v * math.sin(t), math.sin(t) + v * math.cos(t)
            if down > 0:
                best = max(best, math.degrees(math.atan2(u, north)))
    return best


def test_hover_turn_sweeps_what_neither_heading_sees(tmp):
    # Litchi: two waypoints at one place 20 m up, recording; heading 0 then 90, the gimbal
    # 30 degrees down. A 50 mm-equivalent frame (tangents 18/50, 12/50) reaches at most
    # widest_bearing() = 25.8 degrees either side of its heading, so a site at bearing 45
    # degrees, 30 m out, is 19 degrees outside both headings' views. Turning from 0 to 90 the
    # camera faces it at 45, where it lies between the near edge (20 cot(30 + 13.5) = 21 m) and
    # the far edge (20 cot(30 - 13.5) = 68 m): the video shows it.
    reach = widest_bearing(18 / 50, 12 / 50, 30)
    assert 25 < reach < 27, reach
    d, bearing = 30.0, 45.0
    site = (LAT + d * math.cos(math.radians(bearing)) / KY,
            LON + d * math.sin(math.radians(bearing)) / KX)
    db = square_store(tmp, site[0], site[1], 2.0)
    args = ["route", "--db", db, "--camera", "focal35=50,size=4000x3000", "--gimbal-pitch",
            "-30", "--format", "geojson"]
    turn = write(tmp, "turn.csv", LITCHI_HEAD + f"{LAT},{LON},20,0,0,0,0,-30,2,0,0,5,-1,-1\n"
                 f"{LAT},{LON},20,90,0,0,0,-30,-1,0,0,5,-1,-1\n")
    code, out, err = run(*args, turn)
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])
    # without the turn (heading 0 throughout) neither frame has the site in view: clear
    still = write(tmp, "still.csv", LITCHI_HEAD + f"{LAT},{LON},20,0,0,0,0,-30,2,0,0,5,-1,-1\n"
                  f"{LAT},{LON},20,0,0,0,0,-30,-1,0,0,5,-1,-1\n")
    code, out, err = run(*args, still)
    assert code == 0 and verdict(out) == "clear", (code, err, out[:400])


def test_small_hover_turn_does_not_flag_what_lies_behind(tmp):
    # A hover turn from heading 0 to 4 at pitch -10, 20 m up, 24 mm-equivalent lens: its view
    # reaches the 2 km range limit ahead. A site 1.5 km behind the camera is in no view between
    # the two headings. A turn about the vertical moves a ground point r metres out by r per
    # radian (0.5 degrees per frame: 17 m at 2 km), but the margin took every turn as a tilt,
    # L (h + r) / h per radian: 1.9 km round the view, flagging the site behind.
    db = square_store(tmp, LAT - 1500 / KY, LON, 10.0)
    turn = write(tmp, "turn.csv", LITCHI_HEAD + f"{LAT},{LON},20,0,0,0,0,-10,2,0,0,5,-1,-1\n"
                 f"{LAT},{LON},20,4,0,0,0,-10,-1,0,0,5,-1,-1\n")
    code, out, err = run("route", "--db", db, "--camera", "focal35=24,size=4000x3000",
                         "--gimbal-pitch", "-10", "--format", "geojson", turn)
    assert code == 0 and verdict(out) == "clear", (code, err, out[:400])


def test_time_trigger_without_speed_is_judged_as_video(tmp):
    # Litchi: photos every 2 s (photo_timeinterval) at speed 0, i.e. the cruise speed, which the
    # CSV does not give. At 4.5 m/s a photo falls 45 m along the leg, right over a 1 m site, with
    # a 200 mm-equivalent lens at nadir 20 m up (3.6 x 2.4 m frame). keepout cannot know where
    # the photos fall, so none of the leg may be judged clear of the site.
    db = square_store(tmp, LAT + 45 / KY, LON, 1.0)
    plan = write(tmp, "timed.csv", LITCHI_HEAD +
                 f"{LAT},{LON},20,0,0,0,0,-90,1,0,0,0,2,-1\n"
                 f"{LAT + 100 / KY},{LON},20,0,0,0,0,-90,-1,0,0,0,2,-1\n")
    code, out, err = run("route", "--db", db, "--camera", "focal35=200,size=4000x3000",
                         "--gimbal-pitch", "-90", "--format", "geojson", plan)
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])


def test_heading_turning_along_a_leg_is_flown_too(tmp):
    # Litchi: 300 m north at 30 m, gimbal -30, heading 0 at the first waypoint and 90 at the
    # second; in its "interpolate" heading mode (not stored in the CSV) the aircraft turns evenly
    # along the leg. A 1 m site 45 m east, 195 m north is then in view (found here by flying
    # the leg in 0.1 m steps with a pinhole 50 mm-equivalent camera) from 91 m along. keepout
    # turned only at the second waypoint: clear.
    f_px = 50 / 36 * 4000
    seen = [y / 10 for y in range(3001)
            if pinhole(45, 195 - y / 10, -30, 90 * y / 3000, -30, f_px, 4000, 3000)]
    assert seen, "the site is never in view"
    # turning at the waypoint instead (heading 0 along the leg, then 0 -> 90 over the second
    # waypoint) never has it in view: this is what keepout judged before
    assert not any(pinhole(45, 195 - y / 10, -30, 0, -30, f_px, 4000, 3000) for y in range(3001))
    assert not any(pinhole(45, -105, -30, a / 10, -30, f_px, 4000, 3000) for a in range(901))
    db = square_store(tmp, LAT + 195 / KY, LON + 45 / KX, 1.0)
    plan = write(tmp, "interp.csv", LITCHI_HEAD +
                 f"{LAT},{LON},30,0,0,0,2,-30,2,0,0,5,-1,-1\n"
                 f"{LAT + 300 / KY},{LON},30,90,0,0,2,-30,-1,0,0,5,-1,-1\n")
    code, out, err = run("route", "--db", db, "--camera", "focal35=50,size=4000x3000",
                         "--format", "geojson", plan)
    assert code == 1 and verdict(out) == "flagged", (code, err, out[:400])


def test_litchi_curved_corner_is_widened(tmp):
    # Litchi: north 200 m, then east 200 m, nadir 20 m up, 200 mm-equivalent lens (3.6 x 2.4 m
    # frame), recording. With curvesize 40 the aircraft rounds the corner: a curve from 40 m
    # before to 40 m after it (as a quadratic Bezier its middle is 10 m off both legs), right
    # over a 1 m site there. Flown sharp the frames miss it (9.5 m from the legs, farther than
    # the 1.8 m half-frame plus the 5.5 m video margin): clear without the curve, and with it
    # keepout must not say clear.
    corner = (LAT + 200 / KY, LON)
    db = square_store(tmp, corner[0] - 10 / KY, corner[1] + 10 / KX, 1.0)
    args = ["route", "--db", db, "--camera", "focal35=200,size=4000x3000", "--format", "geojson"]
    for curve, want in ((0, "clear"), (40, "flagged")):
        plan = write(tmp, f"curve{curve}.csv", LITCHI_HEAD +
                     f"{LAT},{LON},20,0,{curve},0,2,-90,2,0,0,5,-1,-1\n"
                     f"{corner[0]},{corner[1]},20,0,{curve},0,2,-90,-1,0,0,5,-1,-1\n"
                     f"{corner[0]},{corner[1] + 200 / KX},20,0,{curve},0,2,-90,-1,0,0,5,-1,-1\n")
        code, out, err = run(*args, plan)
        assert verdict(out) == want and code == (0 if want == "clear" else 1), (curve, code, err)


def test_loiter_circle_is_flown_round(tmp):
    # MAVLink: take off 30 m up, mount straight down (DO_MOUNT_CONTROL -90, mode 2), video on,
    # then NAV_LOITER_TURNS 2 turns of radius 50 m round C, 200 m north, then on north. A 4 m
    # site centred 63 m east of C is 11 m from the circle's east point: a 24 mm-equivalent
    # frame 30 m up reaches 15 m to either side whichever way the aircraft faces there, so the
    # video passing that point shows it. From C itself (63 m off) and from the straight legs
    # it is out of view: judged from the centre it was clear (adversary adv26); it must not be.
    f = 24 * math.hypot(4000, 3000) / 43.27
    for yaw in (0, 90, 180, 270):  # every way the aircraft may face on the circle
        assert pinhole(11, 0, -30, yaw, -90, f, 4000, 3000), yaw
    assert not pinhole(61, 0, -30, 0, -90, f, 4000, 3000)  # from C, facing north
    c_lat = LAT + 200 / KY
    db = square_store(tmp, c_lat, LON + 63 / KX, 4.0)
    # 0 is not a hover: the autopilot's own radius (ArduCopter CIRCLE_RADIUS 10 m, ArduPlane
    # WP_LOITER_RAD 60 m, PX4 NAV_LOITER_RAD), judged as 80 m: the site is within that circle
    for radius, want in ((50, "flagged"), (0, "flagged")):
        plan = write(tmp, "loiter.waypoints", "QGC WPL 110\n"
                     f"0\t1\t0\t16\t0\t0\t0\t0\t{LAT}\t{LON}\t400\t1\n"
                     f"1\t0\t3\t22\t0\t0\t0\t0\t{LAT}\t{LON}\t30\t1\n"
                     "2\t0\t3\t205\t-90\t0\t0\t0\t0\t0\t2\t1\n"
                     "3\t0\t3\t2500\t0\t0\t0\t0\t0\t0\t0\t1\n"
                     f"4\t0\t3\t18\t2\t0\t{radius}\t0\t{c_lat}\t{LON}\t30\t1\n"
                     f"5\t0\t3\t16\t0\t0\t0\t0\t{LAT + 400 / KY}\t{LON}\t30\t1\n")
        code, out, err = run("route", "--db", db, "--camera", "focal35=24,size=4000x3000",
                             "--format", "geojson", plan)
        assert verdict(out) == want and code == (1 if want == "flagged" else 0), (radius, code,
                                                                                   err)

if __name__ == "__main__":
    main([test_narrow_lens_passes_over_a_site_between_samples,
          test_hover_turn_sweeps_what_neither_heading_sees,
          test_small_hover_turn_does_not_flag_what_lies_behind,
          test_time_trigger_without_speed_is_judged_as_video,
          test_heading_turning_along_a_leg_is_flown_too,
          test_litchi_curved_corner_is_widened,
          test_loiter_circle_is_flown_round])
