"""keepout footprint on telemetry CSV: output formats, pass-through, and every bad-input class."""
import csv
import io
import json
import math
import os

from kotest import DATA, geojson, main, run, write

HEADER = "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm,operator\n"
GOOD = "a,46.84,-91.99,100,0,-90,0,50,36,24,alice\n"


def test_sample_footprints_are_nadir_rectangles(tmp):
    code, fc, err = geojson("footprint", os.path.join(DATA, "telemetry", "brighton_beach.csv"))
    assert code == 0, err
    feats = fc["features"]
    assert len(feats) == 6
    for f in feats:
        p = f["properties"]
        assert p["status"] == "ok", p
        # f35 = 20 on a 16:9 crop of the full width of a sensor not known to be 4:3 (a 3:2
        # one's is 36 mm-equivalent, adversary adv27): 36 x 20.25 mm-equivalent at 39.8-40.1 m,
        # 2,885-2,929 m2 (the 4:3 sensor's 34.61 x 19.47: 2,600-2,720)
        assert 2870 < p["area_m2"] < 2945, p["area_m2"]
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        lon = sum(x for x, _ in ring[:-1]) / (len(ring) - 1)
        lat = sum(y for _, y in ring[:-1]) / (len(ring) - 1)
        assert abs(lat - 46.8427) < 0.001 and abs(lon + 91.9943) < 0.001, (lon, lat)


def test_passthrough_columns_and_id(tmp):
    path = write(tmp, "t.csv", HEADER + GOOD)
    code, fc, err = geojson("footprint", path)
    assert code == 0, err
    p = fc["features"][0]["properties"]
    assert p["id"] == "a" and p["operator"] == "alice"
    assert abs(p["area_m2"] - 72 * 48) < 1e-6


def test_jsonl_and_csv_formats(tmp):
    path = write(tmp, "t.csv", HEADER + GOOD + GOOD.replace("a,", "b,"))
    code, out, err = run("footprint", "--format", "jsonl", path)
    assert code == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert [l["properties"]["id"] for l in lines] == ["a", "b"]
    code, out, err = run("footprint", "--format", "csv", path)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["wkt"].startswith("POLYGON ((")


def bad_row(tmp, row, field):
    path = write(tmp, "t.csv", HEADER + GOOD + row)
    code, fc, err = geojson("footprint", path)
    assert code == 1, (code, err)
    feats = fc["features"]
    assert len(feats) == 2 and feats[0]["properties"]["status"] == "ok"
    p = feats[1]["properties"]
    assert p["status"] == "unknown" and feats[1]["geometry"] is None
    assert "row 2" in p["reason"] and field in p["reason"], p["reason"]


def test_nan_value_is_unknown(tmp):
    bad_row(tmp, "b,46.84,-91.99,100,0,NaN,0,50,36,24,x\n", "pitch")


def test_text_in_number_is_unknown(tmp):
    bad_row(tmp, "b,46.84,-91.99,abc,0,-90,0,50,36,24,x\n", "height")


def test_empty_field_is_unknown(tmp):
    bad_row(tmp, "b,46.84,,100,0,-90,0,50,36,24,x\n", "lon")


def test_pitch_above_30_is_unknown(tmp):
    bad_row(tmp, "b,46.84,-91.99,100,0,30.5,0,50,36,24,x\n", "pitch")


def test_height_not_above_ground_is_unknown(tmp):
    bad_row(tmp, "b,46.84,-91.99,0,0,-90,0,50,36,24,x\n", "height")
    bad_row(tmp, "b,46.84,-91.99,-3,0,-90,0,50,36,24,x\n", "height")


def test_latitude_425_is_unknown(tmp):
    bad_row(tmp, "b,425.2461,-91.99,100,0,-90,0,50,36,24,x\n", "lat")


def test_missing_camera_is_unknown(tmp):
    bad_row(tmp, "b,46.84,-91.99,100,0,-90,0,,,,x\n", "camera")


