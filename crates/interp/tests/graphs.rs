//! Interpreter tests on tiny graphs built in Rust, with hand-computed results.

use edgequant_interp::{InterpError, Interpreter, Parallelism, TensorData, TensorValue};
use edgequant_ir::ops::*;
use edgequant_ir::{Activation, DType, Graph, Op, Padding, QuantParams, Tensor, TensorId};
use half::f16;

fn act(g: &mut Graph, name: &str, dtype: DType, shape: &[usize]) -> TensorId {
    g.add_tensor(Tensor::new(name, dtype, shape.to_vec()))
}

fn f32c(g: &mut Graph, name: &str, shape: &[usize], v: &[f32]) -> TensorId {
    g.add_tensor(Tensor::from_f32(name, shape.to_vec(), v).unwrap())
}

fn i32c(g: &mut Graph, name: &str, shape: &[usize], v: &[i32]) -> TensorId {
    g.add_tensor(Tensor::from_i32(name, shape.to_vec(), v).unwrap())
}

fn f32v(shape: &[usize], v: Vec<f32>) -> TensorValue {
    TensorValue::from_f32(shape.to_vec(), v).unwrap()
}

fn node(g: &mut Graph, name: &str, op: impl Into<Op>, ins: &[Option<TensorId>], outs: &[TensorId]) {
    g.add_node(name, op.into(), ins.to_vec(), outs.to_vec());
}

fn conv(stride: usize, padding: Padding, activation: Activation) -> Conv2d {
    Conv2d {
        stride: [stride; 2],
        dilation: [1; 2],
        padding,
        activation,
    }
}

/// x[1,3,3,1] → CONV 3x3 SAME (ones, bias 1) → ADD x → RELU6.
fn conv_add_graph() -> Graph {
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 3, 3, 1]);
    let w = f32c(&mut g, "w", &[1, 3, 3, 1], &[1.0; 9]);
    let b = f32c(&mut g, "b", &[1], &[1.0]);
    let c = act(&mut g, "c", DType::F32, &[1, 3, 3, 1]);
    let s = act(&mut g, "s", DType::F32, &[1, 3, 3, 1]);
    let y = act(&mut g, "y", DType::F32, &[1, 3, 3, 1]);
    node(
        &mut g,
        "conv",
        conv(1, Padding::Same, Activation::None),
        &[Some(x), Some(w), Some(b)],
        &[c],
    );
    node(&mut g, "add", Add::default(), &[Some(c), Some(x)], &[s]);
    node(&mut g, "relu6", Relu6, &[Some(s)], &[y]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    g
}

#[test]
fn conv_add_relu6() {
    let g = conv_add_graph();
    let it = Interpreter::new(&g).unwrap();
    let x: Vec<f32> = (1..=9).map(|v| v as f32 * 0.1).collect();
    let out = it.run(vec![f32v(&[1, 3, 3, 1], x.clone())]).unwrap();
    // conv = 1 + neighbourhood sum; + x; clamp to 6.
    let sums = [1.2, 2.1, 1.6, 2.7, 4.5, 3.3, 2.4, 3.9, 2.8];
    let want: Vec<f32> = sums
        .iter()
        .zip(&x)
        .map(|(s, x)| (1.0 + s + x).min(6.0))
        .collect();
    let got = out[0].as_f32().unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    // Same answer on a second run (recycled buffers) and single-threaded.
    let again = it.run(vec![f32v(&[1, 3, 3, 1], x.clone())]).unwrap();
    assert_eq!(again, out);
    let seq = Interpreter::new(&g)
        .unwrap()
        .with_parallelism(Parallelism::None);
    assert_eq!(seq.run(vec![f32v(&[1, 3, 3, 1], x)]).unwrap(), out);
}

#[test]
fn hook_sees_inputs_and_every_computed_tensor_in_order() {
    let g = conv_add_graph();
    let it = Interpreter::new(&g).unwrap();
    let mut seen = Vec::new();
    it.run_with_hook(vec![f32v(&[1, 3, 3, 1], vec![0.5; 9])], &mut |id, v| {
        seen.push((g.tensor(id).name.clone(), v.shape.clone()))
    })
    .unwrap();
    let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["x", "c", "s", "y"]);
}

