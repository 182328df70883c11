"""keepout footprint --dem: terrain footprints over real SRTM, datum reporting, sanity failures."""
import os

from kotest import DATA, SHARED, geojson, main, run, write

ANDORRA = os.path.join(DATA, "dem", "andorra_srtm3_subset.tif")
HGT = "/vsizip/" + os.path.join(SHARED, "dem", "N49E011.hgt.zip") + "/N49E011.hgt"
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
    assert p["rel"]["status"] == "ok" and p["rel"]["height_source"] == "dem+height"
    assert abs(p["rel"]["camera_alt_m"] - p["rel"]["ground_alt_m"] - 120) < 1e-6
    assert p["msl"]["status"] == "ok" and p["msl"]["height_source"] == "alt_msl"
    assert p["msl"]["camera_alt_m"] == 1100
    # the slope ahead stops the rays: far smaller than the flat footprint
    code, flat, _ = geojson("footprint", path)
    fl = {f["properties"]["id"]: f["properties"] for f in flat["features"]}
    assert p["rel"]["area_m2"] < 0.2 * fl["rel"]["area_m2"], (p["rel"], fl["rel"])
    assert p["below"]["status"] == "unknown" and "below the terrain" in p["below"]["reason"]
    assert "1000.0" in p["below"]["reason"] and "1036.0" in p["below"]["reason"]
    assert p["off"]["status"] == "unknown" and "no DEM elevation" in p["off"]["reason"]


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
