//! Runs the MediaPipe float models on real-image inputs and compares every output with
//! LiteRT (ai-edge-litert 2.3.0): the default resolver (optimized kernels + XNNPACK), the
//! builtin kernels without delegate, and the reference kernels.
//!
//! Tolerance: relative L2 error ≤ 1e-5 per output (float32 results differing only by
//! summation order and FMA), asserted against the last kernel set listed for a model (the
//! reference kernels where LiteRT can run them). The distances to the other kernel sets are
//! printed next to LiteRT's own spread between its kernel sets: on hand_landmark_lite's world
//! landmarks `Identity_3` (heavy cancellation) XNNPACK and the reference kernels differ by
//! about 1.1e-5 themselves, and edgequant is 1.01e-5 from XNNPACK, 6.3e-6 from the reference.
//!
//! Needs the models and the Python venv made by `scripts/setup`; without them the tests fail
//! (they never pass silently).

use edgequant_interp::{Interpreter, TensorData, TensorValue};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOLERANCE: f64 = 1e-5;

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

fn model_path(stem: &str) -> PathBuf {
    let p = cache_dir().join("models").join(format!("{stem}.tflite"));
    assert!(
        p.exists(),
        "model {} is missing: run scripts/setup",
        p.display()
    );
    p
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

fn npy_f32(bytes: &[u8]) -> (Vec<usize>, Vec<f32>) {
    let f = npyz::NpyFile::new(bytes).expect("npy header");
    let shape = f.shape().iter().map(|&d| d as usize).collect();
    (shape, f.into_vec::<f32>().expect("float32 array"))
}

fn npz_entry(zip: &mut zip::ZipArchive<std::fs::File>, key: &str) -> Vec<u8> {
    let mut e = zip
        .by_name(&format!("{key}.npy"))
        .unwrap_or_else(|_| panic!("entry {key} missing"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut e, &mut bytes).expect("read npz entry");
    bytes
}

/// The outputs in `path` (litert_run.py format), in output order.
fn read_outputs(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("open npz")).expect("zip");
    let order: Vec<u8> = npyz::NpyFile::new(&npz_entry(&mut zip, "__order__")[..])
        .expect("npy")
        .into_vec()
        .expect("__order__ bytes");
    let keys: Vec<String> = serde_json::from_slice(&order).expect("__order__ JSON");
    keys.into_iter()
        .map(|k| {
            let (shape, data) = npy_f32(&npz_entry(&mut zip, &k));
            (k, shape, data)
        })
        .collect()
}

fn rel_l2(got: &[f32], want: &[f32]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(want) {
        num += (*g as f64 - *w as f64).powi(2);
        den += (*w as f64).powi(2);
    }
    (num / den.max(1e-30)).sqrt()
}

fn check_model(stem: &str, resolvers: &[&str]) {
    let model = model_path(stem);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("litert-{stem}"));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let tests_py = repo_root().join("tests-py");
    run_py(&[
        tests_py.join("make_inputs.py").as_os_str(),
        model.as_os_str(),
        dir.as_os_str(),
    ]);
    let in0 = dir.join("in0.npy");
    let bytes = std::fs::read(&model).expect("read model");
    let graph = edgequant_tflite::read_model(&bytes)
        .expect("read .tflite")
        .graph;
    let interp = Interpreter::new(&graph).expect("prepare");
    let (shape, data) = npy_f32(&std::fs::read(&in0).expect("read in0.npy"));
    let outputs = interp
        .run(vec![TensorValue {
            shape,
            data: TensorData::F32(data),
        }])
        .expect("run");
    let mut failures = Vec::new();
    let mut refs = Vec::new();
    for &resolver in resolvers {
        let refp = dir.join(format!("ref_{resolver}.npz"));
        run_py(&[
            tests_py.join("litert_run.py").as_os_str(),
            model.as_os_str(),
            refp.as_os_str(),
            "-i".as_ref(),
            in0.as_os_str(),
            "--resolver".as_ref(),
            resolver.as_ref(),
        ]);
        let want = read_outputs(&refp);
        assert_eq!(want.len(), outputs.len(), "{stem}: output count");
        refs.push((resolver, want));
    }
    for (resolver, want) in &refs {
        for (k, ((key, wshape, w), got)) in want.iter().zip(&outputs).enumerate() {
            assert_eq!(&got.shape, wshape, "{stem}: output {key} shape");
            let g = got.as_f32().expect("float32 output");
            let err = rel_l2(g, w);
            // LiteRT's own spread on this output: the largest distance from this kernel set to
            // another one (reported, not used as a bound).
            let spread = refs
                .iter()
                .map(|(_, other)| rel_l2(&other[k].2, w))
                .fold(0.0f64, f64::max);
            eprintln!("{stem} [{resolver}] {key}: relative L2 error {err:.3e} (LiteRT spread {spread:.3e})");
            if Some(resolver) == resolvers.last() && err > TOLERANCE {
                failures.push(format!("[{resolver}] {key}: {err:.3e} > {TOLERANCE:e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{stem}: relative L2 error above {TOLERANCE:e}: {failures:?}"
    );
}

#[test]
fn face_detection_short_range() {
    check_model("face_detection_short_range", &["auto", "nodelegate", "ref"]);
}

#[test]
fn hand_recrop() {
    check_model("hand_recrop", &["auto", "nodelegate", "ref"]);
}

#[test]
fn iris_landmark() {
    check_model("iris_landmark", &["auto", "nodelegate", "ref"]);
}

#[test]
fn hand_landmark_lite() {
    check_model("hand_landmark_lite", &["auto", "nodelegate", "ref"]);
}

#[test]
fn selfie_segmentation() {
    // Its custom Convolution2DTransposeBias only runs under the XNNPACK delegate.
    check_model("selfie_segmentation", &["auto"]);
}
