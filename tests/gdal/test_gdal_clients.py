"""The KEEPOUT driver as GIS clients meet it (issue 20): fiona and geopandas count and read the
footprints layer; ogrinfo -sql (which opens for update first) prints no error; feature ids
start at 1; the readers' open options give what the command line's flags give, and a bad value
is refused naming the option."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from kotest import DATA, gdal, main, run, tool  # noqa: E402

IMG = os.path.join(DATA, "images")
SRT = os.path.join(DATA, "srt")


def test_fiona_and_geopandas_count_and_read(tmp):
    import fiona
    import geopandas
    # fiona lists the drivers it will open; a plugin is added by name (documented in README)
    fiona.supported_drivers["KEEPOUT"] = "r"
    with fiona.open("KEEPOUT:" + IMG) as c:
        assert len(c) == 3
        verdicts = sorted(f["properties"]["verdict"] for f in c)
    assert verdicts == ["clear", "flagged", "flagged"], verdicts
    df = geopandas.read_file("KEEPOUT:" + IMG)
    assert len(df) == 3 and df.crs.to_epsg() == 4326
    assert sorted(df.verdict) == verdicts and df.geometry.is_valid.all()


def test_feature_ids_start_at_one(tmp):
    ds = gdal().OpenEx("KEEPOUT:" + IMG, gdal().OF_VECTOR)
    fids = [f.GetFID() for f in ds.GetLayer(0)]
    assert fids == [1, 2, 3], fids


def test_ogrinfo_sql_opens_without_an_error(tmp):
    code, out, err = tool("ogrinfo", "-q", "-sql", "SELECT COUNT(*) FROM footprints",
                          "KEEPOUT:" + IMG)
    assert code == 0 and "ERROR" not in err and "COUNT_* (Integer) = 3" in out, (out, err)


def verdicts_of_cli(*args):
    code, out, err = run("check", "--format", "jsonl", *args)
    assert code in (0, 1), err
    counts = {}
    for line in out.splitlines():
        v = json.loads(line)["properties"]["verdict"]
        counts[v] = counts.get(v, 0) + 1
    return counts


def verdicts_of_driver(path, *oo):
    code, out, err = tool("ogrinfo", "-q", *[x for o in oo for x in ("-oo", o)], "-dialect",
                          "SQLite", "-sql",
                          "SELECT verdict, count(*) AS n FROM footprints GROUP BY verdict",
                          "KEEPOUT:" + path)
    assert code == 0 and "ERROR" not in err, err
    names = [l.split("=")[1].strip() for l in out.splitlines() if "verdict (String)" in l]
    ns = [int(l.split("=")[1]) for l in out.splitlines() if "n (Integer)" in l]
    return dict(zip(names, ns))


def test_reader_open_options_match_the_command_line(tmp):
    rtk, pro = os.path.join(SRT, "p4_rtk.SRT"), os.path.join(SRT, "mavic_pro.SRT")
    cases = [(rtk, [], []), (rtk, ["FOCAL35=24"], ["--focal35", "24"]),
             (pro, ["FOCAL35=24", "ASSUME_NADIR=YES", "EVERY_N=7"],
              ["--focal35", "24", "--assume-nadir", "--every", "7"]),
             (pro, ["INTERVAL=2.5", "FOCAL35=24", "ASSUME_NADIR=YES"],
              ["--interval", "2.5", "--focal35", "24", "--assume-nadir"])]
    for path, oo, flags in cases:
        want = verdicts_of_cli(*flags, path)
        got = verdicts_of_driver(path, *oo)
        assert got == want, (path, oo, got, want)
    # the options change the outcome at all (else the comparisons above prove little): the
    # P4 RTK's .SRT names no focal length, the Mavic Pro's frames carry no gimbal attitude
    assert verdicts_of_driver(rtk) == {"unknown": 55}
    assert verdicts_of_driver(rtk, "FOCAL35=24").get("unknown", 0) == 0
    assert verdicts_of_driver(pro, "FOCAL35=24").get("unknown", 0) == 468
    assert verdicts_of_driver(pro, "FOCAL35=24", "ASSUME_NADIR=YES").get("unknown", 0) < 468
    want = verdicts_of_cli("--include", "DJI_0021.*", IMG)
    assert verdicts_of_driver(IMG, "INCLUDE=DJI_0021.*") == want == {"flagged": 1}
    assert verdicts_of_driver(IMG, "EXCLUDE=DJI_0021.*, DJI_0023.*") == {"clear": 1}


def test_bad_open_option_values_are_refused_by_name(tmp):
    for oo in ("EVERY_N=0", "EVERY_N=2.5", "INTERVAL=-1", "FOCAL35=abc", "FOCAL35=5000"):
        code, out, err = tool("ogrinfo", "-so", "-oo", oo, "KEEPOUT:" + SRT, "footprints")
        assert code != 0 and "KEEPOUT: " + oo.split("=")[0] in err, (oo, err)


def test_raster_update_open_is_refused_with_advice(tmp):
    code, out, err = tool("gdal_edit.py", "-mo", "A=B",
                          "KEEPOUT:" + os.path.join(IMG, "DJI_0018.JPG"))
    assert code != 0 and "read-only" in err and "gdal_translate" in err, err


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
