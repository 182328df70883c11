"""keepout check: footprint/site geometry that must never give a false clear (issue 16): a
site whose geometry cannot be read or measured makes that row unknown, and the run goes on."""
import json
import math
import os
import sqlite3

from kotest import run, write


def square(lat, lon, half_m):
    dlat = half_m / 111132.0
    dlon = half_m / (111320.0 * math.cos(math.radians(lat)))
    return [[[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
             [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]]


def store(tmp, sites, category="substation"):
    """sites: list of (name, lat, lon, half_m) squares, or (name, ring) with ring a list of
    [lon, lat]. Returns the path of a new store built by the real importer."""
    feats = []
    for i, s in enumerate(sites):
        coords = square(*s[1:]) if len(s) == 4 else [s[1]]
        feats.append({"type": "Feature", "properties": {"sid": f"t{i}", "name": s[0]},
                      "geometry": {"type": "Polygon", "coordinates": coords}})
    src = write(tmp, "sites.geojson", json.dumps({"type": "FeatureCollection",
                                                  "features": feats}))
    db = os.path.join(tmp, "sites.sqlite")
    code, out, err = run("sites", "import", "--db", db, "--category", category, "--buffer", "0",
                         "--name-field", "name", src)
    assert code == 0, err
    return db


HEADER = "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm,width_px,height_px\n"


def rows(*poses):
    """poses: (id, lat, lon, height, yaw, pitch); an 8.8 mm lens on a 13.2 x 8.8 mm sensor."""
    return HEADER + "".join(f"{i},{la!r},{lo!r},{h},{y},{p},0,8.8,13.2,8.8,5472,3648\n"
                            for i, la, lo, h, y, p in poses)


def verdicts(tmp, db, csv_text):
    tel = write(tmp, "t.csv", csv_text)
    code, out, err = run("check", "--db", db, "--format", "jsonl", tel)
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return code, {r["properties"]["id"]: r["properties"] for r in recs}, err


def test_one_unreadable_site_refuses_the_store(tmp):
    # Every check now goes through the store's packed index (one index-loading rule, issue
    # 22), which reads every site when it is written: a site whose geometry is no blob is a
    # store failure (exit 2, the site named, what to do), and no verdict is given at all.
    # (Before, a run on the on-disk R-tree made that row unknown and went on.)
    filler = [(f"far {i}", 40.0 + i * 0.01, 2.0, 10) for i in range(16)]
    db = store(tmp, [("broken", 47.0, 8.0, 10), ("fine", 47.5, 8.5, 10)] + filler)
    c = sqlite3.connect(db)
    # The importer would never write this: drop SpatiaLite's triggers (this Python has no
    # SpatiaLite) and overwrite one site's geometry with bytes that are no geometry blob.
    for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        c.execute(f'DROP TRIGGER "{name}"')
    c.execute("UPDATE sites SET geom_buffered = X'0001E6100000' WHERE name = 'broken'")
    c.commit()
    c.close()
    code, v, err = verdicts(tmp, db, rows(("over_broken", 47.0, 8.0, 80, 0, -90),
                                          ("over_fine", 47.5, 8.5, 80, 0, -90),
                                          ("nowhere", 46.0, 7.0, 80, 0, -90)))
    assert code == 2, (code, err)
    assert "site 1" in err and "geometry" in err and "re-import" in err, err
    assert not any(r["verdict"] == "clear" for r in v.values()), v


def test_site_across_the_antimeridian_from_the_camera_is_flagged(tmp):
    """Issue 16's case: a camera 50 m east of the line looking west at 45 deg down sees a 20 m
    substation 100 m away, just west of the line (stored at lon +179.99954): flagged. The same
    shot 10 degrees east sees nothing."""
    lat, lon, h = 10.0, 179.99954, 10
    dlat, dlon = h / 110600, h / (111320 * math.cos(math.radians(lat)))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
            [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]
    db = store(tmp, [("across the line", ring)])
    code, v, err = verdicts(tmp, db, rows(("am", 10.0, -179.99955, 100, -90, -45),
                                          ("east", 10.0, -170.0, 100, -90, -45)))
    assert v["am"]["verdict"] == "flagged", v["am"]
    hit = v["am"]["hits"][0]
    assert 85 < hit["distance_m"] < 95, hit  # the near edge of the 20 m square
    assert v["east"]["verdict"] == "clear", v["east"]


def test_footprint_near_a_pole_is_judged_and_one_holding_it_unknown(tmp):
    """A camera 2 km from the north pole looking down sees a site 30 m ahead: its lon/lat ring
    is split where its chords would sag off the ground, so the shot is judged like one at lat
    80 (1,100 km from the pole): flagged. A camera 20 m from the pole looking down holds the
    pole in its view (a 90 x 60 m footprint), which has no ring in lon/lat: unknown, never
    clear, though a site is there too."""
    def ahead(lat):  # a 10 m square 30 m north of the camera at lon 20
        return ("ahead", lat + 30 / 111700, 20.0, 5)
    at_pole = 90 - 20 / 111700
    db = store(tmp, [ahead(89.982), ahead(80.0), ("by the pole", at_pole - 15 / 111700, 20.0, 3)])
    code, v, err = verdicts(tmp, db, rows(("near", 89.982, 20.0, 60, 0, -90),
                                          ("lat80", 80.0, 20.0, 60, 0, -90),
                                          ("pole", at_pole, 20.0, 60, 0, -90)))
    assert code == 1, (code, err)
    assert v["near"]["verdict"] == "flagged", v["near"]
    assert v["lat80"]["verdict"] == "flagged", v["lat80"]
    assert v["pole"]["verdict"] == "unknown", v["pole"]
    assert "holds the north pole" in v["pole"]["reason"], v["pole"]["reason"]
    # `keepout footprint` has no ring to draw for it either: unknown, no geometry (it printed a
    # ring force-closed across all longitudes)
    tel = write(tmp, "pole.csv", rows(("pole", at_pole, 20.0, 60, 0, -90),
                                      ("near", 89.982, 20.0, 60, 0, -90)))
    code, out, err = run("footprint", "--format", "jsonl", tel)
    fps = {json.loads(line)["properties"]["id"]: json.loads(line) for line in out.splitlines()}
    assert fps["pole"]["geometry"] is None, fps["pole"]
    assert fps["pole"]["properties"]["status"] == "unknown", fps["pole"]["properties"]
    assert "holds the north pole" in fps["pole"]["properties"]["reason"], fps["pole"]
    assert fps["near"]["geometry"]["type"] == "Polygon", fps["near"]


def test_route_buffer_near_a_pole_never_hides_the_view(tmp):
    """A plan hovering 30 m from the north pole over a site (nadir, 47 m up): flagged without a
    margin, and still flagged with route's --buffer 5. The widened footprint used to go to lon/lat
    with straight edges, which near the pole cut more off the view than the 5 m added (found by
    an adversarial review: '2 clear', exit 0)."""
    lat = 89.99973140902824
    db = store(tmp, [("under", lat, 0.0, 1)])
    plan = write(tmp, "hover.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[0.0, lat], [0.0, lat]]}}]}))
    for buffer_m in ("0", "5"):
        code, out, err = run("route", "--db", db, "--camera",
                             "focal=8.8,sensor=13.2x8.8,size=5472x3648", "--height", "47",
                             "--gimbal-pitch", "-90", "--buffer", buffer_m, plan)
        assert code == 1 and "0 clear, 2 flagged" in err, (buffer_m, code, err)


def test_dem_site_above_the_camera_is_judged_at_its_finest_pixel(tmp):
    """A substation on a slope above an Andorra valley (the repository's SRTM subset), seen from
    a camera 100 m over the valley floor looking east 10 deg down: an independent projector
    (ray to the point, Brown-free 4.5 mm lens, 4056 x 3040 px; line of sight clear by 3 m) puts
    it at pixel (1753, 545) at 0.489 m/px, under the category's 0.5. keepout projected the part's
    box no higher than the camera, onto coarser pixels nearer the centre: 0.508, clear."""
    src = write(tmp, "slope.geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "on the slope"},
         "geometry": {"type": "Point", "coordinates": [1.5396369, 42.5212947]}}]}))
    db = os.path.join(tmp, "slope.sqlite")
    code, _, err = run("sites", "import", "--db", db, "--category", "substation", "--buffer",
                       "0", "--name-field", "name", src)
    assert code == 0, err
    tel = write(tmp, "t.csv", "id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,"
                "sensor_h_mm,width_px,height_px\nandorra,42.52,1.52,100,90,-10,0,4.5,6.17,4.55,"
                "4056,3040\n")
    src_dem = os.path.join(os.path.dirname(__file__), "..", "..", "data", "dem",
                           "andorra_srtm3_subset.tif")
    # the view crosses SRTM voids 890 m out (ground of unknown height: unknown), so the scene
    # is judged on a copy with its voids filled by GDAL; the slope and the line of sight to the
    # site (3 m clear) are on data, not in the voids
    from osgeo import gdal
    dem = os.path.join(tmp, "andorra_filled.tif")
    gdal.Translate(dem, src_dem)
    ds = gdal.Open(dem, gdal.GA_Update)
    band = ds.GetRasterBand(1)
    gdal.FillNodata(band, None, 20, 0)
    ds = None
    code, out, err = run("check", "--db", db, "--dem", src_dem, "--format", "jsonl", tel)
    r = json.loads(out.splitlines()[0])["properties"]
    assert code == 1 and r["verdict"] == "unknown" and "has no height for" in r["reason"], r
    code, out, err = run("check", "--db", db, "--dem", dem, "--format", "jsonl", tel)
    r = json.loads(out.splitlines()[0])["properties"]
    assert code == 1 and r["verdict"] == "flagged", (code, r, err)
    assert r["hits"][0]["gsd_m"] <= 0.489, r


