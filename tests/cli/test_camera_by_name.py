"""Cameras by name (issue 21): `keepout route --camera NAME` and `--camera NAME` of the photo
commands resolve from the bundled table; the expectation is the same camera given by its
published numbers (DJI's Mavic 3E specification: 4/3 CMOS 17.3 x 13.0 mm, 5280 x 3956 px,
12.29 mm), never keepout's own output for the name."""
import json
import math
import os

from kotest import DATA, main, run

QGC = os.path.join(DATA, "routes", "qgc_plan", "qgroundcontrol_sample.plan")


def route(camera):
    code, out, err = run("route", "--format", "geojson", "--camera", camera, QGC)
    return code, out, err


def geometries(out):
    return [json.dumps(f["geometry"]) for f in json.loads(out)["features"]]


def test_route_camera_by_name_is_the_spec(tmp):
    code, by_name, err = route("Mavic 3E")
    assert code in (0, 1), (code, err)
    code2, by_numbers, err2 = route("focal=12.29,sensor=17.3x13.0,size=5280x3956")
    assert code2 == code, (code2, err2)
    a, b = geometries(by_name), geometries(by_numbers)
    assert a and a == b, (len(a), len(b))


def test_route_camera_name_unknown_or_without_focal(tmp):
    code, out, err = route("No Such Drone")
    assert code == 2 and "No Such Drone" in err, (code, err)
    code, out, err = route("Zenmuse XT2 thermal")  # the lens varies: 9 to 25 mm
    assert code == 2 and "focal" in err, (code, err)
    code, out, err = route("Zenmuse XT2 thermal,focal=13")
    assert code in (0, 1), (code, err)


def test_photo_without_camera_uses_the_named_one(tmp):
    """A TIFF frame whose camera the file does not describe (Make/Model unknown to the table,
    no focal plane resolution, no 35 mm focal length): unknown; with --camera "DJI FC300S"
    (Phantom 3: 1/2.3" 6.17 x 4.55 mm at 4000 x 3000, 3.61 mm) its 4000 x 2250 frame is a
    full-width crop: in a file with camera firmware in Software the camera's centred 16:9 mode,
    39.8 m * 6.17 / 3.61 = 68.024 m by 39.8 * 4.55 * 0.75 / 3.61 = 37.623 m; in one without
    (an editor's crop may lie anywhere) the sensor's whole view, 68.024 by 39.8 * 4.55 / 3.61 =
    50.164 m."""
    for software, rows in (("v01.23.4920", 0.75), (None, 1.0)):
        frame_by_name(tmp, software, rows)


def test_named_camera_never_overrides_a_refusal(tmp):
    """Adversary adv25: --camera stood in whenever the file's own camera failed, also where it
    was refused, and the refusal's reason was dropped (a 4000 x 3000 image stating 4000 x 2250
    came out clear). A named camera stands in only for a file that describes none: DJI_0018
    with FocalLength 20 (its 35 mm figure, refused against FocalLengthIn35mmFormat 20) stays
    unknown for the same reason with --camera "DJI FC300S"."""
    import shutil
    from kotest import DATA, tool
    path = os.path.join(tmp, "focal.jpg")
    shutil.copy(os.path.join(DATA, "images", "DJI_0018.JPG"), path)
    code, out, err = tool("exiftool", "-q", "-overwrite_original", "-FocalLength=20", path)
    assert code == 0, err
    for extra in ((), ("--camera", "DJI FC300S")):
        code, out, err = run("footprint", "--format", "jsonl", *extra, path)
        p = json.loads(out.splitlines()[0])["properties"]
        assert p["status"] == "unknown" and "35 mm-equivalent focal length of 20" in p["reason"], \
            (extra, p)


def frame_by_name(tmp, software, rows):
    from osgeo import gdal
    gdal.UseExceptions()
    path = os.path.join(tmp, "frame.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, 4000, 2250, 1, gdal.GDT_Byte,
                                              ["SPARSE_OK=YES"])
    items = {"EXIF_Make": "Nobody", "EXIF_Model": "X1", "EXIF_FocalLength": "(3.61)",
             "EXIF_GPSLatitudeRef": "N", "EXIF_GPSLatitude": "(46) (48) (0)",
             "EXIF_GPSLongitudeRef": "W", "EXIF_GPSLongitude": "(91) (54) (0)"}
    if software:
        items["EXIF_Software"] = software
    ds.SetMetadata(items)
    ds.SetMetadata(["""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:RelativeAltitude="+39.80"
 drone-dji:GimbalRollDegree="0" drone-dji:GimbalYawDegree="0"
 drone-dji:GimbalPitchDegree="-90"/></rdf:RDF></x:xmpmeta>"""], "xml:XMP")
    ds = None
    code, out, err = run("footprint", "--format", "jsonl", path)
    p = json.loads(out.splitlines()[0])["properties"]
    assert p["status"] == "unknown" and "unknown camera" in p["reason"], p
    code, out, err = run("footprint", "--format", "jsonl", "--tolerance", "0", "--camera",
                         "DJI FC300S", path)
    p = json.loads(out.splitlines()[0])["properties"]
    assert p["status"] == "ok" and p["camera_source"] == "camera by name", p
    want = (39.8 * 6.17 / 3.61) * (39.8 * 4.55 * rows / 3.61)
    # DJI's "20 mm eq." (the entry's citation) is a 94.5 deg diagonal (43.27 mm at 20 mm), wider
    # than the pinhole's 93.4 (3.61 mm on 6.17 x 4.55): a barrel lens reaching it (adversary
    # adv27) holds the pinhole's rectangle and no point beyond the corner's scale s
    s = math.tan(2 * math.atan(43.2666 / 2 / 20) / 2) / (math.hypot(6.17, 4.55) / 2 / 3.61)
    assert want < p["area_m2"] <= want * s * s, (p["area_m2"], want, s)


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
