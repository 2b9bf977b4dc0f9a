#!/usr/bin/env bash
# Builds the seed corpus of the `onnx_read` fuzz target in fuzz/corpus/onnx_read/: the
# model.onnx of every ONNX backend node test listed in crates/onnx/tests/node_tests.txt
# (one-op models, a few hundred bytes each) and the small rapidocr classifier. Needs the test
# material of scripts/setup ($EDGEQUANT_CACHE, default $HOME/.cache/edgequant). Then, from fuzz/:
#   cargo +nightly fuzz run onnx_read -- -max_len=65536 -max_total_time=300
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${EDGEQUANT_CACHE:-$HOME/.cache/edgequant}"
nodes="$cache/onnx-node-tests"
[ -d "$nodes" ] || { echo "no ONNX node tests in $nodes: run scripts/setup" >&2; exit 1; }
out="$here/corpus/onnx_read"
mkdir -p "$out"
grep -v '^\s*#' "$root/crates/onnx/tests/node_tests.txt" | sed 's/#.*//' | while read -r t; do
    [ -n "$t" ] && [ -f "$nodes/$t/model.onnx" ] && cp "$nodes/$t/model.onnx" "$out/$t.onnx"
done
cls="$cache/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
[ -f "$cls" ] && cp "$cls" "$out/"
echo "seed corpus: $(ls "$out" | wc -l) files in $out"