#[test]
fn input_errors_name_the_input() {
    let it = Interpreter::new(&conv_add_graph()).unwrap();
    assert_eq!(
        it.run(vec![]).unwrap_err(),
        InterpError::InputCount {
            expected: 1,
            got: 0
        }
    );
    let e = it
        .run(vec![TensorValue::new(
            vec![1, 3, 3, 1],
            TensorData::I8(vec![0; 9]),
        )
        .unwrap()])
        .unwrap_err();
    assert!(
        matches!(&e, InterpError::InputType { name, .. } if name == "x"),
        "{e}"
    );
    let e = it.run(vec![f32v(&[1, 9], vec![0.0; 9])]).unwrap_err();
    assert!(
        matches!(&e, InterpError::InputShape { name, .. } if name == "x"),
        "{e}"
    );
    assert!(e.to_string().contains("'x'"));
    // Data inconsistent with its own shape.
    let bad = TensorValue {
        shape: vec![1, 3, 3, 1],
        data: TensorData::F32(vec![0.0; 8]),
    };
    assert!(matches!(
        it.run(vec![bad]).unwrap_err(),
        InterpError::InputShape { .. }
    ));
}

#[test]
fn float16_weights_behind_dequantize_are_folded() {
    // y = FC(x, DEQUANTIZE(w16), DEQUANTIZE(b16)).
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 2]);
    let w16: Vec<u8> = [1.5f32, -2.0, 0.25, 4.0]
        .iter()
        .flat_map(|v| f16::from_f32(*v).to_le_bytes())
        .collect();
    let w = g.add_tensor(Tensor::constant("w16", DType::F16, vec![2, 2], w16).unwrap());
    let b16: Vec<u8> = [0.5f32, 1.0]
        .iter()
        .flat_map(|v| f16::from_f32(*v).to_le_bytes())
        .collect();
    let b = g.add_tensor(Tensor::constant("b16", DType::F16, vec![2], b16).unwrap());
    let wf = act(&mut g, "w", DType::F32, &[2, 2]);
    let bf = act(&mut g, "b", DType::F32, &[2]);
    let y = act(&mut g, "y", DType::F32, &[1, 2]);
    node(&mut g, "dq_w", Dequantize, &[Some(w)], &[wf]);
    node(&mut g, "dq_b", Dequantize, &[Some(b)], &[bf]);
    node(
        &mut g,
        "fc",
        FullyConnected::default(),
        &[Some(x), Some(wf), Some(bf)],
        &[y],
    );
    g.inputs = vec![x];
    g.outputs = vec![y];
    let it = Interpreter::new(&g).unwrap();
    assert_eq!(it.num_steps(), 1, "the DEQUANTIZE nodes are folded");
    let out = it.run(vec![f32v(&[1, 2], vec![1.0, 2.0])]).unwrap();
    assert_eq!(
        out[0].as_f32().unwrap(),
        &[1.5 - 4.0 + 0.5, 0.25 + 8.0 + 1.0]
    );
}

#[test]
fn int8_per_channel_weights_behind_dequantize_are_folded() {
    // CONV 1x1 on DEQUANTIZE(int8 weights, per-channel scales [0.5, 0.25] on dim 0).
    // (A float CONV reading int8 weights directly is a dynamic-range "hybrid" node, run by the
    // integer path with quantized activations; here the weights are explicitly dequantized.)
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 1, 1, 2]);
    let mut wt = Tensor::constant(
        "w_q",
        DType::I8,
        vec![2, 1, 1, 2],
        vec![2u8, 4, (-4i8) as u8, 8],
    )
    .unwrap();
    wt.quant = Some(QuantParams {
        scale: vec![0.5, 0.25],
        zero_point: vec![0, 0],
        axis: Some(0),
    });
    let wq = g.add_tensor(wt);
    let w = act(&mut g, "w", DType::F32, &[2, 1, 1, 2]);
    let y = act(&mut g, "y", DType::F32, &[1, 1, 1, 2]);
    node(&mut g, "dq", Dequantize, &[Some(wq)], &[w]);
    node(
        &mut g,
        "conv",
        conv(1, Padding::Valid, Activation::None),
        &[Some(x), Some(w), None],
        &[y],
    );
    g.inputs = vec![x];
    g.outputs = vec![y];
    let it = Interpreter::new(&g).unwrap();
    assert_eq!(it.num_steps(), 1);
    let out = it.run(vec![f32v(&[1, 1, 1, 2], vec![1.0, 1.0])]).unwrap();
    // weights [[1, 2], [-1, 2]].
    assert_eq!(out[0].as_f32().unwrap(), &[3.0, 1.0]);
}

