//! `edgequant compare` and the HTML report (issue 7 item 3): tensors are matched between a
//! float model and its quantized version, the statistics agree with an independent
//! computation, and the report renders in headless Chromium.

mod common;
use common::*;
use edgequant_interp::{Interpreter, TensorData, TensorValue};
use std::path::{Path, PathBuf};
use std::process::Command;

fn calib() -> PathBuf {
    fixture("mnist_subset/train-images-100.idx3.gz")
}

fn test_images() -> PathBuf {
    fixture("mnist_subset/t10k-images-idx3-ubyte.gz")
}

/// The tutorial CNN quantized to int8 (float I/O) by edgequant, in `dir`.
fn tutorial_int8(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("int8.tflite");
    let mut args = vec![
        "quantize".to_string(),
        s(&fixture("tutorial_cnn/float.tflite")),
        "-o".into(),
        s(&out),
        "--mode".into(),
        "int8".into(),
        "--data".into(),
        s(&calib()),
    ];
    args.extend(extra.iter().map(|x| x.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    edgequant(&refs);
    out
}

fn compare_json(float: &Path, quant: &Path, data: &Path, samples: usize) -> serde_json::Value {
    let out = edgequant(&[
        "compare",
        &s(float),
        &s(quant),
        "--data",
        &s(data),
        "--samples",
        &samples.to_string(),
        "--json",
    ]);
    serde_json::from_slice(&out.stdout).expect("compare --json prints JSON")
}

fn read(p: &Path) -> edgequant_ir::Graph {
    edgequant_tflite::read_model(&std::fs::read(p).expect("read model"))
        .expect("parse model")
        .graph
}

/// First `n` MNIST test images as float samples in [0, 1].
fn mnist_samples(n: usize) -> Vec<Vec<f32>> {
    let spec = edgequant_calib::InputSpec::new("x", vec![28, 28, 1]);
    let ds = edgequant_calib::load_dataset(
        &test_images(),
        &[spec],
        &edgequant_calib::ReadOptions {
            max_samples: Some(n),
            ..Default::default()
        },
    )
    .expect("load MNIST");
    ds.into_samples()
        .into_iter()
        .map(|mut v| v.remove(0))
        .collect()
}

fn dequant(g: &edgequant_ir::Graph, id: edgequant_ir::TensorId, v: &TensorValue) -> Vec<f64> {
    let q = g.tensor(id).quant.as_ref();
    let d = |x: i64| {
        let q = q.expect("integer tensor has quantization");
        // real = (q − zero_point)·scale, rounded to float32 like LiteRT's DEQUANTIZE output.
        ((x - q.zero_point[0] as i64) as f64 * q.scale[0] as f64) as f32 as f64
    };
    match &v.data {
        TensorData::F32(x) => x.iter().map(|&a| a as f64).collect(),
        TensorData::I8(x) => x.iter().map(|&a| d(a as i64)).collect(),
        other => panic!("unexpected type {:?}", other.dtype()),
    }
}

/// Every float activation of the tutorial CNN is matched by name; the reported scales equal
/// the quantized model's; the output SQNR equals one computed here from the interpreter's
/// outputs; a model compared with itself has no error at all.
#[test]
fn tutorial_int8_every_tensor_matched_and_stats_independently_checked() {
    let dir = tempdir("compare-tutorial");
    let float = fixture("tutorial_cnn/float.tflite");
    let quant = tutorial_int8(&dir, &[]);
    let n = 40;
    let v = compare_json(&float, &quant, &test_images(), n);
    assert_eq!(v["samples"], n);
    assert_eq!(v["unmatched"].as_array().unwrap().len(), 0, "{v:#}");
    let tensors = v["tensors"].as_array().unwrap();
    let fg = read(&float);
    let qg = read(&quant);
    let activations = fg
        .tensors
        .iter()
        .filter(|t| !t.is_const() && t.dtype == edgequant_ir::DType::F32)
        .count();
    assert_eq!(tensors.len(), activations, "one row per float activation");
    for t in tensors {
        assert_eq!(t["matched_by"], "name", "{t}");
        // Every activation of this all-integer model is int8; its scale and zero point are
        // the quantized model's, and the representable range follows from them exactly.
        let q = &t["quant"];
        assert_eq!(q["dtype"], "int8", "{t}");
        let qt = qg
            .tensors
            .iter()
            .find(|x| x.name == t["quant_name"].as_str().unwrap())
            .expect("quant tensor exists");
        let qp = qt.quant.as_ref().unwrap();
        assert_eq!(q["scale"].as_f64().unwrap() as f32, qp.scale[0]);
        assert_eq!(q["zero_point"].as_i64().unwrap(), qp.zero_point[0] as i64);
        let lo = ((-128 - qp.zero_point[0]) as f64 * qp.scale[0] as f64) as f32;
        assert_eq!(q["representable"][0].as_f64().unwrap() as f32, lo);
        assert_eq!(t["count"].as_u64().unwrap() % n as u64, 0);
    }
    // The model input is [0, 1] pixels; calibration saw [0, 1] too, so nothing clips.
    let input = &tensors[0];
    assert_eq!(input["node"], serde_json::Value::Null);
    assert_eq!(input["clipped_fraction"], 0.0);
    assert_eq!(input["float_range"][0], 0.0);
    assert_eq!(input["float_range"][1], 1.0);

    // Independent output SQNR: run both models here and accumulate Σx², Σ(x−y)².
    let fi = Interpreter::new(&fg).unwrap();
    let qi = Interpreter::new(&qg).unwrap();
    let (mut sig, mut err) = (0f64, 0f64);
    for x in mnist_samples(n) {
        let inp = TensorValue::from_f32(vec![1, 28, 28, 1], x).unwrap();
        let a = fi.run(vec![inp.clone()]).unwrap();
        let b = qi.run(vec![inp]).unwrap();
        let fa = dequant(&fg, fg.outputs[0], &a[0]);
        let fb = dequant(&qg, qg.outputs[0], &b[0]);
        for (x, y) in fa.iter().zip(&fb) {
            sig += x * x;
            err += (y - x) * (y - x);
        }
    }
    let want = 10.0 * (sig / err).log10();
    let out_idx = v["outputs"][0].as_u64().unwrap() as usize;
    let got = tensors[out_idx]["sqnr_db"].as_f64().unwrap();
    // The same f64 sums over the same values in the same order: equal up to the last bits
    // of the final log10 (1e-12 relative).
    assert!(
        (got - want).abs() <= 1e-12 * want.abs(),
        "output SQNR {got} vs independent {want}"
    );
    assert!(
        want > 15.0,
        "int8 tutorial output SQNR {want} dB is implausibly low"
    );

    // A model against itself: every tensor identical.
    let same = compare_json(&float, &float, &test_images(), 5);
    for t in same["tensors"].as_array().unwrap() {
        assert_eq!(t["sqnr_db"], serde_json::Value::Null, "{t}");
        assert_eq!(t["mse"], 0.0);
        assert_eq!(t["max_abs_error"], 0.0);
        assert_eq!(t["quant"], serde_json::Value::Null);
    }
}

/// TensorFlow's own int8 conversion of the same Keras model: every float activation is
/// paired with a tensor of it.
#[test]
fn tf_converted_int8_model_is_matched() {
    let v = compare_json(
        &fixture("tutorial_cnn/float.tflite"),
        &fixture("tutorial_cnn/int8.tflite"),
        &test_images(),
        20,
    );
    assert_eq!(v["unmatched"].as_array().unwrap().len(), 0, "{v:#}");
    let tensors = v["tensors"].as_array().unwrap();
    let out_idx = v["outputs"][0].as_u64().expect("output matched") as usize;
    let sqnr = tensors[out_idx]["sqnr_db"].as_f64().unwrap();
    assert!(sqnr > 15.0, "TF int8 output SQNR {sqnr} dB");
}

/// With every tensor of the quantized model renamed, the structural matcher pairs the same
/// tensors as name matching did, with identical statistics.
#[test]
fn renamed_model_is_matched_by_structure() {
    let dir = tempdir("compare-structure");
    let float = fixture("tutorial_cnn/float.tflite");
    let quant = tutorial_int8(&dir, &[]);
    let mut g = read(&quant);
    for (i, t) in g.tensors.iter_mut().enumerate() {
        t.name = format!("renamed_{i}");
    }
    for (i, n) in g.nodes.iter_mut().enumerate() {
        n.name = format!("node_{i}");
    }
    let renamed = dir.join("renamed.tflite");
    std::fs::write(
        &renamed,
        edgequant_tflite::write_model(&g, "renamed").unwrap(),
    )
    .unwrap();
    let by_name = compare_json(&float, &quant, &test_images(), 10);
    let by_structure = compare_json(&float, &renamed, &test_images(), 10);
    let a = by_name["tensors"].as_array().unwrap();
    let b = by_structure["tensors"].as_array().unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(y["matched_by"], "structure", "{y}");
        assert_eq!(x["name"], y["name"]);
        assert_eq!(x["sqnr_db"], y["sqnr_db"], "{x} vs {y}");
        assert_eq!(x["quant"]["scale"], y["quant"]["scale"]);
    }
}

fn chromium() -> PathBuf {
    let p = PathBuf::from("/usr/bin/chromium");
    assert!(
        p.exists(),
        "headless Chromium is needed to render the report: /usr/bin/chromium is missing; run scripts/setup (it installs the Debian package `chromium`) or apt-get install -y chromium"
    );
    p
}

/// Decodes an RGB(A) PNG into (width, height, rgb pixels).
fn decode_png(p: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let dec = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(p).expect("open screenshot"),
    ));
    let mut reader = dec.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let ch = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG color type {other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks_exact(ch)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

/// The report is self-contained HTML with SVG plots and the keep-float advice; headless
/// Chromium renders it into a screenshot that shows the plots (non-blank, with the bar
/// colours of the SQNR chart).
#[test]
fn html_report_renders_in_headless_chromium() {
    let chrome = chromium();
    let dir = tempdir("compare-report");
    let float = fixture("tutorial_cnn/float.tflite");
    // Per-tensor weights make some layers lose noticeably more than others.
    let quant = tutorial_int8(&dir, &["--per-tensor"]);
    let report = dir.join("report.html");
    let out = edgequant(&[
        "compare",
        &s(&float),
        &s(&quant),
        "--data",
        &s(&test_images()),
        "--samples",
        "50",
        "--report",
        &s(&report),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SQNR dB"), "{text}");
    let html = std::fs::read_to_string(&report).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.matches("<svg").count() >= 2,
        "SQNR chart and histograms"
    );
    assert!(html.contains("Layers to keep in float"));
    assert!(html.contains("SQNR per tensor"));
    // Self-contained: no scripts and nothing loaded from elsewhere.
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));

    let shot = dir.join("report.png");
    let profile = dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let (w, h) = (1200u32, 1800u32);
    let status = Command::new(&chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={w},{h}"))
        .arg(format!("file://{}", report.display()))
        .output()
        .expect("spawn chromium");
    assert!(
        shot.exists(),
        "chromium wrote no screenshot ({}):\n{}",
        status.status,
        String::from_utf8_lossy(&status.stderr)
    );
    let (pw, ph, px) = decode_png(&shot);
    assert_eq!((pw, ph), (w, h), "screenshot size");
    let non_white = px.iter().filter(|p| p.iter().any(|&c| c < 240)).count();
    let frac = non_white as f64 / px.len() as f64;
    // Text, tables and plots cover a few percent of the page at least; a blank or error
    // page is almost all white.
    assert!(frac > 0.02, "screenshot looks blank: {:.4} non-white", frac);
    // Bars of the SQNR chart: blue (31,119,180) and red (214,39,40) in the rendering.
    let near = |p: &[u8; 3], c: [u8; 3]| p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) <= 12);
    let blue = px.iter().filter(|p| near(p, [31, 119, 180])).count();
    assert!(blue > 500, "no SQNR bars rendered ({blue} blue pixels)");
    // Keep the screenshot for people to look at.
    let keep =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("edgequant-report-screenshot.png");
    let _ = std::fs::copy(&shot, &keep);
    eprintln!("report screenshot: {}", keep.display());
}

/// Models that are not versions of each other, and data that fit neither, get one-line
/// errors.
#[test]
fn compare_errors_are_clear() {
    let out = edgequant_raw(&[
        "compare",
        &s(&fixture("tutorial_cnn/float.tflite")),
        &s(&fixture("int_models/opzoo_int8.tflite")),
        "--data",
        &s(&test_images()),
        "--samples",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = edgequant_raw(&[
        "compare",
        &s(&fixture("tutorial_cnn/float.tflite")),
        &s(&fixture("tutorial_cnn/int8.tflite")),
        "--data",
        &s(&fixture("tutorial_cnn/README.md")),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
