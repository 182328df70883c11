"""keepout footprint --dem: terrain footprints over real SRTM, datum reporting, sanity failures."""
import math
import os

from kotest import DATA, FIXTURES, geojson, main, run, write

ANDORRA = os.path.join(DATA, "dem", "andorra_srtm3_subset.tif")
# SRTM3 tile N49E011 cut to 0.1 x 0.1 deg around Nuremberg, the rest void (tests/data/README.md)
HGT = "/vsizip/" + os.path.join(FIXTURES, "dem", "N49E011_nuremberg.hgt.zip") + "/N49E011.hgt"
HEADER = "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm,alt_msl\n"
ROWS = ("rel,42.5075,1.5218,120,315,-30,0,1,1.5,1.125,\n"
        "msl,42.5075,1.5218,120,315,-30,0,1,1.5,1.125,1100\n"
        "below,42.5075,1.5218,120,315,-30,0,1,1.5,1.125,1000\n"
        "off,42.0,1.5218,120,315,-30,0,1,1.5,1.125,\n")


def test_dem_footprints_and_reasons(tmp):
    path = write(tmp, "t.csv", HEADER + ROWS)
    code, fc, err = geojson("footprint", "--dem", ANDORRA, path)
    assert code == 1, err  # two rows are unknown
    assert "EGM96" in err and "assumed" in err, err
    p = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    # the first valid row is the take-off of the file's flight: here the camera's own spot
    assert p["rel"]["status"] == "ok" and p["rel"]["height_source"] == "dem(takeoff)+height"
    assert abs(p["rel"]["camera_alt_m"] - p["rel"]["ground_alt_m"] - 120) < 1e-6
    assert "DEM ground at take-off (42.507500 N, 1.521800 E)" in p["rel"]["reason"], p["rel"]
    assert p["rel"]["takeoff_from"] == "first valid row of the CSV: row 1"
    assert p["msl"]["status"] == "ok" and p["msl"]["height_source"] == "alt_msl"
    assert p["msl"]["camera_alt_m"] == 1100
    # the slope ahead stops the rays: far smaller than the flat footprint
    code, flat, _ = geojson("footprint", path)
    fl = {f["properties"]["id"]: f["properties"] for f in flat["features"]}
    assert p["rel"]["area_m2"] < 0.2 * fl["rel"]["area_m2"], (p["rel"], fl["rel"])
    assert p["below"]["status"] == "unknown" and "below the terrain" in p["below"]["reason"]
    assert "1000.0" in p["below"]["reason"] and "1036.0" in p["below"]["reason"]
    assert p["off"]["status"] == "unknown" and "no DEM elevation" in p["off"]["reason"]


def ramp_dem(path, lat0, lon0):
    """Ground rising north at 0.1 m/m from 100 m at lat0 to a 150 m plateau 500 m north."""
    import numpy as np
    from osgeo import gdal, osr
    a, e2 = 6378137.0, 0.00669437999014
    s = math.sin(math.radians(lat0))
    m_per_deg = a * (1 - e2) / (1 - e2 * s * s) ** 1.5 * math.pi / 180
    px, n = 0.0001, 400
    ds = gdal.GetDriverByName("GTiff").Create(path, n, n, 1, gdal.GDT_Float32)
    ds.SetGeoTransform([lon0 - n / 2 * px, px, 0, lat0 + n / 2 * px, 0, -px])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetSpatialRef(srs)
    lat = lat0 + n / 2 * px - (np.arange(n) + 0.5) * px
    z = np.minimum(100 + 0.1 * (lat - lat0) * m_per_deg, 150)
    ds.GetRasterBand(1).WriteArray(np.repeat(z[:, None], n, axis=1).astype(np.float32))
    ds = None
    return m_per_deg


