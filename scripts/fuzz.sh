#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for a
# bounded time on a copy of its seed corpus. Exits non-zero on any crash, leak or UB report.
# Every tests/fuzz/corpus/<name>/ is a target fuzz_<name>.
#   FUZZ_SECONDS=30 scripts/fuzz.sh             seconds per target (default 30)
#   FUZZ_SEED=1 scripts/fuzz.sh                 same mutations every run (CI: a red build must be
#                                               reproducible)
#   FUZZ_TARGETS="csv import" scripts/fuzz.sh   only these targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
seed=()
[ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a names <<< "$FUZZ_TARGETS"
else
    names=()
    for d in tests/fuzz/corpus/*/; do names+=("$(basename "$d")"); done
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DKEEPOUT_BUILD_FUZZERS=ON -DKEEPOUT_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${names[@]/#/fuzz_}"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Known leaks inside GEOS (tests/lsan.supp) are matched by the stack of their allocation, which
# the fast unwinder cannot follow through GEOS's C++ frames. The full one is slow on every
# malloc (30 s, seed 1: fuzz_packed 19,500 runs -> 6,000; fuzz_import, all GDAL, 1,500 -> 55),
# so only the targets that reach GEOS overlays on arbitrary geometry get it.
full_unwind=" packed index "
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
for name in "${names[@]}"; do
    work=$(mktemp -d)
    cp tests/fuzz/corpus/$name/* "$work/"
    rm -f "$work/README.md"
    echo "== fuzz_$name for ${seconds}s"
    rc=0
    unwind=1
    [[ "$full_unwind" == *" $name "* ]] && unwind=0
    ASAN_OPTIONS=fast_unwind_on_malloc=$unwind \
        ./build-fuzz/tests/fuzz/fuzz_$name "${seed[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -artifact_prefix="$work/" -print_final_stats=1 "$work" > "$work.log" 2>&1 || rc=$?
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done" "$work.log" || true
    if [ "$rc" -ne 0 ]; then
        echo "fuzz_$name failed (exit $rc):"
        grep -E "ERROR|SUMMARY|runtime error" "$work.log" | head -20
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
        exit 1
    fi
    rm -rf "$work" "$work.log"
done
echo "fuzzers ran clean"
