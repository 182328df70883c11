#!/usr/bin/env bash
# keepout route on a 50 km survey (10 lines of 5 km, a photo every 2.5 m: 20,000 exposures)
# against the 10^6-site store of bench_index, end to end (read plan, footprints, batch index,
# remedies, report). Baseline in the same run: the same 20,000 poses as a telemetry CSV
# through `keepout check` (what a user without a route checker would do).
#   bench/bench_route.sh [BUILD_DIR] [N_SITES]
set -euo pipefail
build=${1:-build}
nsites=${2:-1000000}
store=/tmp/keepout_bench_$nsites.sqlite
[ -f "$store" ] || "$build/bench/bench_index" "$nsites" 1000 "$store" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=$(command -v /usr/bin/python3 || command -v python3)
"$py" - "$tmp/survey.plan" <<'PY'
import json, math, sys
# Lawnmower over central Germany (inside bench_index's 5..15 E, 47..55 N extent).
lat0, lon0, lines, length, gap = 51.0, 10.0, 10, 5000.0, 60.0
kx, ky = 111320.0 * math.cos(math.radians(lat0)), 111132.0
items, seq = [], 1
def item(cmd, frame, params):
    global seq
    items.append({"type": "SimpleItem", "command": cmd, "frame": frame, "doJumpId": seq,
                  "autoContinue": True, "params": params})
    seq += 1
item(206, 2, [2.5, 0, 1, 0, 0, 0, 0])             # DO_SET_CAM_TRIGG_DIST 2.5 m
for i in range(lines):
    y = i * gap
    xs = (0.0, length) if i % 2 == 0 else (length, 0.0)
    for x in xs:
        item(16, 3, [0, 0, 0, None, lat0 + y / ky, lon0 + x / kx, 60])
plan = {"fileType": "Plan", "version": 1, "groundStation": "keepout bench",
        "mission": {"version": 2, "firmwareType": 12, "vehicleType": 2, "cruiseSpeed": 10,
                    "hoverSpeed": 5, "plannedHomePosition": [lat0, lon0, 300], "items": items},
        "geoFence": {"version": 2, "polygons": [], "circles": []},
        "rallyPoints": {"version": 2, "points": []}}
json.dump(plan, open(sys.argv[1], "w"))
PY
ko="$build/cli/keepout"
args=(--db "$store" --camera focal35=24,size=4000x3000 --gimbal-pitch -90 -q)
t0=$(date +%s.%N)
"$ko" route "${args[@]}" --format jsonl -o "$tmp/route.jsonl" "$tmp/survey.plan" || true
t1=$(date +%s.%N)
n=$(grep -c '"kind":"exposure"' "$tmp/route.jsonl")
flagged=$(grep '"kind":"exposure"' "$tmp/route.jsonl" | grep -c '"verdict":"flagged"' || true)
# The same poses as telemetry rows for keepout check.
"$py" - "$tmp/route.jsonl" "$tmp/poses.csv" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
out.write("id,lat,lon,height,yaw,pitch,roll,focal35_mm,width_px,height_px\n")
for line in open(sys.argv[1]):
    f = json.loads(line)
    p = f["properties"]
    if p["kind"] != "exposure":
        continue
    out.write(f'{p["exposure"]},{p["camera_lat"]},{p["camera_lon"]},{p["height_m"]},'
              f'{p["yaw_deg"]},{p["pitch_deg"]},0,24,4000,3000\n')
PY
t2=$(date +%s.%N)
"$ko" check --db "$store" -q --format jsonl -o "$tmp/check.jsonl" "$tmp/poses.csv" || true
t3=$(date +%s.%N)
cflagged=$(grep -c '"verdict":"flagged"' "$tmp/check.jsonl" || true)
awk -v n="$n" -v f="$flagged" -v cf="$cflagged" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
    -v t3="$t3" -v s="$nsites" 'BEGIN { r = t1 - t0; c = t3 - t2
    printf "keepout route, 50 km survey, %d exposures, %d-site store:\n", n, s
    printf "  route (plan -> report)      %7.2f s  %8.0f exposures/s  (%d flagged)\n", r, n / r, f
    printf "  check on the same poses     %7.2f s  %8.0f exposures/s  (%d flagged)\n", c, n / c, cf
    printf "  ratio route/check           %7.2fx\n", c / r }'
