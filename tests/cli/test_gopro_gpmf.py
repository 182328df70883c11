"""GoPro GPMF telemetry (issue 21) through keepout's commands, on the real Karma track of
tests/data/gopro (README there). The expected positions, heights, headings and video times
come from a decoder written here from gpmf-parser's README (KLV layout, TYPE/SCAL, the MP4
sample tables) with Python's struct, never from keepout; its latitudes agree with ExifTool's
`exiftool -ee -n -GPSLatitude` of the same file (47 samples)."""
import json
import math
import os
import shutil
import struct
import subprocess
import sys

from kotest import FIXTURES, SRC, main, polygon_store, run, write

GOPRO = os.path.join(FIXTURES, "gopro")
MP4 = os.path.join(GOPRO, "karma_gpmf.mp4")
SIZE = {"b": 1, "B": 1, "c": 1, "d": 8, "f": 4, "j": 8, "J": 8, "l": 4, "L": 4, "s": 2, "S": 2}
FMT = {"b": "b", "B": "B", "c": "c", "d": "d", "f": "f", "j": "q", "J": "Q", "l": "i", "L": "I",
       "s": "h", "S": "H"}


def boxes(d, s, e):
    while s + 8 <= e:
        size, kind = struct.unpack(">I4s", d[s:s + 8])
        yield kind, s + 8, s + size
        s += size


def child(d, s, e, kind):
    return next((b, n) for k, b, n in boxes(d, s, e) if k == kind)


def gpmd_payloads(path):
    """[(start_s, duration_s, bytes)] of the track whose sample description is gpmd."""
    d = open(path, "rb").read()
    moov = child(d, 0, len(d), b"moov")
    for k, b, n in boxes(d, *moov):
        if k != b"trak":
            continue
        mdia = child(d, b, n, b"mdia")
        stbl = child(d, *child(d, *mdia, b"minf"), b"stbl")
        stsd = child(d, *stbl, b"stsd")
        if d[stsd[0] + 12:stsd[0] + 16] != b"gpmd":
            continue
        scale = struct.unpack(">I", d[child(d, *mdia, b"mdhd")[0] + 12:][:4])[0]
        sz = child(d, *stbl, b"stsz")[0]
        count = struct.unpack(">I", d[sz + 8:sz + 12])[0]
        sizes = struct.unpack(">%dI" % count, d[sz + 12:sz + 12 + 4 * count])
        co = child(d, *stbl, b"stco")[0]
        offs = struct.unpack(">%dI" % count, d[co + 8:co + 8 + 4 * count])  # one per chunk
        ts = child(d, *stbl, b"stts")[0]
        n_ts = struct.unpack(">I", d[ts + 4:ts + 8])[0]
        durs = []
        for i in range(n_ts):
            c, delta = struct.unpack(">II", d[ts + 8 + 8 * i:ts + 16 + 8 * i])
            durs += [delta / scale] * c
        t, out = 0.0, []
        for o, s, du in zip(offs, sizes, durs):
            out.append((t, du, d[o:o + s]))
            t += du
        return out


def klv(b):
    i = 0
    while i + 8 <= len(b):
        key, t, ss, rep = b[i:i + 4], b[i + 4], b[i + 5], struct.unpack(">H", b[i + 6:i + 8])[0]
        yield key, chr(t) if t else None, ss, rep, b[i + 8:i + 8 + ss * rep]
        i += 8 + ((ss * rep + 3) & ~3)


def records(payload, want):
    """{key: rows of scaled fields} for the wanted keys of every STRM."""
    out = {}
    for key, t, ss, rep, body in klv(payload):
        if key != b"DEVC":
            continue
        for k2, t2, _, _, b2 in klv(body):
            if k2 != b"STRM":
                continue
            scal, typ = None, None
            for k3, t3, ss3, rep3, b3 in klv(b2):
                if k3 == b"SCAL":
                    scal = list(struct.unpack(">%d%s" % (rep3, FMT[t3]), b3))
                elif k3 == b"TYPE":
                    typ = b3.decode().rstrip("\0")
                elif k3.decode() in want:
                    fmt = ">" + "".join(FMT[c] for c in typ)
                    rows = [struct.unpack(fmt, b3[r * ss3:(r + 1) * ss3]) for r in range(rep3)]
                    out[k3.decode()] = [[v / s for v, s in zip(row, scal)] for row in rows]
    return out


