//! Integer, dynamic-range and float16 models against LiteRT (ai-edge-litert 2.3.0).
//!
//! Models: the TensorFlow-converted fixtures (`fixtures/tutorial_cnn/`, `fixtures/int_models/`,
//! see their READMEs) and the models edgequant's own quantizer writes from the float fixtures
//! (int8 with float / int8 / uint8 I/O, per-channel FULLY_CONNECTED, 16x8, dynamic range,
//! float16), each written to .tflite and read back.
//!
//! Inputs: the first [`IMAGES`] MNIST test images (pixel / 255; quantized with the model
//! input's scale and zero point for integer inputs — the same bytes go to both runtimes).
//! edgequant runs every image at batch 1; LiteRT runs them in one invocation with the batch
//! resized to N (per-image results of these kernels do not depend on the batch size:
//! integer kernels work per element and hybrid kernels quantize each image / row separately).
//!
//! Requirements:
//! * integer outputs (int8 / uint8 / int16): every byte equal to LiteRT's reference kernels
//!   (`--ref`, `BUILTIN_REF`) and at most 1 LSB from its default kernels (XNNPACK) — or, where
//!   LiteRT's own reference and default kernels are further apart than that (a 1-LSB difference
//!   in the logits can move a SOFTMAX output by several LSB), no further than LiteRT's
//!   reference kernels are; the test prints both distances;
//! * float outputs of integer models (DEQUANTIZE at the end): equal to the reference, within
//!   1 LSB of the output scale of the default kernels;
//! * dynamic-range (hybrid) outputs: relative L2 error ≤ [`HYBRID_TOL_REF`] against the
//!   reference kernels (same algorithm, differences are float rounding) and ≤
//!   [`HYBRID_TOL_DEFAULT`] against the default kernels (XNNPACK quantizes activations its own
//!   way);
//! * float16 outputs: relative L2 error ≤ [`FLOAT_TOL`] (the weights are dequantized exactly,
//!   the arithmetic is float32).
//!
//! Needs the venv and MNIST made by `scripts/setup`; missing files fail with a message saying
//! so (the tests never pass silently).

use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, Op};
use npyz::WriterBuilder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Test images per model.
const IMAGES: usize = 50;
/// Hybrid vs LiteRT reference kernels (relative L2 over all outputs).
const HYBRID_TOL_REF: f64 = 1e-4;
/// Hybrid vs LiteRT default kernels (XNNPACK's dynamically quantized kernels).
const HYBRID_TOL_DEFAULT: f64 = 2e-2;
/// float16-weight models (float arithmetic).
const FLOAT_TOL: f64 = 1e-5;
/// Dynamic range vs the float model (quantization error of int8 weights and activations).
const HYBRID_TOL_FLOAT: f64 = 5e-2;

// ------------------------------------------------------------------------------------------
// Environment

fn cache_dir() -> PathBuf {
    match std::env::var_os("EDGEQUANT_CACHE") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is not set"))
            .join(".cache/edgequant"),
    }
}

fn python() -> PathBuf {
    let p = match std::env::var_os("EDGEQUANT_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => cache_dir().join("venv/bin/python"),
    };
    assert!(
        p.exists(),
        "Python venv {} is missing: run scripts/setup",
        p.display()
    );
    p
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(rel: &str) -> PathBuf {
    let p = repo_root().join("fixtures").join(rel);
    assert!(p.exists(), "fixture {} is missing", p.display());
    p
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("int_models")
        .join(name);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// An MNIST IDX file: (dims, bytes).
fn idx(name: &str) -> (Vec<usize>, Vec<u8>) {
    let p = cache_dir().join("mnist").join(name);
    let data = std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "MNIST file {} is missing ({e}): run scripts/setup",
            p.display()
        )
    });
    assert!(data.len() > 4, "{} is not an IDX file", p.display());
    let ndim = data[3] as usize;
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            u32::from_be_bytes(data[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    (dims, data[4 + 4 * ndim..].to_vec())
}

/// MNIST test images as float32 pixel / 255 (784 values each) and labels.
fn mnist_test() -> &'static (Vec<Vec<f32>>, Vec<u8>) {
    static DATA: OnceLock<(Vec<Vec<f32>>, Vec<u8>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let (dims, px) = idx("t10k-images-idx3-ubyte");
        let (_, labels) = idx("t10k-labels-idx1-ubyte");
        let n = dims[0];
        let images = (0..n)
            .map(|i| {
                px[i * 784..(i + 1) * 784]
                    .iter()
                    .map(|&p| p as f32 / 255.0)
                    .collect()
            })
            .collect();
        (images, labels)
    })
}

