//! Shared helpers for the integration tests: locating the model cache and fixtures.
#![allow(dead_code)]

use edgequant_ir::ops::{Conv2d, Dequantize, Pad};
use edgequant_ir::{Activation, DType, Graph, Padding, QuantParams, Tensor};
use std::path::{Path, PathBuf};

/// `$EDGEQUANT_CACHE`, default `$HOME/.cache/edgequant`.
pub fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("EDGEQUANT_CACHE") {
        return PathBuf::from(c);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache").join("edgequant")
}

/// The MediaPipe models the tests use, by file stem.
pub const MEDIAPIPE: &[&str] = &[
    "face_detection_short_range",
    "hand_recrop",
    "iris_landmark",
    "hand_landmark_lite",
    "selfie_segmentation",
];

/// Path of a cached model; panics (failing the test) with a setup hint when it is missing.
pub fn model_path(stem: &str) -> PathBuf {
    let p = cache_dir().join("models").join(format!("{stem}.tflite"));
    assert!(
        p.is_file(),
        "missing test model {}: run scripts/setup to download the test material \
         (or set EDGEQUANT_CACHE)",
        p.display()
    );
    p
}

/// Bytes of a cached model (see [`model_path`]).
pub fn model_bytes(stem: &str) -> Vec<u8> {
    let p = model_path(stem);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// The tutorial CNN fixtures (`fixtures/tutorial_cnn/*.tflite`), sorted.
pub fn tutorial_fixtures() -> Vec<PathBuf> {
    let dir = repo_root().join("fixtures").join("tutorial_cnn");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tflite"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The LiteRT Python (`$CACHE/venv/bin/python`); panics with a setup hint when missing.
pub fn litert_python() -> PathBuf {
    let p = std::env::var_os("EDGEQUANT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("venv").join("bin").join("python"));
    assert!(
        p.is_file(),
        "missing LiteRT Python venv at {}: run scripts/setup",
        p.display()
    );
    p
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgequant-tflite-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creating scratch dir");
    d
}

fn conv() -> Conv2d {
    Conv2d {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding::Same,
        activation: Activation::Relu,
    }
}

fn q(scale: f32, zp: i32) -> Option<QuantParams> {
    Some(QuantParams::per_tensor(scale, zp))
}

/// x int8 → CONV(int8) → y → DEQUANTIZE → yf → CONV(hybrid, per-channel) → z → PADV2 → p
/// → PAD → out.
pub fn mixed_graph() -> Graph {
    let mut g = Graph {
        name: "mixed".into(),
        ..Default::default()
    };
    let mut x = Tensor::new("x", DType::I8, vec![1, 4, 4, 2]);
    x.quant = q(0.5, -3);
    let x = g.add_tensor(x);
    let mut w =
        Tensor::constant("w", DType::I8, vec![3, 1, 1, 2], vec![1, 2, 3, 4, 5, 6]).expect("w");
    w.quant = Some(QuantParams {
        scale: vec![0.1, 0.2, 0.3],
        zero_point: vec![0; 3],
        axis: Some(0),
    });
    let w = g.add_tensor(w);
    let mut b = Tensor::from_i32("b", vec![3], &[1, -2, 3]).expect("b");
    b.quant = Some(QuantParams {
        scale: vec![0.05, 0.1, 0.15],
        zero_point: vec![0; 3],
        axis: Some(0),
    });
    let b = g.add_tensor(b);
    let mut y = Tensor::new("y", DType::I8, vec![1, 4, 4, 3]);
    y.quant = q(0.25, 5);
    let y = g.add_tensor(y);
    g.add_node(
        "conv_int8",
        conv().into(),
        vec![Some(x), Some(w), Some(b)],
        vec![y],
    );
    let yf = g.add_tensor(Tensor::new("yf", DType::F32, vec![1, 4, 4, 3]));
    g.add_node("deq", Dequantize.into(), vec![Some(y)], vec![yf]);
    let mut w2 = Tensor::constant("w2", DType::I8, vec![2, 1, 1, 3], vec![7; 6]).expect("w2");
    w2.quant = Some(QuantParams {
        scale: vec![0.1, 0.2],
        zero_point: vec![0; 2],
        axis: Some(0),
    });
    let w2 = g.add_tensor(w2);
    let z = g.add_tensor(Tensor::new("z", DType::F32, vec![1, 4, 4, 2]));
    g.add_node(
        "conv_hybrid",
        conv().into(),
        vec![Some(yf), Some(w2), None],
        vec![z],
    );
    let pads = g
        .add_tensor(Tensor::from_i32("pads", vec![4, 2], &[0, 0, 1, 1, 1, 1, 0, 0]).expect("pads"));
    let value = g.add_tensor(Tensor::from_f32("value", vec![], &[-1.0]).expect("value"));
    let p = g.add_tensor(Tensor::new("p", DType::F32, vec![1, 6, 6, 2]));
    g.add_node(
        "padv2",
        Pad.into(),
        vec![Some(z), Some(pads), Some(value)],
        vec![p],
    );
    let out = g.add_tensor(Tensor::new("out", DType::F32, vec![1, 8, 8, 2]));
    g.add_node("pad", Pad.into(), vec![Some(p), Some(pads)], vec![out]);
    g.inputs = vec![x];
    g.outputs = vec![out];
    g
}

/// A float graph using every writable op once (plus a QUANTIZE/DEQUANTIZE pair), with shapes
/// from the IR's inference. Outputs: the main chain, a SHAPE and a PACK.
pub fn zoo_graph() -> Graph {
    use edgequant_ir::ops::*;
    use edgequant_ir::Op;
    let mut g = Graph {
        name: "zoo".into(),
        ..Default::default()
    };
    let x = g.add_tensor(Tensor::new("x", DType::F32, vec![1, 4, 4, 2]));
    g.inputs = vec![x];
    let mut n = 0;
    // Adds a node with a fresh output tensor (shape filled in by inference below).
    let mut node = |g: &mut Graph, op: Op, inputs: Vec<Option<edgequant_ir::TensorId>>| {
        n += 1;
        let name = format!("t{n}_{}", op.name().to_lowercase());
        let y = g.add_tensor(Tensor::new(name.clone(), DType::F32, vec![]));
        g.add_node(name, op, inputs, vec![y]);
        g.infer_shapes().expect("zoo shapes");
        y
    };
    let f32c = |g: &mut Graph, name: &str, shape: Vec<usize>, v: f32| {
        let n = shape.iter().product::<usize>();
        let vals: Vec<f32> = (0..n).map(|i| v + 0.01 * i as f32).collect();
        Some(g.add_tensor(Tensor::from_f32(name, shape, &vals).expect("const")))
    };
    let i32c = |g: &mut Graph, name: &str, shape: Vec<usize>, v: &[i32]| {
        Some(g.add_tensor(Tensor::from_i32(name, shape, v).expect("const")))
    };
    let act = Activation::None;
    let mut a = node(&mut g, Relu6.into(), vec![Some(x)]);
    for op in [
        Op::from(Logistic),
        Tanh.into(),
        HardSwish.into(),
        LeakyRelu { alpha: 0.2 }.into(),
        Exp.into(),
        Sqrt.into(),
    ] {
        a = node(&mut g, op, vec![Some(a)]);
    }
    let c = f32c(&mut g, "two", vec![], 2.0);
    a = node(&mut g, Pow.into(), vec![Some(a), c]);
    for (i, op) in [
        Op::from(Maximum { activation: act }),
        Minimum { activation: act }.into(),
        Sub { activation: act }.into(),
        Div { activation: act }.into(),
        Mul { activation: act }.into(),
    ]
    .into_iter()
    .enumerate()
    {
        let c = f32c(&mut g, &format!("c{i}"), vec![2], 0.5);
        a = node(&mut g, op, vec![Some(a), c]);
    }
    let prev = a;
    a = node(&mut g, ReluN1To1.into(), vec![Some(a)]);
    a = node(
        &mut g,
        Add {
            activation: Activation::Relu,
        }
        .into(),
        vec![Some(a), Some(prev)],
    );
    a = node(&mut g, Relu.into(), vec![Some(a)]);
    let alpha = f32c(&mut g, "alpha", vec![1, 1, 2], 0.1);
    a = node(&mut g, Prelu.into(), vec![Some(a), alpha]);
    let (w, b) = (
        f32c(&mut g, "dw_w", vec![1, 3, 3, 2], 0.1),
        f32c(&mut g, "dw_b", vec![2], 0.0),
    );
    let dw = DepthwiseConv2d {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding::Same,
        depth_multiplier: 1,
        activation: Activation::Relu6,
    };
    a = node(&mut g, dw.into(), vec![Some(a), w, b]);
    let (w, b) = (
        f32c(&mut g, "conv_w", vec![3, 1, 1, 2], 0.1),
        f32c(&mut g, "conv_b", vec![3], 0.0),
    );
    let conv = Conv2d {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding::Valid,
        activation: act,
    };
    a = node(&mut g, conv.into(), vec![Some(a), w, b]);
    let pool = |filter| MaxPool2d {
        filter,
        stride: [2, 2],
        padding: Padding::Valid,
        activation: act,
    };
    a = node(&mut g, pool([2, 2]).into(), vec![Some(a)]);
    let avg = AveragePool2d {
        filter: [1, 1],
        stride: [1, 1],
        padding: Padding::Same,
        activation: act,
    };
    a = node(&mut g, avg.into(), vec![Some(a)]);
    let perm = i32c(&mut g, "perm", vec![4], &[0, 2, 1, 3]);
    a = node(&mut g, Transpose.into(), vec![Some(a), perm]);
    let cat = Concatenation {
        axis: 3,
        activation: act,
    };
    a = node(&mut g, cat.into(), vec![Some(a), Some(a)]);
    let size = i32c(&mut g, "size4", vec![2], &[4, 4]);
    a = node(
        &mut g,
        ResizeNearestNeighbor::default().into(),
        vec![Some(a), size],
    );
    let size = i32c(&mut g, "size8", vec![2], &[8, 8]);
    let rb = ResizeBilinear {
        align_corners: false,
        half_pixel_centers: true,
    };
    a = node(&mut g, rb.into(), vec![Some(a), size]);
    let pads = i32c(&mut g, "pads", vec![4, 2], &[0, 0, 1, 1, 1, 1, 0, 0]);
    a = node(&mut g, Pad.into(), vec![Some(a), pads]);
    let value = f32c(&mut g, "pad_value", vec![], -0.5);
    a = node(&mut g, Pad.into(), vec![Some(a), pads, value]);
    let (b0, e0, s0) = (
        i32c(&mut g, "begin", vec![4], &[0, 2, 2, 0]),
        i32c(&mut g, "end", vec![4], &[1, 10, 10, 6]),
        i32c(&mut g, "strides", vec![4], &[1, 2, 2, 1]),
    );
    a = node(
        &mut g,
        StridedSlice::default().into(),
        vec![Some(a), b0, e0, s0],
    );
    let out_shape = i32c(&mut g, "tc_shape", vec![4], &[1, 8, 8, 2]);
    let (w, b) = (
        f32c(&mut g, "tc_w", vec![2, 3, 3, 6], 0.01),
        f32c(&mut g, "tc_b", vec![2], 0.1),
    );
    let tc = TransposeConv {
        stride: [2, 2],
        padding: Padding::Same,
        activation: act,
    };
    a = node(&mut g, tc.into(), vec![out_shape, w, Some(a), b]);
    let axes = i32c(&mut g, "axes", vec![2], &[1, 2]);
    a = node(&mut g, Mean { keep_dims: true }.into(), vec![Some(a), axes]);
    a = node(&mut g, Squeeze { axes: vec![1, 2] }.into(), vec![Some(a)]);
    let shape = i32c(&mut g, "new_shape", vec![2], &[1, 2]);
    a = node(
        &mut g,
        Reshape {
            new_shape: Some(vec![1, 2]),
        }
        .into(),
        vec![Some(a), shape],
    );
    let (w, b) = (
        f32c(&mut g, "fc_w", vec![4, 2], 0.3),
        f32c(&mut g, "fc_b", vec![4], 0.0),
    );
    a = node(
        &mut g,
        FullyConnected::default().into(),
        vec![Some(a), w, b],
    );
    a = node(&mut g, Softmax { beta: 1.0 }.into(), vec![Some(a)]);
    let q = g.add_tensor(Tensor {
        quant: Some(QuantParams::per_tensor(1.0 / 256.0, -128)),
        ..Tensor::new("q", DType::I8, vec![1, 4])
    });
    g.add_node(
        "quantize",
        Quantize { to: DType::I8 }.into(),
        vec![Some(a)],
        vec![q],
    );
    let out = node(&mut g, Dequantize.into(), vec![Some(q)]);
    let shp = g.add_tensor(Tensor::new("shape", DType::I32, vec![2]));
    g.add_node(
        "shape",
        Shape {
            out_type: DType::I32,
        }
        .into(),
        vec![Some(out)],
        vec![shp],
    );
    let packed = node(&mut g, Pack { axis: 0 }.into(), vec![Some(out), Some(out)]);
    g.outputs = vec![out, shp, packed];
    g.validate().expect("zoo graph is valid");
    g
}