#[test]
fn quantize_and_dequantize_round_half_away_and_saturate() {
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[6]);
    let mut qt = Tensor::new("q", DType::I8, vec![6]);
    qt.quant = Some(QuantParams::per_tensor(0.5, -1));
    let q = g.add_tensor(qt);
    let y = act(&mut g, "y", DType::F32, &[6]);
    node(
        &mut g,
        "quantize",
        Quantize { to: DType::I8 },
        &[Some(x)],
        &[q],
    );
    node(&mut g, "dequantize", Dequantize, &[Some(q)], &[y]);
    g.inputs = vec![x];
    g.outputs = vec![q, y];
    let it = Interpreter::new(&g).unwrap();
    let out = it
        .run(vec![f32v(
            &[6],
            vec![0.25, -0.25, 0.75, 100.0, -100.0, 0.0],
        )])
        .unwrap();
    assert_eq!(out[0].data, TensorData::I8(vec![0, -2, 1, 127, -128, -1]));
    assert_eq!(
        out[1].as_f32().unwrap(),
        &[0.5, -0.5, 1.0, 64.0, -63.5, 0.0]
    );
}

#[test]
fn unsupported_activation_types_name_the_node() {
    // SQRT has no integer kernel, and float ops need float32 activations.
    for (dtype, quant) in [(DType::I8, true), (DType::F16, false)] {
        let mut g = Graph::default();
        let mut xt = Tensor::new("x", dtype, vec![1, 2]);
        let mut yt = Tensor::new("y", dtype, vec![1, 2]);
        if quant {
            xt.quant = Some(QuantParams::per_tensor(0.1, 0));
            yt.quant = Some(QuantParams::per_tensor(0.1, 0));
        }
        let x = g.add_tensor(xt);
        let y = g.add_tensor(yt);
        node(&mut g, "the_sqrt", Sqrt, &[Some(x)], &[y]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        match Interpreter::new(&g).unwrap_err() {
            InterpError::Unsupported { node, op, reason } => {
                assert_eq!((node.as_str(), op.as_str()), ("the_sqrt", "SQRT"));
                assert!(reason.contains(dtype.name()), "{reason}");
            }
            e => panic!("unexpected {e}"),
        }
    }
}

#[test]
fn inconsistent_stored_shape_is_a_prepare_error() {
    let mut g = conv_add_graph();
    let y = g.outputs[0];
    g.tensor_mut(y).shape = vec![1, 9];
    let e = Interpreter::new(&g).unwrap_err();
    assert!(
        matches!(&e, InterpError::Prepare { node, .. } if node == "relu6"),
        "{e}"
    );
}

#[test]
fn flatten_pattern_shape_slice_pack_reshape() {
    // The Keras Flatten pattern: SHAPE → STRIDED_SLICE(batch) → PACK([batch, -1]) → RESHAPE.
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 2, 2, 3]);
    let shp = act(&mut g, "shape", DType::I32, &[4]);
    let begin = i32c(&mut g, "begin", &[1], &[0]);
    let end = i32c(&mut g, "end", &[1], &[1]);
    let strides = i32c(&mut g, "strides", &[1], &[1]);
    let batch = act(&mut g, "batch", DType::I32, &[]);
    let minus1 = i32c(&mut g, "minus1", &[], &[-1]);
    let target = act(&mut g, "target", DType::I32, &[2]);
    let y = act(&mut g, "y", DType::F32, &[1, 12]);
    node(
        &mut g,
        "shape",
        Shape {
            out_type: DType::I32,
        },
        &[Some(x)],
        &[shp],
    );
    node(
        &mut g,
        "slice",
        StridedSlice {
            shrink_axis_mask: 1,
            ..Default::default()
        },
        &[Some(shp), Some(begin), Some(end), Some(strides)],
        &[batch],
    );
    node(
        &mut g,
        "pack",
        Pack { axis: 0 },
        &[Some(batch), Some(minus1)],
        &[target],
    );
    node(
        &mut g,
        "reshape",
        Reshape { new_shape: None },
        &[Some(x), Some(target)],
        &[y],
    );
    g.inputs = vec![x];
    g.outputs = vec![y];
    let it = Interpreter::new(&g).unwrap();
    assert_eq!(it.num_steps(), 1, "shape arithmetic is folded");
    let v: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let out = it.run(vec![f32v(&[1, 2, 2, 3], v.clone())]).unwrap();
    assert_eq!(out[0].shape, vec![1, 12]);
    assert_eq!(out[0].as_f32().unwrap(), v.as_slice());
}

