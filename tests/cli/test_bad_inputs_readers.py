"""Issue 17's matrix of bad inputs, reader side: impossible fixes and physical values, truncated
JPEGs, FIFOs and devices named like photos, unreadable folders and files, inputs that yield
nothing to check. Each case goes through the real faces (keepout check, footprint, tag, and
the GDAL driver through gdalinfo / gdal_translate) and asserts that nothing comes out `clear`
and the exit status is the documented one (1: something unknown; 2: nothing to check).

The base photo, data/images/DJI_0018.JPG, is `clear` against the bundled sample store (its demo
site is in view of DJI_0021 only), so every `unknown` below is the bad input's doing."""
import json
import math
import os
import shutil
import sqlite3
import stat
import struct
import subprocess

from kotest import DATA, FIXTURES, KEEPOUT, gdal, main, write

IMAGES = os.path.join(DATA, "images")
BASE = os.path.join(IMAGES, "DJI_0018.JPG")
TESTDATA = os.path.join(os.path.dirname(__file__), "..", "data")
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(KEEPOUT))) if os.path.isabs(
    KEEPOUT) else None
STORE = os.path.join(BUILD, "data", "sites.sqlite") if BUILD else None
PLUGIN_DIR = os.path.join(BUILD, "plugin") if BUILD else None
HANG = 60  # seconds: a FIFO must not block a run; this only stops a hung test


def run(*args, stdin=None):
    p = subprocess.run([KEEPOUT, *args], input=stdin, capture_output=True, timeout=HANG)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def jsonl(*args, **kw):
    code, out, err = run(*args, "--format", "jsonl", **kw)
    return code, [json.loads(l) for l in out.splitlines() if l.strip()], err


def props(recs):
    return [r.get("properties", r) for r in recs]


def check(*inputs, **kw):
    code, recs, err = jsonl("check", "--db", STORE, *inputs, **kw)
    return code, props(recs), err


def footprint(*inputs):
    code, recs, err = jsonl("footprint", *inputs)
    return code, props(recs), err


def tag(tmp, *inputs):
    cat = os.path.join(tmp, "cat.gpkg")
    code, out, err = run("tag", "--db", STORE, "--catalog", cat, *inputs)
    rows = []
    if os.path.exists(cat):
        con = sqlite3.connect(cat)
        try:
            rows = con.execute("select path, verdict, reason from footprints").fetchall()
        except sqlite3.Error:
            rows = []
        con.close()
    return code, rows, err


def tool(*args, env=None, timeout=HANG):
    e = dict(os.environ)
    e["GDAL_DRIVER_PATH"] = PLUGIN_DIR
    e.update(env or {})
    p = subprocess.run(list(args), capture_output=True, text=True, env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


_DRIVER = []


def driver_ok():
    """The plugin loads into gdalinfo (not under a sanitizer build, whose runtimes GDAL's
    uninstrumented programs lack: tests/gdal preloads them for its own tests)."""
    if not _DRIVER:
        _DRIVER.append(tool("gdalinfo", "--format", "KEEPOUT")[0] == 0)
    if not _DRIVER[0]:
        print("skip: the KEEPOUT plugin does not load here")
    return _DRIVER[0]


def driver_verdict(path):
    """gdalinfo's KEEPOUT_VERDICT, or None if the driver refused to open the photo."""
    code, out, err = tool("gdalinfo", "-oo", "SITES=" + STORE, "KEEPOUT:" + path)
    if code != 0:
        return None, err
    for line in out.splitlines():
        if "KEEPOUT_VERDICT=" in line:
            return line.split("=", 1)[1].strip(), out
    return None, out


def strict_refuses(tmp, path):
    dst = os.path.join(tmp, "release.tif")
    code, out, err = tool("gdal_translate", "-q", "-oo", "SITES=" + STORE, "-oo", "MODE=strict",
                          "KEEPOUT:" + path, dst)
    return code != 0 and not os.path.exists(dst), err


def only_unknown(recs, what=""):
    assert recs, f"no record for {what}"
    for r in recs:
        v = r.get("verdict", r.get("status"))
        assert v == "unknown", (what, r)
        assert r.get("reason"), (what, r)


# ------------------------------------------------------------------------------------------
# EXIF surgery on the base photo (independent of keepout's reader: offsets from the TIFF spec)

def exif_gps_entries(data):
    """(tiff offset in file, byte order, {tag: (entry offset, type, count, value offset)})"""
    t0 = data.index(b"Exif\0\0") + 6
    bo = "<" if data[t0:t0 + 2] == b"II" else ">"

    def u16(o):
        return struct.unpack(bo + "H", data[t0 + o:t0 + o + 2])[0]

    def u32(o):
        return struct.unpack(bo + "I", data[t0 + o:t0 + o + 4])[0]

    def entries(off):
        out = {}
        for k in range(u16(off)):
            e = off + 2 + 12 * k
            typ, cnt = u16(e + 2), u32(e + 4)
            size = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 10: 8}[typ] * cnt
            out[u16(e)] = (e, typ, cnt, e + 8 if size <= 4 else u32(e + 8))
        return out

    ifd0 = entries(u32(4))
    gps = entries(u32(ifd0[0x8825][3]))
    return t0, bo, gps


def patched(tmp, name, lat=None, lon=None, zero_den=False, status=None, measure=None):
    data = bytearray(open(BASE, "rb").read())
    t0, bo, gps = exif_gps_entries(data)
    for tag, deg in ((2, lat), (4, lon)):
        if deg is None:
            continue
        at = t0 + gps[tag][3]
        d = int(deg)
        m = int((deg - d) * 60)
        s = round(((deg - d) * 60 - m) * 60 * 1000)
        for i, (num, den) in enumerate(((d, 1), (m, 1), (s, 1000))):
            if zero_den:
                num, den = 0, 0
            struct.pack_into(bo + "II", data, at + 8 * i, num, den)
    # GPSStatus / GPSMeasureMode: the photo has neither; the GPSVersionID and GPSAltitudeRef
    # entries (tags 0 and 5, unused for the position) are rewritten into them.
    for tag, reuse, val in ((9, 0, status), (10, 5, measure)):
        if val is None:
            continue
        e = t0 + gps[reuse][0]
        struct.pack_into(bo + "HHI", data, e, tag, 2, 2)
        data[e + 8:e + 12] = val.encode() + b"\0\0\0"
    path = os.path.join(tmp, name)
    open(path, "wb").write(data)
    return path


def scan_header_end(data):
    """Offset just past the SOS segment header of a JPEG (where entropy-coded data begins)."""
    i = 2
    while True:
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:
            return i + 2 + length
        i += 2 + length