def expected():
    """Per GLPI sample: lat, lon, relative height, airframe yaw (nearest ATTD), video time."""
    exp = []
    for t0, dur, p in gpmd_payloads(MP4):
        rec = records(p, ("GLPI", "ATTD"))
        glpi, attd = rec.get("GLPI", []), rec.get("ATTD", [])
        for i, g in enumerate(glpi):
            a = min(attd, key=lambda r: abs(r[0] - g[0]))
            exp.append(dict(lat=g[1], lon=g[2], h=g[4], yaw=math.degrees(a[3]) % 360,
                            t=t0 + dur * i / len(glpi)))
    return exp


def footprints(*args):
    code, out, err = run("footprint", "--format", "jsonl", *args)
    return code, [json.loads(l) for l in out.splitlines() if l.strip()], err


def local(ring, lat, lon):
    k = math.cos(math.radians(lat))
    return [((x - lon) * 111320.0 * k, (y - lat) * 111320.0) for x, y in ring]


def centre_area(rec, lat, lon):
    pts = local(rec["geometry"]["coordinates"][0][:-1], lat, lon)
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        a, cx, cy = a + c, cx + (x0 + x1) * c, cy + (y0 + y1) * c
    return (cx / (3 * a), cy / (3 * a)), abs(a) / 2, pts


def test_karma_track_footprints_follow_the_drone(tmp):
    """--assume-nadir --focal35 20: one footprint per GLPI sample (47), centred on the decoded
    position, of the frame of unknown shape as the view holding a 4:3 and a 3:2 sensor's (the
    3:2 frame's 36 mm across, the 4:3 frame's 25.962 mm along, at 20 mm) at the decoded
    relative height, its long side across the decoded ATTD yaw; video times as decoded."""
    exp = expected()
    assert len(exp) == 47
    code, recs, err = footprints("--assume-nadir", "--focal35", "20", MP4)
    assert code == 0 and len(recs) == 47, (code, len(recs), err)
    for e, r in zip(exp, recs):
        p = r["properties"]
        assert p["status"] == "ok", p
        assert abs(float(p["video_time_s"]) - e["t"]) < 0.0006, (p, e)
        (ce, cn), area, pts = centre_area(r, e["lat"], e["lon"])
        assert math.hypot(ce, cn) < 0.02, (ce, cn, e)
        w, h = e["h"] * 36.0 / 20, e["h"] * 25.962 / 20
        assert abs(area / (w * h) - 1) < 0.01, (area, w * h)
        # the long side is the image's x axis, across the heading: bearing yaw + 90 (mod 180)
        length, bearing = max((math.hypot(bx - ax, by - ay),
                               math.degrees(math.atan2(bx - ax, by - ay)) % 180)
                              for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]))
        along = (e["yaw"] + 90) % 180
        assert abs((bearing - along + 90) % 180 - 90) < 0.5, (bearing, e["yaw"])


def test_karma_without_assumptions_is_unknown_saying_why(tmp):
    """No focal length: no camera. With one: the only attitude is the airframe's."""
    code, recs, err = footprints(MP4)
    assert len(recs) == 47 and all(r["properties"]["status"] == "unknown" for r in recs), recs[0]
    assert "no camera" in recs[0]["properties"]["reason"], recs[0]["properties"]
    code, recs, err = footprints("--focal35", "20", MP4)
    why = recs[0]["properties"]["reason"]
    assert "airframe attitude (GPMF ATTD)" in why, why


