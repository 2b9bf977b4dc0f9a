//! Integer models with inconsistent quantization parameters must fail at preparation with an
//! error naming the tensor (issue 5, item 6), and the memory plan must reuse buffers.
//!
//! Each case takes the TensorFlow-converted `fixtures/tutorial_cnn/int8.tflite`, breaks one
//! tensor's parameters and checks the error of [`Interpreter::new`].

use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, QuantParams};
use std::path::Path;

fn tutorial_int8() -> Graph {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tutorial_cnn/int8.tflite");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    edgequant_tflite::read_model(&bytes)
        .expect("read model")
        .graph
}

/// The (input, weights, bias, output) tensor indices of the first node with op `name`.
fn operands(g: &Graph, name: &str) -> (usize, usize, usize, usize) {
    let n = g
        .nodes
        .iter()
        .find(|n| n.op.name() == name)
        .unwrap_or_else(|| panic!("no {name} node"));
    let i = |k: usize| n.inputs[k].expect("operand").0;
    (i(0), i(1), i(2), n.outputs[0].0)
}

fn prepare_error(g: &Graph) -> String {
    match Interpreter::new(g) {
        Ok(_) => panic!("preparation succeeded on an inconsistent model"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(err: &str, tensor: &str, words: &[&str]) {
    println!("{err}");
    assert!(
        err.contains(tensor),
        "error does not name '{tensor}': {err}"
    );
    for w in words {
        assert!(err.contains(w), "error does not mention '{w}': {err}");
    }
}

#[test]
fn the_unmodified_model_prepares() {
    Interpreter::new(&tutorial_int8()).expect("prepare");
}

#[test]
fn bias_scale_not_input_times_weight_scale() {
    for op in ["CONV_2D", "FULLY_CONNECTED"] {
        let mut g = tutorial_int8();
        let (_, _, b, _) = operands(&g, op);
        let q = g.tensors[b].quant.as_mut().expect("bias params");
        q.scale[3] *= 1.01;
        let name = g.tensors[b].name.clone();
        let err = prepare_error(&g);
        assert_names(
            &err,
            &name,
            &["bias", "channel 3", "input scale × weight scale"],
        );
    }
}

#[test]
fn zero_point_out_of_range() {
    let mut g = tutorial_int8();
    let (x, _, _, _) = operands(&g, "CONV_2D");
    g.tensors[x].quant = Some(QuantParams::per_tensor(0.0039, 200));
    let name = g.tensors[x].name.clone();
    assert_names(&prepare_error(&g), &name, &["zero point 200"]);
}

#[test]
fn per_channel_axis_out_of_range_or_wrong_count() {
    let mut g = tutorial_int8();
    let (_, w, _, _) = operands(&g, "CONV_2D");
    g.tensors[w].quant.as_mut().expect("weights params").axis = Some(4);
    let name = g.tensors[w].name.clone();
    assert_names(&prepare_error(&g), &name, &["dimension 4"]);

    let mut g = tutorial_int8();
    let q = g.tensors[w].quant.as_mut().expect("weights params");
    q.scale.pop();
    q.zero_point.pop();
    assert_names(&prepare_error(&g), &name, &["31 scales"]);

    // Per-channel along the wrong dimension of a FULLY_CONNECTED weight [10, 64].
    let mut g = tutorial_int8();
    let (_, w, _, _) = operands(&g, "FULLY_CONNECTED");
    let units = g.tensors[w].shape[0];
    let depth = g.tensors[w].shape[1];
    let q = g.tensors[w].quant.as_mut().expect("weights params");
    *q = QuantParams {
        scale: vec![q.scale[0]; depth],
        zero_point: vec![0; depth],
        axis: Some(1),
    };
    let name = g.tensors[w].name.clone();
    assert_ne!(units, depth);
    assert_names(
        &prepare_error(&g),
        &name,
        &["along dimension 1", "needs dimension 0"],
    );
}

#[test]
fn missing_quantization_parameters() {
    let mut g = tutorial_int8();
    let (_, _, _, y) = operands(&g, "CONV_2D");
    g.tensors[y].quant = None;
    let name = g.tensors[y].name.clone();
    assert_names(&prepare_error(&g), &name, &["no quantization parameters"]);
}

#[test]
fn weight_zero_point_not_zero() {
    let mut g = tutorial_int8();
    let (_, w, _, _) = operands(&g, "CONV_2D");
    g.tensors[w]
        .quant
        .as_mut()
        .expect("weights params")
        .zero_point[5] = 3;
    let name = g.tensors[w].name.clone();
    assert_names(&prepare_error(&g), &name, &["zero point 3", "symmetric"]);
}

#[test]
fn per_channel_activation_rejected() {
    let mut g = tutorial_int8();
    let (_, _, _, y) = operands(&g, "CONV_2D");
    let c = *g.tensors[y].shape.last().expect("rank");
    g.tensors[y].quant = Some(QuantParams {
        scale: vec![0.03; c],
        zero_point: vec![-128; c],
        axis: Some(3),
    });
    let name = g.tensors[y].name.clone();
    assert_names(&prepare_error(&g), &name, &["per tensor"]);
}

#[test]
fn int16_activation_needs_zero_point_zero() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/int_models/tutorial_16x8.tflite");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut g = edgequant_tflite::read_model(&bytes).expect("read").graph;
    let (x, _, _, _) = operands(&g, "CONV_2D");
    assert_eq!(g.tensors[x].dtype, DType::I16);
    g.tensors[x].quant.as_mut().expect("params").zero_point[0] = 5;
    let name = g.tensors[x].name.clone();
    assert_names(&prepare_error(&g), &name, &["zero point 5"]);
}

#[test]
fn memory_plan_reuses_buffers() {
    let g = tutorial_int8();
    let it = Interpreter::new(&g).expect("prepare");
    let plan = it.memory_plan();
    println!("int8.tflite: {plan:?}");
    // The largest tensors are the 28x28x32 int8 activations of the first block (25,088 bytes
    // each: the convolution's output and the batch normalization's, whose MUL and ADD run as
    // one composed table); at most two of them are alive at a time, and the second block's
    // two 14x14x64 activations reuse their memory.
    assert_eq!(plan.peak_activation_bytes, 2 * 28 * 28 * 32);
    assert!(plan.total_activation_bytes >= plan.peak_activation_bytes + 2 * 14 * 14 * 64);
    // And it runs.
    let x = g.tensor(g.inputs[0]);
    let out = it
        .run(vec![TensorValue::new(
            x.shape.clone(),
            TensorData::I8(vec![-128; x.numel()]),
        )
        .expect("value")])
        .expect("run");
    assert_eq!(out[0].shape, vec![1, 10]);
}

/// The TF-converted tutorial CNN has three unfolded batch norms (int8 MUL then ADD by
/// per-channel constants): `Interpreter::new` runs each pair as one composed table, with
/// outputs and every reported tensor identical to the unfused plan.
#[test]
fn composed_channel_tables_equal_the_unfused_plan() {
    let g = tutorial_int8();
    let fused = Interpreter::new(&g).expect("prepare");
    let plain = Interpreter::new_unfused(&g).expect("prepare unfused");
    assert_eq!(fused.num_steps() + 3, plain.num_steps());
    let x = g.tensor(g.inputs[0]);
    let mut s = 0x9e37_79b9_u32;
    for _ in 0..8 {
        let data: Vec<i8> = (0..x.numel())
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8 as i8
            })
            .collect();
        let input = || TensorValue::new(x.shape.clone(), TensorData::I8(data.clone())).unwrap();
        let mut seen_plain = std::collections::HashMap::new();
        let out_plain = plain
            .run_with_hook(vec![input()], &mut |id, v| {
                seen_plain.insert(id, v.clone());
            })
            .expect("run unfused");
        let mut reported = 0;
        let out_fused = fused
            .run_with_hook(vec![input()], &mut |id, v| {
                assert_eq!(Some(v), seen_plain.get(&id), "tensor {}", g.tensor(id).name);
                reported += 1;
            })
            .expect("run fused");
        assert_eq!(out_fused, out_plain);
        assert_eq!(reported + 3, seen_plain.len());
    }
}

