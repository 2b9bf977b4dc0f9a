//! rapidocr's ONNX models (DESIGN.md section 5) imported and run by edgequant's interpreter,
//! compared with onnxruntime on a real photo (tests-py/make_inputs.py presets: page.png).
//!
//! Pass criterion: relative L2 error `|edgequant - ort| / |ort|` below 1e-5, both with the
//! ONNX layout at the boundary (`keep_io_layout`, what `edgequant run` feeds) and with the
//! default NHWC boundary. Missing models, venv or scripts fail the test ("run scripts/setup").

mod common;

const TOLERANCE: f64 = 1e-5;

fn model(name: &str) -> std::path::PathBuf {
    common::require(
        common::cache_dir().join("models").join(name),
        "rapidocr model",
    )
}

#[test]
fn rapidocr_cls_matches_onnxruntime() {
    let m = model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    common::compare_with_onnxruntime(&m, "x", [1, 3, 48, 192], TOLERANCE);
}

#[test]
fn rapidocr_det_matches_onnxruntime() {
    let m = model("ch_PP-OCRv4_det_infer.onnx");
    common::compare_with_onnxruntime(&m, "x", [1, 3, 640, 640], TOLERANCE);
}
