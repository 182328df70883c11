#!/usr/bin/env bash
# keepout tag end to end over 10,000 hard links of the real DJI photos (full size, 4 MB each),
# against exiftool -n -j -r over the same tree (metadata only, one process), in the same run;
# and keepout's scaling from 1 to 2 jobs.   bench/bench_tag.sh [BUILD_DIR] [N] [PHOTO_DIR]
# PHOTO_DIR defaults to the repository's data/images (the same real photos shrunk to 160x90 with
# every metadata segment kept: tag reads only the header, but the figures in bench_tag.md were
# taken on the full-size 4 MB originals, pierotofy/drone_dataset_brighton_beach images/).
set -euo pipefail
build=${1:-build}
n=${2:-10000}
src=$(cd "${3:-$(dirname "$0")/../data/images}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
photos=("$src"/DJI_*.JPG)
for ((i = 0; i < n; i++)); do
    d="$tmp/tree/$((i / 500))"
    [ -d "$d" ] || mkdir -p "$d"
    ln "${photos[i % ${#photos[@]}]}" "$d/IMG_$i.JPG"
done
export KEEPOUT_SITES=$build/data/sites.sqlite
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); awk "BEGIN{print $t1 - $t0}"; }
calc() { awk "BEGIN{print $1}"; }
cat "$tmp"/tree/*/*.JPG >/dev/null   # same warm page cache for everyone
k1=$(secs "$build/cli/keepout" tag -q --jobs 1 --catalog "$tmp/a.gpkg" "$tmp/tree")
k2=$(secs "$build/cli/keepout" tag -q --jobs 2 --catalog "$tmp/b.gpkg" "$tmp/tree")
ex=$(secs exiftool -n -j -r -q "$tmp/tree")
rows=$(ogrinfo -ro -q "$tmp/b.gpkg" -sql "SELECT count(*) FROM files" | grep -oE '= [0-9]+' | tr -dc 0-9)
echo "keepout tag, $n photos ($rows catalogued):"
printf "  jobs 1   %8.2f s  %8.0f files/s\n" "$k1" "$(calc "$n / $k1")"
printf "  jobs 2   %8.2f s  %8.0f files/s  (scaling 1->2: %.2fx)\n" "$k2" "$(calc "$n / $k2")" "$(calc "$k1 / $k2")"
printf "  exiftool %8.2f s  %8.0f files/s  (keepout jobs 1: %.0fx, jobs 2: %.0fx)\n" "$ex" \
    "$(calc "$n / $ex")" "$(calc "$ex / $k1")" "$(calc "$ex / $k2")"
