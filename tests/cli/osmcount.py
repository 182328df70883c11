"""Independent per-category count of OSM objects under keepout's OSM preset table
(docs/OSM_PRESET.md), read straight from the XML (no GDAL, no keepout)."""
import gzip
import xml.etree.ElementTree as ET

POWER_SUB = {"substation", "sub_station", "station"}


def category(tags, kind):
    """The preset table, first match wins; kind is node, way or relation."""
    p = tags.get("power")
    if tags.get("generator:source") == "nuclear" or tags.get("plant:source") == "nuclear":
        return "nuclear"
    if p == "plant":
        return "power_plant"
    if p in POWER_SUB:
        return "substation"
    if p == "generator":
        return "generator"
    if tags.get("waterway") == "dam":
        return "dam"
    if tags.get("man_made") == "bridge":
        return "bridge"
    if tags.get("man_made") == "pipeline":
        return "pipeline"
    if "bridge" in tags and tags["bridge"] != "no":
        return "bridge"
    if kind == "relation" and tags.get("type") == "site" and tags.get("site") == "power_plant":
        return "power_plant"
    return None


def count(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        root = ET.parse(f).getroot()
    nodes = {n.get("id") for n in root.iter("node")}
    ways = {}
    for w in root.iter("way"):
        ways[w.get("id")] = [nd.get("ref") for nd in w.iter("nd")]
    complete = {i for i, refs in ways.items() if len(refs) >= 2 and all(r in nodes for r in refs)}
    out = {}
    for el in root:
        if el.tag not in ("node", "way", "relation"):
            continue
        tags = {t.get("k"): t.get("v") for t in el.iter("tag")}
        c = category(tags, el.tag)
        if not c:
            continue
        if el.tag == "way" and el.get("id") not in complete:
            continue  # no geometry can be built: not a feature
        out[c] = out.get(c, 0) + 1
    return out


def _hstore(text):
    """GDAL's other_tags ('"k"=>"v","k2"=>"v2"') as a dict."""
    out = {}
    if not text:
        return out
    import re
    for k, v in re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', text):
        out[k.replace('\\"', '"')] = v.replace('\\"', '"')
    return out


def count_ogr(path):
    """The same count for files the XML reader cannot read (PBF): every object GDAL's OSM
    driver reports with GDAL's own default osmconf.ini (all tags, none of keepout's
    configuration or filters), classified by category() above."""
    from osgeo import gdal
    gdal.UseExceptions()
    ds = gdal.OpenEx(path, gdal.OF_VECTOR, open_options=["USE_CUSTOM_INDEXING=NO"])
    out = {}
    while True:
        f, layer = ds.GetNextFeature()
        if f is None:
            break
        name = layer.GetName()
        tags = _hstore(f.GetField("other_tags") if f.GetFieldIndex("other_tags") >= 0 else None)
        for i in range(f.GetFieldCount()):
            fn = f.GetFieldDefnRef(i).GetName()
            if fn not in ("other_tags", "osm_id", "osm_way_id", "z_order") and f.IsFieldSet(i):
                tags[fn] = f.GetFieldAsString(i)
        if name == "points":
            kind = "node"
        elif name == "lines" or (name == "multipolygons" and f.IsFieldSet("osm_way_id")):
            kind = "way"
        else:
            kind = "relation"
        c = category(tags, kind)
        if c:
            out[c] = out.get(c, 0) + 1
    return out
