"""`keepout sites import --preset osm` on real OpenStreetMap extracts (issue 24): the sites per
category in the store equal two independent counts of the preset's tags: osmium-tool's
(`osmium tags-filter`, the Debian package osmium-tool of scripts/install-deps.sh) and
osmcount.py's (the XML read in Python, without GDAL or keepout), whatever the node id order;
generic type=site relations are not sites; bridge areas are; an empty or all-filtered source
and a GDAL read error fail the import and leave the store unchanged.

Data: tests/data/osm (see tests/data/README.md), data/sites/bremen_power.osm and
data/sites/liechtenstein-2013-08-03.osm.pbf (see data/README.md)."""
import gzip
import json
import os
import shutil
import subprocess

import osmcount
from kotest import DATA, SRC, main, run, write

OSM = os.path.join(SRC, "tests", "data", "osm")
BREMEN = os.path.join(DATA, "sites", "bremen_power.osm")
MONACO = os.path.join(OSM, "gh_monaco.osm.gz")
SYNTHETIC = os.path.join(OSM, "synthetic_bridge_area_and_sites.osm")
PBF = os.path.join(DATA, "sites", "liechtenstein-2013-08-03.osm.pbf")
MISSING = os.path.join(OSM, "synthetic_missing_members.osm")

# The preset table of docs/OSM_PRESET.md as osmium tags-filter expressions, first row that
# matches decides; a row of several expressions needs all of them (type=site AND site=...).
OSMIUM_ROWS = [
    ("nuclear", ["generator:source,plant:source=nuclear"]),
    ("power_plant", ["power=plant"]),
    ("substation", ["power=substation,sub_station,station"]),
    ("generator", ["power=generator"]),
    ("dam", ["waterway=dam"]),
    ("bridge", ["man_made=bridge"]),
    ("pipeline", ["man_made=pipeline"]),
    ("bridge", ["bridge!=no"]),
    ("power_plant", ["r/type=site", "r/site=power_plant"]),
]
KIND = {"n": "node", "w": "way", "r": "relation"}


