#!/usr/bin/env bash
# Builds the seed corpus of the `tflite_read` fuzz target in fuzz/corpus/tflite_read/:
#   - the real models: the MediaPipe .tflite files from the cache ($EDGEQUANT_CACHE/models,
#     default $HOME/.cache/edgequant/models; run scripts/setup first) and the tutorial CNN
#     fixtures (fixtures/tutorial_cnn/*.tflite);
#   - small one-operator models cut out of each of them (every op type and option set, a few
#     KB each, so the fuzzer mutates valid structure quickly), written by edgequant itself
#     (example `fuzz_seeds` of crates/tflite).
# Then run, from fuzz/:
#   cargo +nightly fuzz run tflite_read -- -max_len=65536 -max_total_time=300
# (or `RUSTC_BOOTSTRAP=1 cargo fuzz run ...` with a stable toolchain).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${EDGEQUANT_CACHE:-$HOME/.cache/edgequant}"
out="$here/corpus/tflite_read"
mkdir -p "$out"
models=()
for m in "$cache"/models/*.tflite "$root"/fixtures/tutorial_cnn/*.tflite; do
    [ -f "$m" ] && models+=("$m")
done
if [ "${#models[@]}" -eq 0 ]; then
    echo "no .tflite models found in $cache/models: run scripts/setup" >&2
    exit 1
fi
for m in "${models[@]}"; do
    cp "$m" "$out/real_$(basename "$m")"
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo run --release -q -p edgequant-tflite --example fuzz_seeds -- "$out" "${models[@]}")
echo "seed corpus: $(ls "$out" | wc -l) files in $out"