#[test]
fn values_still_needed_are_not_overwritten_in_place() {
    // x → RELU → a; ADD(a, a) → b; outputs [x, a, b]: nothing may be computed in place.
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[3]);
    let a = act(&mut g, "a", DType::F32, &[3]);
    let b = act(&mut g, "b", DType::F32, &[3]);
    node(&mut g, "relu", Relu, &[Some(x)], &[a]);
    node(&mut g, "add", Add::default(), &[Some(a), Some(a)], &[b]);
    g.inputs = vec![x];
    g.outputs = vec![x, a, b, a];
    let out = Interpreter::new(&g)
        .unwrap()
        .run(vec![f32v(&[3], vec![-1.0, 2.0, -3.0])])
        .unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[-1.0, 2.0, -3.0]);
    assert_eq!(out[1].as_f32().unwrap(), &[0.0, 2.0, 0.0]);
    assert_eq!(out[2].as_f32().unwrap(), &[0.0, 4.0, 0.0]);
    assert_eq!(out[3], out[1]);
}

#[test]
fn pool_mean_softmax_pad_concat_transpose() {
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 2, 2, 2]);
    let mp = act(&mut g, "mp", DType::F32, &[1, 1, 1, 2]);
    let ap = act(&mut g, "ap", DType::F32, &[1, 1, 1, 2]);
    let axes = i32c(&mut g, "axes", &[2], &[1, 2]);
    let mn = act(&mut g, "mean", DType::F32, &[1, 2]);
    let pads = i32c(&mut g, "pads", &[4, 2], &[0, 0, 0, 0, 0, 0, 1, 0]);
    let pd = act(&mut g, "pad", DType::F32, &[1, 1, 1, 3]);
    let cat = act(&mut g, "cat", DType::F32, &[1, 1, 1, 5]);
    let sm = act(&mut g, "softmax", DType::F32, &[1, 1, 1, 5]);
    let perm = i32c(&mut g, "perm", &[4], &[0, 3, 1, 2]);
    let tr = act(&mut g, "tr", DType::F32, &[1, 2, 2, 2]);
    let pool = |filter| MaxPool2d {
        filter,
        stride: [2, 2],
        padding: Padding::Valid,
        activation: Activation::None,
    };
    node(&mut g, "max", pool([2, 2]), &[Some(x)], &[mp]);
    node(
        &mut g,
        "avg",
        AveragePool2d {
            filter: [2, 2],
            stride: [2, 2],
            padding: Padding::Valid,
            activation: Activation::None,
        },
        &[Some(x)],
        &[ap],
    );
    node(
        &mut g,
        "mean",
        Mean { keep_dims: false },
        &[Some(x), Some(axes)],
        &[mn],
    );
    node(&mut g, "pad", Pad, &[Some(mp), Some(pads)], &[pd]);
    node(
        &mut g,
        "concat",
        Concatenation {
            axis: 3,
            activation: Activation::None,
        },
        &[Some(pd), Some(ap)],
        &[cat],
    );
    node(
        &mut g,
        "softmax",
        Softmax { beta: 1.0 },
        &[Some(cat)],
        &[sm],
    );
    node(
        &mut g,
        "transpose",
        Transpose,
        &[Some(x), Some(perm)],
        &[tr],
    );
    g.inputs = vec![x];
    g.outputs = vec![mp, ap, mn, cat, sm, tr];
    let it = Interpreter::new(&g).unwrap();
    // x[h][w][c]: c0 = 1, 2, 3, 4; c1 = 10, 20, 30, 40.
    let out = it
        .run(vec![f32v(
            &[1, 2, 2, 2],
            vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0],
        )])
        .unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[4.0, 40.0]);
    assert_eq!(out[1].as_f32().unwrap(), &[2.5, 25.0]);
    assert_eq!(out[2].as_f32().unwrap(), &[2.5, 25.0]);
    assert_eq!(out[3].as_f32().unwrap(), &[0.0, 4.0, 40.0, 2.5, 25.0]);
    let s = out[4].as_f32().unwrap();
    assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6 && (s[2] - 1.0).abs() < 1e-6);
    assert_eq!(
        out[5].as_f32().unwrap(),
        &[1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0]
    );
}