/// The first `n` MNIST training images (calibration data, as TensorFlow's fixtures used).
fn mnist_train(n: usize) -> Vec<Vec<f32>> {
    let (_, px) = idx("train-images-idx3-ubyte");
    (0..n)
        .map(|i| {
            px[i * 784..(i + 1) * 784]
                .iter()
                .map(|&p| p as f32 / 255.0)
                .collect()
        })
        .collect()
}

fn run_py(args: &[&std::ffi::OsStr]) {
    let out = Command::new(python())
        .args(args)
        .output()
        .expect("cannot start the Python interpreter (run scripts/setup)");
    assert!(
        out.status.success(),
        "{:?} failed:\n{}\n{}",
        args,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------
// Arrays

fn write_npy(path: &Path, shape: &[usize], data: &TensorData) {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut buf = Vec::new();
    macro_rules! w {
        ($v:expr) => {{
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut buf)
                .begin_nd()
                .expect("npy writer");
            w.extend($v.iter().copied()).expect("npy write");
            w.finish().expect("npy finish");
        }};
    }
    match data {
        TensorData::F32(v) => w!(v),
        TensorData::I8(v) => w!(v),
        TensorData::U8(v) => w!(v),
        TensorData::I16(v) => w!(v),
        other => panic!("cannot write {} arrays", other.dtype()),
    }
    std::fs::write(path, buf).expect("write npy");
}

fn read_npy(bytes: &[u8]) -> (Vec<usize>, TensorData) {
    let f = npyz::NpyFile::new(bytes).expect("npy header");
    let shape = f.shape().iter().map(|&d| d as usize).collect();
    let ts = match f.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => panic!("unexpected npy dtype {other:?}"),
    };
    let data = match ts.as_str() {
        "<f4" => TensorData::F32(f.into_vec().expect("f32")),
        "|i1" => TensorData::I8(f.into_vec().expect("i8")),
        "|u1" => TensorData::U8(f.into_vec().expect("u8")),
        "<i2" => TensorData::I16(f.into_vec().expect("i16")),
        other => panic!("unexpected npy type {other}"),
    };
    (shape, data)
}

/// The outputs in `path` (litert_run.py format), in output order.
fn read_outputs(path: &Path) -> Vec<(String, Vec<usize>, TensorData)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("open npz")).expect("zip");
    let mut entry = |key: &str| {
        let mut e = zip
            .by_name(&format!("{key}.npy"))
            .unwrap_or_else(|_| panic!("entry {key} missing"));
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).expect("read npz entry");
        bytes
    };
    let order = match read_npy(&entry("__order__")).1 {
        TensorData::U8(b) => b,
        _ => panic!("__order__ is not uint8"),
    };
    let keys: Vec<String> = serde_json::from_slice(&order).expect("__order__ JSON");
    keys.into_iter()
        .map(|k| {
            let (shape, data) = read_npy(&entry(&k));
            (k, shape, data)
        })
        .collect()
}

