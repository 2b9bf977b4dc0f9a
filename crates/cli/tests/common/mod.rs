//! Shared helpers for the CLI integration tests: locating the fixture cache and the Python
//! test environment, running edgequant and the reference runtimes, comparing arrays.
//!
//! Missing fixtures or a missing Python environment make tests fail with a message naming
//! `scripts/setup`; they never pass silently.

#![allow(dead_code)]

use edgequant::arrays::{read_npz, Array};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixture cache: `$EDGEQUANT_CACHE`, default `$HOME/.cache/edgequant`.
pub fn cache() -> PathBuf {
    match std::env::var_os("EDGEQUANT_CACHE") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/edgequant")
        }
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require(p: PathBuf) -> PathBuf {
    assert!(
        p.exists(),
        "missing test fixture {}: run scripts/setup first",
        p.display()
    );
    p
}

/// A model from the cache's `models/` folder.
pub fn model(name: &str) -> PathBuf {
    require(cache().join("models").join(name))
}

/// A committed fixture under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    require(repo().join("fixtures").join(rel))
}

/// The test virtual environment's Python.
pub fn python() -> PathBuf {
    require(cache().join("venv/bin/python"))
}

/// Top-1 accuracy in percent of an MNIST classifier on the 10k MNIST test images with LiteRT
/// (`scripts/eval_mnist_tflite.py`): default kernels, and with `reference` also LiteRT's
/// reference kernels.
pub fn litert_mnist_accuracy(model: &Path, reference: bool) -> (f64, Option<f64>) {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("scripts/eval_mnist_tflite.py"))
        .arg(model);
    if reference {
        cmd.arg("--ref");
    }
    let out = cmd.output().expect("spawn python");
    assert!(
        out.status.success(),
        "LiteRT evaluation of {} failed: {}",
        model.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("eval prints JSON");
    let v: serde_json::Value = serde_json::from_str(last).expect("eval JSON");
    assert_eq!(v["n"], 10000);
    let pct = |key: &str| v[key].as_f64().map(|a| a * 100.0);
    (
        pct("accuracy").expect("accuracy"),
        reference.then(|| pct("accuracy_ref").expect("accuracy_ref")),
    )
}

/// A fresh temporary directory for one test.
pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgequant-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

fn check(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the edgequant binary and returns its output without checking the status.
pub fn edgequant_raw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgequant"))
        .args(args)
        .output()
        .expect("spawn edgequant")
}

/// Runs the edgequant binary and requires success.
pub fn edgequant(args: &[&str]) -> Output {
    check(
        &format!("edgequant {}", args.join(" ")),
        edgequant_raw(args),
    )
}

fn py(script: &str, args: &[&str]) -> Output {
    let s = repo().join("tests-py").join(script);
    let out = Command::new(python())
        .arg(&s)
        .args(args)
        .output()
        .expect("spawn python");
    check(&format!("{script} {}", args.join(" ")), out)
}

/// Real-image inputs for `model` written to `dir` (tests-py/make_inputs.py); returns the
/// .npy paths in input order.
pub fn make_inputs(model: &Path, dir: &Path) -> Vec<PathBuf> {
    py("make_inputs.py", &[&s(model), &s(dir)]);
    let mut v = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("in{i}.npy"));
        if !p.exists() {
            break;
        }
        v.push(p);
    }
    assert!(
        !v.is_empty(),
        "make_inputs.py wrote no inputs for {}",
        model.display()
    );
    v
}

/// Path as &str.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Runs LiteRT on `model` (`reference` = BUILTIN_REF kernels) and returns outputs in order.
pub fn litert(
    model: &Path,
    inputs: &[PathBuf],
    out: &Path,
    reference: bool,
) -> Vec<(String, Array)> {
    let mut args = vec![s(model), s(out)];
    if !inputs.is_empty() {
        args.push("-i".into());
        args.extend(inputs.iter().map(|p| s(p)));
    }
    if reference {
        args.push("--ref".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    py("litert_run.py", &refs);
    ordered_npz(out)
}

/// Runs onnxruntime on `model` and returns outputs in order.
pub fn ort(model: &Path, inputs: &[PathBuf], out: &Path) -> Vec<(String, Array)> {
    let mut args = vec![s(model), s(out), "-i".into()];
    args.extend(inputs.iter().map(|p| s(p)));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    py("ort_run.py", &refs);
    ordered_npz(out)
}

/// Reads an .npz; when it has an `__order__` member (UTF-8 JSON list of keys, written by the
/// Python helpers), returns the arrays in that order without it.
pub fn ordered_npz(path: &Path) -> Vec<(String, Array)> {
    let all = read_npz(path).unwrap_or_else(|e| panic!("read {}: {e:#}", path.display()));
    let Some((_, order)) = all.iter().find(|(n, _)| n == "__order__") else {
        return all;
    };
    let keys: Vec<String> = serde_json::from_slice(&order.bytes).expect("__order__ is JSON");
    keys.iter()
        .map(|k| {
            all.iter()
                .find(|(n, _)| n == k)
                .cloned()
                .unwrap_or_else(|| panic!("{}: no array '{k}'", path.display()))
        })
        .collect()
}

/// Runs `edgequant run` and returns outputs in order.
pub fn edgequant_run(
    model: &Path,
    inputs: &[PathBuf],
    out: &Path,
    extra: &[&str],
) -> Vec<(String, Array)> {
    let mut args = vec!["run".to_string(), s(model), "-o".into(), s(out)];
    for i in inputs {
        args.push("-i".into());
        args.push(s(i));
    }
    args.extend(extra.iter().map(|x| x.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    edgequant(&refs);
    read_npz(out).unwrap_or_else(|e| panic!("read {}: {e:#}", out.display()))
}

/// Float values of an array (float32 or float16 storage).
pub fn floats(a: &Array) -> Vec<f64> {
    match a.dtype {
        edgequant_ir::DType::F32 => a
            .bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        other => panic!("expected float32 array, got {other}"),
    }
}

/// Relative L2 error ‖a − b‖₂ / ‖b‖₂ (b is the reference; an all-zero reference uses ‖a‖₂).
pub fn rel_l2(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    if den == 0.0 {
        num
    } else {
        num / den
    }
}

/// Asserts that every output agrees with the reference within relative L2 `tol`, matching
/// outputs by position and checking shapes; returns the worst error.
pub fn assert_close(
    what: &str,
    ours: &[(String, Array)],
    reference: &[(String, Array)],
    tol: f64,
) -> f64 {
    assert_eq!(ours.len(), reference.len(), "{what}: output count");
    let mut worst: f64 = 0.0;
    for ((n, a), (rn, b)) in ours.iter().zip(reference) {
        assert_eq!(
            a.shape, b.shape,
            "{what}: output '{n}' vs reference '{rn}' shape"
        );
        let e = rel_l2(&floats(a), &floats(b));
        assert!(
            e <= tol,
            "{what}: output '{n}' relative L2 error {e:.3e} exceeds {tol:.0e}"
        );
        worst = worst.max(e);
    }
    worst
}
