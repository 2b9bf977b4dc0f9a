//! Shared helpers of the ONNX integration tests.
#![allow(dead_code)]

use edgequant_interp::{Interpreter, TensorValue};
use edgequant_onnx::{read_onnx, ImportOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The edgequant cache (`$EDGEQUANT_CACHE`, default `$HOME/.cache/edgequant`).
pub fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("EDGEQUANT_CACHE") {
        return PathBuf::from(c);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache").join("edgequant")
}

/// A required file or directory of the test material; panics (failing the test) with a
/// pointer to scripts/setup when it is missing.
pub fn require(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} not found at {}: run scripts/setup (it fetches and generates the test material)",
        path.display()
    );
    path
}

/// Relative L2 error `|a - b| / |b|`.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let den: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (num / den.max(1e-300)).sqrt()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project venv's python (`$EDGEQUANT_PYTHON` or `$CACHE/venv/bin/python`).
pub fn python() -> PathBuf {
    match std::env::var_os("EDGEQUANT_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => require(cache_dir().join("venv/bin/python"), "the Python venv"),
    }
}

/// The installed `onnx` package directory of the project venv.
pub fn onnx_package_dir() -> PathBuf {
    let out = Command::new(python())
        .args([
            "-c",
            "import os, onnx; print(os.path.dirname(onnx.__file__))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the venv python: {e} (run scripts/setup)"));
    assert!(
        out.status.success(),
        "the venv has no onnx package: run scripts/setup"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs a tests-py script; panics with its output on failure.
pub fn run_py(args: &[&str]) {
    let script = require(repo().join("tests-py").join(args[0]), "tests-py script");
    let out = Command::new(python())
        .arg(&script)
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Shape and float32 data of an .npy file's bytes.
pub fn read_npy(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let npy = npyz::NpyFile::new(bytes).expect("npy header");
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let data: Vec<f32> = npy.into_vec().expect("float32 npy");
    (shape, data)
}

/// Entry `key` of an .npz file.
pub fn read_npz_entry(path: &Path, key: &str) -> (Vec<usize>, Vec<f32>) {
    let f = std::fs::File::open(path).expect("npz");
    let mut z = zip::ZipArchive::new(f).expect("zip");
    let mut e = z
        .by_name(&format!("{key}.npy"))
        .unwrap_or_else(|_| panic!("{key} not in {}", path.display()));
    let mut bytes = Vec::new();
    e.read_to_end(&mut bytes).expect("read npz entry");
    read_npy(&bytes)
}

/// A rank-4 array transposed by `perm`.
pub fn transpose4(shape: &[usize], v: &[f32], perm: [usize; 4]) -> (Vec<usize>, Vec<f32>) {
    let st = [
        shape[1] * shape[2] * shape[3],
        shape[2] * shape[3],
        shape[3],
        1,
    ];
    let os: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut out = Vec::with_capacity(v.len());
    for a in 0..os[0] {
        for b in 0..os[1] {
            for c in 0..os[2] {
                for d in 0..os[3] {
                    let idx = [a, b, c, d];
                    let off: usize = (0..4).map(|k| idx[k] * st[perm[k]]).sum();
                    out.push(v[off]);
                }
            }
        }
    }
    (os, out)
}

/// Imports `model` (input `input` fixed to `shape`), runs it in edgequant's interpreter on a
/// real-photo input from tests-py/make_inputs.py, compares output 0 with onnxruntime
/// (tests-py/ort_run.py) with both boundary layouts, and asserts relative L2 below
/// `tolerance`. Prints the numbers.
pub fn compare_with_onnxruntime(path: &Path, input: &str, shape: [usize; 4], tolerance: f64) {
    let model = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = std::env::temp_dir().join(format!("edgequant-onnx-{}-{model}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let (p, t) = (
        path.to_string_lossy().to_string(),
        tmp.to_string_lossy().to_string(),
    );
    let size = format!("{}x{}", shape[2], shape[3]);
    run_py(&["make_inputs.py", &p, &t, "--size", &size]);
    let in0 = tmp.join("in0.npy");
    let ort_out = tmp.join("ort.npz");
    run_py(&[
        "ort_run.py",
        &p,
        &ort_out.to_string_lossy(),
        "-i",
        &in0.to_string_lossy(),
    ]);
    let (in_shape, in_data) = read_npy(&std::fs::read(&in0).expect("in0.npy"));
    assert_eq!(in_shape, shape.to_vec());
    let bytes = std::fs::read(path).expect("model");
    for keep in [true, false] {
        let mut opts = ImportOptions {
            keep_io_layout: keep,
            ..Default::default()
        };
        opts.input_shapes.insert(input.to_string(), shape.to_vec());
        let t0 = std::time::Instant::now();
        let graph = read_onnx(&bytes, &opts).unwrap_or_else(|e| panic!("{model}: {e}"));
        let import_ms = t0.elapsed().as_secs_f64() * 1e3;
        let out_name = graph.tensor(graph.outputs[0]).name.clone();
        let interp = Interpreter::new(&graph).unwrap_or_else(|e| panic!("{model}: {e}"));
        let (s, d) = if keep {
            (in_shape.clone(), in_data.clone())
        } else {
            transpose4(&in_shape, &in_data, [0, 2, 3, 1])
        };
        let t1 = std::time::Instant::now();
        let out = interp
            .run(vec![TensorValue::from_f32(s, d).expect("input")])
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        let run_ms = t1.elapsed().as_secs_f64() * 1e3;
        let got = &out[0];
        let (want_shape, want) = read_npz_entry(&ort_out, &out_name);
        let got_data = got.as_f32().expect("float output").to_vec();
        let (got_shape, got_data) = if !keep && got.shape.len() == 4 {
            transpose4(&got.shape, &got_data, [0, 3, 1, 2])
        } else {
            (got.shape.clone(), got_data)
        };
        assert_eq!(got_shape, want_shape, "{model}: output shape");
        let err = rel_l2(&got_data, &want);
        let max_abs = got_data
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let transposes = graph
            .nodes
            .iter()
            .filter(|n| n.op.name() == "TRANSPOSE")
            .count();
        println!(
            "{model} (keep_io_layout={keep}): {} IR nodes ({transposes} TRANSPOSE), import {import_ms:.0} ms, run {run_ms:.0} ms, rel L2 {err:.3e}, max |diff| {max_abs:.3e}",
            graph.nodes.len()
        );
        assert!(
            err < tolerance,
            "{model}: relative L2 error {err:e} >= {tolerance:e}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
