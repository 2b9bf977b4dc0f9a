//! Models written by edgequant load and run in LiteRT (ai-edge-litert, the TFLite runtime) and
//! compute exactly what the original file computes.

mod common;

use common::{
    litert_python, mixed_graph, model_path, scratch_dir, tutorial_fixtures, zoo_graph, MEDIAPIPE,
};
use edgequant_tflite::{read_model, write_model, write_tflite_model};
use std::path::PathBuf;
use std::process::Command;

/// For each `ORIGINAL=WRITTEN` argument: load WRITTEN in LiteRT, feed seeded random inputs,
/// invoke, check that every tensor's run-time shape is the shape stored in the file; if
/// ORIGINAL is not `-`, run it on the same inputs and require identical outputs.
const COMPARE: &str = r#"
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter

def run(path):
    it = Interpreter(model_path=path)
    stored = {d["index"]: list(d["shape"]) for d in it.get_tensor_details()}
    it.allocate_tensors()
    rng = np.random.default_rng(1234)
    for d in it.get_input_details():
        if np.issubdtype(d["dtype"], np.floating):
            x = rng.standard_normal(d["shape"]).astype(d["dtype"])
        else:
            i = np.iinfo(d["dtype"])
            x = rng.integers(i.min, i.max, d["shape"], endpoint=True).astype(d["dtype"])
        it.set_tensor(d["index"], x)
    it.invoke()
    # The shapes LiteRT computes must be the ones stored in the file.
    for d in it.get_tensor_details():
        if d["index"] in stored and list(d["shape"]) != stored[d["index"]]:
            raise RuntimeError(f"tensor {d['name']}: LiteRT shape {list(d['shape'])}, "
                               f"file shape {stored[d['index']]}")
    return [(d["name"], it.get_tensor(d["index"]).copy()) for d in it.get_output_details()]

bad = 0
for arg in sys.argv[1:]:
    orig, written = arg.split("=", 1)
    try:
        out = run(written)
    except Exception as e:
        print(f"FAIL {written}: LiteRT: {e}")
        bad += 1
        continue
    if orig == "-":
        finite = all(np.isfinite(o.astype(np.float64)).all() for _, o in out)
        print(f"{'ok' if finite else 'FAIL'} {written}: ran, {len(out)} outputs, finite={finite}")
        bad += 0 if finite else 1
        continue
    ref = run(orig)
    same = len(ref) == len(out) and all(
        a[0] == b[0] and a[1].shape == b[1].shape and np.array_equal(a[1], b[1])
        for a, b in zip(ref, out))
    if not same:
        diffs = [float(np.max(np.abs(a[1].astype(np.float64) - b[1].astype(np.float64))))
                 if a[1].shape == b[1].shape else "shape" for a, b in zip(ref, out)]
        print(f"FAIL {written}: outputs differ from {orig}: {diffs}")
        bad += 1
    else:
        print(f"ok {written}: {len(out)} outputs identical to the original")
sys.exit(1 if bad else 0)
"#;

#[test]
fn written_models_run_in_litert_like_the_originals() {
    let python = litert_python();
    let dir = scratch_dir("litert");
    let mut pairs = Vec::new();
    let mut sources: Vec<(String, PathBuf)> = MEDIAPIPE
        .iter()
        .map(|s| (s.to_string(), model_path(s)))
        .collect();
    for p in tutorial_fixtures() {
        let stem = p.file_stem().unwrap_or_default().to_string_lossy();
        sources.push((format!("tutorial_{stem}"), p));
    }
    for (name, src) in &sources {
        let bytes = std::fs::read(src).expect("read model");
        let m = read_model(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = dir.join(format!("{name}.tflite"));
        std::fs::write(&out, write_tflite_model(&m).expect("write")).expect("save");
        // The original selfie_segmentation uses MediaPipe's custom op, which LiteRT lacks.
        let orig = if name == "selfie_segmentation" {
            "-".to_string()
        } else {
            src.display().to_string()
        };
        pairs.push(format!("{orig}={}", out.display()));
    }
    // A graph built in memory: int8 CONV_2D, DEQUANTIZE, hybrid per-channel CONV_2D, PADV2, PAD.
    let out = dir.join("mixed.tflite");
    let bytes = write_model(&mixed_graph(), "mixed").expect("write mixed");
    std::fs::write(&out, bytes).expect("save");
    pairs.push(format!("-={}", out.display()));
    // Every writable op once.
    let out = dir.join("zoo.tflite");
    let bytes = write_model(&zoo_graph(), "zoo").expect("write zoo");
    std::fs::write(&out, bytes).expect("save");
    pairs.push(format!("-={}", out.display()));
    let res = Command::new(&python)
        .arg("-c")
        .arg(COMPARE)
        .args(&pairs)
        .output()
        .expect("running the LiteRT Python");
    let stdout = String::from_utf8_lossy(&res.stdout);
    let stderr = String::from_utf8_lossy(&res.stderr);
    println!("{stdout}");
    assert!(
        res.status.success(),
        "LiteRT rejected or disagreed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        pairs.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
