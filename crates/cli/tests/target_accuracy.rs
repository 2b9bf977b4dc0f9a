//! `quantize --target-accuracy / --max-drop / --target-sqnr` (issue 7 item 4): the search
//! keeps layers in float only when the plain quantized model misses the target, the written
//! model meets it (checked independently: LiteRT's reference kernels for the tutorial CNN,
//! `compare` for a MediaPipe model), and impossible or malformed requests fail clearly.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn mnist_fixture(f: &str) -> PathBuf {
    fixture(&format!("mnist_subset/{f}"))
}

fn run(args: &[String]) -> (String, String) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = edgequant(&refs);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `edgequant eval` accuracy in percent on the committed 10k MNIST test set.
fn eval(model: &Path) -> f64 {
    let out = edgequant(&[
        "eval",
        &s(model),
        "--data",
        &s(&mnist_fixture("t10k-images-idx3-ubyte.gz")),
        "--labels",
        &s(&mnist_fixture("t10k-labels-idx1-ubyte.gz")),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("eval JSON");
    v["accuracy"].as_f64().expect("accuracy") * 100.0
}

/// (default kernels, reference kernels) accuracy in percent with LiteRT on the 10k MNIST
/// test images.
fn litert_accuracy(model: &Path) -> (f64, f64) {
    let (default, reference) = litert_mnist_accuracy(model, true);
    (default, reference.expect("reference kernels"))
}

fn kept_layers(stderr: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("target met"))
        .unwrap_or_else(|| panic!("no 'target met' line:\n{stderr}"));
    match line.split_once("kept in float: ") {
        Some((_, list)) => list.split(", ").map(str::to_string).collect(),
        None => Vec::new(),
    }
}

fn float_nodes(model: &Path) -> Vec<String> {
    let g = edgequant_tflite::read_model(&std::fs::read(model).unwrap())
        .unwrap()
        .graph;
    g.nodes
        .iter()
        .filter(|n| {
            !matches!(
                n.op,
                edgequant_ir::Op::Quantize(_) | edgequant_ir::Op::Dequantize(_)
            ) && n
                .outputs
                .iter()
                .any(|&o| g.tensor(o).dtype == edgequant_ir::DType::F32)
        })
        .map(|n| n.name.clone())
        .collect()
}

/// Tutorial CNN calibrated on a single image (ranges too narrow: the logits clip) misses
/// "at most 0.05 points below float" on the 10k test set; the search keeps the layers whose
/// output clips in float and meets it, confirmed by LiteRT's reference kernels.
#[test]
fn tutorial_cnn_meets_max_drop_by_keeping_layers_float() {
    let dir = tempdir("target-tutorial");
    let float = fixture("tutorial_cnn/float.tflite");
    let base = args(&[
        "quantize",
        &s(&float),
        "--mode",
        "int8",
        "--data",
        &s(&mnist_fixture("train-images-100.idx3.gz")),
        "--samples",
        "1",
    ]);
    let plain = dir.join("plain.tflite");
    let mut a = base.clone();
    a.extend(args(&["-o", &s(&plain)]));
    run(&a);
    let float_acc = eval(&float);
    let plain_acc = eval(&plain);
    let goal = float_acc - 0.05;
    assert!(
        plain_acc < goal,
        "precondition: plain int8 {plain_acc:.2}% must miss {goal:.2}% for this test to mean anything"
    );

    let out = dir.join("target.tflite");
    let mut a = base;
    a.extend(args(&[
        "-o",
        &s(&out),
        "--max-drop",
        "0.05",
        "--eval-data",
        &s(&mnist_fixture("t10k-images-idx3-ubyte.gz")),
        "--eval-labels",
        &s(&mnist_fixture("t10k-labels-idx1-ubyte.gz")),
    ]));
    let (_, err) = run(&a);
    let kept = kept_layers(&err);
    assert!(!kept.is_empty(), "{err}");
    assert!(kept.len() <= 3, "kept {} layers: {kept:?}", kept.len());
    // The kept layers are float in the written model; nothing else is.
    let fl = float_nodes(&out);
    for k in &kept {
        assert!(fl.contains(k), "'{k}' is not float in the model: {fl:?}");
    }
    assert_eq!(fl.len(), kept.len(), "float nodes {fl:?} vs kept {kept:?}");
    let acc = eval(&out);
    assert!(acc >= goal - 1e-9, "{acc:.2}% < target {goal:.2}%:\n{err}");
    // LiteRT's reference kernels agree exactly with edgequant's interpreter (bit-exact
    // integer kernels, identical float kernels up to rounding that does not flip a class here).
    let (default, reference) = litert_accuracy(&out);
    eprintln!(
        "float {float_acc:.2}%, plain int8 {plain_acc:.2}%, with {kept:?} in float: edgequant {acc:.2}%, LiteRT ref {reference:.2}%, LiteRT default {default:.2}%"
    );
    assert_eq!(reference, acc, "LiteRT reference kernels vs edgequant");
}

/// A real MediaPipe model without labels: iris_landmark int8 to an output-SQNR target on
/// real photos; the result is checked with `edgequant compare`.
#[test]
fn iris_landmark_meets_output_sqnr_target() {
    let dir = tempdir("target-iris");
    let model = model("iris_landmark.tflite");
    let images = cache().join("images");
    assert!(
        images.exists(),
        "missing {}: run scripts/setup",
        images.display()
    );
    let sqnr = |q: &Path| -> f64 {
        let out = edgequant(&[
            "compare",
            &s(&model),
            &s(q),
            "--data",
            &s(&images),
            "--resize",
            "64,64",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                v["tensors"][i.as_u64().unwrap() as usize]["sqnr_db"]
                    .as_f64()
                    .unwrap()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let base = args(&[
        "quantize",
        &s(&model),
        "--mode",
        "int8",
        "--data",
        &s(&images),
        "--resize",
        "64,64",
    ]);
    let plain = dir.join("plain.tflite");
    let mut a = base.clone();
    a.extend(args(&["-o", &s(&plain)]));
    run(&a);
    let before = sqnr(&plain);
    let target = 33.0;
    assert!(
        before < target,
        "precondition: plain int8 output SQNR {before:.2} dB"
    );

    let out = dir.join("target.tflite");
    let mut a = base;
    a.extend(args(&[
        "-o",
        &s(&out),
        "--target-sqnr",
        "33",
        "--eval-data",
        &s(&images),
    ]));
    let (_, err) = run(&a);
    let kept = kept_layers(&err);
    assert!(!kept.is_empty(), "{err}");
    let after = sqnr(&out);
    eprintln!(
        "iris_landmark output SQNR: plain {before:.2} dB, with {} layer(s) in float {after:.2} dB",
        kept.len()
    );
    assert!(
        after >= target,
        "output SQNR {after:.2} dB < {target}:\n{err}"
    );
    // The model still runs in LiteRT.
    let inputs = make_inputs(&model, &dir);
    litert(&out, &inputs, &dir.join("lite.npz"), false);
}

fn expect_error(a: &[&str], code: i32, needle: &str) {
    let out = edgequant_raw(a);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{a:?}: {err}");
    assert!(err.contains(needle), "{a:?}: expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Unreachable targets and malformed flag combinations fail with one clear message.
#[test]
fn impossible_or_malformed_targets_fail_clearly() {
    let dir = tempdir("target-errors");
    let float = s(&fixture("tutorial_cnn/float.tflite"));
    let out = s(&dir.join("x.tflite"));
    let calib = s(&mnist_fixture("train-images-100.idx3.gz"));
    let test = s(&mnist_fixture("t10k-images-idx3-ubyte.gz"));
    let labels = s(&mnist_fixture("t10k-labels-idx1-ubyte.gz"));
    let q = [
        "quantize", &float, "-o", &out, "--mode", "int8", "--data", &calib,
    ];
    let with =
        |extra: &[&str]| -> Vec<String> { q.iter().chain(extra).map(|x| x.to_string()).collect() };
    let call = |v: Vec<String>, code: i32, needle: &str| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        expect_error(&refs, code, needle);
    };
    // 100 % on the first 2,000 test images: the float model itself gets 97.75 %.
    call(
        with(&[
            "--target-accuracy",
            "100",
            "--eval-data",
            &test,
            "--eval-labels",
            &labels,
            "--eval-samples",
            "2000",
        ]),
        1,
        "is not reachable",
    );
    assert!(
        !dir.join("x.tflite").exists(),
        "no model is written on failure"
    );
    call(with(&["--target-accuracy", "99"]), 1, "--eval-data");
    call(
        with(&["--target-accuracy", "99", "--eval-data", &test]),
        1,
        "--eval-labels",
    );
    call(
        with(&[
            "--target-accuracy",
            "99",
            "--max-drop",
            "1",
            "--eval-data",
            &test,
        ]),
        1,
        "only one of",
    );
    call(
        with(&["--max-drop=-1", "--eval-data", &test]),
        1,
        "--max-drop",
    );
    call(with(&["--eval-data", &test]), 1, "need a target");
    call(
        vec![
            "quantize".into(),
            float.clone(),
            "-o".into(),
            out.clone(),
            "--mode".into(),
            "dynamic".into(),
            "--max-drop".into(),
            "1".into(),
            "--eval-data".into(),
            test.clone(),
            "--eval-labels".into(),
            labels.clone(),
        ],
        1,
        "int8 and int16x8 only",
    );
    // --int8-only forbids float layers: a clear error instead of a silent miss.
    call(
        with(&[
            "--samples",
            "1",
            "--int8-only",
            "--target-accuracy",
            "99.9",
            "--eval-data",
            &test,
            "--eval-labels",
            &labels,
            "--eval-samples",
            "2000",
        ]),
        1,
        "--int8-only",
    );
}
