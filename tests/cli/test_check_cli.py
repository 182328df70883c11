"""keepout check end to end: real DJI photos (shipped in data/images, metadata intact) against
site stores built by the real `keepout sites import`, every failure mode, exit codes, manifest."""
import hashlib
import json
import math
import os
import shutil
import struct

from kotest import DATA, geojson, main, run, write

IMAGES = os.path.join(DATA, "images")


def photos():
    return sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES) if f.upper().endswith(".JPG"))


def gps(path):
    """Camera position from keepout's own footprint output would be circular: read the EXIF
    GPS with GDAL instead (an independent reader)."""
    from osgeo import gdal
    md = gdal.Open(path).GetMetadata()

    def dms(v, ref):
        d, m, s = [float(x.strip("() ")) for x in v.split(" ")]
        x = d + m / 60 + s / 3600
        return -x if ref in ("S", "W") else x

    return dms(md["EXIF_GPSLatitude"], md["EXIF_GPSLatitudeRef"]), dms(
        md["EXIF_GPSLongitude"], md["EXIF_GPSLongitudeRef"])


def square(lat, lon, half_m):
    dlat = half_m / 111132.0
    dlon = half_m / (111320.0 * math.cos(math.radians(lat)))
    return [[[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat],
             [lon - dlon, lat + dlat], [lon - dlon, lat - dlat]]]


def store(tmp, sites, category="substation"):
    """sites: list of (name, lat, lon, half_m). Returns the path of a new store."""
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"sid": f"t{i}", "name": n},
         "geometry": {"type": "Polygon", "coordinates": square(la, lo, h)}}
        for i, (n, la, lo, h) in enumerate(sites)]}
    src = write(tmp, "sites.geojson", json.dumps(fc))
    db = os.path.join(tmp, "sites.sqlite")
    # buffer 0: the tests place exact squares; category buffers are tested in the store tests
    code, out, err = run("sites", "import", "--db", db, "--category", category, "--buffer", "0",
                         "--name-field", "name", src)
    assert code == 0, err
    return db


def test_photo_over_site_is_flagged_and_far_site_is_clear(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under the camera", lat, lon, 5), ("3 km north", lat + 0.027, lon, 5)])
    code, fc, err = geojson("check", "--db", db, p)
    assert code == 1, err
    props = fc["features"][0]["properties"]
    assert props["verdict"] == "flagged", props
    assert props["hit_count"] == 1 and props["site_names"] == "under the camera"
    hit = props["hits"][0]
    assert hit["distance_m"] < 5 and hit["category"] == "substation"
    assert 0.99 <= hit["fraction_in_view"] <= 1.0
    # ~40 m straight down with a 1.54 um pixel behind 3.61 mm: 1.7 cm per pixel
    assert 0.01 < hit["gsd_m"] < 0.03, hit


def test_site_outside_footprint_is_clear(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    # 40 m AGL, 16:9 frame: the footprint reaches ~35 m; a site 300 m east is out of view
    db = store(tmp, [("300 m east", lat, lon + 300 / (111320 * math.cos(math.radians(lat))), 5)])
    code, fc, err = geojson("check", "--db", db, p)
    assert code == 0, err
    props = fc["features"][0]["properties"]
    assert props["verdict"] == "clear" and props["hit_count"] == 0, props


def test_coarse_resolution_is_not_a_hit(tmp):
    """A site in view but seen coarser than its category's min_gsd_m is not disclosed, and the
    report says which rule decided."""
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("under the camera", lat, lon, 5)])
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("UPDATE categories SET min_gsd_m = 0.001 WHERE name = 'substation'")
    con.execute("UPDATE sites SET min_gsd_m = 0.001")
    con.commit()
    con.close()
    code, fc, err = geojson("check", "--db", db, p)
    props = fc["features"][0]["properties"]
    assert props["verdict"] == "clear", props
    seen = props["in_view_unresolved"]
    assert len(seen) == 1 and "too coarse" in seen[0]["rule"], seen
    assert code == 0


def strip_xmp(src, dst):
    data = open(src, "rb").read()
    out, i = bytearray(data[:2]), 2
    while i < len(data) and data[i] == 0xFF and data[i + 1] not in (0xDA, 0xD9):
        seg_len = struct.unpack(">H", data[i + 2:i + 4])[0]
        seg = data[i:i + 2 + seg_len]
        if not (data[i + 1] == 0xE1 and seg[4:33].startswith(b"http://ns.adobe.com/xap/1.0/")):
            out += seg
        i += 2 + seg_len
    out += data[i:]
    open(dst, "wb").write(out)


