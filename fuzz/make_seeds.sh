#!/usr/bin/env bash
# Builds the committed seed corpora fuzz/seeds/<target>/ of every fuzz target from the real
# fixtures (kept small: a few hundred KB in all):
#   tflite_read      one-operator models cut out of the committed .tflite fixtures
#                    (fixtures/tutorial_cnn, fixtures/int_models) and, when the test cache exists,
#                    the MediaPipe models, by example `fuzz_seeds` of crates/tflite; those of
#                    at most $MAX_MODEL bytes;
#   onnx_read        the ONNX backend node-test models of crates/onnx/tests/node_tests.txt of
#                    at most $MAX_MODEL bytes (needs the cache of scripts/setup);
#   inspect_convert  a subset of both;
#   npy_read, npz_read, idx_read
#                    small arrays of every dtype/header version/compression cut from the real
#                    MNIST subset in fixtures/mnist_subset (fuzz/make_data_seeds.py, numpy from
#                    the test venv).
# Fuzzing then uses fuzz/corpus/<target> (gitignored, grows) with the seeds as a second,
# read-only corpus directory, e.g. from fuzz/:
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O npy_read corpus/npy_read seeds/npy_read -- -runs=10000000
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${EDGEQUANT_CACHE:-$HOME/.cache/edgequant}"
seeds="$here/seeds"
MAX_MODEL="${MAX_MODEL:-1536}"
py="$cache/venv/bin/python"
[ -x "$py" ] || { echo "no test venv at $cache/venv: run scripts/setup" >&2; exit 1; }
rm -rf "$seeds"
mkdir -p "$seeds"/{tflite_read,onnx_read,inspect_convert}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

models=("$root"/fixtures/tutorial_cnn/*.tflite "$root"/fixtures/int_models/*.tflite)
for m in "$cache"/models/*.tflite; do [ -f "$m" ] && models+=("$m"); done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$tmp/ops"
(cd "$root" && cargo run --release -q -p edgequant-tflite --example fuzz_seeds -- "$tmp/ops" "${models[@]}")
find "$tmp/ops" -type f -size -"$((MAX_MODEL + 1))"c -print0 | sort -z |
    xargs -0 -I{} cp {} "$seeds/tflite_read/"

nodes="$cache/onnx-node-tests"
[ -d "$nodes" ] || { echo "no ONNX node tests in $nodes: run scripts/setup" >&2; exit 1; }
grep -v '^\s*#' "$root/crates/onnx/tests/node_tests.txt" | sed 's/#.*//' | while read -r t; do
    if [ -n "$t" ] && [ -f "$nodes/$t/model.onnx" ] &&
        [ "$(wc -c < "$nodes/$t/model.onnx")" -le "$MAX_MODEL" ]; then
        cp "$nodes/$t/model.onnx" "$seeds/onnx_read/$t.onnx"
    fi
done

# inspect_convert: every 6th model of each of the two lists.
for d in tflite_read onnx_read; do
    ls "$seeds/$d" | sort | awk 'NR % 6 == 1' | while read -r f; do
        cp "$seeds/$d/$f" "$seeds/inspect_convert/"
    done
done

"$py" "$here/make_data_seeds.py" "$root/fixtures" "$seeds"
for d in "$seeds"/*; do
    echo "$(basename "$d"): $(ls "$d" | wc -l) files, $(cat "$d"/* | wc -c) bytes"
done
echo "total: $(cat "$seeds"/*/* | wc -c) bytes"
