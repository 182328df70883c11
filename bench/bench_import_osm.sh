#!/usr/bin/env bash
# Issue 22: OSM import rate (sites/s) with and without --prefilter (osmium tags-filter cuts the
# file to the preset's keys before GDAL reads it), in one run, on the real extracts shipped in
# data/sites and tests/data/osm (and ../shared/data/sites/osm when present). Each import goes
# into a fresh store (hyperfine --prepare removes it); medians of RUNS (default 5) runs.
# Not run by ctest.
#   bench/bench_import_osm.sh [BUILD_DIR] [EXTRACT...]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
shift || true
src=$(cd "$(dirname "$0")/.." && pwd)
k=$build/cli/keepout
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -gt 0 ]; then
    files=("$@")
else
    files=("$src"/data/sites/*.osm "$src"/data/sites/*.pbf "$src"/tests/data/osm/gh_monaco.osm.gz)
fi
echo "bench_import_osm: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), osmium $(osmium --version | head -1)"
printf '| extract | MB | objects | sites | plain (s) | sites/s | --prefilter (s) | sites/s | objects kept by the cut | prefilter / plain |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for f in "${files[@]}"; do
    db=$tmp/s.sqlite
    rm -f "$db"*
    "$k" sites import -q --db "$db" --preset osm "$f" >/dev/null 2>&1
    n=$(sqlite3 "$db" "SELECT count(*) FROM sites")
    pbf=osm; case "$f" in *.pbf) pbf=pbf ;; esac
    osmium tags-filter --overwrite --no-progress -f "$pbf" -o "$tmp/cut.$pbf" "$f" \
        nwr/generator:source nwr/plant:source nwr/power nwr/waterway nwr/man_made nwr/bridge \
        r/type >/dev/null 2>&1
    hyperfine -N -r "$runs" --prepare "rm -f $db $db-journal $db.koidx" \
        --export-json "$tmp/h.json" \
        "$k sites import -q --db $db --preset osm $f" \
        "$k sites import -q --db $db --preset osm --prefilter $f" >/dev/null 2>&1
    count() { osmium fileinfo -e -j "$1" 2>/dev/null | /usr/bin/python3 -c \
        'import json,sys; c=json.load(sys.stdin)["data"]["count"]; print(c["nodes"]+c["ways"]+c["relations"])'; }
    /usr/bin/python3 - "$tmp/h.json" "$f" "$n" "$(count "$f")" "$(count "$tmp/cut.$pbf")" <<'PY'
import json, os, sys
r = [x["median"] for x in json.load(open(sys.argv[1]))["results"]]
f, n, whole, cut = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mb = os.path.getsize(f) / 1e6
print(f"| {os.path.basename(f)} | {mb:.2f} | {whole} | {n} | {r[0]:.2f} | {n / r[0]:.0f} | "
      f"{r[1]:.2f} | {n / r[1]:.0f} | {cut / whole:.2f} | {r[1] / r[0]:.2f} |")
PY
done
