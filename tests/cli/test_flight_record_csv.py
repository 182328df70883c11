"""DJI flight records (DJIFlightRecord_*.txt exported by TXTlogToCSVtool: OSD, GIMBAL, HOME
columns) through the telemetry reader's column dictionary (issue 21). The file is 11 real rows
of a Phantom 4 Pro log (tests/data/README.md); the values below are the file's, read by hand:
row 6 is 2018/07/04 09:20:21.590, OSD.latitude 55.50738, OSD.longitude 10.717475,
OSD.height [m] 64.2, GIMBAL.pitch -90, GIMBAL.roll 0, GIMBAL.yaw 53.8."""
import json
import math
import os

from kotest import FIXTURES, main, run

LOG = os.path.join(FIXTURES, "flight_logs", "dji_p4p_flight_record_rows.csv")


def records(*args):
    code, out, err = run("footprint", "--format", "jsonl", "--tolerance", "0", *args, LOG)
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


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


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