def test_failure_modes_are_unknown_never_clear(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("far", lat + 1, lon, 5)])
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    shutil.copy(p, os.path.join(d, "good.jpg"))
    open(os.path.join(d, "corrupt.jpg"), "wb").write(open(p, "rb").read()[:300])
    strip_xmp(p, os.path.join(d, "noxmp.jpg"))
    open(os.path.join(d, "empty.jpg"), "wb").close()
    os.symlink(os.path.join(d, "missing-target.jpg"), os.path.join(d, "dangling.jpg"))
    open(os.path.join(d, "notes.txt"), "w").write("not an image\n")
    open(os.path.join(d, "clip.mp4"), "wb").write(b"\0" * 64)
    open(os.path.join(d, "scan.png"), "wb").write(b"\x89PNG\r\n\x1a\n")
    code, fc, err = geojson("check", "--db", db, d)
    assert code == 1, err
    by = {os.path.basename(f["properties"]["source"]): f["properties"] for f in fc["features"]}
    assert by["good.jpg"]["verdict"] == "clear", by["good.jpg"]
    for name in ("corrupt.jpg", "noxmp.jpg", "empty.jpg", "dangling.jpg", "clip.mp4", "scan.png"):
        assert by[name]["verdict"] == "unknown", (name, by[name])
        assert by[name]["reason"], name
    assert "notes.txt" not in by
    assert "skipped 1 file" in err, err
    # --unknown-is clear releases only inputs keepout read and checked (the photo without XMP);
    # corrupt, empty, dangling and unsupported files were not checked (issue 17)
    code, fc, err = geojson("check", "--db", db, "--unknown-is", "clear", d)
    assert code == 1, err
    code, fc, err = geojson("check", "--db", db, "--unknown-is", "clear",
                            os.path.join(d, "good.jpg"), os.path.join(d, "noxmp.jpg"))
    assert code == 0, err  # exit status only...
    assert any(f["properties"]["verdict"] == "unknown" for f in fc["features"])  # ...not verdicts


def test_missing_or_corrupt_store_exits_2(tmp):
    p = photos()[0]
    code, out, err = run("check", "--db", os.path.join(tmp, "none.sqlite"), "--format", "jsonl", p)
    assert code == 2 and "none.sqlite" in err and "sites import" in err, err
    bad = write(tmp, "bad.sqlite", "this is not a database")
    code, out, err = run("check", "--db", bad, p)
    assert code == 2 and "bad.sqlite" in err, err
    code, out, err = run("check", p, env={"KEEPOUT_SITES": os.path.join(tmp, "env.sqlite")})
    assert code == 2 and "env.sqlite" in err, err


def test_stdin_list_and_manifest(tmp):
    ps = photos()
    lat, lon = gps(ps[0])
    db = store(tmp, [("under the first", lat, lon, 3)])
    man = os.path.join(tmp, "manifest.jsonl")
    code, out, err = run("check", "--db", db, "--format", "jsonl", "--manifest", man, "-",
                         stdin=("\n".join(ps) + "\n").encode())
    assert code == 1, err
    recs = [json.loads(l) for l in out.splitlines()]
    assert len(recs) == len(ps)
    lines = [json.loads(l) for l in open(man)]
    assert [m["path"] for m in lines] == ps
    for m in lines:
        assert m["sha256"] == hashlib.sha256(open(m["path"], "rb").read()).hexdigest()
        assert m["verdict"] in ("clear", "flagged")
    assert lines[0]["verdict"] == "flagged"


def test_formats_and_usage(tmp):
    p = photos()[0]
    lat, lon = gps(p)
    db = store(tmp, [("x", lat, lon, 3)])
    code, out, err = run("check", "--db", db, "--format", "csv", p)
    assert out.splitlines()[0].startswith("id,source,time,verdict"), out
    code, out, err = run("check", "--db", db, "--format", "table", p)
    assert out.splitlines()[0].split()[:2] == ["verdict", "id"] and "flagged" in out
    assert run("check", "--db", db)[0] == 2
    assert run("check", "--db", db, "--unknown-is", "maybe", p)[0] == 2
    code, out, _ = run("check", "--help")
    assert code == 0 and "--manifest" in out


def test_telemetry_csv_with_site(tmp):
    tel = os.path.join(DATA, "telemetry", "brighton_beach.csv")
    lat, lon = 46.8428651388889, -91.9941766388889  # DJI_0021 in the CSV
    db = store(tmp, [("under 0021", lat, lon, 2)])
    code, fc, err = geojson("check", "--db", db, tel)
    assert code == 1, err
    v = {f["properties"]["id"]: f["properties"]["verdict"] for f in fc["features"]}
    assert v["DJI_0021.JPG"] == "flagged" and v["DJI_0018.JPG"] == "clear", v


def test_dem_outside_coverage_is_unknown_and_inside_is_judged(tmp):
    dem = os.path.join(DATA, "dem", "andorra_srtm3_subset.tif")
    p = photos()[0]  # Lake Superior: far outside the Andorra DEM
    db = store(tmp, [("far", 42.5, 1.5, 5)])
    code, fc, err = geojson("check", "--db", db, "--dem", dem, p)
    props = fc["features"][0]["properties"]
    assert code == 1 and props["verdict"] == "unknown" and "DEM" in props["reason"], props
    tel = write(tmp, "t.csv", "id,lat,lon,height,yaw,pitch,roll,focal35_mm\n"
                "a,42.52,1.55,80,0,-90,0,24\n")
    code, fc, err = geojson("check", "--db", db, "--dem", dem, tel)
    props = fc["features"][0]["properties"]
    assert code == 0 and props["verdict"] == "clear", props
    assert run("check", "--db", db, "--dem", os.path.join(tmp, "nope.tif"), tel)[0] == 2


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