def test_raw_stream_and_directory_walk(tmp):
    """karma.raw (one payload, 4 GLPI samples) is read by its first record whatever its name;
    a folder reads the GoPro video and the raw stream, and reports an MP4 without telemetry."""
    d = os.path.join(tmp, "in")
    os.makedirs(d)
    shutil.copy(MP4, os.path.join(d, "karma.mp4"))
    shutil.copy(os.path.join(GOPRO, "karma.raw"), os.path.join(d, "karma.raw"))
    shutil.copy(os.path.join(GOPRO, "karma.raw"), os.path.join(tmp, "telemetry.bin"))
    write(d, "clip.mp4", b"\0\0\0\x10ftypisom\0\0\0\0" + b"\0\0\0\x08moov", "wb")
    code, recs, err = footprints("--assume-nadir", "--focal35", "20",
                                 os.path.join(tmp, "telemetry.bin"))
    assert len(recs) == 4 and recs[0]["properties"]["status"] == "ok", (recs, err)
    code, recs, err = footprints("--assume-nadir", "--focal35", "20", d)
    by = {}
    for r in recs:
        by.setdefault(os.path.basename(r["properties"]["source"]), []).append(r["properties"])
    assert len(by["karma.mp4"]) == 47 and len(by["karma.raw"]) == 4, {k: len(v) for k, v in
                                                                       by.items()}
    assert by["clip.mp4"][0]["status"] == "unknown", by["clip.mp4"]
    assert "video without telemetry" in by["clip.mp4"][0]["reason"], by["clip.mp4"]


def test_release_holds_a_gopro_video_with_a_site_under_one_sample(tmp):
    """Released byte for byte when every sample is clear and its samples span the video
    (13.013 s track; last sample at 11.762 s); held when a site lies under the 30th sample
    only (a 1 m square at its decoded position), and a cut-short track is held too."""
    d = os.path.join(tmp, "in")
    os.makedirs(d)
    shutil.copy(MP4, os.path.join(d, "karma.mp4"))
    out, hold = os.path.join(tmp, "OUT"), os.path.join(tmp, "HOLD")
    far = [[0, 0], [1e-4, 0], [1e-4, 1e-4], [0, 1e-4], [0, 0]]
    db = polygon_store(tmp, [("far away", far)])
    code, so, err = run("release", "--db", db, "--to", out, "--hold", hold, "--assume-nadir",
                        "--focal35", "20", d)
    assert code == 0, err
    assert open(os.path.join(out, "karma.mp4"), "rb").read() == open(MP4, "rb").read()
    e = expected()[29]
    dy, dx = 0.5 / 111320.0, 0.5 / (111320.0 * math.cos(math.radians(e["lat"])))
    ring = [[e["lon"] - dx, e["lat"] - dy], [e["lon"] + dx, e["lat"] - dy],
            [e["lon"] + dx, e["lat"] + dy], [e["lon"] - dx, e["lat"] + dy],
            [e["lon"] - dx, e["lat"] - dy]]
    db = polygon_store(tmp, [("under sample 30", ring)])
    shutil.rmtree(out)
    shutil.rmtree(hold)
    code, so, err = run("release", "--db", db, "--to", out, "--hold", hold, "--assume-nadir",
                        "--focal35", "20", d)
    assert code == 1, (code, err)
    assert not os.path.exists(os.path.join(out, "karma.mp4"))
    assert os.path.exists(os.path.join(hold, "karma.mp4.reason.txt"))
    # the first 6 of 13 payloads in the track's tables, the headers' 13.013 s kept: held
    os.remove(os.path.join(d, "karma.mp4"))
    cut = os.path.join(d, "cut.mp4")
    subprocess.run([sys.executable, os.path.join(SRC, "scripts", "make_gpmf_testdata.py"), MP4,
                    cut, "0", "5"], check=True)
    shutil.rmtree(out)
    shutil.rmtree(hold)
    code, so, err = run("release", "--db", polygon_store(tmp, [("far away", far)]), "--to", out,
                        "--hold", hold, "--assume-nadir", "--focal35", "20", d)
    assert code == 1 and not os.path.exists(os.path.join(out, "cut.mp4")), (code, err)
    why = open(os.path.join(hold, "cut.mp4.reason.txt")).read()
    assert "the frames outside were never checked" in why, why


if __name__ == "__main__":
    main([test_karma_track_footprints_follow_the_drone,
          test_karma_without_assumptions_is_unknown_saying_why,
          test_raw_stream_and_directory_walk,
          test_release_holds_a_gopro_video_with_a_site_under_one_sample])
