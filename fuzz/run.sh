#!/usr/bin/env bash
# Runs fuzz targets one after another, each for a fixed number of executions, and appends one
# line per target (start, end, exit code, executions) to $FUZZ_LOG (default fuzz/runs.log).
#
#   fuzz/run.sh [--runs N] [--build] TARGET[:asan|:plain] ...
#
# :asan (the default) builds with AddressSanitizer (cargo fuzz's default); :plain builds
# without a sanitizer but with debug assertions (overflow checks on), 3-4x faster, used for the
# pure-Rust data readers (npy_read, npz_read, idx_read). Each run uses corpus/TARGET (grown
# across runs, not committed) plus the committed seeds/TARGET, with the limits of
# docs/RELIABILITY.md: -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10.
# Crash, timeout and out-of-memory inputs are written to fuzz/ (artifact_prefix) and end the
# run with a non-zero code. Needs `cargo install cargo-fuzz` and a nightly-capable toolchain
# (RUSTC_BOOTSTRAP=1 is set here).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
RUNS=10000000
BUILD=0
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --build) BUILD=1; shift ;;
        -h|--help) sed -n '2,14p' "$HERE/$(basename "$0")"; exit 0 ;;
        -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || { echo "fuzz/run.sh: name at least one target" >&2; exit 2; }
LOG=${FUZZ_LOG:-$HERE/runs.log}
ASAN_DIR=${CARGO_TARGET_DIR:-$HERE/target}
PLAIN_DIR=${FUZZ_PLAIN_TARGET_DIR:-$HERE/target-plain}
export RUSTC_BOOTSTRAP=1
if [ "$BUILD" = 1 ]; then
    CARGO_TARGET_DIR=$ASAN_DIR cargo fuzz build -O
    CARGO_TARGET_DIR=$PLAIN_DIR cargo fuzz build -O -s none -a
fi
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
for spec in "${TARGETS[@]}"; do
    t=${spec%%:*}
    kind=asan
    [ "$spec" = "$t" ] || kind=${spec#*:}
    case "$kind" in
        asan) bin=$ASAN_DIR/$TRIPLE/release/$t ;;
        plain) bin=$PLAIN_DIR/$TRIPLE/release/$t ;;
        *) echo "fuzz/run.sh: unknown build '$kind' (asan or plain)" >&2; exit 2 ;;
    esac
    [ -x "$bin" ] || { echo "fuzz/run.sh: $bin not built (pass --build)" >&2; exit 2; }
    mkdir -p "corpus/$t"
    out=$HERE/run_$t.log
    echo "$(date -u +%FT%TZ) start $t ($kind, $(git -C "$HERE" rev-parse --short HEAD))" >> "$LOG"
    rc=0
    "$bin" "corpus/$t" "seeds/$t" -max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -timeout=10 -runs="$RUNS" -print_final_stats=1 > "$out" 2>&1 || rc=$?
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
    echo "$(date -u +%FT%TZ) end $t exit=$rc executions=${n:-?}" >> "$LOG"
done