#[test]
fn prelu_depthwise_resize_binary_broadcast() {
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[1, 1, 2, 2]);
    let alpha = f32c(&mut g, "alpha", &[1, 1, 2], &[0.5, 0.25]);
    let pr = act(&mut g, "prelu", DType::F32, &[1, 1, 2, 2]);
    let dw_w = f32c(&mut g, "dw_w", &[1, 1, 1, 2], &[2.0, 3.0]);
    let dw = act(&mut g, "dw", DType::F32, &[1, 1, 2, 2]);
    let size = i32c(&mut g, "size", &[2], &[1, 4]);
    let rs = act(&mut g, "resize", DType::F32, &[1, 1, 4, 2]);
    let k = f32c(&mut g, "k", &[2], &[1.0, -1.0]);
    let mul = act(&mut g, "mul", DType::F32, &[1, 1, 4, 2]);
    node(&mut g, "prelu", Prelu, &[Some(x), Some(alpha)], &[pr]);
    node(
        &mut g,
        "dw",
        DepthwiseConv2d {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::Valid,
            depth_multiplier: 1,
            activation: Activation::None,
        },
        &[Some(pr), Some(dw_w), None],
        &[dw],
    );
    node(
        &mut g,
        "resize",
        ResizeBilinear {
            align_corners: false,
            half_pixel_centers: true,
        },
        &[Some(dw), Some(size)],
        &[rs],
    );
    node(&mut g, "mul", Mul::default(), &[Some(rs), Some(k)], &[mul]);
    g.inputs = vec![x];
    g.outputs = vec![pr, dw, mul];
    let out = Interpreter::new(&g)
        .unwrap()
        .run(vec![f32v(&[1, 1, 2, 2], vec![-2.0, -4.0, 4.0, 8.0])])
        .unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[-1.0, -1.0, 4.0, 8.0]);
    assert_eq!(out[1].as_f32().unwrap(), &[-2.0, -3.0, 8.0, 24.0]);
    // Half-pixel resize 2 → 4 samples at −0.25, 0.25, 0.75, 1.25 (clamped): ch0 [-2, 8] →
    // [-2, 0.5, 5.5, 8]; ch1 [-3, 24] → [-3, 3.75, 17.25, 24]; then × [1, -1].
    assert_eq!(
        out[2].as_f32().unwrap(),
        &[-2.0, 3.0, 0.5, -3.75, 5.5, -17.25, 8.0, -24.0]
    );
}

