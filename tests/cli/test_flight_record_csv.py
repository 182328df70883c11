"""DJI flight records (DJIFlightRecord_*.txt exported by TXTlogToCSVtool: OSD, GIMBAL, HOME
columns) through the telemetry reader's column dictionary (issue 21). The file is 11 real rows
of a Phantom 4 Pro log (tests/data/README.md); the values below are the file's, read by hand:
row 6 is 2018/07/04 09:20:21.590, OSD.latitude 55.50738, OSD.longitude 10.717475,
OSD.height [m] 64.2, GIMBAL.pitch -90, GIMBAL.roll 0, GIMBAL.yaw 53.8."""
import csv
import json
import math
import os

from kotest import FIXTURES, main, run

LOG = os.path.join(FIXTURES, "flight_logs", "dji_p4p_flight_record_rows.csv")


def records(*args, path=LOG):
    code, out, err = run("footprint", "--format", "jsonl", "--tolerance", "0", *args, path)
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def log_rows():
    """The fixture's rows, header first, to be edited."""
    with open(LOG, newline="") as f:
        return list(csv.reader(f))


def write_rows(tmp, name, rows):
    path = os.path.join(tmp, name)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_flight_record_rows_by_the_dictionary(tmp):
    code, recs, err = records("--camera", "Phantom 4 Pro")
    assert len(recs) == 11, (code, err)
    status = [r["properties"]["status"] for r in recs]
    # rows 1-3 on the ground (OSD.height 0): not above the ground, unknown
    assert status[:3] == ["unknown"] * 3 and status[3:] == ["ok"] * 8, status
    r6 = recs[5]
    p = r6["properties"]
    assert p["time"] == "2018-07-04T09:20:21.590", p
    assert "flight record" in p["columns_from"], p
    # nadir, 64.2 m, a 13.2 x 8.8 mm sensor behind 8.8 mm (DJI's Phantom 4 Pro spec):
    # 96.3 x 64.2 m centred on the aircraft
    lat, lon = 55.50738, 10.717475
    k = math.cos(math.radians(lat))
    pts = [((x - lon) * 111320 * k, (y - lat) * 111320)
           for x, y in r6["geometry"]["coordinates"][0][:-1]]
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        a, cx, cy = a + c, cx + (x0 + x1) * c, cy + (y0 + y1) * c
    assert math.hypot(cx / (3 * a), cy / (3 * a)) < 0.3, (cx / (3 * a), cy / (3 * a))
    assert abs(abs(a) / 2 / (64.2 * 13.2 / 8.8 * 64.2) - 1) < 0.01, abs(a) / 2


def test_flight_record_without_a_camera_is_unknown(tmp):
    code, recs, err = records()
    assert len(recs) == 11 and all(r["properties"]["status"] == "unknown" for r in recs), recs
    assert "no camera" in recs[5]["properties"]["reason"], recs[5]["properties"]


# AirData UAV's CSV export: the column names of its layout (time(millisecond), datetime(utc),
# height_above_takeoff(feet), gimbal_pitch(degrees) ..., images/SAMPLES_MORE.md; no licensed
# sample exists, so the rows are written here), units in the names.
AIRDATA = ("time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff({u}),"
           "altitude_above_seaLevel({u}),satellites,compass_heading(degrees),pitch(degrees),"
           "roll(degrees),isPhoto,gimbal_heading(degrees),gimbal_pitch(degrees),"
           "gimbal_roll(degrees)\n"
           "0,2021-09-05 23:48:08,47.0,8.0,0,1400,12,10.0,0,0,0,10.0,0.0,0\n"
           "5000,2021-09-05 23:48:13,47.0,8.0,{h},{a},12,10.0,-2.0,1.0,1,0.0,-90.0,0.0\n"
           "5100,2021-09-05 23:48:13,47.0,8.0,{h},{a},3,10.0,-2.0,1.0,0,0.0,-90.0,0.0\n")


