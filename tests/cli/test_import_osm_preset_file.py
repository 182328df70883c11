"""`keepout sites import --preset-file TABLE` (issue 24): a user's OSM preset table extends
and overrides the built-in one (docs/OSM_PRESET.md). The store must hold exactly what osmium
tags-filter selects with the user's rows tried first (the same row semantics, written here as
osmium expressions, not read from the table); a malformed table, or one naming a category the
store lacks, fails the import naming the file, the line and the value, and imports nothing.

Data: the real extracts of test_import_osm.py."""
import os
import re

import test_import_osm as t
from kotest import main, run, write

HEADER = "tags,category,kinds,buffer\n"


def table(tmp, rows, name="preset.csv"):
    return write(tmp, name, "# a user's table\n" + HEADER + "".join(r + "\n" for r in rows))


def sites(db):
    return {s["source_id"]: s for s in t.listing(db)}


def test_extend_with_towers_and_police(tmp):
    """man_made=tower (fields of every layer) and amenity=police on nodes only (points have
    no amenity field: other_tags), 25 m around the police."""
    if not t.have_osmium():
        return
    path = table(tmp, ["man_made=tower,user_defined,nwr,", "amenity=police,user_defined,n,25"])
    rows = [("user_defined", ["man_made=tower"]), ("user_defined", ["n/amenity=police"])]
    sel, gone, store = t.osmium_vs_store(tmp, t.PBF, "ext", rows + t.OSMIUM_ROWS,
                                         ("--preset-file", path))
    assert not gone and store == sel, set(store.items()) ^ set(sel.items())
    counts = t.per_category(sel)
    print(f"     Liechtenstein with towers and police: osmium {sorted(counts.items())}")
    assert counts["user_defined"] == 4 and counts["bridge"] == 122, counts  # 3 towers, 1 police
    by_id = sites(os.path.join(tmp, "ext.sqlite"))
    police = [k for k, v in sel.items() if v == "user_defined" and k.startswith("node/") and
              by_id[k]["attributes"].get("man_made") != "tower"]
    assert police and all(by_id[k]["buffer_m"] == 25 for k in police), police
    towers = [k for k, v in sel.items() if v == "user_defined" and k not in police]
    assert towers and all(by_id[k]["buffer_m"] == 50 for k in towers), towers  # the default


def test_extend_other_tags_on_ways(tmp):
    """aeroway is a field of no layer in keepout's osmconf: Monaco's helipads (3 nodes, one
    open way) are found in other_tags."""
    if not t.have_osmium():
        return
    path = table(tmp, ["aeroway=helipad,user_defined,nw,"])
    sel, gone, store = t.osmium_vs_store(tmp, t.MONACO, "heli",
                                         [("user_defined", ["nw/aeroway=helipad"])] +
                                         t.OSMIUM_ROWS, ("--preset-file", path))
    assert not gone and store == sel, set(store.items()) ^ set(sel.items())
    assert t.per_category(sel) == {"bridge": 20, "user_defined": 4}, t.per_category(sel)


def test_override_category_buffer_and_exclude(tmp):
    """A user's row for tags the built-in table has overrides it: generators are not sites,
    old-style power=station becomes a power plant, bridges get 40 m whatever their width."""
    if not t.have_osmium():
        return
    path = table(tmp, ["power=generator,-,nwr,", "power=station,power_plant,,",
                       "bridge!=no,bridge,nwr,40"])
    rows = [(None, ["power=generator"]), ("power_plant", ["power=station"]),
            ("bridge", ["bridge!=no"])]
    for i, src in enumerate((t.PBF, t.BREMEN)):
        sel, gone, store = t.osmium_vs_store(tmp, src, f"ovr{i}", rows + t.OSMIUM_ROWS,
                                             ("--preset-file", path))
        assert not gone and store == sel, set(store.items()) ^ set(sel.items())
        counts = t.per_category(sel)
        print(f"     {os.path.basename(src)} overridden: osmium {sorted(counts.items())}")
        assert "generator" not in counts, counts
    by_id = sites(os.path.join(tmp, "ovr0.sqlite"))
    bridges = [s for s in by_id.values() if s["category"] == "bridge"]
    assert len(bridges) == 122 and all(s["buffer_m"] == 40 for s in bridges)
    assert [s["category"] for s in by_id.values()
            if s["attributes"].get("power") == "station"] == ["power_plant"]
    # without the table: the generator is a site and 3 bridges have their width as buffer
    code, err, db = t.import_osm(tmp, t.PBF, db="plain.sqlite")
    assert code == 0, err
    plain = t.info(db)["by_category"]
    assert plain["generator"] == 1 and plain["substation"] == 2, plain
    assert sorted({s["buffer_m"] for s in t.listing(db) if s["category"] == "bridge"}) != [40]


