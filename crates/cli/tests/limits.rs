//! Resource limits (issue 8 item 2).
//!
//! 1. Files that declare huge tensors or arrays get a clear error *before any large
//!    allocation*: each is run through the real binary under `/usr/bin/time` and the child's
//!    peak resident set (maxrss) must stay under [`SMALL_RSS_KIB`], far below what the declared
//!    sizes would need (they declare terabytes).
//! 2. The interpreter refuses a graph with a tensor over `MAX_TENSOR_BYTES` before allocating.
//! 3. Peak memory of `convert` and `quantize --mode int8` on real models stays within
//!    `BASELINE + FACTOR × (model file size + largest activation)` (the numbers are in
//!    docs/RELIABILITY.md; the test prints them).

mod common;
use common::*;
use edgequant_ir::ops::Relu;
use edgequant_ir::{DType, Graph, Tensor};
use std::path::Path;
use std::process::Command;

/// Peak RSS allowed for a run that must fail before allocating (KiB). The binary alone with a
/// small model peaks around 10–20 MiB.
const SMALL_RSS_KIB: u64 = 64 * 1024;

/// Fixed allowance of the memory bound (binary, allocator, thread stacks, rayon pool), bytes.
const BASELINE: u64 = 64 << 20;
/// Multiple of (model file size + largest activation) allowed on top of [`BASELINE`]: the
/// model is held as file bytes and as IR (plus the written copy), activations as the live set
/// of the interpreter (input + output of a step, im2col scratch).
const FACTOR: u64 = 4;

/// Runs edgequant under `/usr/bin/time -f %M`; returns (exit code, stderr without the time
/// line, maxrss in KiB).
fn run_measured(args: &[&str]) -> (Option<i32>, String, u64) {
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("maxrss_kib=%M")
        .arg(env!("CARGO_BIN_EXE_edgequant"))
        .args(args)
        .output()
        .expect("spawn /usr/bin/time (Debian package `time`)");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let (rest, rss) = stderr
        .trim_end()
        .rsplit_once("maxrss_kib=")
        .expect("/usr/bin/time output");
    let rss: u64 = rss.trim().parse().expect("maxrss");
    let rest = rest
        .lines()
        .filter(|l| !l.starts_with("Command exited with non-zero status"))
        .collect::<Vec<_>>()
        .join("\n");
    (out.status.code(), rest, rss)
}

fn relu_graph(shape: &[usize]) -> Graph {
    let mut g = Graph::default();
    let x = g.add_tensor(Tensor::new("x", DType::F32, shape.to_vec()));
    let y = g.add_tensor(Tensor::new("y", DType::F32, shape.to_vec()));
    g.add_node("relu", Relu.into(), vec![Some(x)], vec![y]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    g
}

/// A .tflite x → RELU → y whose stored shapes are `dims` (written with sentinel dimensions,
/// then patched, since the writer never writes such shapes).
fn tflite_with_shape(dims: &[i32]) -> Vec<u8> {
    let sentinels: Vec<usize> = (0..dims.len()).map(|i| 91_001 + 2 * i).collect();
    let mut b = edgequant_tflite::write_model(&relu_graph(&sentinels), "limits").expect("write");
    for (&s, &d) in sentinels.iter().zip(dims) {
        let needle = (s as u32).to_le_bytes();
        let hits: Vec<usize> = (0..b.len() - 3)
            .filter(|&i| b[i..i + 4] == needle)
            .collect();
        assert_eq!(hits.len(), 2, "sentinel {s}");
        for i in hits {
            b[i..i + 4].copy_from_slice(&d.to_le_bytes());
        }
    }
    b
}

fn npy_header_only(shape: &str, descr: &str) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(&[0u8; 256]);
    b
}

fn idx_header_only(dims: &[u32]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(&[0u8; 256]);
    b
}