def test_non_utf8_is_unknown(tmp):
    path = write(tmp, "t.csv", (HEADER + GOOD).encode() + b"b,46.84,-91.99,100,0,-90,0,50,36,24,\xff\xfe\n", "wb")
    code, fc, err = geojson("footprint", path)
    assert code == 1
    p = fc["features"][1]["properties"]
    assert p["status"] == "unknown" and "UTF-8" in p["reason"] and "operator" in p["reason"], p


def test_missing_column_names_file_and_column(tmp):
    path = write(tmp, "t.csv", HEADER.replace(",pitch", "") + "a,46.84,-91.99,100,0,0,50,36,24,x\n")
    code, fc, err = geojson("footprint", path)
    assert code == 1
    assert "t.csv" in err and "'pitch'" in err, err
    p = fc["features"][0]["properties"]
    assert p["status"] == "unknown" and "pitch" in p["reason"]


def test_empty_file(tmp):
    path = write(tmp, "t.csv", "")
    code, fc, err = geojson("footprint", path)
    assert code == 1 and "empty" in err and "t.csv" in err, err
    assert fc["features"][0]["properties"]["status"] == "unknown"


def test_header_only_file(tmp):
    path = write(tmp, "t.csv", HEADER)
    code, fc, err = geojson("footprint", path)
    assert code == 1 and "no data rows" in err, err


def test_missing_file_does_not_stop_the_others(tmp):
    good = write(tmp, "t.csv", HEADER + GOOD)
    code, fc, err = geojson("footprint", os.path.join(tmp, "nope.csv"), good)
    assert code == 1 and "nope.csv" in err
    st = [f["properties"]["status"] for f in fc["features"]]
    assert st == ["unknown", "ok"]


def test_usage_errors_exit_2(tmp):
    assert run("footprint")[0] == 2
    assert run("footprint", "--format", "xml", "x.csv")[0] == 2
    assert run("footprint", "--max-range", "-5", "x.csv")[0] == 2
    assert run("footprint", "--tolerance", "-1", "x.csv")[0] == 2
    assert run("nosuchcommand")[0] == 2
    code, out, _ = run("footprint", "--help")
    assert code == 0 and "usage: keepout footprint" in out


def test_range_limit_option(tmp):
    path = write(tmp, "t.csv", HEADER + "a,46.84,-91.99,100,0,-10,0,50,36,24,x\n")
    code, fc, err = geojson("footprint", "--max-range", "300", "--gsd-limit", "100", path)
    p = fc["features"][0]["properties"]
    assert p["range_limited"] is True and p["range_limit_m"] == 300


def test_tolerance_thins_a_distorted_ring_outward(tmp):
    """A real DJI photo (FC300S, distortion from the camera table): the default ring keeps the
    boundary to half a ground pixel with far fewer vertices, pushed outward, never inward."""
    from osgeo import ogr
    photo = os.path.join(DATA, "images", "DJI_0018.JPG")
    rings = {}
    for t in ("0", None, "0.05"):
        code, fc, err = geojson("footprint", *(["--tolerance", t] if t else []), photo)
        assert code == 0, err
        g = fc["features"][0]["geometry"]
        rings[t] = (len(g["coordinates"][0]), ogr.CreateGeometryFromJson(json.dumps(g)))
    (n0, dense), (n1, half_px), (n5, coarse) = rings["0"], rings[None], rings["0.05"]
    assert n5 < n1 < n0 / 2, (n0, n1, n5)
    # Holds the dense ring: nothing dropped but inside or on it. The dense ring is itself pushed
    # out by its chords' sub-millimetre sags (a 1 mm floor), which a coarser chord with a smaller
    # sag need not reach: 1.5e-8 degrees (under 1.7 mm) of slack.
    for g in (half_px, coarse):
        assert g.Buffer(1.5e-8).Contains(dense)
        assert dense.Area() <= g.Area() < dense.Area() * 1.005