fn as_f64(d: &TensorData) -> Vec<f64> {
    match d {
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I8(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::U8(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I16(v) => v.iter().map(|&x| x as f64).collect(),
        other => panic!("unexpected output type {}", other.dtype()),
    }
}

fn rel_l2(got: &[f64], want: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(want) {
        num += (g - w).powi(2);
        den += w.powi(2);
    }
    (num / den.max(1e-30)).sqrt()
}

// ------------------------------------------------------------------------------------------
// Running both runtimes

/// Quantizes image pixels for an input tensor of the graph.
fn input_value(g: &Graph, pixels: &[f32]) -> TensorValue {
    let t = g.tensor(g.inputs[0]);
    assert_eq!(
        t.numel(),
        pixels.len(),
        "input {} is not one 28x28 image",
        t.name
    );
    let q = |x: f32, lo: i32, hi: i32| {
        let qp = t
            .quant
            .as_ref()
            .expect("integer input without quantization parameters");
        ((x / qp.scale[0]).round() as i32 + qp.zero_point[0]).clamp(lo, hi)
    };
    let data = match t.dtype {
        DType::F32 => TensorData::F32(pixels.to_vec()),
        DType::I8 => TensorData::I8(pixels.iter().map(|&x| q(x, -128, 127) as i8).collect()),
        DType::U8 => TensorData::U8(pixels.iter().map(|&x| q(x, 0, 255) as u8).collect()),
        DType::I16 => TensorData::I16(pixels.iter().map(|&x| q(x, -32768, 32767) as i16).collect()),
        other => panic!("unsupported input type {other}"),
    };
    TensorValue::new(t.shape.clone(), data).expect("input value")
}

fn concat(values: &[TensorValue]) -> TensorData {
    macro_rules! cat {
        ($var:ident) => {
            TensorData::$var(
                values
                    .iter()
                    .flat_map(|v| match &v.data {
                        TensorData::$var(d) => d.clone(),
                        _ => unreachable!("mixed types"),
                    })
                    .collect(),
            )
        };
    }
    match &values[0].data {
        TensorData::F32(_) => cat!(F32),
        TensorData::I8(_) => cat!(I8),
        TensorData::U8(_) => cat!(U8),
        TensorData::I16(_) => cat!(I16),
        other => panic!("unexpected type {}", other.dtype()),
    }
}

/// What the outputs of a model are compared with.
#[derive(Clone, Debug, PartialEq)]
enum Check {
    /// Integer model: exact vs reference, ≤ 1 LSB vs default.
    Exact,
    /// Dynamic range.
    Hybrid,
    /// Dynamic range with per-tensor DEPTHWISE_CONV_2D weights: LiteRT's hybrid depthwise
    /// kernel indexes the filter scales per output channel and reads past a per-tensor scale
    /// array (its outputs are garbage, and its reference and default kernels disagree by a
    /// relative L2 error above 1), so edgequant is compared with LiteRT running this float
    /// model instead, within [`HYBRID_TOL_FLOAT`].
    HybridVsFloat(PathBuf),
    /// float16 weights.
    Float,
}

/// Result of one model comparison.
struct Report {
    name: String,
    lines: Vec<String>,
    failures: Vec<String>,
}

/// Runs `model` on `images` in edgequant (batch 1 each) and in LiteRT (default and reference
/// kernels) and compares according to `check`.
fn compare_model(name: &str, model: &Path, images: &[Vec<f32>], check: &Check) -> Report {
    let bytes = std::fs::read(model).expect("read model");
    let graph = edgequant_tflite::read_model(&bytes)
        .unwrap_or_else(|e| panic!("{name}: cannot read {}: {e}", model.display()))
        .graph;
    assert_eq!(graph.inputs.len(), 1, "{name}: one input expected");
    let ins: Vec<TensorValue> = images.iter().map(|im| input_value(&graph, im)).collect();
    compare_model_inputs(name, model, &graph, ins, true, check)
}

/// [`compare_model`] on given batch-1 input values. With `batched`, LiteRT runs all of them
/// in one invocation (batch resized to N); otherwise one invocation per input.
fn compare_model_inputs(
    name: &str,
    model: &Path,
    graph: &Graph,
    ins: Vec<TensorValue>,
    batched: bool,
    check: &Check,
) -> Report {
    let interp = Interpreter::new(graph).unwrap_or_else(|e| panic!("{name}: prepare failed: {e}"));
    let images = &ins;
    // edgequant, batch 1 per image.
    let outs: Vec<Vec<TensorValue>> = ins
        .iter()
        .map(|x| {
            interp
                .run(vec![x.clone()])
                .unwrap_or_else(|e| panic!("{name}: run failed: {e}"))
        })
        .collect();
    // LiteRT, one invocation with batch N.
    let dir = tmp_dir(name);
    let in_path = dir.join("in.npy");
    let mut shape = ins[0].shape.clone();
    shape[0] = images.len();
    write_npy(&in_path, &shape, &concat(&ins));
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    let mut litert = BTreeMap::new();
    let run_litert = |model: &Path, inp: &Path, out: &Path, resolver: &str| {
        run_py(&[
            repo_root().join("tests-py/litert_run.py").as_os_str(),
            model.as_os_str(),
            out.as_os_str(),
            "-i".as_ref(),
            inp.as_os_str(),
            "--resolver".as_ref(),
            resolver.as_ref(),
        ]);
        read_outputs(out)
    };
    for resolver in ["ref", "auto"] {
        let want = if batched {
            run_litert(
                model,
                &in_path,
                &dir.join(format!("out_{resolver}.npz")),
                resolver,
            )
        } else {
            // One invocation per input; outputs concatenated along the batch.
            let mut parts: Vec<Vec<(String, Vec<usize>, TensorData)>> = Vec::new();
            for (i, x) in ins.iter().enumerate() {
                let p = dir.join(format!("in{i}.npy"));
                write_npy(&p, &x.shape, &x.data);
                parts.push(run_litert(
                    model,
                    &p,
                    &dir.join(format!("out_{resolver}_{i}.npz")),
                    resolver,
                ));
            }
            (0..parts[0].len())
                .map(|k| {
                    let vals: Vec<TensorValue> = parts
                        .iter()
                        .map(|p| TensorValue {
                            shape: p[k].1.clone(),
                            data: p[k].2.clone(),
                        })
                        .collect();
                    let mut shape = parts[0][k].1.clone();
                    if let Some(d) = shape.first_mut() {
                        *d *= ins.len();
                    }
                    (parts[0][k].0.clone(), shape, concat(&vals))
                })
                .collect()
        };
        assert_eq!(want.len(), graph.outputs.len(), "{name}: output count");
        litert.insert(resolver, want);
    }
    if let Check::HybridVsFloat(float_model) = check {
        let out = run_litert(float_model, &in_path, &dir.join("out_float.npz"), "auto");
        litert.insert("float", out);
    }
    for k in 0..graph.outputs.len() {
        let ours: Vec<TensorValue> = outs.iter().map(|o| o[k].clone()).collect();
        let got = concat(&ours);
        let (key, wshape, _) = &litert["ref"][k];
        assert_eq!(wshape[0], images.len(), "{name}: LiteRT batch");
        for (_, want) in litert.values().map(|w| (0, &w[k].2)) {
            assert_eq!(got.dtype(), want.dtype(), "{name} {key}: output type");
            assert_eq!(got.len(), want.len(), "{name} {key}: output size");
        }
        let g = as_f64(&got);
        let (r, d) = (as_f64(&litert["ref"][k].2), as_f64(&litert["auto"][k].2));
        let out_t = graph.tensor(graph.outputs[k]);
        match check {
            Check::Exact => {
                // One LSB: 1 for integer outputs, the scale of the dequantized tensor for
                // float outputs (DEQUANTIZE of the integer result).
                let lsb = if out_t.dtype == DType::F32 {
                    graph
                        .nodes
                        .iter()
                        .find(|n| n.outputs.contains(&graph.outputs[k]))
                        .and_then(|n| n.inputs.first().copied().flatten())
                        .and_then(|t| graph.tensor(t).quant.as_ref())
                        .map_or(1.0, |q| q.scale[0] as f64)
                } else {
                    1.0
                };
                let stats = |a: &[f64], b: &[f64]| {
                    let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
                    let max = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0, f64::max)
                        / lsb;
                    let over = a
                        .iter()
                        .zip(b)
                        .filter(|(x, y)| (*x - *y).abs() / lsb > 1.0 + 1e-6)
                        .count();
                    (differ, max, over)
                };
                let (ref_differ, _, _) = stats(&g, &r);
                let (def_differ, def_max, def_over) = stats(&g, &d);
                let (_, litert_max, litert_over) = stats(&r, &d);
                lines.push(format!(
                    "{name} {key}: vs LiteRT ref {ref_differ}/{n} values differ; vs LiteRT default {def_differ}/{n} differ, max {def_max:.0} LSB, {def_over} above 1 LSB (LiteRT ref vs default: max {litert_max:.0} LSB, {litert_over} above 1 LSB)",
                    n = g.len()
                ));
                if ref_differ != 0 {
                    failures.push(format!(
                        "{key}: {ref_differ}/{} values differ from LiteRT ref",
                        g.len()
                    ));
                }
                // Within 1 LSB of the default kernels, or no further than LiteRT's own
                // reference kernels are (a 1-LSB difference before a SOFTMAX can grow).
                if def_max > 1.0 + 1e-6 && def_max > litert_max + 1e-6 {
                    failures.push(format!(
                        "{key}: {def_max} LSB from LiteRT default (LiteRT ref: {litert_max} LSB)"
                    ));
                }
            }
            Check::HybridVsFloat(_) => {
                let f = as_f64(&litert["float"][k].2);
                let err = rel_l2(&g, &f);
                lines.push(format!(
                    "{name} {key}: vs LiteRT running the float model: relative L2 error {err:.3e} (tolerance {HYBRID_TOL_FLOAT:e}); LiteRT's own hybrid kernels vs the float model: ref {:.3e}, default {:.3e}",
                    rel_l2(&r, &f),
                    rel_l2(&d, &f)
                ));
                if err > HYBRID_TOL_FLOAT {
                    failures.push(format!(
                        "[float] {key}: relative L2 {err:.3e} > {HYBRID_TOL_FLOAT:e}"
                    ));
                }
            }
            Check::Hybrid | Check::Float => {
                for (resolver, w) in [("ref", &r), ("default", &d)] {
                    let err = rel_l2(&g, w);
                    let tol = match (check, resolver) {
                        (Check::Hybrid, "ref") => HYBRID_TOL_REF,
                        (Check::Hybrid, _) => HYBRID_TOL_DEFAULT,
                        _ => FLOAT_TOL,
                    };
                    let per = g.len() / images.len();
                    let worst = g
                        .chunks(per)
                        .zip(w.chunks(per))
                        .map(|(a, b)| rel_l2(a, b))
                        .fold(0.0, f64::max);
                    lines.push(format!(
                        "{name} {key}: vs LiteRT {resolver}: relative L2 error {err:.3e} (worst image {worst:.3e}, tolerance {tol:e}); LiteRT ref vs default {:.3e}",
                        rel_l2(&r, &d)
                    ));
                    if err > tol {
                        failures.push(format!(
                            "[{resolver}] {key}: relative L2 {err:.3e} > {tol:e}"
                        ));
                    }
                }
            }
        }
    }
    let plan = interp.memory_plan();
    lines.push(format!(
        "{name}: planned peak activation memory {} bytes (no reuse: {} bytes), run-time constants {} bytes",
        plan.peak_activation_bytes, plan.total_activation_bytes, plan.constant_bytes
    ));
    Report {
        name: name.to_string(),
        lines,
        failures,
    }
}

fn assert_reports(reports: Vec<Report>) {
    let mut failures = Vec::new();
    for r in &reports {
        for l in &r.lines {
            println!("{l}");
        }
        for f in &r.failures {
            failures.push(format!("{}: {f}", r.name));
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

fn images() -> &'static [Vec<f32>] {
    &mnist_test().0[..IMAGES]
}

// ------------------------------------------------------------------------------------------
// TensorFlow-converted fixtures

#[test]
fn tensorflow_int8_models_bit_exact() {
    let models = [
        ("tutorial_int8", "tutorial_cnn/int8.tflite"),
        ("tutorial_int8_floatio", "tutorial_cnn/int8_floatio.tflite"),
        ("tutorial_uint8io", "int_models/tutorial_uint8io.tflite"),
        (
            "tutorial_int8_fc_per_tensor",
            "int_models/tutorial_int8_fc_per_tensor.tflite",
        ),
        ("opzoo_int8", "int_models/opzoo_int8.tflite"),
        ("opzoo_int8_floatio", "int_models/opzoo_int8_floatio.tflite"),
        ("opzoo_uint8io", "int_models/opzoo_uint8io.tflite"),
    ];
    assert_reports(
        models
            .iter()
            .map(|(n, p)| compare_model(n, &fixture(p), images(), &Check::Exact))
            .collect(),
    );
}

#[test]
fn tensorflow_16x8_models_bit_exact() {
    let models = [
        ("tutorial_16x8", "int_models/tutorial_16x8.tflite"),
        ("opzoo_16x8", "int_models/opzoo_16x8.tflite"),
    ];
    assert_reports(
        models
            .iter()
            .map(|(n, p)| compare_model(n, &fixture(p), images(), &Check::Exact))
            .collect(),
    );
}

#[test]
fn tensorflow_dynamic_range_models() {
    let per_tensor = Check::HybridVsFloat(fixture("int_models/opzoo_float.tflite"));
    let models = [
        (
            "tutorial_dynamic",
            "tutorial_cnn/dynamic.tflite",
            Check::Hybrid,
        ),
        (
            "opzoo_dynamic",
            "int_models/opzoo_dynamic.tflite",
            Check::Hybrid,
        ),
        (
            "opzoo_dynamic_per_tensor",
            "int_models/opzoo_dynamic_per_tensor.tflite",
            per_tensor,
        ),
    ];
    assert_reports(
        models
            .iter()
            .map(|(n, p, c)| compare_model(n, &fixture(p), images(), c))
            .collect(),
    );
}

#[test]
fn tensorflow_float16_model() {
    assert_reports(vec![compare_model(
        "tutorial_float16",
        &fixture("tutorial_cnn/float16.tflite"),
        images(),
        &Check::Float,
    )]);
}

/// Top-1 accuracy of `int8.tflite` on the 10k MNIST test set: edgequant (batch 1 per image)
/// vs LiteRT's reference kernels (every output byte equal, hence identical counts) and its
/// default kernels.
#[test]
fn tutorial_int8_accuracy_10k() {
    let model = fixture("tutorial_cnn/int8.tflite");
    let (all, labels) = mnist_test();
    let graph = edgequant_tflite::read_model(&std::fs::read(&model).expect("read model"))
        .expect("read .tflite")
        .graph;
    let interp = Interpreter::new(&graph).expect("prepare");
    let ins: Vec<TensorValue> = all.iter().map(|im| input_value(&graph, im)).collect();
    let ours: Vec<TensorValue> = ins
        .iter()
        .map(|x| interp.run(vec![x.clone()]).expect("run").remove(0))
        .collect();
    let argmax = |row: &[f64]| {
        row.iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0
    };
    let correct = |out: &[f64]| {
        out.chunks(10)
            .zip(labels)
            .filter(|(row, &l)| argmax(row) == l as usize)
            .count()
    };
    let ours_flat = as_f64(&concat(&ours));
    let ours_correct = correct(&ours_flat);
    let dir = tmp_dir("accuracy_10k");
    let in_path = dir.join("in.npy");
    let mut shape = ins[0].shape.clone();
    shape[0] = ins.len();
    write_npy(&in_path, &shape, &concat(&ins));
    let mut results = BTreeMap::new();
    for resolver in ["ref", "auto"] {
        let out_path = dir.join(format!("out_{resolver}.npz"));
        run_py(&[
            repo_root().join("tests-py/litert_run.py").as_os_str(),
            model.as_os_str(),
            out_path.as_os_str(),
            "-i".as_ref(),
            in_path.as_os_str(),
            "--resolver".as_ref(),
            resolver.as_ref(),
        ]);
        let want = as_f64(&read_outputs(&out_path)[0].2);
        let differ = want.iter().zip(&ours_flat).filter(|(a, b)| a != b).count();
        results.insert(resolver, (correct(&want), differ));
    }
    let n = labels.len();
    println!(
        "int8.tflite on {n} MNIST test images: edgequant {ours_correct} correct ({:.2} %), LiteRT ref {} ({} output values differ), LiteRT default {} ({} output values differ)",
        100.0 * ours_correct as f64 / n as f64,
        results["ref"].0,
        results["ref"].1,
        results["auto"].0,
        results["auto"].1,
    );
    assert_eq!(
        results["ref"].1, 0,
        "outputs differ from LiteRT's reference kernels"
    );
    assert_eq!(
        ours_correct, results["ref"].0,
        "accuracy differs from LiteRT reference"
    );
}

// ------------------------------------------------------------------------------------------
// Models written by edgequant's quantizer

fn quantized_by_edgequant(float_model: &Path, tag: &str) -> Vec<(String, PathBuf, Check)> {
    use edgequant_quant::{
        calibrate, prepare_float, quantize_dynamic, quantize_float16, quantize_integer,
        DynamicOptions, IntegerOptions, IoType,
    };
    let bytes = std::fs::read(float_model).expect("read float model");
    let graph = edgequant_tflite::read_model(&bytes)
        .expect("read float model")
        .graph;
    let float = prepare_float(&graph).expect("prepare_float");
    let samples: Vec<Vec<Vec<f32>>> = mnist_train(100).into_iter().map(|x| vec![x]).collect();
    let ranges = calibrate(
        &float,
        &samples,
        edgequant_calib::CalibratorKind::MinMax,
        &|| {},
    )
    .expect("calibrate");
    let dir = tmp_dir(&format!("eq_{tag}"));
    let mut out = Vec::new();
    let mut save = |name: &str, g: &Graph, check: Check| {
        let path = dir.join(format!("{name}.tflite"));
        let b = edgequant_tflite::write_model(g, "edgequant test").expect("write model");
        std::fs::write(&path, b).expect("write model file");
        out.push((format!("eq_{tag}_{name}"), path, check));
    };
    let int = |acts: DType, io: IoType, fc_per_channel: bool| IntegerOptions {
        activations: acts,
        input_type: io,
        output_type: io,
        fc_per_channel,
        ..IntegerOptions::default()
    };
    for (name, opts) in [
        ("int8", int(DType::I8, IoType::Float32, false)),
        ("int8_int8io", int(DType::I8, IoType::Int8, false)),
        ("int8_uint8io", int(DType::I8, IoType::Uint8, false)),
        ("int8_fc_per_channel", int(DType::I8, IoType::Int8, true)),
        ("16x8", int(DType::I16, IoType::Float32, false)),
    ] {
        let q = quantize_integer(&float, &ranges, &opts).expect("quantize_integer");
        save(name, &q.graph, Check::Exact);
    }
    let has_depthwise = graph
        .nodes
        .iter()
        .any(|n| matches!(n.op, edgequant_ir::Op::DepthwiseConv2d(_)));
    for (name, per_tensor) in [("dynamic", false), ("dynamic_per_tensor", true)] {
        let (g, _) = quantize_dynamic(
            &float,
            &DynamicOptions {
                per_tensor,
                ..DynamicOptions::default()
            },
        )
        .expect("quantize_dynamic");
        let check = if per_tensor && has_depthwise {
            Check::HybridVsFloat(float_model.to_path_buf())
        } else {
            Check::Hybrid
        };
        save(name, &g, check);
    }
    save(
        "float16",
        &quantize_float16(&float).expect("float16"),
        Check::Float,
    );
    out
}

#[test]
fn edgequant_quantized_tutorial_models() {
    let models = quantized_by_edgequant(&fixture("tutorial_cnn/float.tflite"), "tutorial");
    assert_reports(
        models
            .iter()
            .map(|(n, p, c)| compare_model(n, p, images(), c))
            .collect(),
    );
}

#[test]
fn edgequant_quantized_opzoo_models() {
    let models = quantized_by_edgequant(&fixture("int_models/opzoo_float.tflite"), "opzoo");
    assert_reports(
        models
            .iter()
            .map(|(n, p, c)| compare_model(n, p, images(), c))
            .collect(),
    );
}

/// A MediaPipe float model from `scripts/setup`'s cache, read into edgequant's IR.
fn mediapipe_float(stem: &str) -> Graph {
    let path = cache_dir().join("models").join(format!("{stem}.tflite"));
    assert!(
        path.exists(),
        "model {} is missing: run scripts/setup",
        path.display()
    );
    edgequant_tflite::read_model(&std::fs::read(&path).expect("read"))
        .expect("read model")
        .graph
}

/// Writes `g` to `path` as .tflite and returns the graph read back from the file.
fn write_and_read_back(g: &Graph, path: &Path) -> Graph {
    std::fs::write(
        path,
        edgequant_tflite::write_model(g, "edgequant test").expect("write"),
    )
    .expect("write model file");
    edgequant_tflite::read_model(&std::fs::read(path).expect("read"))
        .expect("read back")
        .graph
}

/// Four real photos for `model`'s single input, centre-cropped and resized by make_inputs.py,
/// scaled to `range` (its `--range`: 01, -11, ...), in `dir`.
fn photo_inputs(model: &Path, dir: &Path, range: &str) -> Vec<TensorValue> {
    let mut ins = Vec::new();
    for image in [
        "astronaut.png",
        "chelsea.png",
        "coffee.png",
        "motorcycle_left.png",
    ] {
        let idir = dir.join(image);
        std::fs::create_dir_all(&idir).expect("dir");
        run_py(&[
            repo_root().join("tests-py/make_inputs.py").as_os_str(),
            model.as_os_str(),
            idir.as_os_str(),
            "--image".as_ref(),
            image.as_ref(),
            "--range".as_ref(),
            range.as_ref(),
        ]);
        let (shape, data) = read_npy(&std::fs::read(idir.join("in0.npy")).expect("in0.npy"));
        ins.push(TensorValue::new(shape, data).expect("input"));
    }
    ins
}

/// The first layer of MediaPipe's face detector (a 5×5 CONV_2D with 1800 weights, so int8 in
/// dynamic-range mode), written by edgequant, on real photos scaled to [0, 1] and to [-1, 1]:
/// within [`HYBRID_TOL_REF`] of LiteRT's reference kernels. The hybrid kernel quantizes its
/// input at run time, and these pixels put many products `x / scale` next to .5 and the zero
/// point of one photo at exactly -0.5, where the rounding order decides the integer (rounding
/// `offset + x / scale` instead of the product: relative L2 error 2.3e-4 on this layer, 5e-2
/// at the whole model's outputs). The layer is
/// cut out because in the whole model float-rounding differences of the float layers before
/// each hybrid one move values across rounding boundaries by themselves (LiteRT's own reference
/// and default kernels differ by 8e-2 there).
#[test]
fn edgequant_dynamic_first_face_detection_layer_matches_reference_kernels() {
    use edgequant_ir::passes::DeadCode;
    use edgequant_quant::{prepare_float, quantize_dynamic, DynamicOptions};
    let mut float =
        prepare_float(&mediapipe_float("face_detection_short_range")).expect("prepare_float");
    let conv = float
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Conv2d(_)))
        .expect("a CONV_2D");
    float.outputs = vec![conv.outputs[0]];
    edgequant_ir::run_passes(&mut float, &[&DeadCode]).expect("dead code");
    let (q, _) = quantize_dynamic(&float, &DynamicOptions::default()).expect("quantize_dynamic");
    let hybrid = q
        .nodes
        .iter()
        .filter(|n| {
            matches!(n.op, Op::Conv2d(_))
                && n.inputs[1].is_some_and(|w| q.tensor(w).dtype == DType::I8)
        })
        .count();
    assert_eq!(hybrid, 1, "the first CONV_2D must have int8 weights");
    let dir = tmp_dir("eq_face_detection_first_layer_dynamic");
    let path = dir.join("dynamic.tflite");
    let graph = write_and_read_back(&q, &path);
    let mut ins = photo_inputs(&path, &dir.join("01"), "01");
    ins.extend(photo_inputs(&path, &dir.join("-11"), "-11"));
    assert_reports(vec![compare_model_inputs(
        "eq_face_detection_first_layer_dynamic",
        &path,
        &graph,
        ins,
        false,
        &Check::Hybrid,
    )]);
}

/// The MediaPipe float models (real-photo inputs) quantized to int8 by edgequant, calibrated
/// on the photos of `scripts/setup`'s image cache: every output equal to LiteRT's reference
/// kernels (these models keep a few ops in float; their outputs are float). iris_landmark is
/// checked both with its PRELUs kept float (the default) and quantized to int8;
/// selfie_segmentation (its TRANSPOSE_CONV, imported from MediaPipe's custom
/// Convolution2DTransposeBias, is integer too) in int8 and in 16x8.
#[test]
fn edgequant_quantized_mediapipe_int8_models() {
    use edgequant_calib::{load_dataset, CalibratorKind, InputSpec, ReadOptions};
    use edgequant_quant::{calibrate, prepare_float, quantize_integer, IntegerOptions};
    let mut reports = Vec::new();
    for (stem, float_prelu, activations) in [
        ("iris_landmark", true, DType::I8),
        ("iris_landmark", false, DType::I8),
        ("hand_landmark_lite", true, DType::I8),
        ("selfie_segmentation", true, DType::I8),
        ("selfie_segmentation", true, DType::I16),
    ] {
        let float = prepare_float(&mediapipe_float(stem)).expect("prepare_float");
        let x = float.tensor(float.inputs[0]);
        let (h, w) = (x.shape[1], x.shape[2]);
        let specs = [InputSpec::from_batched(x.name.clone(), &x.shape).expect("input spec")];
        let images = cache_dir().join("images");
        assert!(
            images.exists(),
            "{} is missing: run scripts/setup",
            images.display()
        );
        let ds = load_dataset(
            &images,
            &specs,
            &ReadOptions {
                max_samples: Some(16),
                resize: Some((h, w)),
                ..ReadOptions::default()
            },
        )
        .expect("calibration images");
        let ranges =
            calibrate(&float, ds.samples(), CalibratorKind::MinMax, &|| {}).expect("calibrate");
        let opts = IntegerOptions {
            float_prelu,
            activations,
            ..IntegerOptions::default()
        };
        let q = quantize_integer(&float, &ranges, &opts).expect("quantize");
        let transpose_convs: Vec<DType> = q
            .graph
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::TransposeConv(_)))
            .map(|n| q.graph.tensor(n.outputs[0]).dtype)
            .collect();
        assert!(
            transpose_convs.iter().all(|&d| d == activations),
            "{stem}: TRANSPOSE_CONV outputs {transpose_convs:?}, expected all {activations}"
        );
        let prelu_dtypes: Vec<DType> = q
            .graph
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Prelu(_)))
            .map(|n| q.graph.tensor(n.outputs[0]).dtype)
            .collect();
        let want = if float_prelu { DType::F32 } else { activations };
        assert!(
            prelu_dtypes.iter().all(|&d| d == want),
            "{stem}: PRELU outputs {prelu_dtypes:?}, expected all {want}"
        );
        let tag = match (float_prelu, activations) {
            (false, _) => "_int8_prelu",
            (true, DType::I16) => "_16x8",
            _ => "",
        };
        let dir = tmp_dir(&format!("eq_{stem}{tag}"));
        let path = dir.join("int8.tflite");
        let graph = write_and_read_back(&q.graph, &path);
        let ins = photo_inputs(&path, &dir, "01");
        reports.push(compare_model_inputs(
            &format!(
                "eq_{stem}{tag}{}",
                if activations == DType::I16 {
                    ""
                } else {
                    "_int8"
                }
            ),
            &path,
            &graph,
            ins,
            false,
            &Check::Exact,
        ));
    }
    assert_reports(reports);
}