/// Every hostile file fails with exit 1, a one-line error containing `needle`, and a peak RSS
/// under [`SMALL_RSS_KIB`].
#[test]
fn huge_declarations_fail_before_allocating() {
    let dir = tempdir("limits_huge");
    let float = fixture("tutorial_cnn/float.tflite");
    let out = dir.join("out.tflite");
    let two40 = 1 << 20;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "tensor_2e40.tflite",
            tflite_with_shape(&[two40, two40]),
            "byte limit of one tensor",
        ),
        (
            "tensor_4gib.tflite",
            tflite_with_shape(&[1 << 30, 1]),
            "byte limit of one tensor",
        ),
        (
            "overflow.tflite",
            tflite_with_shape(&[i32::MAX, i32::MAX, i32::MAX]),
            "too many elements",
        ),
        (
            "samples_2e40.npy",
            npy_header_only("(1099511627776, 28, 28, 1)", "<f4"),
            "byte limit of one array",
        ),
        (
            "overflow.npy",
            npy_header_only("(4611686018427387904, 4611686018427387904)", "<f4"),
            "overflows",
        ),
        (
            "bytes_2e60.idx",
            idx_header_only(&[1 << 20, 1 << 20, 1 << 20]),
            "byte limit of one array",
        ),
    ];
    for (name, bytes, needle) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        let ps = s(&p);
        let quantize = vec![
            "quantize".to_string(),
            s(&float),
            "-o".into(),
            s(&out),
            "--mode".into(),
            "int8".into(),
            "--data".into(),
            ps.clone(),
        ];
        let args: Vec<String> = if name.ends_with(".tflite") {
            vec!["convert".into(), ps.clone(), "-o".into(), s(&out)]
        } else {
            quantize
        };
        if name.starts_with("samples") {
            // As `run` input too: the .npy reader of the CLI, not only calibration's.
            let npz = s(&dir.join("out.npz"));
            let (code, err, rss) = run_measured(&["run", &s(&float), "-i", &ps, "-o", &npz]);
            assert_eq!(code, Some(1), "run -i {name}: {err}");
            assert!(err.contains(needle), "run -i {name}: {err}");
            assert!(rss < SMALL_RSS_KIB, "run -i {name}: peak RSS {rss} KiB");
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, err, rss) = run_measured(&args);
        eprintln!("{name}: exit {code:?}, peak RSS {rss} KiB: {err}");
        assert_eq!(code, Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(
            err.contains(needle),
            "{name}: expected '{needle}' in: {err}"
        );
        assert!(
            rss < SMALL_RSS_KIB,
            "{name}: peak RSS {rss} KiB, expected under {SMALL_RSS_KIB} KiB"
        );
        assert!(!out.exists(), "{name}: output written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn interpreter_rejects_huge_tensors_before_allocating() {
    let g = relu_graph(&[1 << 20, 1 << 20]);
    let err = edgequant_interp::Interpreter::new(&g).expect_err("4 TiB activation");
    let msg = err.to_string();
    assert!(msg.contains("byte limit of one tensor"), "{msg}");
    assert!(msg.contains('x'), "names the tensor: {msg}");
    // Just over the limit: 2^29 + 1 float32 elements.
    let g = relu_graph(&[(1 << 29) + 1]);
    assert!(edgequant_interp::Interpreter::new(&g).is_err());
    // At the limit the graph is accepted (nothing is allocated by `new`).
    let g = relu_graph(&[1 << 29]);
    edgequant_interp::Interpreter::new(&g).expect("2 GiB activation is within the limit");
}

/// Largest non-constant tensor of `model` in bytes, from `inspect --json`.
fn largest_activation(model: &Path, extra: &[&str]) -> u64 {
    let mut args = vec!["inspect", "--json"];
    let ms = s(model);
    args.push(&ms);
    args.extend_from_slice(extra);
    let out = edgequant(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    v["tensors"]
        .as_array()
        .expect("tensors")
        .iter()
        .filter(|t| t["constant"] == false)
        .map(|t| t["byte_size"].as_u64().expect("byte_size"))
        .max()
        .unwrap_or(0)
}

fn check_peak(what: &str, model: &Path, act: u64, args: &[&str]) -> u64 {
    let (code, err, rss_kib) = run_measured(args);
    assert_eq!(code, Some(0), "{what}: {err}");
    let size = std::fs::metadata(model).expect("stat").len();
    let peak = rss_kib * 1024;
    let bound = BASELINE + FACTOR * (size + act);
    eprintln!(
        "MEMORY {what}: file {size} B, largest activation {act} B, peak RSS {peak} B \
         ({:.1} MiB), bound {bound} B ({:.1} MiB)",
        peak as f64 / 1048576.0,
        bound as f64 / 1048576.0
    );
    assert!(
        peak <= bound,
        "{what}: peak RSS {peak} B over {BASELINE} + {FACTOR} × ({size} + {act}) = {bound} B"
    );
    peak
}

#[test]
fn peak_memory_of_convert_and_quantize() {
    let dir = tempdir("limits_mem");
    let out = s(&dir.join("out.tflite"));
    let train = cache().join("mnist/train-images-idx3-ubyte");
    assert!(
        train.exists(),
        "missing {}: run scripts/setup",
        train.display()
    );
    let images = cache().join("images");
    let tutorial = fixture("tutorial_cnn/float.tflite");
    let act = largest_activation(&tutorial, &[]);
    check_peak(
        "convert tutorial_cnn/float.tflite",
        &tutorial,
        act,
        &["convert", &s(&tutorial), "-o", &out],
    );
    check_peak(
        "quantize int8 tutorial_cnn/float.tflite (100 MNIST samples)",
        &tutorial,
        act,
        &[
            "quantize",
            &s(&tutorial),
            "-o",
            &out,
            "--mode",
            "int8",
            "--data",
            &s(&train),
            "--samples",
            "100",
        ],
    );
    for name in ["hand_landmark_lite.tflite", "iris_landmark.tflite"] {
        let m = model(name);
        let act = largest_activation(&m, &[]);
        check_peak(
            &format!("convert {name}"),
            &m,
            act,
            &["convert", &s(&m), "-o", &out],
        );
        let v: serde_json::Value =
            serde_json::from_slice(&edgequant(&["inspect", "--json", &s(&m)]).stdout)
                .expect("json");
        let shape = &v["inputs"][0]["shape"];
        let (h, w) = (shape[1].as_u64().expect("h"), shape[2].as_u64().expect("w"));
        let resize = format!("{h},{w}");
        check_peak(
            &format!("quantize int8 {name} (12 photos)"),
            &m,
            act,
            &[
                "quantize",
                &s(&m),
                "-o",
                &out,
                "--mode",
                "int8",
                "--data",
                &s(&images),
                "--resize",
                &resize,
            ],
        );
    }
    let det = model("ch_PP-OCRv4_det_infer.onnx");
    let shape = ["--input-shape", "x=1,3,640,640"];
    let act = largest_activation(&det, &shape);
    check_peak(
        "convert ch_PP-OCRv4_det_infer.onnx (640x640)",
        &det,
        act,
        &["convert", &s(&det), "-o", &out, shape[0], shape[1]],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
