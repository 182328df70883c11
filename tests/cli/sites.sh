#!/bin/sh
# CLI test of `keepout sites`: import, idempotent re-import, info, list, export, query, errors.
# usage: sites.sh KEEPOUT DATA_DIR [LAZY]   (LAZY=1: keepout loads GDAL on first use)
set -u
K=$1
DATA=$2
LAZY=${3:-0}
T=$(mktemp -d /tmp/keepout_cli_XXXXXX)
trap 'rm -rf "$T"' EXIT
DB=$T/sites.sqlite
fail() { echo "FAIL: $*" >&2; exit 1; }

"$K" sites import --db "$DB" --preset osm "$DATA/sites/bremen_power.osm" 2>"$T/err" || fail "import exit $?"
grep -q "read 580, imported 580, updated 0, repaired 0, rejected 0" "$T/err" || fail "import counts: $(cat "$T/err")"
"$K" sites import --db "$DB" --preset osm "$DATA/sites/bremen_power.osm" 2>"$T/err" || fail "re-import"
grep -q "imported 0, updated 580" "$T/err" || fail "re-import counts: $(cat "$T/err")"

"$K" sites import --db "$DB" "$DATA/sites/wri_switzerland.csv" 2>"$T/err" || fail "csv import"
grep -q "read 647, imported 178, updated 0, repaired 0, rejected 469" "$T/err" || fail "csv counts: $(cat "$T/err")"
grep -q "row 1: rejected: no geometry" "$T/err" || fail "csv reasons"

"$K" sites info --db "$DB" >"$T/info" || fail "info"
grep -q "substation" "$T/info" || fail "info categories"
grep -q "store version:  3" "$T/info" || fail "info version: $(cat "$T/info")"
"$K" sites info --db "$DB" --format json | grep -q '"bremen_power.osm": 580' || fail "info json"

n=$("$K" sites list --db "$DB" --format csv | wc -l)
[ "$n" -eq 759 ] || fail "list csv has $n lines, expected 759"
n=$("$K" sites list --db "$DB" --category nuclear --format jsonl | wc -l)
[ "$n" -eq 4 ] || fail "list nuclear has $n lines"

"$K" sites export --db "$DB" --category substation "$T/sub.geojson" || fail "export"
grep -q FeatureCollection "$T/sub.geojson" || fail "export content"

# Missing source and unknown format: exit 2, store unchanged.
"$K" sites import --db "$DB" "$T/nope.geojson" 2>"$T/err"
[ $? -eq 2 ] || fail "missing source exit"
echo "not gis" >"$T/x.xyz"
"$K" sites import --db "$DB" "$T/x.xyz" 2>"$T/err"
[ $? -eq 2 ] || fail "bad format exit"
"$K" sites info --db "$DB" | grep -q "store version:  3" || fail "store changed by a failed import"

# A footprint over Bremen's Mittelsbueren power plant area shows sites: exit 1.
"$K" sites query --db "$DB" --ring "8.68 53.12,8.72 53.12,8.72 53.14,8.68 53.14" --camera 8.70,53.11 >"$T/q" 2>/dev/null
rc=$?
[ $rc -eq 1 ] || fail "query exit $rc"
grep -q '"category"' "$T/q" || fail "query output"
"$K" sites query --db "$DB" --packed --ring "8.68 53.12,8.72 53.12,8.72 53.14,8.68 53.14" --camera 8.70,53.11 >"$T/q2" 2>/dev/null
cmp -s "$T/q" "$T/q2" || fail "packed and on-disk query differ"

# One executable does every command. Where it loads GDAL, SpatiaLite and PROJ on first use
# (LAZY=1: cli/lazy/), `sites query` (SQLite and GEOS) loads none of them, and the commands
# above, which need them, found them.
if [ "$LAZY" = 1 ]; then
    if readelf -d "$K" | grep -qE 'libgdal|libspatialite|libproj'; then
        fail "keepout loads GDAL, SpatiaLite or PROJ at start: $(readelf -d "$K" | grep NEEDED)"
    fi
    LD_DEBUG=files "$K" sites query -q --db "$DB" --ring "8.68 53.12,8.72 53.12,8.72 53.14,8.68 53.14" \
        --camera 8.70,53.11 >"$T/q3" 2>"$T/ld"
    cmp -s "$T/q" "$T/q3" || fail "the query answers differently under LD_DEBUG"
    grep -q 'libsqlite3' "$T/ld" || fail "LD_DEBUG=files listed no libraries: $(head -3 "$T/ld")"
    if grep -qE 'libgdal|libspatialite|libproj' "$T/ld"; then
        fail "sites query loaded GDAL, SpatiaLite or PROJ: $(grep -oE 'lib(gdal|spatialite|proj)[^ ]*' "$T/ld" | head -3)"
    fi
fi
# The on-disk R-tree and the packed index answer alike, hits and exit status, over many
# footprints (a grid over Bremen).
hits=0
for x in 8.60 8.64 8.68 8.72 8.76; do
    for y in 53.08 53.10 53.12 53.14; do
        x1=$(awk "BEGIN { print $x + 0.03 }"); y1=$(awk "BEGIN { print $y + 0.015 }")
        ring="$x $y,$x1 $y,$x1 $y1,$x $y1"
        "$K" sites query -q --db "$DB" --ring "$ring" --camera "$x,$y" >"$T/l" 2>"$T/le"
        rl=$?
        "$K" sites query -q --packed --db "$DB" --ring "$ring" --camera "$x,$y" >"$T/f" 2>"$T/fe"
        rf=$?
        [ $rl -eq $rf ] || fail "on-disk exit $rl, packed $rf at $ring"
        cmp -s "$T/l" "$T/f" || fail "on-disk and packed answer differently at $ring"
        hits=$((hits + $(wc -l <"$T/l")))
    done
done
[ $hits -gt 20 ] || fail "the grid found only $hits hits"
"$K" sites query --db "$DB" --ring "8.68 53.12,8.72 53.12" --camera 8.70,53.11 2>"$T/e"
[ $? -eq 2 ] || fail "bad ring exit"
grep -q "needs --ring" "$T/e" || fail "bad ring message: $(cat "$T/e")"
"$K" sites query --db "$T/none.sqlite" --ring "8.68 53.12,8.72 53.12,8.72 53.14" --camera 8.7,53.1 2>"$T/e"
[ $? -eq 2 ] || fail "query: missing store exit"
grep -q "no such site store" "$T/e" || fail "query: missing store message: $(cat "$T/e")"
"$K" sites query --bogus 2>"$T/e"
[ $? -eq 2 ] || fail "unknown option exit"
grep -q "usage: keepout sites" "$T/e" || fail "unknown option: no usage: $(cat "$T/e")"

"$K" sites info --db "$T/none.sqlite" 2>/dev/null
[ $? -eq 2 ] || fail "missing store exit"
"$K" sites 2>/dev/null
[ $? -eq 2 ] || fail "usage exit"
echo "cli sites: ok"