def test_takeoff_ground_plus_relative_height(tmp):
    # take-off at ground 100 m, camera 700 m north over the 150 m plateau, 80 m above take-off:
    # 180 m, 30 m above the ground; the nadir footprint is 30 x 1.5 by 30 x 1.125 m
    lat0, lon0 = 46.84, -91.99
    m = ramp_dem(os.path.join(tmp, "ramp.tif"), lat0, lon0)
    rows = (f"start,{lat0},{lon0},0.5,0,-90,0,1,1.5,1.125\n"
            f"over,{lat0 + 700 / m},{lon0},80,0,-90,0,1,1.5,1.125\n")
    path = write(tmp, "t.csv", "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm\n"
                 + rows)
    code, fc, err = geojson("footprint", "--dem", os.path.join(tmp, "ramp.tif"), path)
    assert code == 0, err
    p = fc["features"][1]["properties"]
    assert p["height_source"] == "dem(takeoff)+height", p
    assert abs(p["camera_alt_m"] - 180) < 1e-3 and abs(p["ground_alt_m"] - 150) < 1e-3, p
    assert abs(p["area_m2"] - 45 * 33.75) < 0.1, p
    assert "DEM ground at take-off (46.840000 N, 91.990000 W) 100.0 m + relative 80.0 m" \
        in p["reason"], p
    # check carries the same words in its reason
    db = os.path.join(tmp, "s.sqlite")
    assert run("sites", "import", "--db", db,
               os.path.join(DATA, "sites", "brighton_beach_demo.geojson"))[0] == 0
    code, fc, err = geojson("check", "--db", db, "--dem", os.path.join(tmp, "ramp.tif"), path)
    assert code == 0, err
    r = fc["features"][1]["properties"]["reason"]
    assert r.startswith("no protected site in view; camera altitude: DEM ground at take-off"), r


def test_height_below_takeoff_needs_the_dem(tmp):
    # take-off on the 150 m plateau 700 m north; the camera flies down to 20 m below the
    # take-off over the ramp's foot at lat0 (100 m): 130 m, H = 30 m above the ground there.
    # On the 0.1 m/m ramp the nadir footprint is a trapezoid: the edge rays (tan 0.5625) meet
    # the ground at d = 0.5625 (H -/+ 0.1 d) north/south, widths 1.5 (H -/+ 0.1 d).
    # On flat ground it cannot be placed: unknown.
    lat0, lon0 = 46.84, -91.99
    m = ramp_dem(os.path.join(tmp, "ramp.tif"), lat0, lon0)
    rows = (f"top,{lat0 + 700 / m},{lon0},0.5,0,-90,0,1,1.5,1.125\n"
            f"under,{lat0},{lon0},-20,0,-90,0,1,1.5,1.125\n")
    path = write(tmp, "t.csv", "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm\n"
                 + rows)
    code, fc, err = geojson("footprint", "--dem", os.path.join(tmp, "ramp.tif"), path)
    assert code == 0, err
    p = fc["features"][1]["properties"]
    assert p["height_source"] == "dem(takeoff)+height", p
    assert abs(p["camera_alt_m"] - 130) < 1e-3 and abs(p["ground_alt_m"] - 100) < 1e-3, p
    dn, ds = 0.5625 * 30 / (1 + 0.05625), 0.5625 * 30 / (1 - 0.05625)
    area = (dn + ds) * (1.5 * (30 - 0.1 * dn) + 1.5 * (30 + 0.1 * ds)) / 2
    assert abs(p["area_m2"] - area) < 0.1, (p, area)
    code, fc, err = geojson("footprint", path)
    assert code == 1, err
    p = fc["features"][1]["properties"]
    assert p["status"] == "unknown" and "row 2" in p["reason"] and "DEM" in p["reason"], p


def test_unusable_dem_is_a_usage_error(tmp):
    path = write(tmp, "t.csv", HEADER + ROWS)
    code, out, err = run("footprint", "--dem", os.path.join(tmp, "nope.tif"), path)
    assert code == 2 and "nope.tif" in err, err
    code, out, err = run("footprint", "--dem", ANDORRA, "--dem", HGT, path)
    assert code == 2 and "mosaic" in err, err


def test_hgt_in_zip(tmp):
    path = write(tmp, "t.csv", HEADER + "n,49.45,11.08,100,0,-90,0,1,1.5,1.125,\n")
    code, fc, err = geojson("footprint", "--dem", HGT, path)
    assert code == 0, err
    p = fc["features"][0]["properties"]
    assert 250 < p["ground_alt_m"] < 400, p
    assert p["area_m2"] > 0


def test_help_explains_datums(tmp):
    code, out, _ = run("footprint", "--help")
    assert code == 0 and "--dem" in out and "EGM96" in out and "alt_ellipsoid" in out


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
