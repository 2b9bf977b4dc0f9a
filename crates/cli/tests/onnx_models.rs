//! ONNX import acceptance tests (issue 3 items 4-5): `run` on ONNX models matches onnxruntime,
//! and `convert` writes float .tflite files that LiteRT runs with the same results, with NHWC
//! I/O by default and the ONNX layout with `--keep-io-layout`.

mod common;
use common::*;
use edgequant::arrays::{encode_npy, Array};
use std::path::Path;

/// Relative L2 error bound against onnxruntime (issue 3).
const TOL: f64 = 1e-5;

/// NCHW → NHWC (or back with `to_nchw`) for a rank-4 float32 array.
fn permute(a: &Array, to_nchw: bool) -> Array {
    let s = &a.shape;
    let (n, d1, d2, d3) = (s[0], s[1], s[2], s[3]);
    let src: Vec<f32> = a
        .bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut out = vec![0f32; src.len()];
    // NCHW (n, c=d1, h=d2, w=d3) → NHWC, or NHWC (n, h=d1, w=d2, c=d3) → NCHW.
    for b in 0..n {
        for i in 0..d1 {
            for j in 0..d2 {
                for k in 0..d3 {
                    let from = ((b * d1 + i) * d2 + j) * d3 + k;
                    let to = if to_nchw {
                        ((b * d3 + k) * d1 + i) * d2 + j
                    } else {
                        ((b * d2 + j) * d3 + k) * d1 + i
                    };
                    out[to] = src[from];
                }
            }
        }
    }
    let shape = if to_nchw {
        vec![n, d3, d1, d2]
    } else {
        vec![n, d2, d3, d1]
    };
    Array {
        dtype: a.dtype,
        shape,
        bytes: out.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn check(name: &str, shape: &str) {
    let path = model(name);
    let dir = tempdir(&format!("onnx-{name}"));
    let shape_arg = format!("x={shape}");
    let dims: Vec<usize> = shape.split(',').map(|d| d.parse().expect("dim")).collect();
    let inputs = make_inputs_sized(&path, &dir, &dims);
    let reference = ort(&path, &inputs, &dir.join("ort.npz"));

    let ours = edgequant_run(
        &path,
        &inputs,
        &dir.join("ours.npz"),
        &["--input-shape", &shape_arg],
    );
    let worst = assert_close(&format!("{name} run"), &ours, &reference, TOL);
    eprintln!("{name}: edgequant run vs onnxruntime: relative L2 {worst:.3e}");

    let keep = dir.join("keep.tflite");
    edgequant(&[
        "convert",
        &s(&path),
        "-o",
        &s(&keep),
        "--input-shape",
        &shape_arg,
        "--keep-io-layout",
    ]);
    let lite = litert(&keep, &inputs, &dir.join("keep.npz"), false);
    let worst = assert_close(
        &format!("{name} --keep-io-layout in LiteRT"),
        &lite,
        &reference,
        TOL,
    );
    eprintln!("{name}: converted (ONNX layout) in LiteRT vs onnxruntime: relative L2 {worst:.3e}");

    let nhwc = dir.join("nhwc.tflite");
    edgequant(&[
        "convert",
        &s(&path),
        "-o",
        &s(&nhwc),
        "--input-shape",
        &shape_arg,
    ]);
    let g = edgequant_tflite::read_model(&std::fs::read(&nhwc).expect("read"))
        .expect("parse")
        .graph;
    let in_shape = &g.tensor(g.inputs[0]).shape;
    assert_eq!(
        in_shape,
        &vec![dims[0], dims[2], dims[3], dims[1]],
        "{name}: NHWC input"
    );
    let arr = edgequant::arrays::read_npy(&inputs[0]).expect("read input");
    let nhwc_in = dir.join("in_nhwc.npy");
    std::fs::write(&nhwc_in, encode_npy(&permute(&arr, false)).expect("npy")).expect("write");
    let lite = litert(&nhwc, &[nhwc_in], &dir.join("nhwc.npz"), false);
    let back: Vec<(String, Array)> = lite
        .into_iter()
        .map(|(n, a)| {
            if a.shape.len() == 4 {
                (n, permute(&a, true))
            } else {
                (n, a)
            }
        })
        .collect();
    let worst = assert_close(&format!("{name} NHWC in LiteRT"), &back, &reference, TOL);
    eprintln!("{name}: converted (NHWC) in LiteRT vs onnxruntime: relative L2 {worst:.3e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn make_inputs_sized(model: &Path, dir: &Path, dims: &[usize]) -> Vec<std::path::PathBuf> {
    let out = std::process::Command::new(python())
        .arg(repo().join("tests-py/make_inputs.py"))
        .arg(model)
        .arg(dir)
        .args(["--size", &format!("{}x{}", dims[2], dims[3])])
        .output()
        .expect("spawn python");
    assert!(
        out.status.success(),
        "make_inputs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    vec![dir.join("in0.npy")]
}

#[test]
fn rapidocr_cls_matches_onnxruntime() {
    check("ch_ppocr_mobile_v2.0_cls_infer.onnx", "1,3,48,192");
}

#[test]
fn rapidocr_det_matches_onnxruntime() {
    check("ch_PP-OCRv4_det_infer.onnx", "1,3,640,640");
}

#[test]
fn dynamic_dims_without_override_name_the_input() {
    let out = edgequant_raw(&[
        "convert",
        &s(&model("ch_PP-OCRv4_det_infer.onnx")),
        "-o",
        "/tmp/never.tflite",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("'x'") && err.contains("dimension 0"), "{err}");
    assert!(!Path::new("/tmp/never.tflite").exists());
}