def truncated(tmp, name, extra=100):
    data = open(BASE, "rb").read()
    cut = scan_header_end(data) + extra
    path = os.path.join(tmp, name)
    open(path, "wb").write(data[:cut])
    return path


def csv_rows(tmp, name, *rows):
    """A telemetry CSV: a good first row (the base photo's pose, clear) then the given rows,
    each a dict of overrides."""
    head = ["id", "lat", "lon", "height", "yaw", "pitch", "roll", "focal35_mm", "width_px",
            "height_px", "alt_msl"]
    good = {"id": "good", "lat": "46.8426070833333", "lon": "-91.9945598888889",
            "height": "39.8", "yaw": "45", "pitch": "-89.9", "roll": "0", "focal35_mm": "20",
            "width_px": "4000", "height_px": "2250", "alt_msl": "198.31"}
    lines = [",".join(head), ",".join(good[h] for h in head)]
    for i, over in enumerate(rows):
        r = dict(good, id=f"bad{i}")
        r.update(over)
        lines.append(",".join(r[h] for h in head))
    return write(tmp, name, "\n".join(lines) + "\n")


def check_csv_bad_rows(tmp, *rows):
    path = csv_rows(tmp, "t.csv", *rows)
    code, recs, err = check(path)
    assert code == 1, (code, err)
    by = {r["id"]: r for r in recs}
    assert by["good"]["verdict"] == "clear", by["good"]
    only_unknown([r for r in recs if r["id"] != "good"], rows)
    return [r for r in recs if r["id"] != "good"]


# ------------------------------------------------------------------------------------------
# 1. Plausibility at the readers

def test_bad_csv_principal_point_and_pixels_as_the_photo_reader(tmp):
    """Adversary adv27: the photo reader refuses a principal point more than 15 % of the frame
    from its centre and the camera table pixels more than 10 % from square; the CSV took both
    as given. A P4 RTK row (8.8 mm, 13.2 x 8.8 mm, 5472 x 3648, nadir at 100 m: 150 x 100 m)
    with DewarpData's cx, cy offsets from the centre (10.64, 27.05) as pixels put the view half
    a frame aside; the sensor's sides swapped (8.8 x 13.2) turned it portrait. Both unknown,
    the reason naming the columns; a principal point near the centre, and none, are read."""
    head = "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm,width_px," \
           "height_px,cx_px,cy_px\n"
    pose = "46.8426,-91.9945,100,0,-90,0"
    rows = ["plain,%s,8.8,13.2,8.8,5472,3648,," % pose,
            "calibrated,%s,8.8,13.2,8.8,5472,3648,2746.6,1851.1" % pose,
            "offset,%s,8.8,13.2,8.8,5472,3648,10.64,27.05" % pose,
            "swapped,%s,8.8,8.8,13.2,5472,3648,," % pose,
            "noframe,%s,8.8,13.2,8.8,,,2736,1824" % pose]
    path = write(tmp, "t.csv", head + "\n".join(rows) + "\n")
    code, recs, err = footprint(path)
    by = {r["id"]: r for r in recs}
    assert by["plain"]["status"] == "ok", by["plain"]
    assert abs(by["plain"]["area_m2"] - 150 * 100) < 1e-3, by["plain"]
    assert by["calibrated"]["status"] == "ok", by["calibrated"]
    for rid, col in (("offset", "cx_px"), ("swapped", "sensor_w_mm"), ("noframe", "width_px")):
        assert by[rid]["status"] == "unknown" and col in by[rid]["reason"], by[rid]
    assert "far from the centre" in by["offset"]["reason"], by["offset"]
    assert "square" in by["swapped"]["reason"], by["swapped"]


def test_bad_csv_column_named_twice(tmp):
    """A column named twice, case ignored ('lat' and a 'LAT' a tool appended): the first was
    taken silently and the other passed through. Which holds the position cannot be told: the
    file is unknown, the reason naming the column and both places (noticed by adversary
    adv27). Control: the same file without the second column is read."""
    head = "id,lat,lon,height,yaw,pitch,roll,focal35_mm"
    row = "a,46.8426,-91.9945,100,0,-90,0,24"
    for extra in (",LAT", ",lat"):
        path = write(tmp, "t.csv", head + extra + "\n" + row + ",10.0\n")
        code, recs, err = footprint(path)
        assert code == 1 and len(recs) == 1 and recs[0]["status"] == "unknown", (recs, err)
        assert "'lat' twice (columns 2 and 9)" in recs[0]["reason"], recs[0]
    code, recs, err = footprint(write(tmp, "t.csv", head + "\n" + row + "\n"))
    assert code == 0 and recs[0]["status"] == "ok", (recs, err)


def test_bad_base_photo_is_clear_control(tmp):
    """Control: the base photo and the base CSV row are clear, so the cases below test the
    bad input and not the store."""
    code, recs, err = check(BASE)
    assert code == 0 and recs[0]["verdict"] == "clear", (code, recs, err)
    assert not driver_ok() or driver_verdict(BASE)[0] == "clear"


def test_bad_gps_zero_zero_check(tmp):
    p = patched(tmp, "nofix.jpg", lat=0.0, lon=0.0)
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "GPS 0,0")
    assert "0, 0" in recs[0]["reason"] and "fix" in recs[0]["reason"], recs[0]["reason"]


def test_bad_xmp_gps_zero_zero_check(tmp):
    """No EXIF GPS (IFD0's GPS pointer renamed to an unknown tag), and DJI XMP
    GpsLatitude/GpsLongitude (0, 0): what a receiver without a fix writes, not a position in
    the Gulf of Guinea (adversary adv21: the footprint landed there and came out clear)."""
    data = bytearray(open(BASE, "rb").read())
    t0, bo, _ = exif_gps_entries(data)
    ifd0 = t0 + struct.unpack(bo + "I", data[t0 + 4:t0 + 8])[0]
    n = struct.unpack(bo + "H", data[ifd0:ifd0 + 2])[0]
    for k in range(n):
        e = ifd0 + 2 + 12 * k
        if struct.unpack(bo + "H", data[e:e + 2])[0] == 0x8825:
            struct.pack_into(bo + "H", data, e, 0x8826)
    xi = data.index(b"http://ns.adobe.com/xap/1.0/\0")
    seg = xi - 4  # FF E1 and the segment's length
    length = struct.unpack(">H", data[seg + 2:seg + 4])[0]
    body = bytes(data[seg + 4:seg + 2 + length])
    key = b"drone-dji:AbsoluteAltitude"
    assert body.count(key) == 1
    body = body.replace(key, b'drone-dji:GpsLatitude="+0.000000"\n   '
                        b'drone-dji:GpsLongitude="+0.000000"\n   ' + key)
    data[seg + 2:seg + 2 + length] = struct.pack(">H", len(body) + 2) + body
    path = os.path.join(tmp, "xmp_nofix.jpg")
    open(path, "wb").write(data)
    code, out, err = tool("exiftool", "-n", "-j", "-GPSLatitude", "-XMP:GPSLatitude", path)
    m = json.loads(out)[0]
    assert "GPSLatitude" in m and float(m["GPSLatitude"]) == 0, m  # the XMP's, alone
    code, recs, err = check(path)
    assert code == 1, err
    only_unknown(recs, "XMP GPS 0,0")
    assert "(0, 0)" in recs[0]["reason"] and "XMP" in recs[0]["reason"], recs[0]["reason"]


