//! The writer follows the TFLite converter's conventions.

mod common;

use common::{mixed_graph, zoo_graph};
use edgequant_tflite::schema as fb;
use edgequant_tflite::{builtin_for_ir_op, read_model, supported_builtins, write_model};

#[test]
fn converter_conventions() {
    let g = mixed_graph();
    let bytes = write_model(&g, "edgequant test").expect("write");
    assert_eq!(&bytes[4..8], b"TFL3");
    let m = fb::root_as_model(&bytes).expect("valid flatbuffer");
    assert_eq!(m.version(), 3);
    assert_eq!(m.description(), Some("edgequant test"));

    // Operator codes: deduplicated in first-use order, both code fields, max version of uses
    // (int8 CONV_2D = 3, hybrid per-channel CONV_2D = 5).
    let codes: Vec<(i8, i32, i32)> = m
        .operator_codes()
        .expect("codes")
        .iter()
        .map(|c| (c.deprecated_builtin_code(), c.builtin_code().0, c.version()))
        .collect();
    assert_eq!(
        codes,
        vec![(3, 3, 5), (6, 6, 2), (60, 60, 1), (34, 34, 1)],
        "CONV_2D, DEQUANTIZE(int8), PADV2, PAD"
    );

    // Buffer 0 is empty; one buffer per constant, 16-byte aligned.
    let buffers = m.buffers().expect("buffers");
    assert!(buffers.get(0).data().is_none_or(|d| d.is_empty()));
    let consts = g.tensors.iter().filter(|t| t.is_const()).count();
    assert_eq!(
        buffers.len(),
        consts + 2,
        "constants, the added zero bias, and buffer 0"
    );
    for b in buffers.iter().skip(1) {
        let d = b.data().expect("data");
        let offset = d.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
        assert_eq!(offset % 16, 0, "buffer data at offset {offset}");
    }

    // Tensors keep the graph order; activations point at buffer 0; optional operands are -1.
    let sg = m.subgraphs().expect("subgraphs").get(0);
    let tensors = sg.tensors().expect("tensors");
    assert_eq!(tensors.len(), g.tensors.len() + 1);
    for (t, ir) in tensors.iter().zip(&g.tensors) {
        assert_eq!(t.name(), Some(ir.name.as_str()));
        assert_eq!(t.buffer() == 0, !ir.is_const(), "{}", ir.name);
    }
    let w = tensors.get(1).quantization().expect("weight quant");
    assert_eq!(w.scale().expect("scale").len(), 3);
    assert_eq!(w.quantized_dimension(), 0);
    let ops = sg.operators().expect("operators");
    let hybrid = ops.get(2);
    // CONV_2D without bias gets a float zero bias appended after the graph's tensors (LiteRT
    // refuses convolutions without bias).
    let n = g.tensors.len() as i32;
    assert_eq!(
        hybrid.inputs().expect("inputs").iter().collect::<Vec<_>>(),
        vec![4, 5, n]
    );
    let zb = tensors.get(n as usize);
    assert_eq!(zb.name(), Some("z/zero_bias"));
    assert_eq!(zb.type_(), fb::TensorType::FLOAT32);
    // The PAD without pad value is written as PAD with two operands.
    assert_eq!(ops.get(4).inputs().expect("inputs").len(), 2);
    assert_eq!(
        hybrid.builtin_options_type(),
        fb::BuiltinOptions::Conv2DOptions
    );
    let o = hybrid
        .builtin_options_as_conv_2_doptions()
        .expect("options");
    assert_eq!(
        o.fused_activation_function(),
        fb::ActivationFunctionType::RELU
    );
    assert_eq!((o.stride_w(), o.stride_h()), (1, 1));

    // Reading it back gives the same graph; TFLite operators have no names, so nodes are
    // named after their first output.
    let back = read_model(&bytes).expect("read back");
    let mut expected = g.clone();
    let zero_bias = expected.add_tensor(
        edgequant_ir::Tensor::from_f32("z/zero_bias", vec![2], &[0.0, 0.0]).expect("bias"),
    );
    for n in &mut expected.nodes {
        n.name = expected.tensors[n.outputs[0].0].name.clone();
    }
    expected.nodes[2].inputs[2] = Some(zero_bias);
    assert_eq!(back.graph, expected);
    assert_eq!(
        write_model(&back.graph, "edgequant test").expect("rewrite"),
        bytes
    );
}

#[test]
fn registry_is_two_way() {
    let all = supported_builtins();
    assert!(all.len() >= 35, "{all:?}");
    for (builtin, ir) in &all {
        let written = builtin_for_ir_op(ir).expect("every read op can be written");
        // PADV2 is read as Pad and written as PAD (or PADV2 with a pad value).
        if *builtin != "PADV2" {
            assert_eq!(written, *builtin);
        }
    }
    for name in [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "ADD",
        "SUB",
        "MUL",
        "DIV",
        "MAXIMUM",
        "MINIMUM",
        "RELU",
        "RELU6",
        "RELU_N1_TO_1",
        "LEAKY_RELU",
        "PRELU",
        "LOGISTIC",
        "TANH",
        "HARD_SWISH",
        "SOFTMAX",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "MEAN",
        "PAD",
        "PADV2",
        "RESHAPE",
        "TRANSPOSE",
        "CONCATENATION",
        "STRIDED_SLICE",
        "SQUEEZE",
        "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR",
        "DEQUANTIZE",
        "QUANTIZE",
        "SHAPE",
        "PACK",
        "TRANSPOSE_CONV",
    ] {
        assert!(all.iter().any(|(b, _)| *b == name), "{name} not supported");
    }
}

#[test]
fn every_writable_op_round_trips() {
    let g = zoo_graph();
    let names: std::collections::BTreeSet<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    for (_, ir) in supported_builtins() {
        assert!(names.contains(ir), "zoo graph lacks {ir}");
    }
    let bytes = write_model(&g, "zoo").expect("write");
    let back = read_model(&bytes).expect("read back");
    let mut expected = g.clone();
    for n in &mut expected.nodes {
        n.name = expected.tensors[n.outputs[0].0].name.clone();
    }
    assert_eq!(back.graph, expected);
    // PADV2 is chosen for the pad with a value.
    let m = fb::root_as_model(&bytes).expect("flatbuffer");
    let codes: Vec<i32> = m
        .operator_codes()
        .expect("codes")
        .iter()
        .map(|c| c.builtin_code().0)
        .collect();
    assert!(codes.contains(&34) && codes.contains(&60), "{codes:?}");
}