#[test]
fn constant_and_input_graph_outputs() {
    let mut g = Graph::default();
    let x = act(&mut g, "x", DType::F32, &[2]);
    let c = f32c(&mut g, "c", &[2], &[7.0, 8.0]);
    g.inputs = vec![x];
    g.outputs = vec![c, x];
    let out = Interpreter::new(&g)
        .unwrap()
        .run(vec![f32v(&[2], vec![1.0, 2.0])])
        .unwrap();
    assert_eq!(out[0].as_f32().unwrap(), &[7.0, 8.0]);
    assert_eq!(out[1].as_f32().unwrap(), &[1.0, 2.0]);
}

#[test]
fn invalid_graph_is_rejected() {
    let mut g = conv_add_graph();
    g.nodes[0].inputs[0] = Some(TensorId(99));
    assert!(matches!(
        Interpreter::new(&g).unwrap_err(),
        InterpError::Graph(_)
    ));
}

#[test]
fn interpreter_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Interpreter>();
}

#[test]
fn staged_runs_match_a_full_run_and_peek_without_consuming() {
    let g = conv_add_graph();
    let it = Interpreter::new_unfused(&g).unwrap();
    let x = f32v(&[1, 3, 3, 1], (1..=9).map(|v| v as f32 * 0.1).collect());
    let mut full = Vec::new();
    it.run_with_hook(vec![x.clone()], &mut |id, v| full.push((id, v.clone())))
        .unwrap();

    let [c, s, y] = ["c", "s", "y"].map(|n| g.tensors.iter().position(|t| t.name == n).unwrap());
    assert_eq!(it.step_computing(TensorId(c)), Some(0));
    assert_eq!(it.step_computing(TensorId(y)), Some(2));
    assert_eq!(it.step_computing(TensorId(0)), None);

    let mut run = it.start(vec![x]).unwrap();
    let peeked = it.peek_step(&run, 0).unwrap();
    assert_eq!(peeked, vec![full[1].clone()]);
    // Peeking twice gives the same value: the operands were not consumed.
    assert_eq!(it.peek_step(&run, 0).unwrap(), peeked);
    let mut staged = Vec::new();
    it.run_steps(&mut run, 2, &mut |id, v| staged.push((id, v.clone())))
        .unwrap();
    assert_eq!(run.next_step(), 2);
    assert_eq!(it.parked_bytes()[2], run.live_bytes());
    assert_eq!(it.peek_step(&run, 2).unwrap(), vec![full[3].clone()]);
    it.run_steps(&mut run, 99, &mut |id, v| staged.push((id, v.clone())))
        .unwrap();
    assert_eq!(run.next_step(), 3);
    assert_eq!(it.parked_bytes()[3], run.live_bytes());
    assert_eq!(it.parked_bytes().len(), it.num_steps() + 1);
    assert_eq!(staged, full[1..].to_vec());
    assert_eq!(staged[1].0, TensorId(s));
    assert!(run.live_bytes() >= 9 * 4, "the graph output stays alive");
    let err = it.peek_step(&run, 1).unwrap_err().to_string();
    assert!(err.contains("step 1 cannot be computed"), "{err}");
}

#[test]
fn staged_runs_continue_after_a_constant_changes_but_not_on_another_graph() {
    let g = conv_add_graph();
    let it = Interpreter::new_unfused(&g).unwrap();
    let x = f32v(&[1, 3, 3, 1], vec![0.0; 9]);
    let mut run = it.start(vec![x]).unwrap();
    it.run_steps(&mut run, 0, &mut |_, _| {}).unwrap();

    let mut g2 = g.clone();
    let b = g2.tensors.iter().position(|t| t.name == "b").unwrap();
    *g2.tensor_mut(TensorId(b)) = Tensor::from_f32("b", vec![1], &[2.5]).unwrap();
    let it2 = Interpreter::new_unfused(&g2).unwrap();
    let out = it2.peek_step(&run, 0).unwrap();
    assert_eq!(out[0].1.as_f32().unwrap(), &[2.5; 9]);

    let mut g3 = g.clone();
    g3.nodes[2].name = "other".into();
    let it3 = Interpreter::new_unfused(&g3).unwrap();
    let err = it3
        .run_steps(&mut run, 3, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("different graph"), "{err}");
}