def edited_copy(tmp, name, pixels):
    """BASE's pixels changed by pixels (a numpy array function), written as a JPEG with every
    tag of BASE copied back and the EXIF image size made the new one, as an editor's export
    does."""
    g = gdal()
    src = g.Open(BASE)
    bands = [pixels(src.GetRasterBand(i + 1).ReadAsArray()) for i in range(src.RasterCount)]
    h, w = bands[0].shape
    mem = g.GetDriverByName("MEM").Create("", w, h, len(bands), g.GDT_Byte)
    for i, b in enumerate(bands):
        mem.GetRasterBand(i + 1).WriteArray(b)
    path = os.path.join(tmp, name)
    g.GetDriverByName("JPEG").CreateCopy(path, mem, options=["QUALITY=90"])
    code, out, err = tool("exiftool", "-q", "-overwrite_original", "-tagsFromFile", BASE,
                          "-all:all", f"-ExifImageWidth={w}", f"-ExifImageHeight={h}", path)
    assert code == 0, err
    return path, w, h


def test_bad_rotated_copy_is_unknown(tmp):
    """A copy turned 90 degrees by an editor (pixels rotated, Orientation 1): its view is the
    camera's turned one way or the other, so it is unknown, not a portrait sensor placed along
    the camera's heading (adversary adv21: a site beside the track came out clear)."""
    path, w, h = edited_copy(tmp, "rotated.jpg", lambda a: a.T[:, ::-1])
    assert h > w
    code, recs, err = check(path)
    assert code == 1, err
    only_unknown(recs, "rotated copy")
    assert "portrait" in recs[0]["reason"], recs[0]["reason"]


