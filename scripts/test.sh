#!/usr/bin/env bash
# README command (2): install the dependencies, build, and run every test.
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
extra=()
if [ "${1:-}" = "--sanitize" ]; then
    build=build-asan
    extra=(-DKEEPOUT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DKEEPOUT_BUILD_BENCH=OFF)
fi

if [ "${KEEPOUT_SKIP_DEPS:-0}" != 1 ]; then bash scripts/install-deps.sh; fi
cmake -S . -B "$build" "${extra[@]}"
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# -LE slow: the 10^6-case property run (tests/property) is run by hand or on a schedule
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE slow