def extents(rec, lat=47.0, lon=8.0):
    k = math.cos(math.radians(lat))
    pts = [((x - lon) * 111320 * k, (y - lat) * 111320)
           for x, y in rec["geometry"]["coordinates"][0][:-1]]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return max(xs) - min(xs), max(ys) - min(ys), (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2


def test_airdata_columns_in_feet_and_metres(tmp):
    """131.2335958 ft = 40.000 m above take-off, gimbal nadir heading north: with the Phantom
    4 Pro's 13.2 x 8.8 mm sensor behind 8.8 mm, 60 x 40 m, the long side east-west, centred on
    47 N 8 E; the same in metres; on the ground (0 ft) and with 3 satellites: unknown. The
    airframe's compass_heading/pitch/roll (10, -2, 1) are not the camera's."""
    for unit, h, a in (("feet", "131.2335958", "4724.4"), ("meters", "40.0", "1440.0")):
        path = os.path.join(tmp, "Airdata-%s.csv" % unit)
        with open(path, "w") as f:
            f.write(AIRDATA.format(u=unit, h=h, a=a))
        code, recs, err = records("--camera", "Phantom 4 Pro", path=path)
        assert [r["properties"]["status"] for r in recs] == ["unknown", "ok", "unknown"], recs
        assert "not above the ground" in recs[0]["properties"]["reason"], recs[0]
        assert "no fix" in recs[2]["properties"]["reason"], recs[2]
        p = recs[1]["properties"]
        assert "AirData" in p["columns_from"] and p["time"] == "2021-09-05T23:48:13Z", p
        w, hgt, cx, cy = extents(recs[1])
        assert abs(w / 60.0 - 1) < 0.005 and abs(hgt / 40.0 - 1) < 0.005, (unit, w, hgt)
        assert math.hypot(cx, cy) < 0.05, (cx, cy)


def test_flight_record_rows_without_gps_are_unknown(tmp):
    """The fixture's rows with their GPS flags changed: a row flown without GPS (ATTI mode:
    OSD.isGPSused False, its OSD position the last fix, held while the aircraft drifts) and one
    with OSD.gpsNum 3 (a fix needs 4) cannot be placed: unknown "no fix", as AirData's rows with
    fewer than 4 satellites; the fixture's own rows (True, 13 to 16 satellites) are unchanged."""
    rows = log_rows()
    used, num = rows[0].index("OSD.isGPSused"), rows[0].index("OSD.gpsNum")
    assert [r[used] for r in rows[1:]] == ["True"] * 11, [r[used] for r in rows[1:]]
    rows[6][used] = "False"  # row 6 (the 6th data row)
    rows[8][num] = "3"  # row 8
    code, recs, err = records("--camera", "Phantom 4 Pro",
                              path=write_rows(tmp, "DJIFlightRecord_nofix.csv", rows))
    status = [r["properties"]["status"] for r in recs]
    want = ["unknown"] * 3 + ["ok"] * 8
    want[5] = want[7] = "unknown"
    assert status == want, (status, err)
    assert "no fix" in recs[5]["properties"]["reason"], recs[5]["properties"]
    assert "OSD.isGPSused" in recs[5]["properties"]["reason"], recs[5]["properties"]
    assert "no fix" in recs[7]["properties"]["reason"], recs[7]["properties"]
    assert "OSD.gpsNum" in recs[7]["properties"]["reason"], recs[7]["properties"]


def test_flight_record_numbers_in_decimal_only(tmp):
    """Numbers are decimal text: the C spellings strtod also reads (a hex float "-0x1.68p6",
    which is -90; "0x1p3", 8; "inf"; "1e400", which overflows) are not numbers and the row is
    unknown, naming the field, as "46.84x" is; a gpsNum "0x10" (16) or "inf" is no count of
    satellites: no fix. The fixture's rows 4-11 are ok (test_flight_record_rows_by_the_
    dictionary); rows 4-10 are edited, row 11 stays ok."""
    rows = log_rows()
    col = {name: rows[0].index(name) for name in
           ("GIMBAL.pitch", "GIMBAL.yaw", "OSD.latitude", "OSD.height [m]", "OSD.gpsNum")}
    edits = {4: ("GIMBAL.pitch", "-0x1.68p6"), 5: ("GIMBAL.yaw", "0x1p3"),
             6: ("OSD.latitude", "inf"), 7: ("OSD.height [m]", "1e400"),
             8: ("OSD.gpsNum", "0x10"), 9: ("OSD.gpsNum", "inf"),
             10: ("GIMBAL.pitch", "nan")}
    for row, (name, text) in edits.items():
        rows[row][col[name]] = text
    code, recs, err = records("--camera", "Phantom 4 Pro",
                              path=write_rows(tmp, "DJIFlightRecord_hex.csv", rows))
    status = [r["properties"]["status"] for r in recs]
    want = ["unknown"] * 10 + ["ok"]  # rows 1-3 on the ground; 4-10 edited
    assert status == want, (status, err)
    for row, (name, text) in edits.items():
        why = recs[row - 1]["properties"]["reason"]
        if name == "OSD.gpsNum":
            assert "no fix" in why and "OSD.gpsNum" in why, (row, why)
        else:
            assert f"= '{text}' is not a number" in why, (row, why)


def test_flight_record_home_moved_keeps_the_first(tmp):
    """OSD.height is above the take-off; HOME.* is the home point, which the pilot can move
    ("update home point"). The fixture with row 1 flown without a fix (OSD.isGPSused False) and
    the home point moved 0.001 deg north (111 m) from row 8 on: every row stands on row 2's home,
    the first of a row with a fix, and from row 8 on says the home moved, at row 8."""
    rows = log_rows()
    used, hlat = rows[0].index("OSD.isGPSused"), rows[0].index("HOME.latitude")
    rows[1][used] = "False"
    for r in rows[8:]:
        r[hlat] = "%.7f" % (float(r[hlat]) + 0.001)
    code, recs, err = records("--camera", "Phantom 4 Pro",
                              path=write_rows(tmp, "DJIFlightRecord_home.csv", rows))
    recs = [r["properties"] for r in recs]
    assert len(recs) == 11, (code, err)
    for i, p in enumerate(recs[1:], start=2):
        assert "of row 2, the first with a GPS fix" in p["takeoff_from"], (i, p)
        assert ("moved 111 m at row 8" in p["takeoff_from"]) == (i >= 8), (i, p)


def test_airdata_takeoff_is_a_row_with_a_fix(tmp):
    """An AirData row with 0 satellites holds a stale position (here 0.01 deg = 1.1 km north):
    never the flight's take-off; the first row with a fix (row 2) is."""
    head = AIRDATA.split("\n")[0].format(u="meters")
    path = os.path.join(tmp, "airdata_nofix.csv")
    with open(path, "w") as f:
        f.write(head + "\n"
                "0,2021-09-05 23:48:00,47.01,8.0,0,1400,0,10.0,0,0,0,10.0,0.0,0\n"
                "1000,2021-09-05 23:48:08,47.0,8.0,0,1400,12,10.0,0,0,0,10.0,0.0,0\n"
                "5000,2021-09-05 23:48:13,47.0,8.0,40,1440,12,10.0,-2.0,1.0,1,0.0,-90.0,0.0\n")
    code, recs, err = records("--camera", "Phantom 4 Pro", path=path)
    recs = [r["properties"] for r in recs]
    assert len(recs) == 3, (code, err)
    assert recs[0]["status"] == "unknown" and "no fix" in recs[0]["reason"], recs[0]
    assert recs[2]["takeoff_from"] == "first valid row of the CSV: row 2", recs[2]


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
