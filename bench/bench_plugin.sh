#!/usr/bin/env bash
# The KEEPOUT driver's cost: gdal_translate of a full-size real DJI photo (4000x2250) through
# KEEPOUT: (MODE=tag) against a plain gdal_translate of the same photo, and gdalinfo of an
# ordinary GeoTIFF with and without the plugin loaded. Prints the ratios (hyperfine, same run).
#   bench/bench_plugin.sh [BUILD_DIR] [PHOTO]
# PHOTO defaults to the repository's data/images/DJI_0018.JPG, shrunk to 160x90: pass the
# full-size original (pierotofy/drone_dataset_brighton_beach images/DJI_0018.JPG) for the
# figures of a 4000x2250 translate.
set -euo pipefail
build=${1:-build}
photo=${2:-$(dirname "$0")/../data/images/DJI_0018.JPG}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KEEPOUT_SITES=$build/data/sites.sqlite
gdal_translate -q -of GTiff "$photo" "$tmp/plain.tif"
hyperfine -N -w 2 -r 10 --export-json "$tmp/t.json" \
    "gdal_translate -q $photo $tmp/a.tif" \
    "env GDAL_DRIVER_PATH=$build/plugin gdal_translate -q KEEPOUT:$photo $tmp/b.tif" \
    "env GDAL_DRIVER_PATH=$tmp gdalinfo $tmp/plain.tif" \
    "env GDAL_DRIVER_PATH=$build/plugin gdalinfo $tmp/plain.tif" >/dev/null
/usr/bin/python3 - "$tmp/t.json" <<'PY'
import json, sys
r = [x["mean"] for x in json.load(open(sys.argv[1]))["results"]]
print(f"gdal_translate photo: plain {r[0]*1e3:.1f} ms, KEEPOUT MODE=tag {r[1]*1e3:.1f} ms "
      f"-> ratio {r[1]/r[0]:.2f}x (target <= 1.2x)")
print(f"gdalinfo GeoTIFF: without plugin {r[2]*1e3:.1f} ms, with {r[3]*1e3:.1f} ms "
      f"-> ratio {r[3]/r[2]:.2f}x")
PY