def test_bad_off_centre_crop_is_unknown(tmp):
    """A crop of the top-left of the frame, of a shape none of the camera's modes has: not a
    centred band of the full width (adversary adv21: a site in the crop came out clear). The
    camera's own 16:9 frames (BASE) stay judged; a half-size copy of one (80 x 45) cannot be
    told from a 16:9 crop cut anywhere (adversary adv21c: a top-left 1600 x 900 of a 4:3 frame),
    so it is the sensor's whole 4:3 view, whose extra rows reach the demo substation (as
    DJI_0018's whole view does: test_vendor_photos, test_edited_16x9_copy...)."""
    path, w, h = edited_copy(tmp, "crop.jpg", lambda a: a[: a.shape[0] * 7 // 22,
                                                          : a.shape[1] // 2])
    assert abs(w / h - 16 / 9) > 0.1, (w, h)
    code, recs, err = check(path)
    assert code == 1, err
    only_unknown(recs, "off-centre crop")
    half, w, h = edited_copy(tmp, "half.jpg", lambda a: a[::2, ::2])
    code, recs, err = check(half)
    assert code == 1 and recs[0]["verdict"] == "flagged", (w, h, recs, err)


def pix4d_photo(tmp, angles, maker_note=False):
    """BASE without its maker note (unless maker_note), DJI's gimbal angles renamed away, and
    the Pix4D Camera: attributes angles added to its XMP packet (its drone-dji heights kept)."""
    path = os.path.join(tmp, f"pix4d_{len(os.listdir(tmp))}.jpg")
    if maker_note:
        shutil.copy(BASE, path)
    else:
        code, out, err = tool("exiftool", "-q", "-MakerNotes:all=", "-o", path, BASE)
        assert code == 0, err
    data = bytearray(open(path, "rb").read())
    xi = data.index(b"http://ns.adobe.com/xap/1.0/\0")
    seg = xi - 4
    length = struct.unpack(">H", data[seg + 2:seg + 4])[0]
    body = bytes(data[seg + 4:seg + 2 + length])
    assert body.count(b"drone-dji:Gimbal") == 3
    body = body.replace(b"drone-dji:Gimbal", b"drone-dji:Ximbal")
    ns = b'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"'
    body = body.replace(ns, ns + b'\n    xmlns:Camera="http://pix4d.com/camera/1.0/"\n   '
                        + angles)
    data[seg + 2:seg + 2 + length] = struct.pack(">H", len(body) + 2) + body
    open(path, "wb").write(data)
    return path


def test_pix4d_placeholder_and_mixed_conventions_are_unknown(tmp):
    """Beside drone-dji heights (which make the vendor DJI): Pix4D's 0/0/0, the placeholder
    written when no attitude was recorded, and Pix4D's angles with a gimbal's restated in the
    same packet (their rolls are different rotations; a restated pitch skipped Pix4D's
    conversion) are unknown (adversary adv21b: both came out clear)."""
    for angles, why in ((b'Camera:Yaw="0" Camera:Pitch="0" Camera:Roll="0"', "placeholder"),
                        (b'Camera:Yaw="0" Camera:Pitch="0" Camera:Roll="45" '
                         b'drone-dji:GimbalPitchDegree="-90.00"', "two conventions")):
        code, recs, err = footprint(pix4d_photo(tmp, angles))
        only_unknown(recs, why)
        assert why in recs[0]["reason"], recs[0]["reason"]
    # Pix4D's angles beside the DJI maker note's gimbal angles (CameraPitch -89.9, yaw 45)
    code, recs, err = footprint(pix4d_photo(
        tmp, b'Camera:Yaw="45" Camera:Pitch="0.1" Camera:Roll="30"', maker_note=True))
    only_unknown(recs, "Pix4D beside the maker note")
    assert "two conventions" in recs[0]["reason"], recs[0]["reason"]


def test_pix4d_roll_tilts_the_view_sideways(tmp):
    """Pix4D Camera:Pitch 0 (nadir) with Roll 45 about the flight direction, heading north, in a
    packet whose height is drone-dji's (no DJI gimbal angles, no maker note): the view is 45 deg
    off nadir to the west (right wing down; DESIGN.md), 39.8 m up: the footprint's centre lies
    west of the camera by more than its height times tan(22.5), not under it (adversary adv21:
    the roll was taken about the view axis, and a site beside the track came out clear)."""
    path = pix4d_photo(tmp, b'Camera:Yaw="0" Camera:Pitch="0" Camera:Roll="45"')
    code, recs, err = footprint(path)
    assert code == 0 and recs[0].get("status") == "ok", (code, recs, err)
    code, out, err = tool("exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude", BASE)
    m = json.loads(out)[0]
    code, raw, err = jsonl("footprint", path)
    ring = raw[0]["geometry"]["coordinates"][0][:-1]
    kx = 111320 * math.cos(math.radians(m["GPSLatitude"]))
    pts = [((x - m["GPSLongitude"]) * kx, (y - m["GPSLatitude"]) * 111320) for x, y in ring]
    # wholly west of the camera: its near edge is 4.5 deg off nadir (3 m), not under it
    assert max(x for x, _ in pts) < -1.0, max(x for x, _ in pts)
    a = cx = cy = 0.0  # area centroid: west, and as far north as south
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        a, cx, cy = a + c, cx + (x0 + x1) * c, cy + (y0 + y1) * c
    cx, cy = cx / (3 * a), cy / (3 * a)
    assert cx < -39.8 and abs(cy) < abs(cx) / 10, (cx, cy)


def test_focal_plane_contradicting_the_camera_table_is_unknown(tmp):
    """A Zenmuse XT frame (the table: 17 um pixels) whose EXIF focal plane resolution says 588
    pixels per mm (1.7 um: 588 per cm labelled per mm): believed, the footprint shrank to a
    tenth and a site 8 m off nadir came out clear (adversary adv21). Now unknown, naming both;
    the file as written keeps its footprint."""
    import gzip
    src = os.path.join(FIXTURES, "vendors", "ZenmuseXT_001.tif.gz")
    good = os.path.join(tmp, "xt.tif")
    with gzip.open(src, "rb") as f, open(good, "wb") as g:
        g.write(f.read())
    bad = os.path.join(tmp, "xt_fp.tif")
    code, out, err = tool("exiftool", "-q", "-FocalPlaneXResolution=588",
                          "-FocalPlaneYResolution=588", "-FocalPlaneResolutionUnit=4", "-o", bad,
                          good)
    assert code == 0, err
    code, recs, err = footprint(good)
    assert recs[0]["status"] == "ok", recs
    code, recs, err = footprint(bad)
    only_unknown(recs, "focal plane against the table")
    assert "focal plane" in recs[0]["reason"] and "17.00 um" in recs[0]["reason"], recs
    bad_y = os.path.join(tmp, "xt_fp_y.tif")  # X right (58.82 per mm = 17 um), Y a tenth
    code, out, err = tool("exiftool", "-q", "-FocalPlaneXResolution=58.82",
                          "-FocalPlaneYResolution=588.2", "-FocalPlaneResolutionUnit=4", "-o",
                          bad_y, good)
    assert code == 0, err
    code, recs, err = footprint(bad_y)
    only_unknown(recs, "focal plane Y against the table")


def test_bad_gps_zero_zero_footprint(tmp):
    p = patched(tmp, "nofix.jpg", lat=0.0, lon=0.0)
    code, recs, err = footprint(p)
    assert code == 1, err
    only_unknown(recs, "GPS 0,0 footprint")


def test_bad_gps_zero_zero_tag(tmp):
    p = patched(tmp, "nofix.jpg", lat=0.0, lon=0.0)
    code, rows, err = tag(tmp, p)
    assert code == 1, err
    assert rows and all(v == "unknown" for _, v, _ in rows), rows


def test_bad_gps_zero_zero_driver(tmp):
    if not driver_ok():
        return
    p = patched(tmp, "nofix.jpg", lat=0.0, lon=0.0)
    v, out = driver_verdict(p)
    assert v != "clear", out
    refused, err = strict_refuses(tmp, p)
    assert refused, err


def test_bad_gps_flir_zero_over_zero(tmp):
    p = patched(tmp, "flir.jpg", lat=0.0, lon=0.0, zero_den=True)
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "GPS 0/0")


def test_bad_gps_status_void(tmp):
    p = patched(tmp, "void.jpg", status="V")
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "GPSStatus V")
    assert "GPSStatus" in recs[0]["reason"], recs[0]["reason"]
    # control: the same photo marked active is judged
    code, recs, err = check(patched(tmp, "active.jpg", status="A"))
    assert code == 0 and recs[0]["verdict"] == "clear", recs


def test_bad_gps_measure_mode_no_fix(tmp):
    p = patched(tmp, "mode0.jpg", measure="0")
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "GPSMeasureMode 0")
    assert "GPSMeasureMode" in recs[0]["reason"], recs[0]["reason"]
    code, recs, err = check(patched(tmp, "mode3.jpg", measure="3"))
    assert code == 0 and recs[0]["verdict"] == "clear", recs


def test_bad_gps_void_driver(tmp):
    if not driver_ok():
        return
    p = patched(tmp, "void.jpg", status="V")
    refused, err = strict_refuses(tmp, p)
    assert refused, err


def test_bad_csv_focal35_1e308(tmp):
    """Used to abort the whole run blaming the site store (exit 2)."""
    bad = check_csv_bad_rows(tmp, {"focal35_mm": "1e308"})
    assert "focal35_mm" in bad[0]["reason"] and "1e+308" in bad[0]["reason"], bad[0]


def test_bad_csv_focal35_1e308_footprint(tmp):
    path = csv_rows(tmp, "t.csv", {"focal35_mm": "1e308"})
    code, recs, err = footprint(path)
    assert code == 1, err
    only_unknown([r for r in recs if r["id"] != "good"], "focal35 footprint")


def test_bad_csv_gps_zero_zero(tmp):
    check_csv_bad_rows(tmp, {"lat": "0", "lon": "0"}, {"lat": "0.0", "lon": "-0.0"})


def test_bad_csv_focal_and_sensor_out_of_range(tmp):
    head = "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm\n"
    pose = "46.8426070833333,-91.9945598888889,39.8,45,-89.9,0"
    rows = ["good," + pose + ",3.61,6.17,4.55",
            "focal," + pose + ",5000,6.17,4.55",     # a 5 m lens
            "sensor," + pose + ",3.61,1e6,4.55",     # a 1 km sensor
            "tiny," + pose + ",3.61,1e-9,4.55"]      # a 1 pm sensor
    path = write(tmp, "cam.csv", head + "\n".join(rows) + "\n")
    code, recs, err = check(path)
    assert code == 1, err
    by = {r["id"]: r for r in recs}
    assert by["good"]["verdict"] == "clear", by["good"]
    only_unknown([by["focal"], by["sensor"], by["tiny"]], "camera ranges")
    assert "focal_mm" in by["focal"]["reason"], by["focal"]
    assert "sensor_w_mm" in by["sensor"]["reason"], by["sensor"]


