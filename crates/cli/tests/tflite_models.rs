//! Foundation acceptance tests on real .tflite models (issue 2): the interpreter agrees with
//! LiteRT, `convert` round-trips bit-exactly through LiteRT and deterministically, `inspect`
//! describes the model.

mod common;
use common::*;

/// Float interpreter vs LiteRT default kernels: relative L2 error bound per output (issue 2
/// item 4). Differences come from float summation order only.
const FLOAT_TOL: f64 = 1e-5;

const MODELS: &[&str] = &[
    "face_detection_short_range.tflite",
    "hand_recrop.tflite",
    "iris_landmark.tflite",
    "hand_landmark_lite.tflite",
];

fn check_model(path: &std::path::Path, tag: &str) {
    let dir = tempdir(tag);
    let inputs = make_inputs(path, &dir);
    let reference = litert(path, &inputs, &dir.join("litert.npz"), false);

    let ours = edgequant_run(path, &inputs, &dir.join("ours.npz"), &[]);
    let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    let ref_names: Vec<&str> = reference.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ref_names, "{tag}: output names and order");
    let worst = assert_close(tag, &ours, &reference, FLOAT_TOL);
    eprintln!("{tag}: worst relative L2 vs LiteRT = {worst:.3e}");

    let out1 = dir.join("conv1.tflite");
    let out2 = dir.join("conv2.tflite");
    edgequant(&["convert", &s(path), "-o", &s(&out1)]);
    edgequant(&["convert", &s(path), "-o", &s(&out2)]);
    let b1 = std::fs::read(&out1).expect("read converted");
    let b2 = std::fs::read(&out2).expect("read converted");
    assert!(b1 == b2, "{tag}: two conversions differ");
    let again = dir.join("conv3.tflite");
    edgequant(&["convert", &s(&out1), "-o", &s(&again)]);
    assert!(
        std::fs::read(&again).expect("read") == b1,
        "{tag}: converting the converted model changed it"
    );

    let converted = litert(&out1, &inputs, &dir.join("converted.npz"), false);
    assert_eq!(converted.len(), reference.len(), "{tag}: output count after convert");
    for ((n, a), (_, b)) in converted.iter().zip(&reference) {
        assert_eq!(a.shape, b.shape, "{tag}: '{n}' shape after convert");
        assert!(a.bytes == b.bytes, "{tag}: output '{n}' not bit-identical after convert");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mediapipe_models_match_litert_and_round_trip() {
    for m in MODELS {
        check_model(&model(m), m);
    }
}

#[test]
fn tutorial_cnn_float_matches_litert_and_round_trips() {
    check_model(&fixture("tutorial_cnn/float.tflite"), "tutorial_float");
}

#[test]
fn inspect_json_has_stable_keys() {
    let out = edgequant(&["inspect", &s(&model("iris_landmark.tflite")), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect prints JSON");
    for key in ["format", "size_bytes", "inputs", "outputs", "tensors", "ops"] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["format"], "tflite");
    assert_eq!(v["size_bytes"], 2_640_568);
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!([1, 64, 64, 3]));
    assert_eq!(v["inputs"][0]["dtype"], "float32");
    assert_eq!(v["outputs"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(v["ops"]["CONV_2D"], 55);
    assert_eq!(v["ops"]["PRELU"], 53);
    let tensors = v["tensors"].as_array().expect("tensors array");
    assert!(tensors.iter().all(|t| t["byte_size"].is_u64() && t.get("quantization").is_some()));
}

#[test]
fn unknown_custom_op_is_one_clear_error() {
    let out = edgequant_raw(&["inspect", &s(&model("selfie_segmentation.tflite"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("Convolution2DTransposeBias"), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one-line error, got: {err}");
}
