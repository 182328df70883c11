#!/usr/bin/env bash
# keepout tag into PostGIS by 1, 2 and 4 shards running at the same time (one catalogue, a new
# database each time) against one GeoPackage run of the same files, in the same run: files/s
# of each and the ratio to the GeoPackage run.
#   bench/bench_tag_pg.sh [BUILD_DIR] [N] [ROUNDS]     (N hard links, default 10,000; ROUNDS 3)
# Each shard is `keepout tag -q --jobs 1 --shard K/S`; the GeoPackage run is `--jobs 1` and
# `--jobs $(nproc)`. The figure of each is the median of ROUNDS rounds (the rounds alternate
# the configurations, so a slow phase of the machine hits them all). Starts its own
# PostgreSQL 15 + PostGIS (Debian postgresql-15-postgis-3) on a Unix socket in a temporary
# directory, with the server's default settings (fsync and synchronous_commit on); needs root
# (initdb runs as the user postgres). Not run by ctest.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-10000}
rounds=${3:-3}
src=$(cd "$(dirname "$0")/../data/images" && pwd)
pgbin=/usr/lib/postgresql/15/bin
keepout=$build/cli/keepout
export KEEPOUT_SITES=$build/data/sites.sqlite

tmp=$(mktemp -d)
chmod 755 "$tmp"
mkdir "$tmp/pg" "$tmp/sock"
chown postgres "$tmp/pg" "$tmp/sock"
port=5432 # a Unix socket in $tmp/sock only: no TCP port to collide with
as_pg() { runuser -u postgres -- "$@"; }
stop() {
    as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap stop EXIT
as_pg "$pgbin/initdb" -D "$tmp/pg" --auth=trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -w -l "$tmp/pg/log" \
    -o "-p $port -k $tmp/sock -c listen_addresses=''" start >/dev/null
psql() { as_pg "$pgbin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$tmp/sock" -p $port "$@"; }

photos=("$src"/DJI_*.JPG)
for ((i = 0; i < n; i++)); do
    d="$tmp/tree/$((i / 500))"
    [ -d "$d" ] || mkdir -p "$d"
    ln "${photos[i % ${#photos[@]}]}" "$d/IMG_$i.JPG"
done
cat "$tmp"/tree/*/*.JPG >/dev/null # same warm page cache for everyone

now() { date +%s.%N; }
calc() { awk "BEGIN{print $1}"; }
db=0
# S shards at once into a new PostGIS database: seconds; checks every file was catalogued once
shards() {
    local s=$1 t0 t1 k got
    db=$((db + 1))
    psql -d postgres -c "CREATE DATABASE b$db"
    psql -d "b$db" -c "CREATE EXTENSION postgis"
    local conn="PG:host=$tmp/sock port=$port dbname=b$db user=postgres"
    local pids=()
    t0=$(now)
    for ((k = 1; k <= s; k++)); do
        "$keepout" tag -q --jobs 1 --shard "$k/$s" --catalog "$conn" "$tmp/tree" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || [ $? -eq 1 ]; done
    t1=$(now)
    got=$(psql -d "b$db" -c "SELECT count(*) FROM files")
    [ "$got" -eq "$n" ] || { echo "$s shards catalogued $got of $n files" >&2; exit 1; }
    psql -d postgres -c "DROP DATABASE b$db"
    calc "$t1 - $t0"
}
gpkg() {
    local t0 t1
    rm -f "$tmp/g.gpkg"
    t0=$(now)
    "$keepout" tag -q --jobs "$1" --catalog "$tmp/g.gpkg" "$tmp/tree" || [ $? -eq 1 ]
    t1=$(now)
    calc "$t1 - $t0"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A t
cores=$(nproc)
configs=("pg 1" "pg 2" "pg 4" "gpkg 1" "gpkg $cores")
for ((r = 0; r < rounds; r++)); do
    for c in "${configs[@]}"; do
        set -- $c
        if [ "$1" = pg ]; then x=$(shards "$2"); else x=$(gpkg "$2"); fi
        t[$c]="${t[$c]:-} $x"
    done
done
g1=$(median ${t["gpkg 1"]})
echo "keepout tag, $n photos, $cores cores, median of $rounds rounds (seconds of every round):"
for c in "${configs[@]}"; do
    set -- $c
    m=$(median ${t[$c]})
    if [ "$1" = pg ]; then label="PostGIS, $2 shard(s) at once"; else label="GeoPackage, --jobs $2"; fi
    printf "  %-30s %7.2f s %7.0f files/s  %5.2fx the GeoPackage --jobs 1 run  (%s )\n" \
        "$label" "$m" "$(calc "$n / $m")" "$(calc "$g1 / $m")" "${t[$c]}"
done
