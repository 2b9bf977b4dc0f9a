//! Post-training quantization acceptance tests (issue 4): every mode writes a model that
//! LiteRT runs, with the accuracy and size targets on the tutorial CNN, and bad input gives
//! clear errors.

mod common;
use common::*;
use edgequant_ir::{DType, Op};
use std::path::{Path, PathBuf};

fn mnist(file: &str) -> PathBuf {
    let p = cache().join("mnist").join(file);
    assert!(
        p.exists(),
        "missing {}: run scripts/setup first",
        p.display()
    );
    p
}

/// Top-1 accuracy on the 10k MNIST test images, evaluated by LiteRT (default kernels).
fn litert_accuracy(model: &Path) -> f64 {
    litert_mnist_accuracy(model, false).0
}

fn quantize(input: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["quantize".to_string(), s(input), "-o".into(), s(out)];
    args.extend(extra.iter().map(|x| x.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    edgequant(&refs);
}

fn size(p: &Path) -> f64 {
    std::fs::metadata(p).expect("stat").len() as f64
}

/// Accuracy targets of issue 4 item 5, in percentage points; sizes within 2 % of TensorFlow's.
#[test]
fn tutorial_cnn_all_modes_accuracy_and_size() {
    let dir = tempdir("quant_tutorial");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = mnist("train-images-idx3-ubyte");
    let float_acc = litert_accuracy(&float);
    let tf_int8_acc = litert_accuracy(&fixture("tutorial_cnn/int8_floatio.tflite"));
    eprintln!("float {float_acc:.2} %, TensorFlow int8 {tf_int8_acc:.2} %");

    let cases: &[(&str, &[&str], &str)] = &[
        (
            "int8",
            &["--mode", "int8", "--samples", "100"],
            "int8_floatio.tflite",
        ),
        ("dynamic", &["--mode", "dynamic"], "dynamic.tflite"),
        ("float16", &["--mode", "float16"], "float16.tflite"),
        ("int16x8", &["--mode", "int16x8", "--samples", "100"], ""),
    ];
    for (name, flags, tf_twin) in cases {
        let out = dir.join(format!("{name}.tflite"));
        let mut args: Vec<&str> = flags.to_vec();
        let train_s = s(&train);
        if name.starts_with("int") {
            args.extend(["--data", &train_s]);
        }
        quantize(&float, &out, &args);
        let acc = litert_accuracy(&out);
        eprintln!("{name}: {acc:.2} %, {} bytes", size(&out));
        match *name {
            "int8" => {
                assert!(
                    acc >= float_acc - 0.3,
                    "int8 {acc} < float {float_acc} - 0.3"
                );
                assert!(
                    acc >= tf_int8_acc - 0.1,
                    "int8 {acc} < TensorFlow int8 {tf_int8_acc} - 0.1"
                );
            }
            "dynamic" => assert!(
                acc >= float_acc - 0.1,
                "dynamic {acc} < float {float_acc} - 0.1"
            ),
            "float16" => assert!(
                (acc - float_acc).abs() <= 0.05,
                "float16 {acc} vs float {float_acc}"
            ),
            _ => assert!(
                acc >= float_acc - 0.3,
                "{name} {acc} < float {float_acc} - 0.3"
            ),
        }
        if !tf_twin.is_empty() {
            let tf = size(&fixture(&format!("tutorial_cnn/{tf_twin}")));
            let ratio = size(&out) / tf;
            assert!(
                (0.98..=1.02).contains(&ratio),
                "{name}: size {} vs TensorFlow {tf} (ratio {ratio:.4})",
                size(&out)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn read(p: &Path) -> edgequant_ir::Graph {
    edgequant_tflite::read_model(&std::fs::read(p).expect("read"))
        .expect("parse")
        .graph
}

#[test]
fn int8_only_models_are_fully_integer_with_integer_io() {
    let dir = tempdir("quant_int8only");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = s(&mnist("train-images-idx3-ubyte"));
    for io in ["int8", "uint8"] {
        let out = dir.join(format!("{io}.tflite"));
        quantize(
            &float,
            &out,
            &[
                "--mode",
                "int8",
                "--data",
                &train,
                "--samples",
                "100",
                "--int8-only",
                "--input-type",
                io,
                "--output-type",
                io,
            ],
        );
        let g = read(&out);
        let want = if io == "int8" { DType::I8 } else { DType::U8 };
        assert_eq!(g.tensor(g.inputs[0]).dtype, want);
        assert_eq!(g.tensor(g.outputs[0]).dtype, want);
        assert!(
            g.tensor(g.inputs[0]).quant.is_some(),
            "{io} input has quantization parameters"
        );
        for n in &g.nodes {
            let float_tensor = n
                .inputs
                .iter()
                .flatten()
                .chain(&n.outputs)
                .any(|&t| g.tensor(t).dtype == DType::F32);
            assert!(
                !float_tensor,
                "{io}: node '{}' ({}) has a float tensor",
                n.name,
                n.op.name()
            );
        }
        let acc = litert_accuracy(&out);
        eprintln!("{io} I/O: {acc:.2} %");
        assert!(acc >= 98.0, "{io} I/O accuracy {acc}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn real_models_int8_run_in_litert() {
    let dir = tempdir("quant_real");
    let images = cache().join("images");
    assert!(
        images.exists(),
        "missing {}: run scripts/setup first",
        images.display()
    );
    for (m, hw) in [
        ("hand_landmark_lite.tflite", "224,224"),
        ("iris_landmark.tflite", "64,64"),
        ("face_detection_short_range.tflite", "128,128"),
    ] {
        let src = model(m);
        let out = dir.join(m);
        quantize(
            &src,
            &out,
            &["--mode", "int8", "--data", &s(&images), "--resize", hw],
        );
        let g = read(&out);
        let int_ops = g
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Conv2d(_)) && g.tensor(n.outputs[0]).dtype == DType::I8)
            .count();
        assert!(int_ops > 0, "{m}: no int8 convolution");
        let inputs = make_inputs(&src, &dir.join(format!("{m}.in")));
        let quant = litert(&out, &inputs, &dir.join(format!("{m}.q.npz")), false);
        let float = litert(&src, &inputs, &dir.join(format!("{m}.f.npz")), false);
        assert_eq!(quant.len(), float.len());
        for ((n, q), (_, f)) in quant.iter().zip(&float) {
            let (q, f) = (floats(q), floats(f));
            let noise: f64 = q.iter().zip(&f).map(|(a, b)| (a - b) * (a - b)).sum();
            let signal: f64 = f.iter().map(|b| b * b).sum();
            let sqnr = 10.0 * (signal / noise.max(1e-30)).log10();
            eprintln!("{m} {n}: SQNR {sqnr:.1} dB");
            assert!(sqnr.is_finite());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quantize_is_deterministic() {
    let dir = tempdir("quant_det");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = s(&mnist("train-images-idx3-ubyte"));
    let a = dir.join("a.tflite");
    let b = dir.join("b.tflite");
    let c = dir.join("c.tflite");
    let flags = [
        "--mode",
        "int8",
        "--data",
        &train,
        "--samples",
        "64",
        "--threads",
    ];
    for p in [&a, &b] {
        quantize(&float, p, &[&flags[..], &["2"]].concat());
    }
    quantize(&float, &c, &[&flags[..], &["1"]].concat());
    let bytes = std::fs::read(&a).expect("a");
    assert!(bytes == std::fs::read(&b).expect("b"), "two runs differ");
    assert!(
        bytes == std::fs::read(&c).expect("c"),
        "1 and 2 threads differ"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn expect_error(args: &[&str], needle: &str) {
    let out = edgequant_raw(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in: {err}"
    );
}

#[test]
fn bad_quantization_input() {
    let dir = tempdir("quant_bad");
    let float = s(&fixture("tutorial_cnn/float.tflite"));
    let out = s(&dir.join("o.tflite"));
    let train = s(&mnist("train-images-idx3-ubyte"));
    expect_error(
        &["quantize", &float, "-o", &out, "--mode", "int8"],
        "--data",
    );
    expect_error(
        &[
            "quantize",
            &float,
            "-o",
            &out,
            "--mode",
            "int8",
            "--data",
            &train,
            "--samples",
            "10",
            "--keep-float",
            "NOPE",
        ],
        "NOPE",
    );
    let nan = dir.join("nan.npy");
    let mut values = vec![0.5f32; 3 * 28 * 28];
    values[28 * 28 + 5] = f32::NAN;
    let arr = edgequant::arrays::Array {
        dtype: DType::F32,
        shape: vec![3, 28, 28, 1],
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    std::fs::write(&nan, edgequant::arrays::encode_npy(&arr).expect("npy")).expect("write");
    expect_error(
        &[
            "quantize",
            &float,
            "-o",
            &out,
            "--mode",
            "int8",
            "--data",
            &s(&nan),
        ],
        "sample 1",
    );
    let wrong = dir.join("wrong.npy");
    let arr = edgequant::arrays::Array {
        dtype: DType::F32,
        shape: vec![2, 32, 32, 1],
        bytes: vec![0; 2 * 32 * 32 * 4],
    };
    std::fs::write(&wrong, edgequant::arrays::encode_npy(&arr).expect("npy")).expect("write");
    expect_error(
        &[
            "quantize",
            &float,
            "-o",
            &out,
            "--mode",
            "int8",
            "--data",
            &s(&wrong),
        ],
        "28",
    );
    assert!(!dir.join("o.tflite").exists(), "no output on error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_calibrator_gives_a_model_litert_runs_accurately() {
    let dir = tempdir("quant_calibrators");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = s(&mnist("train-images-idx3-ubyte"));
    let float_acc = litert_accuracy(&float);
    // Points below float accuracy each calibrator may lose. Entropy (KL) measured 97.87 %
    // (float 98.49 %) after ignoring exact zeros and counting the asymmetric grid's levels
    // (2026-11-27; 93.93 % before): KL still clips the batch-norm MUL/ADD outputs, whose
    // per-tensor histograms mix channels of very different scales, harder than min/max does.
    for (c, max_loss) in [
        ("minmax", 0.5),
        ("percentile", 0.5),
        ("entropy", 1.0),
        ("mse", 0.5),
    ] {
        let bound = float_acc - max_loss;
        let out = dir.join(format!("{c}.tflite"));
        quantize(
            &float,
            &out,
            &[
                "--mode",
                "int8",
                "--data",
                &train,
                "--samples",
                "100",
                "--calibrator",
                c,
            ],
        );
        let acc = litert_accuracy(&out);
        eprintln!("calibrator {c}: {acc:.2} %");
        assert!(
            acc >= bound,
            "calibrator {c}: accuracy {acc} < float {float_acc} - {max_loss}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--keep-float` accepts the original name of a custom op that the reader imports as a
/// builtin (MediaPipe's `Convolution2DTransposeBias`, read as TRANSPOSE_CONV): those nodes stay
/// float, the rest of the model is integer, and LiteRT runs it.
#[test]
fn keep_float_accepts_a_custom_op_name() {
    let dir = tempdir("quant_keep_custom");
    let images = cache().join("images");
    let src = model("selfie_segmentation.tflite");
    let out = dir.join("selfie.tflite");
    quantize(
        &src,
        &out,
        &[
            "--mode",
            "int8",
            "--data",
            &s(&images),
            "--resize",
            "256,256",
            "--samples",
            "4",
            "--keep-float",
            "Convolution2DTransposeBias",
        ],
    );
    let g = read(&out);
    let tconv: Vec<_> = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::TransposeConv(_)))
        .collect();
    assert!(
        !tconv.is_empty(),
        "no TRANSPOSE_CONV in the quantized model"
    );
    for n in &tconv {
        assert_eq!(
            g.tensor(n.outputs[0]).dtype,
            DType::F32,
            "TRANSPOSE_CONV '{}' was quantized",
            n.name
        );
    }
    assert!(
        g.nodes
            .iter()
            .any(|n| matches!(n.op, Op::Conv2d(_)) && g.tensor(n.outputs[0]).dtype == DType::I8),
        "the rest of the model is not integer"
    );
    let inputs = make_inputs(&src, &dir.join("in"));
    let q = litert(&out, &inputs, &dir.join("q.npz"), false);
    assert!(!q.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--mode int8` keeps PRELU float by default (LiteRT's XNNPACK has no int8 PRELU) and says
/// so in one line; `--int8-prelu` and `--int8-only` quantize it; the model runs in LiteRT.
#[test]
fn prelu_stays_float_by_default_in_int8_mode() {
    let dir = tempdir("quant_prelu");
    let images = s(&cache().join("images"));
    let src = model("iris_landmark.tflite");
    let prelu_types = |p: &Path| -> Vec<DType> {
        let g = read(p);
        g.nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Prelu(_)))
            .map(|n| g.tensor(n.outputs[0]).dtype)
            .collect()
    };
    let base = ["--mode", "int8", "--data", &images, "--resize", "64,64"];
    let default = dir.join("default.tflite");
    let mut args = vec!["quantize", "--samples", "4"];
    let (src_s, out_s) = (s(&src), s(&default));
    args.extend([src_s.as_str(), "-o", out_s.as_str()]);
    args.extend(base);
    let out = edgequant(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("53 × PRELU ('p_re_lu', ") && err.contains("no int8 PRELU"),
        "{err}"
    );
    let t = prelu_types(&default);
    assert_eq!(t.len(), 53);
    assert!(t.iter().all(|&d| d == DType::F32), "{t:?}");
    for (name, flag) in [("int8_prelu", "--int8-prelu"), ("int8_only", "--int8-only")] {
        let p = dir.join(format!("{name}.tflite"));
        let mut extra = base.to_vec();
        extra.extend(["--samples", "4", flag]);
        quantize(&src, &p, &extra);
        let t = prelu_types(&p);
        assert!(t.iter().all(|&d| d == DType::I8), "{flag}: {t:?}");
    }
    let inputs = make_inputs(&src, &dir.join("in"));
    let q = litert(&default, &inputs, &dir.join("q.npz"), false);
    assert_eq!(q.len(), 2);
    let bad = edgequant_raw(&[
        "quantize",
        &src_s,
        "-o",
        &out_s,
        "--mode",
        "dynamic",
        "--int8-prelu",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        msg.contains("--int8-prelu applies to --mode int8 only"),
        "{msg}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bias correction (default in int8) changes only int32 bias data; `--no-bias-correction`
/// gives the spec's biases, and the two differ.
#[test]
fn bias_correction_changes_only_biases_and_can_be_turned_off() {
    let dir = tempdir("quant_bias_correction");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = s(&mnist("train-images-idx3-ubyte"));
    let (on, off) = (dir.join("on.tflite"), dir.join("off.tflite"));
    let common = ["--mode", "int8", "--samples", "100", "--data", &train];
    let (float_s, on_s) = (s(&float), s(&on));
    let mut args = vec!["quantize", float_s.as_str(), "-o", on_s.as_str()];
    args.extend(common);
    let out = edgequant(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bias correction:") && stderr.contains("(64 samples,"),
        "{stderr}"
    );
    let mut off_args: Vec<&str> = common.to_vec();
    off_args.push("--no-bias-correction");
    quantize(&float, &off, &off_args);

    let (a, b) = (read(&on), read(&off));
    assert_eq!(a.tensors.len(), b.tensors.len());
    let mut changed = 0;
    for (x, y) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!((&x.name, x.dtype, &x.shape), (&y.name, y.dtype, &y.shape));
        assert_eq!(x.quant, y.quant, "{}", x.name);
        if x.data != y.data {
            assert_eq!(x.dtype, DType::I32, "{} changed but is not a bias", x.name);
            changed += 1;
        }
    }
    assert!(changed > 0, "bias correction changed no bias");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--bias-correction-memory` trades memory for time only: with no budget every layer is
/// measured by rerunning the samples, with a large one every layer on parked runs, and the
/// two files are byte-identical.
#[test]
fn bias_correction_memory_changes_how_not_what() {
    let dir = tempdir("quant_bias_correction_memory");
    let float = s(&fixture("tutorial_cnn/float.tflite"));
    let train = s(&mnist("train-images-idx3-ubyte"));
    let mut files = Vec::new();
    for mib in ["0", "1024"] {
        let out = s(&dir.join(format!("budget{mib}.tflite")));
        let o = edgequant(&[
            "quantize",
            &float,
            "-o",
            &out,
            "--mode",
            "int8",
            "--samples",
            "100",
            "--data",
            &train,
            "--bias-correction-memory",
            mib,
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let line = stderr
            .lines()
            .find(|l| l.starts_with("bias correction:"))
            .unwrap_or_else(|| panic!("no bias correction line: {stderr}"));
        let number_before = |tail: &str| -> usize {
            let head = &line[..line.find(tail).unwrap_or_else(|| panic!("{tail}: {line}"))];
            head.rsplit(' ')
                .next()
                .and_then(|w| w.parse().ok())
                .expect(line)
        };
        let (layers, parked) = (
            number_before(" layers adjusted"),
            number_before(" layers measured in one pass"),
        );
        assert!(layers >= 2, "{line}");
        let want = if mib == "0" { 0 } else { layers };
        assert_eq!(parked, want, "budget {mib} MiB: {line}");
        files.push(std::fs::read(&out).expect("read"));
    }
    assert!(files[0] == files[1], "the memory budget changed the output");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--gptq` changes only int8 weight integers against the default nearest rounding, never a
/// scale, zero point or other tensor, and LiteRT runs the result accurately.
#[test]
fn gptq_changes_only_weight_integers() {
    let dir = tempdir("quant_gptq");
    let float = fixture("tutorial_cnn/float.tflite");
    let train = s(&mnist("train-images-idx3-ubyte"));
    let (on, off) = (dir.join("on.tflite"), dir.join("off.tflite"));
    let common = [
        "--mode",
        "int8",
        "--samples",
        "100",
        "--data",
        &train,
        "--no-bias-correction",
    ];
    let (float_s, on_s) = (s(&float), s(&on));
    let mut args = vec!["quantize", float_s.as_str(), "-o", on_s.as_str(), "--gptq"];
    args.extend(common);
    let out = edgequant(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("weight rounding (GPTQ):") && stderr.contains("(64 samples,"),
        "{stderr}"
    );
    quantize(&float, &off, &common);

    let (a, b) = (read(&on), read(&off));
    assert_eq!(a.tensors.len(), b.tensors.len());
    let mut changed = 0;
    for (x, y) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!((&x.name, x.dtype, &x.shape), (&y.name, y.dtype, &y.shape));
        assert_eq!(x.quant, y.quant, "{}", x.name);
        if x.data != y.data {
            assert_eq!(x.dtype, DType::I8, "{} changed but is not int8", x.name);
            assert!(x.is_const(), "{} changed but is not a constant", x.name);
            changed += 1;
        }
    }
    assert!(changed > 0, "GPTQ changed no weight");
    // LiteRT runs it, as accurately as issue 4 item 5 asks of int8 (float − 0.3 points).
    let (float_acc, acc) = (litert_accuracy(&float), litert_accuracy(&on));
    assert!(
        acc >= float_acc - 0.3,
        "--gptq int8 {acc:.2} % < float {float_acc:.2} % − 0.3"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
