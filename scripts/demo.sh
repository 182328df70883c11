#!/usr/bin/env bash
# README command (1): install the dependencies, build, and run keepout on the bundled samples.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${KEEPOUT_SKIP_DEPS:-0}" != 1 ]; then bash scripts/install-deps.sh; fi
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)"
echo
echo "== keepout footprint: ground footprints of the bundled Brighton Beach telemetry (CSV)"
./build/cli/keepout footprint --format csv data/telemetry/brighton_beach.csv | cut -c1-150
echo
echo "== keepout check: the same shots against the bundled sample site store"
echo "   (build/data/sites.sqlite: Bremen and Liechtenstein OSM, Swiss WRI plants and UAS zones,"
echo "   and one made-up demo site beside the Brighton Beach photos)"
./build/cli/keepout check --format table data/images data/telemetry/brighton_beach.csv || true
echo
echo "(exit status 1: something is flagged. 'keepout check --help' explains the rules.)"
