"""`keepout sites import --preset osm` on real OpenStreetMap extracts (issue 24): the sites per
category in the store equal an independent count of the preset's tags (osmcount.py reads the
XML itself, without GDAL or keepout), whatever the node id order; generic type=site relations
are not sites; bridge areas are; an empty or all-filtered source and a GDAL read error fail
the import and leave the store unchanged.

Data: tests/data/osm (see tests/data/README.md) and data/sites/bremen_power.osm."""
import gzip
import json
import os
import shutil

import osmcount
from kotest import DATA, SRC, main, run, write

OSM = os.path.join(SRC, "tests", "data", "osm")
BREMEN = os.path.join(DATA, "sites", "bremen_power.osm")
MONACO = os.path.join(OSM, "gh_monaco.osm.gz")
SYNTHETIC = os.path.join(OSM, "synthetic_bridge_area_and_sites.osm")
PBF = os.path.join(DATA, "sites", "liechtenstein-2013-08-03.osm.pbf")


def export_file(tmp):
    """The openstreetmap.org Export-style file (node ids shuffled), as the button saves it."""
    path = os.path.join(tmp, "map.osm")
    with gzip.open(os.path.join(OSM, "monaco_export_unsorted.osm.gz")) as src, \
            open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def import_osm(tmp, path, *extra, db="osm.sqlite"):
    db = os.path.join(tmp, db)
    code, out, err = run("sites", "import", "--db", db, "--preset", "osm", *extra, path)
    return code, err, db


def info(db):
    code, out, err = run("sites", "info", "--db", db, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def listing(db):
    code, out, err = run("sites", "list", "--db", db, "--format", "jsonl")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def assert_counts(tmp, path, name, counter=osmcount.count):
    expect = counter(path)
    assert sum(expect.values()) > 0, (path, expect)
    code, err, db = import_osm(tmp, path, db=name + ".sqlite")
    assert code == 0, (path, code, err)
    got = info(db)["by_category"]
    assert got == expect, (path, got, expect)
    return db


def test_real_extracts_match_independent_counts(tmp):
    for i, path in enumerate((BREMEN, MONACO, SYNTHETIC)):
        assert_counts(tmp, path, f"s{i}")


def test_pbf_matches_gdal_default_tags(tmp):
    assert_counts(tmp, PBF, "pbf", osmcount.count_ogr)


def test_export_button_file_imports_completely(tmp):
    path = export_file(tmp)
    ids = []
    with open(path, "rb") as f:
        for line in f:
            if line.lstrip().startswith(b"<node "):
                ids.append(int(line.split(b'id="')[1].split(b'"')[0]))
    assert ids and ids != sorted(ids), "the export file's node ids must not be sorted"
    db = assert_counts(tmp, path, "export")
    assert info(db)["by_category"].get("bridge", 0) >= 10


def test_generic_site_relations_are_not_sites(tmp):
    # Monaco holds three IGN geodesic markers (type=site, site=geodesic): relation/5302xx
    code, err, db = import_osm(tmp, MONACO)
    assert code == 0, err
    sites = listing(db)
    assert not [s for s in sites if s["source_id"].startswith("relation/")], sites
    assert "user_defined" not in info(db)["by_category"]
    # a site relation that describes a power plant is one
    code, err, db = import_osm(tmp, SYNTHETIC, db="syn.sqlite")
    assert code == 0, err
    by_id = {s["source_id"]: s for s in listing(db)}
    assert by_id["relation/201"]["category"] == "power_plant", by_id
    assert "relation/200" not in by_id, by_id


def test_bridge_area_is_imported(tmp):
    code, err, db = import_osm(tmp, SYNTHETIC)
    assert code == 0, err
    by_id = {s["source_id"]: s for s in listing(db)}
    assert by_id["way/100"]["category"] == "bridge", by_id
    assert "way/101" not in by_id and "node/43" not in by_id, by_id  # bridge=no
    assert by_id["way/102"]["category"] == "bridge", by_id  # bridge=viaduct
    out = os.path.join(tmp, "b.geojson")
    code, _, err = run("sites", "export", "--db", db, "--category", "bridge", "-f", "GeoJSON",
                       out)
    assert code == 0, err
    kinds = {f["properties"]["source_id"]: f["geometry"]["type"]
             for f in json.load(open(out))["features"]}
    assert kinds["way/100"] in ("Polygon", "MultiPolygon"), kinds


def test_empty_and_all_filtered_sources_fail(tmp):
    no_tags = write(tmp, "nothing.osm", open(SYNTHETIC).read()
                    .replace('k="bridge" v="yes"', 'k="bridge" v="no"')
                    .replace('k="bridge" v="viaduct"', 'k="bridge" v="no"')
                    .replace('k="power" v="generator"', 'k="power" v="pole"')
                    .replace('k="site" v="power_plant"', 'k="site" v="school"'))
    code, err, db = import_osm(tmp, no_tags)
    assert code == 2 and "no OSM object has a tag of the preset" in err, (code, err)
    assert not os.path.exists(db) or info(db)["sites"] == 0
    code, err, db = import_osm(tmp, no_tags, "--allow-empty")
    assert code == 0, err
    empty = write(tmp, "empty.geojson", '{"type": "FeatureCollection", "features": []}')
    code, _, err = run("sites", "import", "--db", os.path.join(tmp, "e.sqlite"), empty)
    assert code == 2 and "no feature read" in err, (code, err)


def test_gdal_read_error_fails_the_import(tmp):
    # a real extract cut in the middle of its ways: GDAL's XML parser fails part-way
    text = open(BREMEN, "rb").read()
    cut = text.index(b"<way ") + (len(text) - text.index(b"<way ")) // 2
    bad = write(tmp, "cut.osm", text[:cut] + b"<<<", "wb")
    db = os.path.join(tmp, "osm.sqlite")
    code, err, _ = import_osm(tmp, SYNTHETIC)
    assert code == 0, err
    before = info(db)
    code, err, _ = import_osm(tmp, bad)
    assert code == 2 and "cut.osm" in err, (code, err)
    assert info(db) == before, "the store changed"


if __name__ == "__main__":
    main([f for n, f in sorted(globals().items()) if n.startswith("test_")])