def test_camera_table_column(tmp):
    """`camera` names a camera-table entry; the row's image matches the photo's, so the area
    must equal the footprint of the real photo read from its own EXIF/XMP."""
    row = "46.8426070833333,-91.9945598888889,39.80,45.00,-89.90,0.00"
    path = write(tmp, "t.csv", "id,lat,lon,height,yaw,pitch,roll,camera,focal_mm,width_px,height_px\n"
                 f"a,{row},djiFC300S,3.61,4000,2250\n"
                 f"b,{row},NoSuchCamera,3.61,4000,2250\n")
    code, fc, err = geojson("footprint", path)
    a, b = (f["properties"] for f in fc["features"])
    code2, photo, err2 = geojson("footprint", os.path.join(DATA, "images", "DJI_0018.JPG"))
    ref = photo["features"][0]["properties"]["area_m2"]
    assert a["status"] == "ok" and abs(a["area_m2"] - ref) / ref < 1e-4, (a, ref)
    assert b["status"] == "unknown" and "not in the camera table" in b["reason"], b


def test_camera_column_frame_picks_the_sensor(tmp):
    """`camera` djiXT2 is two sensors in the table (as the photo's Model): the 4000 x 3000
    visible camera and the 640 x 512 thermal, 640 x 17 um = 10.88 x 8.704 mm (DJI's spec). A
    640 x 512 row at 40 m, nadir, yaw 0, 13 mm is the thermal's: 40 * 10.88 / 13 = 33.48 m
    east-west by 40 * 8.704 / 13 = 26.78 m (the visible sensor squeezed to 5:4 gave 24.4 x
    19.9 m). A 320 x 200 frame is neither sensor's, scaled or cropped (16:10): unknown. A
    640 x 360 row is a crop of the thermal frame, which has no 16:9 mode: an editor's crop,
    anywhere, so the whole sensor's 33.48 x 26.78 m."""
    head = "id,lat,lon,height,yaw,pitch,roll,camera,focal_mm,width_px,height_px\n"
    row = "47.0,8.0,40,0,-90,0"
    path = write(tmp, "xt2.csv", head + f"t,{row},djiXT2,13,640,512\n"
                 f"x,{row},djiXT2,13,320,200\n" f"c,{row},djiXT2,13,640,360\n")
    code, fc, err = geojson("footprint", "--tolerance", "0", path)
    t, x, c = fc["features"]
    k = math.cos(math.radians(47.0))
    for f in (t, c):
        assert f["properties"]["status"] == "ok", f["properties"]
        ring = f["geometry"]["coordinates"][0]
        xs = [(lon - 8.0) * 111320 * k for lon, _ in ring]
        ys = [(lat - 47.0) * 111320 for _, lat in ring]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        assert abs(w / 33.48 - 1) < 0.01 and abs(h / 26.78 - 1) < 0.01, (w, h)
    assert x["properties"]["status"] == "unknown", x["properties"]
    assert "320 x 200" in x["properties"]["reason"], x["properties"]


def test_camera_column_without_frame(tmp):
    """Without width_px/height_px, djiXT2 (the 4000 x 3000 visible camera and the 640 x 512
    thermal in the table) is either sensor: its first entry, the visible 7.43 mm, judged a
    thermal 13 mm row 40 * 7.43 / 13 = 22.9 m wide for the thermal's 33.5 m. The row is unknown
    naming the camera and asking for the frame; focal_mm does not choose (the table has no
    focal length per sensor). djiFC300S is one sensor: its row is placed."""
    head = "id,lat,lon,height,yaw,pitch,roll,camera,focal_mm\n"
    row = "47.0,8.0,40,0,-90,0"
    path = write(tmp, "xt2nf.csv", head + f"t,{row},djiXT2,13\n" f"v,{row},djiFC300S,3.61\n")
    code, fc, err = geojson("footprint", "--tolerance", "0", path)
    t, v = (f["properties"] for f in fc["features"])
    assert t["status"] == "unknown", t
    assert "djiXT2" in t["reason"] and "width_px/height_px" in t["reason"], t
    assert v["status"] == "ok", v


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
