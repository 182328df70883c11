"""Issue 21's "Done when", as a sweep: every sample of the shared data's images/ (22 files,
images/SAMPLES_MORE.md) has its copy in tests/data, and each copy either gets footprints whose
centres lie within the GPS accuracy the file states of its positions (near-nadir shots), or is
unknown with a reason naming what is missing. A file added to those folders without an entry
below fails the sweep, so nothing new is left unjudged.

Positions and gimbal pitches come from ExifTool (`exiftool -n -j`) for photos, the flight
record's own columns (Python's csv) and test_gopro_gpmf's independent GPMF decoder; never from
keepout. The accuracy is the one the file states (EXIF GPSHPositioningError, 5 x GPSDOP, XMP
GPSXYAccuracy, GPMF GPRI eph), else 1 m, tighter than any consumer GPS."""
import csv
import gzip
import json
import math
import os

from kotest import FIXTURES, main, run, tool
from test_gopro_gpmf import expected as gpmf_expected

# every data file of images/ (SAMPLES_MORE.md, "Copied") -> its copy under tests/data
SHARED = {
    "micasense/IMG_0001_1.tif": "vendors/IMG_0001_1.tif.gz",
    "parrot_sequoia/IMG_180413_080658_0000_GRE.TIF": "vendors/IMG_180413_080658_0000_GRE.TIF.gz",
    "parrot_sequoia/IMG_180413_080658_0000_RGB.JPG": "vendors/IMG_180413_080658_0000_RGB.JPG.gz",
    "dji_thermal/DJI_H20T.jpg": "vendors/DJI_H20T.jpg.gz",
    "dji_thermal/DJI_XT2.jpg": "vendors/DJI_XT2.jpg.gz",
    "dji_thermal/DJI_XTS.jpg": "vendors/DJI_XTS.jpg.gz",
    "dji_thermal/H20T_DJI_0001_R.JPG": "vendors/H20T_DJI_0001_R.JPG.gz",
    "dji_thermal/M3T_DJI_0002_R.JPG": "vendors/M3T_DJI_0002_R.JPG.gz",
    "dji_thermal/M2EA_DJI_20250117111343_0139_T.JPG":
        "vendors/M2EA_DJI_20250117111343_0139_T.JPG.gz",
    "dji_thermal/ZenmuseXT_001.tif": "vendors/ZenmuseXT_001.tif.gz",
    "dji_thermal/ZenmuseXT_003.jpg": "vendors/ZenmuseXT_003.jpg.gz",
    "dji_thermal/DJI_Zenmuse_XT2_640_R_13mm.jpg": "vendors/DJI_Zenmuse_XT2_640_R_13mm.jpg.gz",
    "dji_thermal/DJI_Zenmuse_XT2_640_R_13mm.tiff": "vendors/DJI_Zenmuse_XT2_640_R_13mm.tiff.gz",
    "dji_visible/DJI_Zenmuse_X3.JPG": "vendors/DJI_Zenmuse_X3.JPG.gz",
    "flir/FLIR_DUO_PRO_640_R_13mm.TIFF": "vendors/FLIR_DUO_PRO_640_R_13mm.TIFF.gz",
    "flir/FLIR_Tau_2_640_R_19mm.jpg": "vendors/FLIR_Tau_2_640_R_19mm.jpg.gz",
    "flir/FLIR_VuePro640_exif-js-issue-124.tiff": "vendors/FLIR_VuePro640_exif-js-issue-124.tiff.gz",
    "sensefly/Sensefly_Thermomap_9mm.tif": "vendors/Sensefly_Thermomap_9mm.tif.gz",
    "workswell/Wiris_2nd_Gen_640_19mm.tiff": "vendors/Wiris_2nd_Gen_640_19mm.tiff.gz",
    "gopro_gpmf/karma.mp4": "gopro/karma_gpmf.mp4",
    "gopro_gpmf/karma.raw": "gopro/karma.raw",
    "flight_logs/test_drone_log.csv": "flight_logs/dji_p4p_flight_record_rows.csv",
}

# How each copy is judged: ("footprint", options) or ("unknown", what the reason must name).
EXPECT = {
    "IMG_0001_1.tif": ("unknown", "no height above take-off"),
    "IMG_180413_080658_0000_GRE.TIF": ("unknown", ["no GPS position", "fisheye lens model"]),
    "IMG_180413_080658_0000_RGB.JPG": ("unknown", "no GPS position"),
    "DJI_H20T.jpg": ("footprint", ()),  # oblique: gimbal -10.5
    "DJI_XTS.jpg": ("footprint", ()),  # oblique: gimbal +19.9
    "DJI_XT2.jpg": ("footprint", ()),  # level gimbal 1.9 m above take-off: to the horizon
    "H20T_DJI_0001_R.JPG": ("unknown", "no GPS position"),  # stripped
    "M3T_DJI_0002_R.JPG": ("unknown", "no GPS position"),  # stripped
    "M2EA_DJI_20250117111343_0139_T.JPG": ("unknown", "camera heading ambiguous"),
    "ZenmuseXT_001.tif": ("footprint", ()),
    "ZenmuseXT_003.jpg": ("footprint", ()),
    "DJI_Zenmuse_XT2_640_R_13mm.jpg": ("footprint", ()),
    "DJI_Zenmuse_XT2_640_R_13mm.tiff": ("footprint", ()),
    "DJI_Zenmuse_X3.JPG": ("footprint", ()),
    "FLIR_DUO_PRO_640_R_13mm.TIFF": ("unknown", "(0, 0)"),
    "FLIR_Tau_2_640_R_19mm.jpg": ("unknown", "height above take-off"),
    "FLIR_VuePro640_exif-js-issue-124.tiff": ("unknown", "no height above take-off"),
    "Sensefly_Thermomap_9mm.tif": ("unknown", "no height above take-off"),
    "Wiris_2nd_Gen_640_19mm.tiff": ("unknown", "GPSLatitudeRef"),
    # telemetry: as a user runs it, with the camera named and, for the Karma, nadir assumed
    "karma_gpmf.mp4": ("footprint", ("--assume-nadir", "--focal35", "20")),
    "karma.raw": ("footprint", ("--assume-nadir", "--focal35", "20")),
    "dji_p4p_flight_record_rows.csv": ("footprint", ("--camera", "Phantom 4 Pro")),
}
# without the user's word the telemetry is unknown, naming what it lacks
BARE = {"karma_gpmf.mp4": "no camera", "karma.raw": "no camera",
        "dji_p4p_flight_record_rows.csv": "no camera"}