def test_lonlat_dem_across_the_antimeridian_is_unknown_not_read_wrongly(tmp):
    """A flat longitude/latitude DEM round the globe at lat 59..61 (3,000 m only where |lon| <
    170), a camera over the antimeridian looking east at sites 300-800 m away on flat ground.
    Terrain was interpolated between nodes on both sides of the line, i.e. between the DEM's
    first and last columns (3,000 m hills that are not there): a 30 m footprint and 'clear'.
    Such a DEM cannot be followed there: unknown, with the reason."""
    from osgeo import gdal, osr
    import numpy as np
    dem = os.path.join(tmp, "globe.tif")
    ds = gdal.GetDriverByName("GTiff").Create(dem, 7200, 40, 1, gdal.GDT_Float32)
    ds.SetGeoTransform([-180, 0.05, 0, 61, 0, -0.05])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    lon = -180 + 0.05 * (np.arange(7200) + 0.5)
    ds.GetRasterBand(1).WriteArray(np.tile(np.where(abs(lon) < 170, 3000, 0), (40, 1)).astype("f4"))
    ds = None
    db = store(tmp, [("east", 60.0, -179.99, 10)])
    tel = write(tmp, "t.csv", rows(("over", 60.0, 179.999, 100, 90, -20)))
    code, out, err = run("check", "--db", db, "--dem", dem, "--format", "jsonl", tel)
    r = json.loads(out.splitlines()[0])["properties"]
    assert code == 1 and r["verdict"] == "unknown", (code, r, err)
    assert "cannot be followed" in r["reason"], r


if __name__ == "__main__":
    from kotest import main
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
