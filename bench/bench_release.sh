#!/usr/bin/env bash
# keepout release end to end over N hard links of the real DJI photos, against the loop a user
# writes today: one `gdal_translate -oo MODE=redact KEEPOUT:photo out.jpg` per photo (the GDAL
# driver, the same release policy and redaction), in the same run, and the ratio.
#   bench/bench_release.sh [BUILD_DIR] [N] [PHOTO_DIR]
# PHOTO_DIR defaults to the repository's tests/data/fullframe (two real DJI photos' metadata on
# 4000x2250 pixels: only a frame the camera recorded is redacted, so the 160x90 copies in
# data/images would be held); give the full-size originals (4 MB:
# pierotofy/drone_dataset_brighton_beach images/) for figures on real pixels. Against the
# sample store DJI_0018 is clear (copied) and DJI_0021 flagged (redacted: decoded, blanked,
# encoded again). The two do not write the same thing: release copies clear photos
# byte for byte, keeps EXIF/XMP in redacted ones, writes atomically and keeps a manifest;
# gdal_translate re-encodes every photo at its default quality (75) without metadata. Figures:
# bench/bench_release.md.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-300}
src=$(cd "${3:-$(dirname "$0")/../tests/data/fullframe}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
photos=("$src"/DJI_*.JPG)
for ((i = 0; i < n; i++)); do
    d="$tmp/tree/$((i / 100))"
    [ -d "$d" ] || mkdir -p "$d"
    ln "${photos[i % ${#photos[@]}]}" "$d/IMG_$i.JPG"
done
export KEEPOUT_SITES=$build/data/sites.sqlite GDAL_DRIVER_PATH=$build/plugin
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); awk "BEGIN{print $t1 - $t0}"; }
calc() { awk "BEGIN{print $1}"; }
loop() {
    mkdir -p "$tmp/gt"
    for f in "$tmp"/tree/*/*.JPG; do
        gdal_translate -q -of JPEG -oo MODE=redact "KEEPOUT:$f" "$tmp/gt/$(basename "$f")" || true
    done
}
cat "$tmp"/tree/*/*.JPG >/dev/null   # same warm page cache for both
kr=$(secs "$build/cli/keepout" release -q --to "$tmp/out" --hold "$tmp/hold" "$tmp/tree")
gt=$(secs loop)
released=$(find "$tmp/out" -name '*.JPG' | wc -l)
written=$(find "$tmp/gt" -name '*.JPG' | wc -l)
echo "keepout release vs a gdal_translate -oo MODE=redact loop, $n photos from $src:"
printf "  keepout release  %8.2f s  %8.1f photos/s  (%d in OUT)\n" "$kr" "$(calc "$n / $kr")" "$released"
printf "  gdal_translate   %8.2f s  %8.1f photos/s  (%d written)\n" "$gt" "$(calc "$n / $gt")" "$written"
printf "  ratio (loop / release): %.1fx\n" "$(calc "$gt / $kr")"