def osmium(*args):
    p = subprocess.run(["osmium", *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def have_osmium():
    """osmium-tool is in the dependency list: missing in CI is a failure, elsewhere a skip."""
    if shutil.which("osmium"):
        return True
    assert not os.environ.get("CI"), "osmium (Debian osmium-tool) is not installed"
    print("     (skipped: osmium-tool not installed; scripts/install-deps.sh installs it)")
    return False


def opl(path):
    """{"w12": (tags, refs)} of every object in path, read by osmium (refs: node ids of a
    way, as "n1"; members of a relation, as "w2@outer")."""
    out = {}
    for line in osmium("cat", "-f", "opl,add_metadata=false", path).splitlines():
        f = line.split(" ")
        fields = {x[0]: x[1:] for x in f[1:]}
        tags = dict(t.split("=", 1) for t in fields.get("T", "").split(",") if t)
        if f[0][0] == "w":
            refs = [r for r in fields.get("N", "").split(",") if r]
        elif f[0][0] == "r":
            refs = [m for m in fields.get("M", "").split(",") if m]
        else:
            refs = []
        out[f[0]] = (tags, refs)
    return out


def sid(osmium_id):
    return KIND[osmium_id[0]] + "/" + osmium_id[1:]


def osmium_selection(path, tmp, rows=OSMIUM_ROWS):
    """{"w12": (category, tags, refs)} of the objects the preset selects, by osmium
    tags-filter alone: row k's objects are those matching it in what rows 1..k-1 left
    (tags-filter -i); a row of category None selects no site."""
    assert all(len(e) == 1 for _, e in rows[:-1]), "only the last row may need several"
    rest, out = os.path.join(tmp, "osmium_any.osm.pbf"), {}
    # what any row matches (a row of several expressions: its last), then row by row
    osmium("tags-filter", "-R", "-O", "-o", rest, path, *[e[-1] for _, e in rows])
    for k, (cat, exprs) in enumerate(rows):
        sel = rest
        for j, e in enumerate(exprs):
            nxt = os.path.join(tmp, f"osmium_sel{k}_{j}.osm.pbf")
            osmium("tags-filter", "-R", "-O", "-o", nxt, sel, e)
            sel = nxt
        for oid, (tags, refs) in opl(sel).items():
            if cat:
                out[oid] = (cat, tags, refs)
        if k + 1 < len(rows):
            nxt = os.path.join(tmp, f"osmium_rest{k}.osm.pbf")
            osmium("tags-filter", "-R", "-i", "-O", "-o", nxt, rest, exprs[0])
            rest = nxt
    return out


def osmium_unbuildable(path, selected):
    """The selected objects no geometry can be built for from the file (docs/OSM_PRESET.md,
    "Objects cut by the edge of the file"): a way with fewer than two of its nodes in the file,
    a multipolygon (or boundary) relation with a member missing, any other relation with no
    member in the file. What is in the file: every id osmium reads in it."""
    there = set(opl(path))
    out = set()
    for oid, (_, tags, refs) in selected.items():
        present = [r for r in refs if r.split("@")[0] in there]
        if oid[0] == "w" and len(present) < 2:
            out.add(sid(oid))
        elif oid[0] == "r" and tags.get("type") in ("multipolygon", "boundary"):
            if len(present) < len(refs):
                out.add(sid(oid))
        elif oid[0] == "r" and not present:
            out.add(sid(oid))
    return out


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


def osmium_cut(path):
    """Every object of the file (tagged or not) that GDAL cannot build and says so, by osmium:
    ways with fewer than two of their nodes in the file, multipolygon and boundary relations
    with a member way (other than a subarea) missing. (A relation of another type with no
    member in the file is dropped without a word: not here.)"""
    objs = opl(path)
    out = set()
    for oid, (tags, refs) in objs.items():
        if oid[0] == "w" and sum(r in objs for r in refs) < 2:
            out.add(sid(oid))
        elif oid[0] == "r" and tags.get("type") in ("multipolygon", "boundary") and any(
                m[0] == "w" and not m.endswith("@subarea") and m.split("@")[0] not in objs
                for m in refs):
            out.add(sid(oid))
    return out


def reported_cut(err):
    """The objects the import says it could not build, and its count of them."""
    ids = {line.split(":")[0].strip() for line in err.splitlines()
           if ": not read: " in line}
    n = [int(line.split()[0]) for line in err.splitlines() if "could not be built" in line]
    return ids, (n[0] if n else 0)


def per_category(selection):
    out = {}
    for cat in selection.values():
        out[cat] = out.get(cat, 0) + 1
    return out


def osmium_vs_store(tmp, path, name, rows=OSMIUM_ROWS, extra=()):
    """({"way/12": category} osmium selects, those no geometry can be built for, the same of
    the store's sites). extra: more import arguments."""
    found = osmium_selection(path, tmp, rows)
    gone = osmium_unbuildable(path, found)
    sel = {sid(k): v[0] for k, v in found.items()}
    code, err, db = import_osm(tmp, path, *extra, db=name + ".sqlite")
    assert code == 0, (path, code, err)
    store = {s["source_id"]: s["category"] for s in listing(db)}
    assert info(db)["by_category"] == per_category(store)
    # What the import says GDAL could not build is, by osmium, cut by the file's edge; and
    # every object the preset selects that GDAL drops is among it, but a relation GDAL drops
    # without a word. (GDAL builds, and so names, only the relations that pass the preset's
    # attribute filter, or might: not every cut relation of the file.)
    cut = osmium_cut(path)
    said, n = reported_cut(err)
    assert said <= cut and n == len(said), (path, said - cut, n)
    assert gone & cut <= said and gone - cut <= {k for k in gone if k.startswith("relation/")}, \
        (path, gone, said)
    return sel, gone, store


def test_every_extract_matches_osmium(tmp):
    """Every real extract the tests ship: per-category counts equal osmium's, object for
    object; none of them has a selected object cut by its edge."""
    if not have_osmium():
        return
    export = export_file(tmp)
    for i, path in enumerate((BREMEN, PBF, MONACO, export, SYNTHETIC)):
        sel, gone, store = osmium_vs_store(tmp, path, f"x{i}")
        assert sel and not gone, (path, gone)
        expect, got = per_category(sel), info(os.path.join(tmp, f"x{i}.sqlite"))["by_category"]
        print(f"     {os.path.basename(path)}: osmium {sorted(expect.items())}, "
              f"store {sorted(got.items())}")
        assert got == expect, (path, got, expect)
        assert store == sel, (path, set(store.items()) ^ set(sel.items()))


def test_prefilter_gives_the_same_sites(tmp):
    """--prefilter (issue 22: osmium tags-filter cuts the file to the preset's keys before OGR
    reads it) gives the same sites, field for field and bit for bit, as reading the whole file,
    on every real extract the tests ship (PBF, XML, gzipped XML, unsorted node ids) and on the
    file whose objects are cut by its edge."""
    if not have_osmium():
        return
    import sqlite3
    export = export_file(tmp)
    def sites(db):
        con = sqlite3.connect(db)
        rows = con.execute("SELECT source, source_id, name, category, buffer_m, min_gsd_m,"
                           " attributes, hex(geom), hex(geom_buffered) FROM sites"
                           " ORDER BY source, source_id").fetchall()
        con.close()
        return rows
    for i, path in enumerate((BREMEN, PBF, MONACO, export, SYNTHETIC, MISSING)):
        code, err, plain = import_osm(tmp, path, db=f"plain{i}.sqlite")
        assert code == 0, (path, err)
        code, err, cut = import_osm(tmp, path, "--prefilter", db=f"cut{i}.sqlite")
        assert code == 0, (path, err)
        a, b = sites(plain), sites(cut)
        print(f"     {os.path.basename(path)}: {len(a)} sites each way")
        assert a and a == b, (path, len(a), len(b), set(a) ^ set(b))
    # no temporary file left behind
    assert not [f for f in os.listdir(os.environ.get("TMPDIR", "/tmp"))
                if f.startswith("keepout-osm-")]


def test_objects_cut_by_the_file_edge(tmp):
    """The one documented difference from osmium's count: objects whose geometry is not in
    the file (GDAL drops them). A way with two of its nodes and a non-multipolygon relation
    with one member left are sites, built from what is there."""
    if not have_osmium():
        return
    sel, gone, store = osmium_vs_store(tmp, MISSING, "cut")
    assert gone == {"way/11", "relation/21", "relation/22", "relation/23"}, gone
    # the import names them (but relation/22, which GDAL drops without a word), and way/10
    code, err, _ = import_osm(tmp, MISSING, db="cut2.sqlite")
    assert reported_cut(err) == ({"way/11", "relation/21", "relation/23"}, 3), err
    assert "way/10: built from the 2 of its 3 nodes" in err, err
    assert store == {k: v for k, v in sel.items() if k not in gone}, (store, sel, gone)
    assert {"way/10", "way/12", "relation/20", "relation/24"} <= set(store), store


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
