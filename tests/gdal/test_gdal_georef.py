"""KEEPOUT: rasters placed on the map (issue 20): ground control points from the camera model.
gdalwarp of the straight-down sample photo lands on its GPS position (projected with PROJ
through osr, not keepout); every control point lies in the footprint keepout reports and the
corner points span the footprint; release modes carry no position unless GEOREF=YES."""
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, FIXTURES, gdal, main, tool  # noqa: E402

PHOTO = os.path.join(DATA, "images", "DJI_0021.JPG")  # gimbal pitch -90, yaw 45, 40.1 m up
GPS = (-91.9941766388889, 46.8428651388889)  # its EXIF GPS, read with exiftool -n


def utm(lon, lat):
    from osgeo import osr
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(4326)
    dst.ImportFromEPSG(32615)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(src, dst).TransformPoint(lon, lat)[:2]


def test_gdalwarp_lands_the_nadir_photo_on_its_gps_position(tmp):
    out = os.path.join(tmp, "w.tif")
    code, _, err = tool("gdalwarp", "-q", "-t_srs", "EPSG:32615", "KEEPOUT:" + PHOTO, out)
    assert code == 0, err
    ds = gdal().Open(out)
    gt = ds.GetGeoTransform()
    cx = gt[0] + gt[1] * ds.RasterXSize / 2
    cy = gt[3] + gt[5] * ds.RasterYSize / 2
    gx, gy = utm(*GPS)
    d = math.hypot(cx - gx, cy - gy)
    print(f"  warped centre {d:.2f} m from the GPS position")
    assert d < 5.0, d
    # and it is the photo: most of the warped frame is image, not fill
    band = ds.GetRasterBand(1)
    assert band.ComputeRasterMinMax()[1] > 0


def test_control_points_lie_in_the_footprint(tmp):
    from osgeo import ogr
    ds = gdal().Open("KEEPOUT:" + PHOTO)
    gcps = ds.GetGCPs()
    assert len(gcps) == 49, len(gcps)  # looking down: every ray of the 7 x 7 grid lands
    assert ds.GetGCPSpatialRef().GetAuthorityCode(None) == "4326"
    ring = ogr.CreateGeometryFromWkt(ds.GetMetadataItem("FOOTPRINT", "KEEPOUT"))
    # in metres: the footprint and the points, projected with osr
    pts = [utm(g.GCPX, g.GCPY) for g in gcps]
    fp = [utm(*ring.GetGeometryRef(0).GetPoint_2D(i))
          for i in range(ring.GetGeometryRef(0).GetPointCount())]
    poly = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in fp:
        poly.AddPoint_2D(x, y)
    shape = ogr.Geometry(ogr.wkbPolygon)
    shape.AddGeometry(poly)
    for (x, y), g in zip(pts, gcps):
        p = ogr.Geometry(ogr.wkbPoint)
        p.AddPoint_2D(x, y)
        assert shape.Buffer(0.05).Contains(p), (g.GCPPixel, g.GCPLine, shape.Distance(p))
    # the corners are the footprint's corners: the points span it
    corners = [utm(g.GCPX, g.GCPY) for g in gcps
               if g.GCPPixel in (0, ds.RasterXSize) and g.GCPLine in (0, ds.RasterYSize)]
    assert len(corners) == 4
    for x, y in corners:
        assert min(math.hypot(x - a, y - b) for a, b in fp) < 0.05, (x, y)


def test_releases_carry_no_position_unless_asked(tmp):
    g = gdal()
    clear = os.path.join(DATA, "images", "DJI_0018.JPG")
    strict = g.OpenEx("KEEPOUT:" + clear, open_options=["MODE=strict"])
    assert strict.GetGCPCount() == 0
    asked = g.OpenEx("KEEPOUT:" + clear, open_options=["MODE=strict", "GEOREF=YES"])
    assert asked.GetGCPCount() == 49
    out = os.path.join(tmp, "released.tif")
    full = os.path.join(FIXTURES, "fullframe", "DJI_0021.JPG")  # only a camera frame is redacted
    code, _, err = tool("gdal_translate", "-q", "-oo", "MODE=redact", "KEEPOUT:" + full, out)
    assert code == 0, err
    ds = g.Open(out)
    assert ds.GetGCPCount() == 0 and ds.GetGeoTransform(can_return_null=True) is None


def test_gdalbuildvrt_takes_the_photos_once_warped(tmp):
    """gdalbuildvrt needs a geotransform and skips rasters placed by GCPs alone (as every sample
    photo is: its GCPs are not affine to a quarter pixel, so no geotransform is claimed). The
    documented way (README, DESIGN): gdalwarp each KEEPOUT: photo, then gdalbuildvrt the
    warped files; the mosaic then holds the nadir photo's GPS position."""
    photos = [PHOTO, os.path.join(DATA, "images", "DJI_0023.JPG")]
    vrt = os.path.join(tmp, "direct.vrt")
    code, _, err = tool("gdalbuildvrt", vrt, *["KEEPOUT:" + p for p in photos])
    assert "Skipping KEEPOUT:" in err, err  # GDAL's own rule, stated in the docs
    warped = []
    for p in photos:
        out = os.path.join(tmp, os.path.basename(p) + ".tif")
        code, _, err = tool("gdalwarp", "-q", "-t_srs", "EPSG:4326", "KEEPOUT:" + p, out)
        assert code == 0, err
        warped.append(out)
    vrt = os.path.join(tmp, "mosaic.vrt")
    code, _, err = tool("gdalbuildvrt", vrt, *warped)
    assert code == 0 and "Skipping" not in err, err
    ds = gdal().Open(vrt)
    gt = ds.GetGeoTransform()
    assert gt[0] < GPS[0] < gt[0] + gt[1] * ds.RasterXSize, gt
    assert gt[3] + gt[5] * ds.RasterYSize < GPS[1] < gt[3], gt
    assert len(ds.GetFileList()) == 3  # the VRT and both warped photos


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