def test_bad_csv_height_and_altitude_out_of_range(tmp):
    bad = check_csv_bad_rows(tmp, {"height": "25000"}, {"alt_msl": "1e300"})
    assert "height" in bad[0]["reason"], bad[0]
    assert "alt_msl" in bad[1]["reason"], bad[1]


def test_csv_view_of_a_fraction_of_a_millimetre_is_judged(tmp):
    """A 2,000 mm-equivalent lens 1 cm above the ground sees 0.18 mm of it. That used to abort
    the run blaming the site store (exit 2), then to collapse the ring (unknown); the ring now
    keeps every sample off a straight line (a micrometre), so the row is judged like any other:
    nothing there, clear, and the run goes on."""
    path = csv_rows(tmp, "t.csv", {"height": "0.01", "focal35_mm": "2000"})
    code, recs, err = check(path)
    assert code == 0, (code, err)
    assert [r["verdict"] for r in recs] == ["clear", "clear"], recs


def test_bad_srt_without_satellites(tmp):
    """GPS(lon,lat,satellites): 0 satellites is no fix, whatever the coordinates say."""
    # 3 km south of the Brighton photos: no site of the sample store in view
    block = ("{i}\n00:00:0{i},000 --> 00:00:0{j},000\nHOME(-91.9946,46.8156) "
             "2016.06.23 16:31:5{i}\nGPS(-91.9945,46.8156,{sats}) BAROMETER:39.8\n\n")
    text = (block.format(i=1, j=2, sats=12) + block.format(i=2, j=3, sats=0) +
            block.format(i=3, j=4, sats=2))
    path = write(tmp, "clip.SRT", text)
    code, recs, err = check("--focal35", "20", "--assume-nadir", path)
    assert code == 1, err
    by = {r["id"]: r for r in recs}
    assert by["clip.SRT#1"]["verdict"] == "clear", by
    only_unknown([by["clip.SRT#2"], by["clip.SRT#3"]], "SRT satellites")
    assert "satellite" in by["clip.SRT#2"]["reason"], by["clip.SRT#2"]


def test_bad_srt_zero_zero(tmp):
    text = ("1\n00:00:01,000 --> 00:00:02,000\n[latitude: 0.000000] [longitude: 0.000000] "
            "[rel_alt: 40.0 abs_alt: 200.0] [focal_len: 24.00]\n\n")
    path = write(tmp, "zero.SRT", text)
    code, recs, err = footprint("--assume-nadir", path)
    assert code == 1, err
    only_unknown(recs, "SRT 0,0")


# ------------------------------------------------------------------------------------------
# 2. JPEGs whose entropy-coded data ends early

def test_bad_truncated_after_scan_header_check(tmp):
    p = truncated(tmp, "cut.jpg")
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "truncated")
    assert "truncated" in recs[0]["reason"], recs[0]["reason"]


def test_bad_truncated_real_dji_head(tmp):
    """The first 64 kB of the real 4 MB DJI_0018.JPG (tests/data/truncated): its whole header,
    the scan header and ~5 kB of scan data, as a copy interrupted there leaves it."""
    p = os.path.join(TESTDATA, "truncated", "DJI_0018_head64k.JPG")
    for fn in (check, footprint):
        code, recs, err = fn(p)
        assert code == 1, err
        only_unknown(recs, fn.__name__)
        assert "truncated" in recs[0]["reason"], recs[0]["reason"]


def test_bad_truncated_mid_scan_with_padding(tmp):
    """Cut in the middle of the scan, then zero padding as a failed copy may leave."""
    data = open(BASE, "rb").read()
    cut = (scan_header_end(data) + len(data)) // 2
    p = write(tmp, "pad.jpg", data[:cut] + b"\0" * 4096, mode="wb")
    code, recs, err = check(p)
    assert code == 1, err
    only_unknown(recs, "truncated + padding")


def test_bad_truncated_driver(tmp):
    if not driver_ok():
        return
    p = truncated(tmp, "cut.jpg")
    v, out = driver_verdict(p)
    assert v != "clear", out
    refused, err = strict_refuses(tmp, p)
    assert refused, err


def test_bad_truncated_tag(tmp):
    d = os.path.join(tmp, "archive")
    os.mkdir(d)
    truncated(d, "cut.jpg")
    shutil.copy(BASE, os.path.join(d, "good.jpg"))
    code, rows, err = tag(tmp, d)
    assert code == 1, err
    by = {os.path.basename(p): (v, r) for p, v, r in rows}
    assert by["good.jpg"][0] == "clear" and by["cut.jpg"][0] == "unknown", by


# ------------------------------------------------------------------------------------------
# 3. Only regular files are opened

def fifo(d, name="photo.jpg"):
    path = os.path.join(d, name)
    os.mkfifo(path)
    return path


def test_bad_fifo_given_to_check(tmp):
    p = fifo(tmp)
    code, out, err = run("check", "--db", STORE, "--format", "jsonl", p)
    assert code == 1, err
    only_unknown(props([json.loads(l) for l in out.splitlines()]), "fifo")
    assert "not a regular file" in out, out


