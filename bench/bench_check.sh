#!/usr/bin/env bash
# keepout check throughput: N telemetry poses (half a DJI FC300S with its Brown distortion, half
# a pinhole camera, grouped by camera as a survey archive is) over the Bremen sample store
# (~2,300 of 20,000 footprints hit a site), against another build of keepout in the same run
# (the footprint changes of issue 16 were held to <= 10 % against the build before them).
#   bench/bench_check.sh [BUILD_DIR] [BASE_BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}
base=${2:-}
n=${3:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$n" > "$tmp/poses.csv" <<'PY'
import random, sys
n = int(sys.argv[1])
r = random.Random(16)
print("id,lat,lon,height,yaw,pitch,roll,focal_mm,sensor_w_mm,sensor_h_mm,width_px,height_px,k1,k2,k3")
for cam in (0, 1):
    for i in range(n // 2):
        k = "-0.26,0.045,0" if cam == 0 else "0,0,0"
        print(f"p{cam}_{i},{r.uniform(53.0, 53.15):.7f},{r.uniform(8.6, 8.95):.7f},"
              f"{r.uniform(30, 120):.2f},{r.uniform(0, 360):.2f},{r.uniform(-90, -30):.2f},"
              f"{r.uniform(-3, 3):.2f},3.61,6.17,3.47,4000,2250,{k}")
PY
export KEEPOUT_SITES=${KEEPOUT_SITES:-$build/data/sites.sqlite}
cpu() { # user + sys seconds of one run (the child's rusage)
    /usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(u.ru_utime + u.ru_stime)' "$@"
}
best() { local b=1e9 t; for _ in 1 2 3; do t=$(cpu "$@"); b=$(awk "BEGIN{print ($t < $b) ? $t : $b}"); done; echo "$b"; }
a=$(best "$build/cli/keepout" check -q --format csv "$tmp/poses.csv")
printf "keepout check, %d poses: %.2f s CPU, %.0f poses/s\n" "$n" "$a" "$(awk "BEGIN{print $n / $a}")"
if [ -n "$base" ]; then
    b=$(best "$base/cli/keepout" check -q --format csv "$tmp/poses.csv")
    printf "base build:            %.2f s CPU, %.0f poses/s (this / base CPU: %.3f)\n" "$b" \
        "$(awk "BEGIN{print $n / $b}")" "$(awk "BEGIN{print $a / $b}")"
fi
