#!/usr/bin/env bash
# Cold start of the one `keepout` binary: `keepout check PHOTO` (one process: read the photo's
# metadata, open the site store, one footprint, one query) against `gdalinfo PHOTO` (GDAL's
# own start-up and the same JPEG's header), pair by pair in the same run (hyperfine). The
# target (issue 18) is a ratio within 1.2.   bench/bench_cold.sh [BUILD_DIR] [PHOTO]
set -euo pipefail
build=${1:-build}
photo=${2:-$(dirname "$0")/../data/images/DJI_0018.JPG}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KEEPOUT_SITES=$build/data/sites.sqlite
hyperfine -N -i -w 3 -r 30 --export-json "$tmp/t.json" \
    "$build/cli/keepout check -q $photo" "gdalinfo $photo" >/dev/null 2>&1 || true
/usr/bin/python3 - "$tmp/t.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
k, g = r[0], r[1]
print(f"keepout check: median {k['median']*1e3:7.1f} ms   gdalinfo: median {g['median']*1e3:7.1f} ms")
print(f"ratio (medians): {k['median'] / g['median']:.2f}   (target <= 1.2)")
PY
