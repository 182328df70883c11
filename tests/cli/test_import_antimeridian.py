"""Sites across the antimeridian (issue 16): whatever way a source writes one (RFC 7946 halves,
a ring that jumps from +179.99 to -179.99, or longitudes past 180), the store holds it cut at
+-180 within [-180, 180], its buffer made as one shape, and a camera on either side of the line
that sees it is flagged while one on the far side of the globe is not. The expectations are
analytic: 20 m squares on the line, a nadir camera 60 m above with a 90 x 60 m view."""
import json
import os

from kotest import main, run, write
from test_check_geometry import rows, verdicts

D = 0.0001  # half a square: ~11 m of longitude at lat 10..12


def feature(name, geom):
    return {"type": "Feature", "properties": {"name": name}, "geometry": geom}


def sources():
    beyond = {"type": "Polygon", "coordinates": [[[180 - D, 10], [180 + D, 10], [180 + D, 10 + D],
                                                  [180 - D, 10 + D], [180 - D, 10]]]}
    halves = {"type": "MultiPolygon", "coordinates": [
        [[[180 - D, 11], [180, 11], [180, 11 + D], [180 - D, 11 + D], [180 - D, 11]]],
        [[[-180, 11], [-180 + D, 11], [-180 + D, 11 + D], [-180, 11 + D], [-180, 11]]]]}
    jumping = {"type": "Polygon", "coordinates": [[[180 - D, 12], [-180 + D, 12],
                                                   [-180 + D, 12 + D], [180 - D, 12 + D],
                                                   [180 - D, 12]]]}
    return [feature("beyond", beyond), feature("halves", halves), feature("jumping", jumping)]


def build(tmp, buffer_m):
    src = write(tmp, "am.geojson", json.dumps({"type": "FeatureCollection",
                                               "features": sources()}))
    db = os.path.join(tmp, "am.sqlite")
    code, out, err = run("sites", "import", "--db", db, "--category", "substation", "--buffer",
                         str(buffer_m), "--name-field", "name", src)
    assert code == 0, err
    assert "imported 3" in err and "rejected 0" in err and "repaired 0" in err, err
    return db


def test_every_form_is_stored_within_range_and_cut_at_the_line(tmp):
    db = build(tmp, 0)
    out = os.path.join(tmp, "x.geojson")
    for buffered in ([], ["--buffered"]):
        code, _, err = run("sites", "export", "--db", db, *buffered, out)
        assert code == 0, err
        for f in json.load(open(out))["features"]:
            g = f["geometry"]
            assert g["type"] == "MultiPolygon", (buffered, f)
            xs = [p[0] for poly in g["coordinates"] for ring in poly for p in ring]
            assert min(xs) == -180 and max(xs) == 180, (buffered, f)  # both halves
            assert max(abs(x) for x in xs if abs(x) != 180) < 180 - D / 2, f


def test_cameras_either_side_see_it_and_the_far_side_of_the_globe_does_not(tmp):
    db = build(tmp, 0)
    poses = []
    for lat, name in ((10, "beyond"), (11, "halves"), (12, "jumping")):
        c = lat + D / 2
        poses += [(f"{name}_east", c, -179.99995, 60, 0, -90),
                  (f"{name}_west", c, 179.99995, 60, 0, -90),
                  (f"{name}_far", c, 135.0, 60, 0, -90)]  # ~4,800 km west
    code, v, err = verdicts(tmp, db, rows(*poses))
    for name in ("beyond", "halves", "jumping"):
        for side in ("east", "west"):
            r = v[f"{name}_{side}"]
            assert r["verdict"] == "flagged" and r["site_names"] == name, r
            # the nearest point is the camera's own ground (the site holds it): 0 m
            assert r["hits"][0]["distance_m"] < 1, r
        assert v[f"{name}_far"]["verdict"] == "clear", v[f"{name}_far"]


def test_a_buffer_across_the_line_is_one_shape(tmp):
    """50 m round a square on the line: a camera 45 m east of the square's east edge, looking
    down, sees the buffer (its view reaches 30 m to each side); 80 m east it does not."""
    db = build(tmp, 50)
    deg_m = 111320 * 0.98481  # metres per degree of longitude at lat 10
    near = -180 + D + 45 / deg_m
    far = -180 + D + 110 / deg_m
    code, v, err = verdicts(tmp, db, rows(("near", 10 + D / 2, near, 60, 0, -90),
                                          ("far", 10 + D / 2, far, 60, 0, -90)))
    assert v["near"]["verdict"] == "flagged", v["near"]
    assert v["far"]["verdict"] == "clear", v["far"]


if __name__ == "__main__":
    main([test_every_form_is_stored_within_range_and_cut_at_the_line,
          test_cameras_either_side_see_it_and_the_far_side_of_the_globe_does_not,
          test_a_buffer_across_the_line_is_one_shape])