/// `x (8-bit) → DEQUANTIZE → PRELU(alpha of shape alpha_shape) → QUANTIZE (same type)`, input
/// `[1, 256, 1, c]` with every value in every channel (the exhaustive input).
fn prelu_island(dtype: DType, c: usize, alpha_shape: Vec<usize>) -> (Graph, TensorValue) {
    use edgequant_ir::{ops, Op, Tensor};
    let mut g = Graph::default();
    let shape = vec![1, 256, 1, c];
    let mut x = Tensor::new("x", dtype, shape.clone());
    let zp = if dtype == DType::I8 { -3 } else { 125 };
    x.quant = Some(QuantParams::per_tensor(0.047, zp));
    let x = g.add_tensor(x);
    let xf = g.add_tensor(Tensor::new("x_f", DType::F32, shape.clone()));
    let n: usize = alpha_shape.iter().product();
    let alpha: Vec<f32> = (0..n).map(|i| -0.7 + 0.37 * i as f32).collect();
    let a = g.add_tensor(
        Tensor::constant(
            "alpha",
            DType::F32,
            alpha_shape,
            alpha.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
        .expect("alpha"),
    );
    let yf = g.add_tensor(Tensor::new("y_f", DType::F32, shape.clone()));
    let mut y = Tensor::new("y", dtype, shape.clone());
    y.quant = Some(QuantParams::per_tensor(0.061, zp / 2));
    let y = g.add_tensor(y);
    g.add_node(
        "deq",
        Op::Dequantize(ops::Dequantize),
        vec![Some(x)],
        vec![xf],
    );
    g.add_node(
        "prelu",
        Op::Prelu(ops::Prelu),
        vec![Some(xf), Some(a)],
        vec![yf],
    );
    g.add_node(
        "q",
        Op::Quantize(ops::Quantize { to: dtype }),
        vec![Some(yf)],
        vec![y],
    );
    g.inputs = vec![x];
    g.outputs = vec![y];
    let data = match dtype {
        DType::I8 => TensorData::I8((0..256 * c).map(|i| (i / c) as u8 as i8).collect()),
        _ => TensorData::U8((0..256 * c).map(|i| (i / c) as u8).collect()),
    };
    (g, TensorValue::new(shape, data).expect("input"))
}

#[test]
fn float_prelu_islands_run_as_one_table_with_unchanged_results() {
    for dtype in [DType::I8, DType::U8] {
        for (alpha_shape, fused) in [
            (vec![1, 1, 5], true),
            (vec![5], true),
            (vec![1], true),
            (vec![1, 256, 1, 1], false),
        ] {
            let (g, x) = prelu_island(dtype, 5, alpha_shape.clone());
            let f = Interpreter::new(&g).expect("prepare");
            let p = Interpreter::new_unfused(&g).expect("prepare unfused");
            assert_eq!(p.num_steps(), 3);
            let want = if fused { 1 } else { 3 };
            assert_eq!(f.num_steps(), want, "{dtype} alpha {alpha_shape:?}");
            let a = f.run(vec![x.clone()]).expect("run fused");
            let b = p.run(vec![x]).expect("run unfused");
            assert_eq!(a, b, "{dtype} alpha {alpha_shape:?}");
        }
    }
}
