"""Output hygiene (issue 17): names from site stores and file systems reach the terminal only
escaped. Table and CSV output carry no control character (a site named with an escape sequence
cannot clear the screen or retitle the terminal) and no byte that is not UTF-8; JSON output is
valid UTF-8 JSON, a byte that is not UTF-8 written as the text \\xHH, the same in every format."""
import json
import os
import shutil
import subprocess

from kotest import DATA, KEEPOUT, main, run, write
from test_route_cli import CAMERA, QGC, plan_positions

IMAGES = os.path.join(DATA, "images")
DEMO = os.path.join(DATA, "sites", "brighton_beach_demo.geojson")
EVIL = "\x1b[2J\x1b[H\x1b]0;pwned\x07ok\u009b31m\u202egnp.exe"
CONTROLS = [b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b", "\u202e".encode()]


def evil_store(tmp):
    """The demo sites, renamed with escape sequences, a C1 control and a bidi override."""
    fc = json.load(open(DEMO))
    for f in fc["features"]:
        f["properties"]["name"] = EVIL + f["properties"]["name"]
    src = write(tmp, "evil.geojson", json.dumps(fc))
    db = os.path.join(tmp, "evil.sqlite")
    code, _, err = run("sites", "import", "--db", db, src)
    assert code == 0, err
    return db


def raw(*args):
    p = subprocess.run([KEEPOUT, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def assert_clean(out):
    for c in CONTROLS:
        assert c not in out, (c, out[:400])
    out.decode("utf-8")  # strict: valid UTF-8


def test_site_names_are_escaped_in_table_and_csv(tmp):
    db = evil_store(tmp)
    photo = os.path.join(IMAGES, "DJI_0021.JPG")  # sees the demo substation
    for fmt in ("table", "csv"):
        code, out, err = raw("check", "--db", db, "--focal35", "24", "--format", fmt, photo)
        assert code == 1, err
        assert_clean(out)
        assert b"\\x1b[2J" in out, out  # escaped, still readable
        assert fmt == "table" or b"DEMO substation" in out, out  # (a table cell is cut)


def test_file_names_are_escaped_in_table_and_csv(tmp):
    d = os.path.join(tmp, "photos")
    os.makedirs(d)
    shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), os.path.join(d, "a\x1b[31mred\r.JPG"))
    for fmt in ("table", "csv"):
        code, out, err = raw("check", "--focal35", "24", "--format", fmt, d)
        assert code == 0, err
        assert_clean(out)
        assert b"\r" not in out and b"a\\x1b[31mred\\x0d.JPG" in out, out


def test_non_utf8_file_names_give_valid_json(tmp):
    d = os.path.join(tmp.encode(), b"photos")
    os.makedirs(d)
    for name in (b"p\xff.JPG", b"p\xfe.JPG", b"caf\xc3\xa9.JPG"):
        shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), os.path.join(d, name))
    for fmt in ("geojson", "jsonl"):
        code, out, err = raw("check", "--focal35", "24", "--format", fmt, d)
        assert code == 0, err
        text = out.decode("utf-8")  # strict
        if fmt == "geojson":
            feats = json.loads(text)["features"]
        else:
            feats = [json.loads(line) for line in text.splitlines()]
        ids = sorted(f["properties"]["id"] for f in feats)
        # invalid bytes as the text \xHH (the two files stay apart), valid UTF-8 kept as is
        assert ids == sorted(["p\\xff.JPG", "p\\xfe.JPG", "caf\u00e9.JPG"]), ids
    code, out, err = raw("check", "--focal35", "24", "--format", "table", d)
    assert_clean(out)
    assert b"p\\xff.JPG" in out and "caf\u00e9".encode() in out, out


def test_route_table_escapes_site_and_plan_names(tmp):
    wps = plan_positions(QGC)
    lat = (wps[2][0] + wps[3][0]) / 2
    lon = (wps[2][1] + wps[3][1]) / 2
    d = 0.0003
    site = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": EVIL + "site", "category": "substation"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
            [lon - d, lat - d]]]}}]}
    db = os.path.join(tmp, "s.sqlite")
    code, _, err = run("sites", "import", "--db", db, write(tmp, "s.geojson", json.dumps(site)))
    assert code == 0, err
    plan = os.path.join(tmp, "mission\x1b]0;x\x07.plan")
    shutil.copy(QGC, plan)
    code, out, err = raw("route", "--db", db, *CAMERA, "--gimbal-pitch", "-90", "--height", "20",
                         "--continuous", "--format", "table", plan)
    assert code == 1, err
    assert_clean(out)
    assert b"mission\\x1b]0;x\\x07.plan" in out and b"\\x1b[2J" in out, out



def evil_category_store(tmp):
    """evil_store, with the category and the source label carrying escape sequences too."""
    fc = json.load(open(DEMO))
    for f in fc["features"]:
        f["properties"]["name"] = EVIL + f["properties"]["name"]
    src = write(tmp, "evil2.geojson", json.dumps(fc))
    db = os.path.join(tmp, "evil2.sqlite")
    code, _, err = run("sites", "import", "--db", db, "--category", "substation", "--source",
                       EVIL + "src", src)
    assert code == 0, err
    return db


def test_sites_info_and_list_escape_names(tmp):
    db = evil_category_store(tmp)
    for args in (("info",), ("info", "--format", "json"), ("list",), ("list", "--format", "csv"),
                 ("list", "--format", "jsonl")):
        code, out, err = raw("sites", *args, "--db", db)
        assert code == 0, (args, err)
        if "json" in args[-1]:
            out.decode("utf-8")
            assert b"\x1b" not in out and b"\x07" not in out, (args, out[:300])
        else:
            assert_clean(out)


def test_manifest_escapes_file_names(tmp):
    d = os.path.join(tmp, "in").encode()
    os.mkdir(d)
    name = os.path.join(d, b"\x1b[2J\xffphoto.jpg")
    shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), name)
    m = os.path.join(tmp, "m.jsonl")
    p = subprocess.run([KEEPOUT.encode(), b"check", b"--manifest", m.encode(), d],
                       capture_output=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr
    text = open(m, "rb").read()
    text.decode("utf-8")  # strict: valid UTF-8 JSON
    assert b"\x1b" not in text, text
    rec = json.loads(text.splitlines()[0])
    assert rec["path"].endswith("\\xffphoto.jpg"), rec


def test_tag_messages_escape_file_names(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    bad = os.path.join(d, "\x1b[2J\x1b]0;pwned\x07.jpg")
    shutil.copy(os.path.join(IMAGES, "DJI_0018.JPG"), bad)
    write(d, os.path.basename(bad) + ".xmp", "a user's own sidecar")
    code, out, err = raw("tag", "--sidecar", "--catalog", os.path.join(tmp, "c.gpkg"), d)
    assert code == 1 and b"not catalogued" in err, (code, err)
    assert_clean(err)


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