NEAR_NADIR = -80.0  # gimbal pitch at or below: the centre must be the position


def copies():
    out = {}
    for sub in ("vendors", "gopro", "flight_logs"):
        for name in sorted(os.listdir(os.path.join(FIXTURES, sub))):
            if name.startswith("LICENSE") or name.endswith(".properties"):
                continue
            out[name[:-3] if name.endswith(".gz") else name] = os.path.join(FIXTURES, sub, name)
    return out


def unpack(tmp, src):
    if not src.endswith(".gz"):
        return src
    dst = os.path.join(tmp, os.path.basename(src)[:-3])
    with gzip.open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    return dst


def centre(rec, lat, lon):
    k = math.cos(math.radians(lat))
    pts = [((x - lon) * 111320.0 * k, (y - lat) * 111320.0)
           for x, y in rec["geometry"]["coordinates"][0][:-1]]
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        a, cx, cy = a + c, cx + (x0 + x1) * c, cy + (y0 + y1) * c
    return math.hypot(cx / (3 * a), cy / (3 * a))


def photo_truth(path):
    """[(lat, lon, gimbal pitch, stated accuracy m)] from ExifTool."""
    code, out, err = tool("exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude",
                          "-GimbalPitchDegree", "-GPSHPositioningError", "-GPSDOP",
                          "-GPSXYAccuracy", path)
    assert code == 0, err
    m = json.loads(out)[0]
    acc = m.get("GPSHPositioningError") or (5 * m["GPSDOP"] if "GPSDOP" in m else None) \
        or m.get("GPSXYAccuracy") or 1.0
    return [(m["GPSLatitude"], m["GPSLongitude"], float(m.get("GimbalPitchDegree", 0)), acc)]


def csv_truth(path):
    with open(path, newline="", encoding="latin-1") as f:
        return [(float(r["OSD.latitude"]), float(r["OSD.longitude"]), float(r["GIMBAL.pitch"]),
                 1.0) for r in csv.DictReader(f)]


def gpmf_truth(name):
    """The Karma's GLPI positions (GPRI eph 0.25 m stated, the UNIT's metres); nadir assumed."""
    exp = gpmf_expected()
    if name == "karma.raw":
        exp = exp[:4]  # karma.raw is karma.mp4's first payload
    return [(e["lat"], e["lon"], -90.0, 0.25) for e in exp]


def test_every_shared_sample_has_its_copy(tmp):
    have = copies()
    for shared, copy in SHARED.items():
        assert os.path.exists(os.path.join(FIXTURES, copy)), (shared, copy)
    assert len(SHARED) == 22, len(SHARED)
    assert set(have) == set(EXPECT), (set(have) ^ set(EXPECT))


def test_each_copy_is_a_footprint_on_its_position_or_unknown_naming_what_is_missing(tmp):
    checked = 0
    for name, src in copies().items():
        kind, arg = EXPECT[name]
        path = unpack(tmp, src)
        opts = arg if kind == "footprint" else ()
        code, out, err = run("footprint", "--format", "jsonl", "--tolerance", "0", *opts, path)
        recs = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert recs, (name, code, err)
        if kind == "unknown":
            for want in [arg] if isinstance(arg, str) else arg:
                assert all(r["properties"]["status"] == "unknown" and
                           want in r["properties"]["reason"] for r in recs), (name, recs[0])
            checked += 1
            continue
        if name.endswith(".csv"):
            truth = csv_truth(path)
        elif name.startswith("karma"):
            truth = gpmf_truth(name)
        else:
            truth = photo_truth(path)
        assert len(truth) == len(recs), (name, len(truth), len(recs))
        for (lat, lon, pitch, acc), r in zip(truth, recs):
            p = r["properties"]
            if p["status"] == "unknown":  # rows on the ground: say so
                assert "not above the ground" in p["reason"], (name, p)
                continue
            assert p["status"] == "ok", (name, p)
            if pitch <= NEAR_NADIR:
                d = centre(r, lat, lon)
                assert d <= acc, (name, p["id"], d, acc)
                checked += 1
        if name in BARE:
            code, out, err = run("footprint", "--format", "jsonl", path)
            r0 = json.loads(out.splitlines()[0])["properties"]
            assert r0["status"] == "unknown" and BARE[name] in r0["reason"], (name, r0)
    assert checked >= 70, checked


if __name__ == "__main__":
    main([test_every_shared_sample_has_its_copy,
          test_each_copy_is_a_footprint_on_its_position_or_unknown_naming_what_is_missing])