def test_bad_fifo_in_walked_folder_check(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    shutil.copy(BASE, os.path.join(d, "good.jpg"))
    fifo(d, "pipe.JPG")
    code, recs, err = check(d)
    assert code == 1, err
    by = {os.path.basename(r["source"]): r for r in recs}
    assert by["good.jpg"]["verdict"] == "clear"
    only_unknown([by["pipe.JPG"]], "fifo in folder")
    assert "not a regular file" in by["pipe.JPG"]["reason"]


def test_bad_fifo_footprint(tmp):
    code, recs, err = footprint(fifo(tmp))
    assert code == 1, err
    only_unknown(recs, "fifo footprint")


def test_bad_fifo_tag(tmp):
    d = os.path.join(tmp, "archive")
    os.mkdir(d)
    fifo(d)
    shutil.copy(BASE, os.path.join(d, "good.jpg"))
    code, rows, err = tag(tmp, d)
    assert code == 1, err
    by = {os.path.basename(p): v for p, v, _ in rows}
    assert by.get("photo.jpg") == "unknown" and by.get("good.jpg") == "clear", by


def test_bad_fifo_driver(tmp):
    if not driver_ok():
        return
    p = fifo(tmp)
    v, out = driver_verdict(p)
    assert v != "clear", out
    refused, err = strict_refuses(tmp, p)
    assert refused, err


def test_bad_fifo_telemetry_and_srt(tmp):
    a, b = fifo(tmp, "flight.csv"), fifo(tmp, "clip.SRT")
    code, recs, err = check(a, b)
    assert code == 1, err
    only_unknown(recs, "fifo csv/srt")
    assert len(recs) == 2, recs


def test_bad_device_named_like_a_photo(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    os.symlink("/dev/zero", os.path.join(d, "zero.jpg"))
    code, recs, err = check(d)
    assert code == 1, err
    only_unknown(recs, "device")
    assert "not a regular file" in recs[0]["reason"], recs[0]


# ------------------------------------------------------------------------------------------
# 4. Inputs that cannot be read are unknown rows; inputs with nothing to check exit 2

def as_nobody():
    """A prefix running a command as an unprivileged user when we are root (root reads
    chmod-000 files), or [] when permissions already bind us; None if that is not possible."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return None


def readable_by_all(path):
    """Opens the path's ancestors to others so an unprivileged user can reach it."""
    p = os.path.abspath(path)
    while p != "/":
        st = os.stat(p)
        os.chmod(p, st.st_mode | stat.S_IXOTH | (stat.S_IROTH if p == path else 0))
        p = os.path.dirname(p)


def run_as(prefix, *args):
    p = subprocess.run(prefix + [KEEPOUT, *args], capture_output=True, timeout=HANG)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_bad_unreadable_subfolder(tmp):
    prefix = as_nobody()
    if prefix is None:
        print("skip: cannot drop privileges to enforce permissions")
        return
    d = os.path.join(tmp, "in")
    os.makedirs(os.path.join(d, "locked"))
    shutil.copy(BASE, os.path.join(d, "good.jpg"))
    shutil.copy(os.path.join(IMAGES, "DJI_0021.JPG"), os.path.join(d, "locked", "x.jpg"))
    for p in (d, os.path.join(d, "good.jpg")):
        os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
    readable_by_all(d)
    os.chmod(os.path.join(d, "locked"), 0)
    try:
        code, out, err = run_as(prefix, "check", "--db", STORE, "--format", "jsonl", d)
    finally:
        os.chmod(os.path.join(d, "locked"), 0o755)
    recs = props([json.loads(l) for l in out.splitlines()])
    assert code == 1, (code, err)
    by = {os.path.basename(r["source"]): r for r in recs}
    assert by["good.jpg"]["verdict"] == "clear", by
    only_unknown([by["locked"]], "locked folder")
    assert "cannot be read" in by["locked"]["reason"], by["locked"]


def test_bad_unreadable_file(tmp):
    prefix = as_nobody()
    if prefix is None:
        print("skip: cannot drop privileges to enforce permissions")
        return
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    p = os.path.join(d, "secret.jpg")
    shutil.copy(BASE, p)
    readable_by_all(d)
    os.chmod(p, 0)
    code, out, err = run_as(prefix, "check", "--db", STORE, "--format", "jsonl", d, p)
    recs = props([json.loads(l) for l in out.splitlines()])
    assert code == 1, (code, err)
    assert len(recs) == 2, recs
    only_unknown(recs, "unreadable file")


def test_bad_dangling_symlink_given_and_walked(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    os.symlink(os.path.join(tmp, "gone.jpg"), os.path.join(d, "link.jpg"))
    os.symlink(os.path.join(tmp, "gone-dir"), os.path.join(d, "linked-folder"))
    code, recs, err = check(d, os.path.join(d, "link.jpg"))
    assert code == 1, err
    only_unknown(recs, "dangling")
    assert len(recs) == 3, recs


def nothing_to_check(fn_args, stdin=None):
    code, out, err = run(*fn_args, stdin=stdin)
    assert code == 2, (code, out, err)
    assert "nothing to" in err, err
    return err


def test_bad_empty_folder_check(tmp):
    d = os.path.join(tmp, "empty")
    os.mkdir(d)
    nothing_to_check(["check", "--db", STORE, d])


def test_bad_empty_stdin_list_check(tmp):
    nothing_to_check(["check", "--db", STORE, "-"], stdin=b"")
    nothing_to_check(["check", "--db", STORE, "-"], stdin=b"\n\n")


def test_bad_only_unknown_extensions_check(tmp):
    d = os.path.join(tmp, "notes")
    os.mkdir(d)
    write(d, "readme.md", "hello\n")
    write(d, "log.dat", "x\n")
    err = nothing_to_check(["check", "--db", STORE, d])
    assert "--include" in err, err


def test_bad_jpegs_renamed_bak(tmp):
    d = os.path.join(tmp, "renamed")
    os.mkdir(d)
    shutil.copy(BASE, os.path.join(d, "DJI_0018.JPG.bak"))
    err = nothing_to_check(["check", "--db", STORE, d])
    assert "--include" in err, err
    # what the message says to do works: the renamed JPEG is read and judged
    code, recs, err = check("--include", "*.bak", d)
    assert code == 0 and recs[0]["verdict"] == "clear", (recs, err)


def test_bad_empty_folder_footprint(tmp):
    d = os.path.join(tmp, "empty")
    os.mkdir(d)
    nothing_to_check(["footprint", d])


def test_bad_empty_folder_tag(tmp):
    d = os.path.join(tmp, "empty")
    os.mkdir(d)
    write(d, "notes.txt", "no photos here\n")
    nothing_to_check(["tag", "--db", STORE, "--catalog", os.path.join(tmp, "c.gpkg"), d])


def test_bad_empty_folder_among_good_inputs(tmp):
    """One empty input among good ones is still an error: a mistyped folder must not pass."""
    d = os.path.join(tmp, "empty")
    os.mkdir(d)
    code, out, err = run("check", "--db", STORE, "--format", "jsonl", BASE, d)
    assert code == 2 and "nothing to" in err and d in err, (code, err)



# ------------------------------------------------------------------------------------------
# 5. An input keepout could not read or parse was not checked: --unknown-is clear (and the
#    driver's UNKNOWN_IS=clear) applies only to images that were checked and came out unknown

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 64


def unknown_is_clear_refuses(*inputs):
    code, recs, err = check("--unknown-is", "clear", *inputs)
    assert code == 1, (code, recs, err)
    assert recs and all(r["verdict"] != "clear" for r in recs), recs
    return recs


def test_bad_text_named_jpg_unknown_is_clear(tmp):
    unknown_is_clear_refuses(write(tmp, "notes.jpg", "not a photo\n"))


def test_bad_png_renamed_jpg_unknown_is_clear(tmp):
    unknown_is_clear_refuses(write(tmp, "DJI_0001.JPG", PNG_HEAD, mode="wb"))


def test_bad_truncated_jpeg_unknown_is_clear(tmp):
    unknown_is_clear_refuses(truncated(tmp, "cut.jpg"))


def test_bad_refused_imagery_in_folder_unknown_is_clear(tmp):
    """A PNG or TIFF in a walked folder is imagery keepout cannot read: never checked."""
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    write(d, "shot.png", PNG_HEAD, mode="wb")
    write(d, "junk.jpg", "x" * 100)
    recs = unknown_is_clear_refuses(d)
    assert len(recs) == 2, recs


def test_bad_camera_raw_and_360_video_in_folder_unknown(tmp):
    """Adversary adv27: a walk read jpg/tif/srt, refused png/dng/raw/heic/... and skipped every
    other extension as "neither imagery nor telemetry": survey cameras' raw frames (Phase One
    iXM .IIQ, GoPro .GPR beside its .JPG, Hasselblad .3FR/.FFF, Fujifilm .RAF, Pentax .PEF,
    Samsung .SRW, Sigma .X3F, Leica .RWL), GoPro MAX 360-degree .360 video (an MP4 with GPMF),
    DJI Osmo 360 .OSV, DJI .LRF proxies, .MTS/.M2TS/.MXF video: a folder of them beside a clear
    JPEG exited 0. Each is unknown in check and in tag; .jfif/.jpe are JPEGs, read (the same
    verdict as the .JPG); a .txt note is still skipped."""
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    shutil.copy(BASE, os.path.join(d, "DJI_0018.JPG"))
    shutil.copy(BASE, os.path.join(d, "DJI_0018.jfif"))
    shutil.copy(BASE, os.path.join(d, "DJI_0018.JPE"))
    raw = ["P0001234.IIQ", "GOPR1234.GPR", "B0000001.3FR", "B0000002.FFF", "DSCF0001.RAF",
           "IMGP0001.PEF", "SAM_0001.SRW", "SDIM0001.X3F", "L1000001.RWL"]
    spherical = ["GS010001.360", "CAM_0001.OSV"]
    video = ["DJI_0001.LRF", "00001.MTS", "00002.M2TS", "C0001.MXF"]
    for name in raw:
        write(d, name, b"II*\0\x08\0\0\0" + b"\0" * 64, mode="wb")  # a TIFF container
    for name in spherical + video:
        write(d, name, b"\0\0\0\x18ftypmp42" + b"\0" * 64, mode="wb")
    write(d, "notes.txt", "flight notes\n")
    code, recs, err = check(d)
    assert code == 1, (code, recs, err)
    got = {r["id"]: r for r in recs}
    assert set(got) == set(raw + spherical + video + ["DJI_0018.JPG", "DJI_0018.jfif",
                                                      "DJI_0018.JPE"]), sorted(got)
    for name in raw:
        assert got[name]["verdict"] == "unknown" and \
            "imagery format not supported" in got[name]["reason"], got[name]
    for name in spherical:
        assert got[name]["verdict"] == "unknown" and "360-degree" in got[name]["reason"], \
            got[name]
    for name in video:
        assert got[name]["verdict"] == "unknown" and "video" in got[name]["reason"], got[name]
    for name in ("DJI_0018.jfif", "DJI_0018.JPE"):
        assert got[name]["verdict"] == got["DJI_0018.JPG"]["verdict"] == "clear", got[name]
    code, rows, err = tag(tmp, d)
    verdicts = {os.path.basename(p): v for p, v, _ in rows}
    for name in raw + spherical + video:
        assert verdicts.get(name) == "unknown", (name, verdicts, err)
    assert verdicts.get("DJI_0018.jfif") == "clear", verdicts
    assert "notes.txt" not in verdicts


def test_bad_fifo_in_folder_unknown_is_clear(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    fifo(d, "pipe.jpg")
    unknown_is_clear_refuses(d)


def test_bad_csv_unparsable_number_unknown_is_clear(tmp):
    path = csv_rows(tmp, "t.csv", {"lat": "46.84x"})
    code, recs, err = check("--unknown-is", "clear", path)
    assert code == 1, (code, recs, err)


def test_unknown_is_clear_still_releases_a_checked_unknown(tmp):
    """Control (not a bad input): a readable row without a position was checked and found
    unknown; --unknown-is clear is the caller's choice for it."""
    path = csv_rows(tmp, "t.csv", {"lat": "", "lon": ""})
    code, recs, err = check(path)
    assert code == 1 and [r["verdict"] for r in recs] == ["clear", "unknown"], (recs, err)
    code, recs, err = check("--unknown-is", "clear", path)
    assert code == 0, (code, recs, err)


def test_bad_text_named_jpg_driver_unknown_is_clear(tmp):
    if not driver_ok():
        return
    png = os.path.join(tmp, "DJI_0001.JPG")  # a real PNG (GDAL opens it), named as a JPEG
    code, _, err = tool("gdal_translate", "-q", "-of", "PNG", "-outsize", "64", "0", BASE, png)
    assert code == 0, err
    for p in (write(tmp, "notes.jpg", "not a photo\n"), png):
        dst = os.path.join(tmp, "release.tif")
        code, out, err = tool("gdal_translate", "-q", "-oo", "SITES=" + STORE, "-oo",
                              "MODE=strict", "-oo", "UNKNOWN_IS=clear", "KEEPOUT:" + p, dst)
        assert code != 0 and not os.path.exists(dst), (p, err)
        assert "not checked" in err, err


def test_bad_truncated_driver_unknown_is_clear(tmp):
    if not driver_ok():
        return
    p = truncated(tmp, "cut.jpg")
    dst = os.path.join(tmp, "release.tif")
    code, out, err = tool("gdal_translate", "-q", "-oo", "SITES=" + STORE, "-oo", "MODE=strict",
                          "-oo", "UNKNOWN_IS=clear", "KEEPOUT:" + p, dst)
    assert code != 0 and not os.path.exists(dst), err



# ------------------------------------------------------------------------------------------
# 6. A FIFO beneath a GDAL virtual path (/vsizip/FIFO/..., /vsitar/, /vsigzip/, nested) must
#    not block: GDAL would open it to read the archive. The local file beneath the prefixes
#    is looked at with stat() first.

VSI_HANG = 30


def run_quick(*args):
    p = subprocess.run([KEEPOUT, *args], capture_output=True, timeout=VSI_HANG)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_bad_fifo_beneath_vsizip_check(tmp):
    z = fifo(tmp, "x.zip")
    for path in ("/vsizip/" + z + "/a.jpg", "/vsitar/" + fifo(tmp, "y.tar") + "/a.jpg",
                 "/vsizip/{" + z + "}/a.jpg", "/vsizip//vsigzip/" + fifo(tmp, "z.zip.gz") +
                 "/a.jpg"):
        code, out, err = run_quick("check", "--db", STORE, "--format", "jsonl", path)
        assert code == 1, (path, code, err)
        recs = props([json.loads(l) for l in out.splitlines()])
        only_unknown(recs, path)
        assert "not a regular file" in recs[0]["reason"], recs[0]


def test_bad_fifo_beneath_vsizip_footprint(tmp):
    z = fifo(tmp, "x.zip")
    code, out, err = run_quick("footprint", "--format", "jsonl", "/vsizip/" + z + "/a.jpg")
    assert code != 0, (code, err)
    assert "clear" not in out


def test_bad_fifo_beneath_vsizip_tag(tmp):
    z = fifo(tmp, "x.zip")
    cat = os.path.join(tmp, "c.gpkg")
    for arg in ("/vsizip/" + z, "/vsizip/" + z + "/a.jpg"):
        code, out, err = run_quick("tag", "--db", STORE, "--catalog", cat, arg)
        assert code in (1, 2), (arg, code, err)
        assert "not a regular file" in err or code == 1, (arg, err)


def test_bad_fifo_beneath_vsizip_manifest(tmp):
    z = fifo(tmp, "x.zip")
    for path in (fifo(tmp, "photo.jpg"), "/vsizip/" + z + "/a.jpg"):
        m = os.path.join(tmp, "m.jsonl")
        code, out, err = run_quick("check", "--db", STORE, "--manifest", m, path)
        assert code == 1, (path, code, err)
        line = json.loads(open(m).read().splitlines()[0])
        assert line["verdict"] == "unknown" and line["sha256"] is None, line


def test_bad_fifo_as_dem(tmp):
    for dem in (fifo(tmp, "dem.tif"), "/vsizip/" + fifo(tmp, "dem.zip") + "/dem.tif"):
        code, out, err = run_quick("check", "--db", STORE, "--dem", dem, BASE)
        assert code == 2 and "not a regular file" in err, (dem, code, err)


def test_bad_fifo_beneath_vsizip_driver(tmp):
    if not driver_ok():
        return
    z = fifo(tmp, "x.zip")
    for mode in ("tag", "strict"):
        dst = os.path.join(tmp, mode + ".tif")
        code, out, err = tool("gdal_translate", "-q", "-oo", "SITES=" + STORE, "-oo",
                              "MODE=" + mode, "KEEPOUT:/vsizip/" + z + "/a.jpg", dst,
                              timeout=VSI_HANG)
        assert code != 0 and not os.path.exists(dst), (mode, err)
    code, out, err = tool("ogrinfo", "-ro", "-oo", "SITES=" + STORE,
                          "KEEPOUT:/vsizip/" + z + "/flight.csv", timeout=VSI_HANG)
    assert "clear" not in out, out


def test_bad_resized_copy_with_pixel_derived_camera(tmp):
    """Adversary (adv23b, finding 3): a camera modelled from pixel counts (here EXIF
    FocalPlaneXResolution: Sony and Parrot survey cameras write it; DJI DewarpData is in pixels
    too) follows the stated size, which an editor rewrites on a resize: the 50 % copy was
    modelled with half the view and a site near its edge came out clear. Its 35 mm-equivalent
    focal length (20 mm, kept by editors) says the view of the frame: a model 10 % narrower is
    unknown. Expectation by hand: FC300S 4000 px at 1.5425 um = 6.17 mm wide, 3.61 mm lens:
    about 90 degrees across a 16:9 diagonal, as the 20 mm equivalent's 94.5; halved, 60."""
    full = os.path.join(TESTDATA, "fullframe", "DJI_0018.JPG")
    a, b = os.path.join(tmp, "full.JPG"), os.path.join(tmp, "half.JPG")
    shutil.copy(full, a)
    fp = ["-FocalPlaneXResolution=648.298", "-FocalPlaneYResolution=648.298",
          "-FocalPlaneResolutionUnit=mm"]
    assert subprocess.run(["exiftool", "-q", "-overwrite_original", *fp, a]).returncode == 0
    assert subprocess.run(["gdal_translate", "-q", "-outsize", "50%", "50%", a, b],
                          capture_output=True).returncode == 0
    for extra in (b + ".aux.xml",):
        if os.path.exists(extra):
            os.unlink(extra)
    assert subprocess.run(["exiftool", "-q", "-overwrite_original", "-TagsFromFile", a,
                           "-all:all", "-ExifImageWidth=2000", "-ExifImageHeight=1125", b],
                          capture_output=True).returncode == 0
    code, out, err = run("check", "--db", STORE, "--format", "jsonl", a, b)
    got = {json.loads(l)["properties"]["id"]: json.loads(l)["properties"] for l in
           out.splitlines()}
    assert got["full.JPG"]["verdict"] == "clear", got["full.JPG"]
    assert got["full.JPG"]["camera_source"] == "EXIF focal plane resolution", got["full.JPG"]
    h = got["half.JPG"]
    assert h["verdict"] == "unknown" and "a cropped or resized copy" in h["reason"], h
    assert code == 1, err


def test_bad_panorama_is_not_a_camera_frame(tmp):
    """Adversary (adv23b, finding 7): a JPEG tagged GPano:ProjectionType equirectangular (a
    stitched panorama; DJI writes them too) was read as one pinhole frame and came out clear.
    Its view is not a frame's: unknown, with the reason; "perspective" stays a frame."""
    pano, persp = os.path.join(tmp, "PANO.JPG"), os.path.join(tmp, "PERSP.JPG")
    for dst, kind in ((pano, "equirectangular"), (persp, "perspective")):
        shutil.copy(BASE, dst)
        r = subprocess.run(["exiftool", "-q", "-overwrite_original",
                            f"-XMP-GPano:ProjectionType={kind}", dst], capture_output=True)
        assert r.returncode == 0, r.stderr
    code, out, err = run("check", "--db", STORE, "--format", "jsonl", pano, persp)
    got = {json.loads(l)["properties"]["id"]: json.loads(l)["properties"] for l in
           out.splitlines()}
    assert got["PANO.JPG"]["verdict"] == "unknown", got["PANO.JPG"]
    assert "a panorama (GPano:ProjectionType equirectangular)" in got["PANO.JPG"]["reason"]
    assert got["PERSP.JPG"]["verdict"] == "clear", got["PERSP.JPG"]
    assert code == 1, err


if __name__ == "__main__":
    if not STORE or not os.path.exists(STORE):
        print("skip: no bundled sample store beside", KEEPOUT)
        raise SystemExit(77)
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