def test_unknown_category_fails(tmp):
    path = table(tmp, ["man_made=tower,user_defined,nwr,", "man_made=mast,mast,nwr,"])
    db = os.path.join(tmp, "osm.sqlite")
    code, err, _ = t.import_osm(tmp, t.MONACO, "--preset-file", path)
    assert code == 2 and "preset.csv:4: category 'mast' is not in the store's categories" in err, \
        err
    assert not os.path.exists(db) or t.info(db)["sites"] == 0


def test_malformed_tables_fail_naming_line_and_value(tmp):
    cases = [
        ("x,y\n", "t.csv:1: header 'x,y'"),
        ("", "t.csv: no header line"),
        (HEADER, "t.csv: a header and no row"),
        (HEADER + "bridge=yes,bridge,q,\n", "t.csv:2: kinds 'q'"),
        (HEADER + "\n# c\nbridge=yes,bridge,w,-3\n", "t.csv:4: buffer '-3'"),
        (HEADER + "bridge=yes,bridge,w,1e999\n", "t.csv:2: buffer '1e999'"),
        (HEADER + "bridge=yes,bridge,w,wide\n", "t.csv:2: buffer 'wide'"),
        (HEADER + "bridge,bridge,w,\n", "t.csv:2: tags 'bridge'"),
        (HEADER + "bridge!=*,bridge,w,\n", "t.csv:2: tag 'bridge!=*'"),
        (HEADER + "bridge=yes|,bridge,w,\n", "t.csv:2: value '' of tag 'bridge'"),
        (HEADER + "=yes,bridge,w,\n", "t.csv:2: tag key ''"),
        (HEADER + "man_made=\"x\",bridge,w,\n", "t.csv:2: value '\"x\"' of tag 'man_made'"),
        (HEADER + "bridge=yes,bridge,w\n", "t.csv:2: fewer than 4 fields"),
        (HEADER + "bridge=yes,bridge,w,,x\n", "t.csv:2: more than 4 fields"),
        (HEADER + "bridge=yes,a bridge,w,\n", "t.csv:2: category 'a bridge'"),
        (HEADER + "bridge=yes,-,w,5\n", "t.csv:2: buffer '5' on a row that selects no site"),
        (HEADER + "bridge=yes,bridge,w,\0\n", "t.csv:2: a NUL byte"),
    ]
    db = os.path.join(tmp, "osm.sqlite")
    code, err, _ = t.import_osm(tmp, t.SYNTHETIC)
    assert code == 0, err
    before = t.info(db)
    for text, want in cases:
        path = write(tmp, "t.csv", text.encode(), "wb")
        code, err, _ = t.import_osm(tmp, t.MONACO, "--preset-file", path)
        assert code == 2 and want in err, (text, code, err)
        assert "--preset-file" not in err, err  # the library names the file, not a flag
        assert t.info(db) == before, (text, "the store changed")
    code, err, _ = t.import_osm(tmp, t.MONACO, "--preset-file", os.path.join(tmp, "none.csv"))
    assert code == 2 and "none.csv: no such file" in err, err


def test_table_needs_an_osm_source(tmp):
    path = table(tmp, ["man_made=tower,user_defined,nwr,"])
    src = write(tmp, "a.geojson", '{"type": "FeatureCollection", "features": [{"type": '
                '"Feature", "properties": {}, "geometry": {"type": "Point", '
                '"coordinates": [7.4, 43.7]}}]}')
    code, _, err = run("sites", "import", "--db", os.path.join(tmp, "g.sqlite"),
                       "--preset-file", path, src)
    assert code == 2 and "needs an OSM XML or PBF source" in err, err


def test_help_names_the_option(tmp):
    code, out, _ = run("sites", "--help")
    assert code == 0 and "--preset-file" in out, out


def test_builtin_table_is_the_documented_one(tmp):
    """data/osm_preset.csv (compiled in) is the table docs/OSM_PRESET.md shows: each of its
    rows is a row of the documentation's numbered table, in the same order."""
    doc = []
    for line in open(os.path.join(t.SRC, "docs", "OSM_PRESET.md")):
        cells = [c.strip().strip("`").replace("\\|", "|")
                 for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0].isdigit():
            doc.append(cells)
    rows = [line.strip() for line in open(os.path.join(t.DATA, "osm_preset.csv"))
            if line.strip() and not line.startswith("#")][1:]
    assert len(rows) == len(doc) == 10, (rows, doc)
    for row, cells in zip(rows, doc):
        assert cells[1:5] == row.split(","), (row, cells)


if __name__ == "__main__":
    main([f for n, f in sorted(globals().items()) if n.startswith("test_")])
