"""Survey cameras beyond DJI's visible JPEGs (issue 21): TIFF bands and radiometric frames,
thermal R-JPEGs, vendor XMP vocabularies. The files are the real samples of
tests/data/vendors (metadata byte-for-byte, image data zeroed or shrunk; README there).
Expectations come from ExifTool's values of the originals (images/SAMPLES_MORE.md, exiftool
-n) and the makers' sensor specifications, worked by hand below; never from keepout."""
import gzip
import json
import math
import os
import shutil

from kotest import DATA, FIXTURES, gdal, main, run

VENDORS = os.path.join(FIXTURES, "vendors")
X3_LAT, X3_LON = 50.8590494166667, 4.67871711111111  # exiftool -n, DJI_Zenmuse_X3.JPG


def unpack(tmp, name):
    dst = os.path.join(tmp, name)
    with gzip.open(os.path.join(VENDORS, name + ".gz"), "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    return dst


def footprint(*args):
    code, out, err = run("footprint", "--format", "jsonl", *args)
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return code, recs, err


def local(ring, lat, lon):
    k = math.cos(math.radians(lat))
    return [((x - lon) * 111320.0 * k, (y - lat) * 111320.0) for x, y in ring]


def centre_and_area(rec, lat, lon):
    """Area centroid (east, north metres from lat/lon) and area of the footprint's ring."""
    pts = local(rec["geometry"]["coordinates"][0][:-1], lat, lon)
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        a += c
        cx += (x0 + x1) * c
        cy += (y0 + y1) * c
    return (cx / (3 * a), cy / (3 * a)), abs(a) / 2


def one(tmp, name, *args):
    args = args or ("--tolerance", "0")
    code, recs, err = footprint(*args, unpack(tmp, name))
    assert len(recs) == 1, (code, recs, err)
    return recs[0]["properties"], recs[0]


def assert_nadir(tmp, name, lat, lon, area):
    props, rec = one(tmp, name)
    assert props["status"] == "ok", props
    (e, n), a = centre_and_area(rec, lat, lon)
    assert math.hypot(e, n) < 0.5, (e, n)  # gimbal -89.9: 6 cm at 34 m
    assert abs(a / area - 1) < 0.01, (a, area)
    return props


def test_zenmuse_xt_radiometric_tiff(tmp):
    """DJI Zenmuse XT 16-bit TIFF (Model "FLIR", ExifIFD pointer of type IFD, XMP in tag 700):
    GPS 50.8625989166667 N 4.67254213888889 E, RelativeAltitude 32.099998, gimbal -90.0,
    focal 13 mm; the XT's 640 x 512 core has 17 um pixels (DJI spec): 10.88 x 8.704 mm, so
    32.1 * 10.88 / 13 = 26.865 m by 32.1 * 8.704 / 13 = 21.492 m on the ground."""
    props = assert_nadir(tmp, "ZenmuseXT_001.tif", 50.8625989166667, 4.67254213888889,
                         26.865 * 21.492)
    assert props["camera_source"] == "camera table", props


def test_xt2_thermal_tiff_is_not_the_visible_camera(tmp):
    """XT2 writes Model "XT2" for both sensors; a 640 x 512 frame is the 17 um thermal core
    (the table's first "XT2" entry, the 4000 x 3000 visible camera, scaled down, would make the
    footprint 7.43 / 10.88 = 68 % as wide). 34.4 m, 13 mm: 28.787 x 23.030 m. Its EXIF
    FocalPlaneXResolution 3.84 per mm (260 um pixels) is not believed."""
    assert_nadir(tmp, "DJI_Zenmuse_XT2_640_R_13mm.tiff", 39.9176369444444, -2.82297611111111,
                 (34.400002 * 10.88 / 13) * (34.400002 * 8.704 / 13))


def test_xt2_visible_jpeg_xmp_inside_exif(tmp):
    """The XT2's visible JPEG has no APP1 XMP: its drone-dji packet is tag 700 of the Exif IFD
    (exiftool: "ApplicationNotes"). RelativeAltitude 34.400002, gimbal -89.900002."""
    props, rec = one(tmp, "DJI_Zenmuse_XT2_640_R_13mm.jpg")
    assert props["status"] == "ok", props
    (e, n), _ = centre_and_area(rec, 39.9176368713333, -2.82297611244444)
    assert math.hypot(e, n) < 0.5, (e, n)


def test_zenmuse_xt_rjpeg_and_x3(tmp):
    """ZenmuseXT_003.jpg: 62.5 m, 13 mm, 17 um: 52.31 x 41.85 m. Zenmuse X3 (FC350): nadir at
    29.4 m; centre on its GPS."""
    assert_nadir(tmp, "ZenmuseXT_003.jpg", 40.3775014444444, -74.4899133611111,
                 (62.5 * 10.88 / 13) * (62.5 * 8.704 / 13))
    props, rec = one(tmp, "DJI_Zenmuse_X3.JPG")
    assert props["status"] == "ok", props
    (e, n), _ = centre_and_area(rec, X3_LAT, X3_LON)
    assert math.hypot(e, n) < 0.5, (e, n)


def test_xts_dji_prefix_and_duplicate_namespace(tmp):
    """XT S: XMP prefix DJI: (URI http://www.dji.com), xmlns:DJI declared twice (not
    well-formed: expat stops) and a trailer cut by NULs; RelativeAltitude +37.70, gimbal pitch
    +19.90 (above the horizon): the footprint runs to the range limit."""
    props, rec = one(tmp, "DJI_XTS.jpg")
    assert props["status"] == "ok", props
    assert props["range_limited"] is True, props


def test_h20t_oblique_thermal(tmp):
    """ZH20T: 16.508 m, gimbal pitch -10.5 (oblique): reaches the range limit; XMP GpsLatitude
    +40.5637811 / GpsLongitude -79.7649628 agree with EXIF (40.5637810833, -79.7649628056)."""
    props, _ = one(tmp, "DJI_H20T.jpg")
    assert props["status"] == "ok" and props["range_limited"] is True, props


def reason(tmp, name, *args):
    props, _ = one(tmp, name, *args)
    assert props["status"] == "unknown", props
    return props["reason"]


def thermal_crop(tmp, name, x0, y0, w, h, *tags):
    """A crop of the XT TIFF with all its metadata copied, as an editor's crop with ExifTool's
    -tagsfromfile keeps it (pixel data written by GDAL, tags by ExifTool)."""
    import subprocess
    src = unpack(tmp, "ZenmuseXT_001.tif")
    px = gdal().Open(src).ReadAsArray()[y0:y0 + h, x0:x0 + w]
    dst = os.path.join(tmp, name)
    ds = gdal().GetDriverByName("GTiff").Create(dst, w, h, 1, gdal().GDT_UInt16)
    ds.GetRasterBand(1).WriteArray(px)
    ds = None
    r = subprocess.run(["exiftool", "-q", "-q", "-tagsfromfile", src, "-all:all", "-xmp:all",
                        *tags, "-overwrite_original", dst], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return dst


def test_crop_of_a_thermal_frame_is_the_sensors_whole_view(tmp):
    """Adversary adv21b: the top 640 x 360 of the XT's 640 x 512 frame, metadata copied and the
    focal plane resolution at the table's 17 um, was placed as the centred 16:9 band (+-7.6 m
    along the heading) while its pixels show +10.75 m to -4.4 m: a site 9.5 m ahead came out
    clear. A thermal core has no 16:9 mode, so the crop is an editor's, anywhere in the frame:
    its footprint is the whole sensor's, the original's 26.865 x 21.492 m (as
    test_zenmuse_xt_radiometric_tiff works it out). A 600 x 200 crop is no frame the XT records
    at any scale: unknown. Both by the table and by the focal plane resolution."""
    lat, lon = 50.8625989166667, 4.67254213888889
    fp = ("-FocalPlaneXResolution=58.8235", "-FocalPlaneYResolution=58.8235",
          "-FocalPlaneResolutionUnit#=4")
    for tags, source in (((), "camera table"), (fp, "EXIF focal plane resolution")):
        top = thermal_crop(tmp, "top.tif", 0, 0, 640, 360, *tags)
        code, recs, err = footprint("--tolerance", "0", top)
        props = recs[0]["properties"]
        assert props["status"] == "ok" and props["camera_source"] == source, props
        (e, n), a = centre_and_area(recs[0], lat, lon)
        assert math.hypot(e, n) < 0.5, (e, n)
        assert abs(a / (26.865 * 21.492) - 1) < 0.01, (a, source)
        odd = thermal_crop(tmp, "odd.tif", 20, 100, 600, 200, *tags)
        code, recs, err = footprint("--tolerance", "0", odd)
        props = recs[0]["properties"]
        assert props["status"] == "unknown" and "an editor's crop" in props["reason"], props
        # a 480 x 270 corner (adversary adv21c): by the table, the whole sensor's view at any
        # scale; by its focal plane resolution (in the frame's pixels), a cut or scaled copy
        # the model does not describe
        corner = thermal_crop(tmp, "corner.tif", 0, 0, 480, 270, *tags)
        code, recs, err = footprint("--tolerance", "0", corner)
        props = recs[0]["properties"]
        if tags:
            assert props["status"] == "unknown" and "scaled or cut copy" in props["reason"], props
        else:
            (e, n), a = centre_and_area(recs[0], lat, lon)
            assert abs(a / (26.865 * 21.492) - 1) < 0.01, (a, props)


def test_edited_16x9_copy_is_the_sensors_whole_view(tmp):
    """A 16:9 frame of a 4:3 sensor is the camera's centred 16:9 mode in the camera's own file,
    but an editor's full-width 16:9 crop of a 4:3 photo (Lightroom's 16 x 9 preset, dragged up
    to frame the horizon) has the same shape and may lie anywhere: a file an editor wrote is
    the sensor's whole view. DJI_0018 (FC300S, 4000 x 2250, Software v01.23.4920, its XMP with
    DJI's crs:HasCrop="False"): the centred mode. The same file with Software "GIMP 2.10.34",
    or a bare two-part version ("17.1", "1.0": an app's or an OS's as often as a camera's, and
    no camera sample writes one), or with crs:HasCrop="True" (Lightroom's crop record), or an
    xmp:CreatorTool: 3000 rows of the
    sensor instead of 2250, so 4/3 of the original's footprint area (near nadir, -89.9)."""
    import subprocess
    src = os.path.join(DATA, "images", "DJI_0018.JPG")
    lat, lon = 46.8426070833, -91.9945598889  # exiftool -n, DJI_0018
    code, recs, err = footprint("--tolerance", "0", src)
    props = recs[0]["properties"]
    assert props["status"] == "ok" and "frame_view" not in props, props
    _, base = centre_and_area(recs[0], lat, lon)
    edits = {"gimp.jpg": ["-Software=GIMP 2.10.34"],
             "app.jpg": ["-Software=17.1"],  # an app's / OS's version, no camera firmware
             "one.jpg": ["-Software=1.0"],
             "lr.jpg": ["-XMP-crs:HasCrop=True"],
             "tool.jpg": ["-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 12.1"]}
    for name, tags in edits.items():
        dst = os.path.join(tmp, name)
        shutil.copy(src, dst)
        r = subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", *tags, dst],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        code, recs, err = footprint("--tolerance", "0", dst)
        props = recs[0]["properties"]
        assert props["status"] == "ok" and "4000 x 3000" in props.get("frame_view", ""), props
        (e, n), a = centre_and_area(recs[0], lat, lon)
        assert math.hypot(e, n) < 1.0, (name, e, n)
        assert abs(a / base - 4 / 3) < 0.01, (name, a, base)


def edited_dji(tmp, name, *tags):
    """DJI_0018 (FC300S, 4000 x 2250, gimbal -89.9 / yaw +45, flight yaw +46) with tags set and
    its maker note (the camera's angles again) taken out, so the rule under test is alone."""
    import subprocess
    dst = os.path.join(tmp, name)
    shutil.copy(os.path.join(DATA, "images", "DJI_0018.JPG"), dst)
    r = subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-MakerNotes:all=", *tags,
                        dst], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code, recs, err = footprint("--tolerance", "0", dst)
    return recs[0]["properties"]


def test_ambiguous_dji_readings_are_unknown(tmp):
    """Adversary adv21c. GimbalYawDegree exactly 0 while FlightYawDegree is +46: north (a gimbal
    that turns) or DJI's unset value; taking the flight yaw cleared what the north view shows.
    Gimbal roll 180 at pitch -89.01: a frame upside down, or the gimbal flipped over nadir, two
    views on either side of nadir; at -90.00 exactly the two are one rotation. A calibrated
    principal point at x = 12000 on a 4000-pixel frame: no calibration of this frame. The
    FocalLength written as its 35 mm figure (20 for 3.61): the table's sensor behind 20 mm sees
    21.9 degrees across the diagonal where FocalLengthIn35mmFormat 20 says 94.5."""
    cases = {
        "yaw0.jpg": (["-XMP-drone-dji:GimbalYawDegree=0"], "GimbalYawDegree is exactly 0"),
        "roll180.jpg": (["-XMP-drone-dji:GimbalRollDegree=180",
                         "-XMP-drone-dji:GimbalPitchDegree=-89.01"], "roll +180.00"),
        "centre.jpg": (["-XMP-drone-dji:CalibratedFocalLength=3666",
                        "-XMP-drone-dji:CalibratedOpticalCenterX=12000",
                        "-XMP-drone-dji:CalibratedOpticalCenterY=1125"], "principal point"),
        "focal.jpg": (["-FocalLength=20"], "35 mm-equivalent focal length of 20"),
    }
    for name, (tags, want) in cases.items():
        props = edited_dji(tmp, name, *tags)
        assert props["status"] == "unknown" and want in props["reason"], (name, props)
    props = edited_dji(tmp, "nadir180.jpg", "-XMP-drone-dji:GimbalRollDegree=180",
                       "-XMP-drone-dji:GimbalPitchDegree=-90")
    assert props["status"] == "ok", props


def test_dewarp_data_in_decimal_only(tmp):
    """DewarpData "date;fx,fy,cx,cy,k1,k2,p1,p2,k3" (pixels): fx = fy = 2286 is the FC300S's
    3.61 mm over its 1.579 um pixels (6.3175 mm / 4000). Written in decimal it is the camera
    model; with fx as a C hex float (0x1.1dcp11 = 2286, which CPLStrtod reads and DJI never
    writes: adversary adv21c) it is no DewarpData, and the camera table stands in."""
    num = "2286.0,2286.0,0,0,0,0,0,0,0"
    props = edited_dji(tmp, "dec.jpg", f"-XMP-drone-dji:DewarpData=2020-10-19;{num}")
    assert props["status"] == "ok" and props["camera_source"] == "DJI DewarpData", props
    props = edited_dji(tmp, "hex.jpg",
                       f"-XMP-drone-dji:DewarpData=2020-10-19;0x1.1dcp11,{num.split(',', 1)[1]}")
    assert props["status"] == "ok" and props["camera_source"] == "camera table", props


def test_dewarped_image_is_not_the_dewarp_data_model(tmp):
    """DJI's manuals (Mavic 3M, Matrice 4: "Photo File" fields): DewarpFlag "whether the camera
    parameters have been dewarped: 0 - not dewarped, 1 - dewarped"; DewarpData is the raw
    lens's model. A dewarped image no longer follows it (nor the camera table's distortion),
    and how the camera remapped it is not in the file: unknown, naming the tag. DewarpFlag 0
    with the FC300S's DewarpData (as test_dewarp_data_in_decimal_only) is that model. Likewise
    GimbalReverse / CamReverse 1 or True (the camera upside down): unknown; 0 or False: ok."""
    data = "-XMP-drone-dji:DewarpData=2020-10-19;2286.0,2286.0,0,0,0,0,0,0,0"
    props = edited_dji(tmp, "flat.jpg", data, "-XMP-drone-dji:DewarpFlag=0")
    assert props["status"] == "ok" and props["camera_source"] == "DJI DewarpData", props
    props = edited_dji(tmp, "dewarped.jpg", data, "-XMP-drone-dji:DewarpFlag=1")
    assert props["status"] == "unknown" and "drone-dji:DewarpFlag" in props["reason"], props
    for tag in ("GimbalReverse", "CamReverse"):
        for value, ok in (("0", True), ("False", True), ("1", False), ("True", False)):
            props = edited_dji(tmp, "rev.jpg", f"-XMP-drone-dji:{tag}={value}")
            if ok:
                assert props["status"] == "ok", (tag, value, props)
            else:
                assert props["status"] == "unknown", (tag, value, props)
                assert f'drone-dji:{tag} is "{value}"' in props["reason"], props


def test_two_exif_blocks_are_unknown(tmp):
    """A second EXIF APP1 segment (no camera writes one; none of the real samples has) was
    skipped unread, so a file could carry another photo's position in its first: which block
    is the photo's cannot be told. DJI_0018 with its own EXIF segment repeated is unknown."""
    data = open(os.path.join(DATA, "images", "DJI_0018.JPG"), "rb").read()
    i = 2
    while not (data[i + 1] == 0xE1 and data[i + 4:i + 10] == b"Exif\0\0"):
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
    path = os.path.join(tmp, "two.jpg")
    open(path, "wb").write(data[:end] + data[i:end] + data[end:])
    code, recs, err = footprint(path)
    props = recs[0]["properties"]
    assert props["status"] == "unknown" and "two EXIF blocks" in props["reason"], props


def test_unknown_with_what_is_missing(tmp):
    cases = {
        # pose without position; fisheye lens model declared
        "IMG_180413_080658_0000_GRE.TIF": "fisheye",
        "IMG_180413_080658_0000_RGB.JPG": "no GPS position",
        # GPS 0/0 (refs S, W): no fix
        "FLIR_DUO_PRO_640_R_13mm.TIFF": "(0, 0)",
        # no hemisphere references
        "Wiris_2nd_Gen_640_19mm.tiff": "GPSLatitudeRef",
        # stripped thermal SDK sample
        "H20T_DJI_0001_R.JPG": "no GPS position",
        # MicaSense, senseFly, FLIR Vue: no height above take-off anywhere in the file
        "IMG_0001_1.tif": "height above take-off",
        "Sensefly_Thermomap_9mm.tif": "height above take-off",
        "FLIR_VuePro640_exif-js-issue-124.tiff": "height above take-off",
        # M2EA: gimbal yaw 34.2 vs flight yaw 90.1 on a gimbal that cannot yaw
        "M2EA_DJI_20250117111343_0139_T.JPG": "heading ambiguous",
    }
    for name, want in cases.items():
        why = reason(tmp, name)
        assert want in why, (name, why)


def odm_tiff(tmp, name, xmp, exif_items):
    """A TIFF as GDAL writes one from a JPEG (ODM's undistorted frames): EXIF as GDAL metadata
    items (tag 42112), the XMP packet in tag 700."""
    g = gdal()
    src = g.Open(os.path.join(DATA, "images", "DJI_0018.JPG"))
    path = os.path.join(tmp, name)
    ds = g.GetDriverByName("GTiff").Create(path, src.RasterXSize, src.RasterYSize, 3, g.GDT_Byte)
    ds.SetMetadata(exif_items)
    ds.SetMetadata([xmp], "xml:XMP")
    ds = None
    return path


XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"
 drone-dji:GpsLatitude="{lat}" drone-dji:GpsLongtitude="{lon}"
 drone-dji:RelativeAltitude="+39.80" drone-dji:GimbalRollDegree="+0.00"
 drone-dji:GimbalYawDegree="+45.00" drone-dji:GimbalPitchDegree="-89.90"
 drone-dji:FlightYawDegree="+46.00"/></rdf:RDF></x:xmpmeta>"""

ITEMS = {"EXIF_Make": "DJI", "EXIF_Model": "FC300S", "EXIF_FocalLength": "(3.61)",
         "EXIF_FocalLengthIn35mmFilm": "20", "EXIF_PixelXDimension": "4000",
         "EXIF_PixelYDimension": "2250"}


def test_gdal_tiff_exif_items_match_the_jpeg(tmp):
    """gdal_translate of a DJI JPEG: EXIF only as GDAL metadata items, XMP in tag 700. Its
    footprint is the JPEG's: centre on EXIF_GPSLatitude (46) (50) (33.3855) N, (91) (59)
    (40.4156) W = 46.8426070833, -91.9945598889 (exiftool's values of DJI_0018)."""
    tif = os.path.join(tmp, "DJI_0018.tif")
    g = gdal()
    g.Translate(tif, os.path.join(DATA, "images", "DJI_0018.JPG"), format="GTiff")
    code, recs, err = footprint(tif, os.path.join(DATA, "images", "DJI_0018.JPG"))
    assert len(recs) == 2 and all(r["properties"]["status"] == "ok" for r in recs), recs
    lat, lon = 46.8426070833333, -91.9945598888889
    (e0, n0), a0 = centre_and_area(recs[0], lat, lon)
    (e1, n1), a1 = centre_and_area(recs[1], lat, lon)
    assert math.hypot(e0, n0) < 0.2 and abs(a0 / a1 - 1) < 1e-6, (e0, n0, a0, a1)


def flat_dem(path, lat0, lon0, z):
    import numpy as np
    from osgeo import osr
    g = gdal()
    ds = g.GetDriverByName("GTiff").Create(path, 200, 200, 1, g.GDT_Float32)
    ds.SetGeoTransform([lon0 - 0.01, 0.0001, 0, lat0 + 0.01, 0, -0.0001])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetSpatialRef(srs)
    ds.GetRasterBand(1).WriteArray(np.full((200, 200), z, dtype=np.float32))
    ds = None
    return path


def test_gdal_tiff_with_a_dsm_gives_a_dem_footprint(tmp):
    """ODM-style TIFF frames with a DSM: DJI_0018's AbsoluteAltitude +198.31 and
    RelativeAltitude +39.80 put the ground at 158.51 m; over a flat DEM there the terrain
    footprint is the flat one."""
    tif = os.path.join(tmp, "DJI_0018.tif")
    gdal().Translate(tif, os.path.join(DATA, "images", "DJI_0018.JPG"), format="GTiff")
    dem = flat_dem(os.path.join(tmp, "dem.tif"), 46.8426, -91.9946, 158.51)
    code, recs, err = footprint("--tolerance", "0", "--dem", dem, tif)
    p = recs[0]["properties"]
    assert p["status"] == "ok" and p["altitude_from"] == "XMP AbsoluteAltitude", (p, err)
    flat = footprint("--tolerance", "0", tif)[1][0]["properties"]
    assert abs(p["area_m2"] / flat["area_m2"] - 1) < 0.01, (p["area_m2"], flat["area_m2"])


def test_xmp_position_with_dji_misspelling_when_exif_has_none(tmp):
    """No EXIF GPS: the position is DJI's XMP GpsLatitude / GpsLongtitude (sic)."""
    lat, lon = 46.8, -91.9
    path = odm_tiff(tmp, "odm.tif", XMP.format(lat="+46.8", lon="-91.9"), ITEMS)
    code, recs, err = footprint(path)
    props = recs[0]["properties"]
    assert props["status"] == "ok" and "XMP" in props["position_from"], props
    (e, n), _ = centre_and_area(recs[0], lat, lon)
    assert math.hypot(e, n) < 0.2, (e, n)


def test_exif_and_xmp_positions_disagreeing_are_unknown(tmp):
    """EXIF 46.8 N 91.9 W, XMP 0.001 deg (111 m) north: neither is believed. 4 m apart (the
    M2EA's offset): EXIF's is used."""
    items = dict(ITEMS, EXIF_GPSLatitudeRef="N", EXIF_GPSLatitude="(46) (48) (0)",
                 EXIF_GPSLongitudeRef="W", EXIF_GPSLongitude="(91) (54) (0)")
    path = odm_tiff(tmp, "far.tif", XMP.format(lat="+46.801", lon="-91.9"), items)
    props = footprint(path)[1][0]["properties"]
    assert props["status"] == "unknown" and "positions disagree" in props["reason"], props
    path = odm_tiff(tmp, "near.tif", XMP.format(lat="+46.80004", lon="-91.9"), items)
    rec = footprint(path)[1][0]
    assert rec["properties"]["status"] == "ok", rec["properties"]
    (e, n), _ = centre_and_area(rec, 46.8, -91.9)
    assert math.hypot(e, n) < 0.2, (e, n)  # EXIF's, not 4.4 m north


def test_airframe_attitude_is_not_the_camera(tmp):
    """MicaSense DLS Yaw/Pitch/Roll (radians) are the sky sensor's: no camera attitude, and
    the reason says so; --assume-nadir then heads the frame along the DLS yaw, -0.3685 rad =
    -21.11 deg (exiftool's XMP-Camera:IrradianceYaw of the same capture)."""
    xmp = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" xmlns:DLS="http://micasense.com/DLS/1.0/"
 drone-dji:RelativeAltitude="+39.80" DLS:Yaw="-0.36845451174720734"
 DLS:Pitch="-0.0096490459051939252" DLS:Roll="-0.026797847159366964"/></rdf:RDF></x:xmpmeta>"""
    items = dict(ITEMS, EXIF_GPSLatitudeRef="N", EXIF_GPSLatitude="(46) (48) (0)",
                 EXIF_GPSLongitudeRef="W", EXIF_GPSLongitude="(91) (54) (0)")
    path = odm_tiff(tmp, "dls.tif", xmp, items)
    props = footprint(path)[1][0]["properties"]
    assert props["status"] == "unknown" and "airframe" in props["reason"], props
    rec = footprint("--assume-nadir", path)[1][0]
    assert rec["properties"]["status"] == "ok", rec["properties"]
    (ce, cn), _ = centre_and_area(rec, 46.8, -91.9)
    pts = [(x - ce, y - cn) for x, y in local(rec["geometry"]["coordinates"][0][:-1], 46.8,
                                              -91.9)]
    # The frame's long side (image x, 4000 px) lies across the heading: bearing yaw + 90. The
    # ring is symmetric about the image's axes, so its second moments of area give them.
    sxx = syy = sxy = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
        c = x0 * y1 - x1 * y0
        sxx += c * (x0 * x0 + x0 * x1 + x1 * x1)
        syy += c * (y0 * y0 + y0 * y1 + y1 * y1)
        sxy += c * (x0 * y1 + 2 * x0 * y0 + 2 * x1 * y1 + x1 * y0)
    sxy /= 2.0
    long_axis = 90.0 - math.degrees(0.5 * math.atan2(2 * sxy, sxx - syy))
    want = -21.11 + 90.0
    assert abs((long_axis - want + 90.0) % 180.0 - 90.0) < 1.0, (long_axis, want)


def test_assume_nadir_without_any_heading_holds_every_heading(tmp):
    """--assume-nadir on a photo with no attitude and no flight yaw: the help promises "a
    footprint that holds every heading" (it was the frame at yaw 0): the same photo headed
    north (FlightYawDegree 0), turned to every 15 degrees, lies inside it; it is a square about
    2 x 39.8 m x 21.635 / 20 = 86.1 m wide (the file's FocalLengthIn35mmFilm 20 on the frame's
    diagonal; the camera table's lens and its distortion make it a few per cent less)."""
    xmp = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:RelativeAltitude="+39.80"
 {extra}/></rdf:RDF></x:xmpmeta>"""
    items = dict(ITEMS, EXIF_GPSLatitudeRef="N", EXIF_GPSLatitude="(46) (48) (0)",
                 EXIF_GPSLongitudeRef="W", EXIF_GPSLongitude="(91) (54) (0)")
    free = odm_tiff(tmp, "free.tif", xmp.format(extra=""), items)
    north = odm_tiff(tmp, "north.tif", xmp.format(extra='drone-dji:FlightYawDegree="+0.00"'),
                     items)
    sq = footprint("--assume-nadir", "--tolerance", "0", free)[1][0]
    rect = footprint("--assume-nadir", "--tolerance", "0", north)[1][0]
    assert sq["properties"]["status"] == "ok", sq["properties"]
    pts = local(sq["geometry"]["coordinates"][0][:-1], 46.8, -91.9)
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    assert abs(w / h - 1) < 0.01, (w, h)  # a square (its sides bowed by the lens distortion)
    assert abs(w / (2 * 39.8 * 21.635 / 20) - 1) < 0.06, w  # the lens table bows the edges

    def inside(x, y):
        c = False
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]):
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                c = not c
        return c

    # the yaw-0 frame turned to any heading lies inside it (to half a per cent: both rings are
    # chords of the distorted frame's bowed edges)
    rp = local(rect["geometry"]["coordinates"][0][:-1], 46.8, -91.9)
    for deg in range(0, 180, 15):
        a = math.radians(deg)
        for x, y in rp:
            xr, yr = x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)
            assert inside(xr * 0.995, yr * 0.995), (deg, x, y)

def test_sequoia_rgb_frame_is_the_rgb_camera(tmp):
    """Parrot's Sequoia writes Model "Sequoia" for its 1280 x 960 mono bands (3.75 um) and its
    4608 x 3456 RGB camera (1.34 um: 6.175 x 4.631 mm), both 4:3. The RGB sample (EXIF
    4608 x 3456, focal 4.88 mm) with a position, DJI's RelativeAltitude 50 m and no
    FocalPlaneResolutionUnit (the camera table is the only source): its own sensor, 50 * 6.175
    / 4.88 by 50 * 4.631 / 4.88 = 63.27 x 47.45 m = 3002 m^2 for a pinhole (Pix4D attitude
    1.3 deg off nadir: +0.1 %), times its lens model's ratio; the band's 4.8 x 3.6 mm gave
    1814 m^2. A 2304 x 1728 copy is a scaled copy
    of both sensors: which one took it cannot be told, so unknown."""
    import subprocess
    src = unpack(tmp, "IMG_180413_080658_0000_RGB.JPG")
    tags = ["-GPSLatitude=46.8", "-GPSLatitudeRef=N", "-GPSLongitude=7.1",
            "-GPSLongitudeRef=E", "-GPSStatus#=A", "-GPSMeasureMode#=3",
            "-FocalPlaneResolutionUnit=", "-XMP-drone-dji:RelativeAltitude=+50.00"]
    half = os.path.join(tmp, "half.jpg")
    shutil.copy(src, half)
    for f, more in ((src, []), (half, ["-ExifImageWidth=2304", "-ExifImageHeight=1728"])):
        r = subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", *tags, *more, f],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    code, recs, err = footprint("--tolerance", "0", src)
    p = recs[0]["properties"]
    assert p["status"] == "ok" and p["camera_source"] == "camera table", p
    _, a = centre_and_area(recs[0], 46.8, 7.1)
    # its Pix4D lens model (PrincipalPoint 3.051434,2.274263 mm, PerspectiveDistortion
    # 0.179485362,-0.495503284,0.424831322,-0.000949212,0.000767722: ~2 % narrower at the
    # edges than the pinhole), as test_micasense_band_pix4d_lens_model reads it
    f, pitch = 4.88 / 1.34e-3, 1.34e-3
    k = (0.179485362, -0.495503284, 0.424831322, -0.000949212, 0.000767722)
    lens = nadir_ground(4608, 3456, 50.0, 0.0, lambda u, v: brown_undistort(
        (u - 3.051434 / pitch) / f, (v - 2.274263 / pitch) / f, *k)).GetArea()
    pinhole = nadir_ground(4608, 3456, 50.0, 0.0,
                           lambda u, v: ((u - 2304) / f, (v - 1728) / f)).GetArea()
    want = 50 * 50 * (4608 * 1.34e-3) * (3456 * 1.34e-3) / 4.88 ** 2 * lens / pinhole
    assert abs(a / want - 1) < 0.01, (a, want, lens / pinhole)
    code, recs, err = footprint("--tolerance", "0", half)
    p = recs[0]["properties"]
    assert p["status"] == "unknown", p


def brown_undistort(xd, yd, k1, k2, k3, p1, p2):
    """Normalised undistorted coordinates of a distorted (xd, yd) under Brown's model as Pix4D
    defines it (x_d = x (1 + R1 r^2 + R2 r^4 + R3 r^6) + 2 T1 x y + T2 (r^2 + 2 x^2), y alike),
    by fixed-point iteration (keepout inverts it otherwise)."""
    x, y = xd, yd
    for _ in range(100):
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 ** 3
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        x, y = (xd - dx) / radial, (yd - dy) / radial
    return x, y


def nadir_ground(w, h, height, yaw, model, n=256):
    """The ground polygon (east, north metres) of a w x h frame's boundary seen straight down
    from height, its top toward yaw (radians clockwise from north); model(u, v) gives a pixel's
    normalised undistorted ray (x right, y down)."""
    from osgeo import ogr
    pts = []
    for i in range(4 * n):
        e, t = divmod(i, n)
        t /= n
        u, v = [(t * w, 0), (w, t * h), ((1 - t) * w, h), (0, (1 - t) * h)][e]
        x, y = model(u, v)
        fwd, right = -y * height, x * height
        pts.append((fwd * math.sin(yaw) + right * math.cos(yaw),
                    fwd * math.cos(yaw) - right * math.sin(yaw)))
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in pts + [pts[0]]:
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return poly


def test_micasense_band_pix4d_lens_model(tmp):
    """The RedEdge band (IMG_0001_1.tif) declares Pix4D's perspective model: PrincipalPoint
    2.35363,1.79947 (mm on the sensor) and PerspectiveDistortion (an rdf:Seq) -0.0967966,
    0.1404189, -0.0229808, 0.000275838, 0.000660073 (R1, R2, R3, T1, T2). Read as MicaSense's
    imageprocessing library reads them (cx = 2.35363 mm * 266.666667 px/mm = 627.63 px; OpenCV
    k1, k2, p1, p2, k3), with EXIF FocalLength 5.5 mm (1466.67 px) and the file given a height
    of 50 m and --assume-nadir (its DLS yaw -21.11 deg the heading): the footprint is the
    ground of the image boundary's rays, undistorted here independently, not the pinhole's
    (the barrel lens sees ~2.6 % more ground)."""
    import subprocess
    from osgeo import ogr, osr
    src = unpack(tmp, "IMG_0001_1.tif")
    r = subprocess.run(["exiftool", "-q", "-q", "-overwrite_original",
                        "-XMP-drone-dji:RelativeAltitude=+50.00", src],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lat, lon = 36.5760815, -119.4352604  # exiftool -n
    code, recs, err = footprint("--tolerance", "0", "--assume-nadir", src)
    p = recs[0]["properties"]
    assert p["status"] == "ok" and p["camera_source"] == "EXIF focal plane resolution", p
    res, f = 266.666667, 5.5 * 266.666667
    cx, cy = 2.35363 * res, 1.79947 * res
    k = (-0.09679655532374383, 0.14041893470790068, -0.022980842634993275,
         0.00027583837742166351, 0.00066007295364609389)
    yaw = math.radians(-0.36845451174720734 * 180 / math.pi)

    lens = nadir_ground(1280, 960, 50.0, yaw,
                        lambda u, v: brown_undistort((u - cx) / f, (v - cy) / f, *k))
    pinhole = nadir_ground(1280, 960, 50.0, yaw, lambda u, v: ((u - 640) / f, (v - 480) / f))
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    local = osr.SpatialReference()
    local.ImportFromProj4(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84 +units=m")
    got = ogr.CreateGeometryFromJson(json.dumps(recs[0]["geometry"]))
    got.AssignSpatialReference(wgs)
    assert got.TransformTo(local) == 0
    assert abs(got.GetArea() / lens.GetArea() - 1) < 1e-4, (got.GetArea(), lens.GetArea())
    assert lens.GetArea() / pinhole.GetArea() > 1.02, (lens.GetArea(), pinhole.GetArea())
    c, want = got.Centroid(), lens.Centroid()
    assert math.hypot(c.GetX() - want.GetX(), c.GetY() - want.GetY()) < 0.01, (
        c.ExportToWkt(), want.ExportToWkt())
    # a camera named in the options stands in (Model unknown, no focal plane resolution): the
    # file's principal point in mm cannot be placed on it, so unknown, never the pinhole
    r = subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-Model=Foo",
                        "-FocalPlaneXResolution=", "-FocalPlaneYResolution=",
                        "-FocalPlaneResolutionUnit=", src], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code, recs, err = footprint("--assume-nadir", "--camera", "MicaSense RedEdge", src)
    p = recs[0]["properties"]
    assert p["status"] == "unknown" and "Camera:PrincipalPoint" in p["reason"], p


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
