//! Invalid and unsupported files fail with a clean, specific error (never a panic); errors name
//! the tensor, operator or node.

mod common;

use common::model_bytes;
use edgequant_ir::ops::{Conv2d, Relu};
use edgequant_ir::{Activation, DType, Graph, Padding, Tensor};
use edgequant_tflite::schema as fb;
use edgequant_tflite::{read_model, write_model, TfliteError};
use flatbuffers::FlatBufferBuilder;

// ---------------------------------------------------------------------------------------------
// A tiny raw flatbuffer builder, to produce files the writer would never produce.

struct RawTensor {
    name: &'static str,
    shape: Vec<i32>,
    ty: fb::TensorType,
    buffer: u32,
    /// (scale, zero_point, quantized_dimension)
    quant: Option<(Vec<f32>, Vec<i64>, i32)>,
}

struct RawOp {
    opcode: u32,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
}

struct RawModel {
    version: u32,
    /// (deprecated_builtin_code, builtin_code, custom_code)
    opcodes: Vec<(i8, i32, Option<&'static str>)>,
    tensors: Vec<RawTensor>,
    ops: Vec<RawOp>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    buffers: Vec<Vec<u8>>,
    /// Buffer index stored in the large-model form: (index, offset, size).
    large: Option<(usize, u64, u64)>,
}

fn tensor(name: &'static str, shape: &[i32]) -> RawTensor {
    RawTensor {
        name,
        shape: shape.to_vec(),
        ty: fb::TensorType::FLOAT32,
        buffer: 0,
        quant: None,
    }
}

/// x [1,4] → RELU → y [1,4].
fn relu_model() -> RawModel {
    RawModel {
        version: 3,
        opcodes: vec![(19, 19, None)],
        tensors: vec![tensor("x", &[1, 4]), tensor("y", &[1, 4])],
        ops: vec![RawOp {
            opcode: 0,
            inputs: vec![0],
            outputs: vec![1],
        }],
        inputs: vec![0],
        outputs: vec![1],
        buffers: vec![vec![]],
        large: None,
    }
}

fn build(m: &RawModel) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let buffers: Vec<_> = m
        .buffers
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let data = (!d.is_empty()).then(|| fbb.create_vector(d));
            let (offset, size) = match m.large {
                Some((idx, o, s)) if idx == i => (o, s),
                _ => (0, 0),
            };
            fb::Buffer::create(&mut fbb, &fb::BufferArgs { data, offset, size })
        })
        .collect();
    let tensors: Vec<_> = m
        .tensors
        .iter()
        .map(|t| {
            let shape = fbb.create_vector(&t.shape);
            let name = fbb.create_string(t.name);
            let quantization = t.quant.as_ref().map(|(s, z, d)| {
                let scale = fbb.create_vector(s);
                let zero_point = fbb.create_vector(z);
                fb::QuantizationParameters::create(
                    &mut fbb,
                    &fb::QuantizationParametersArgs {
                        scale: Some(scale),
                        zero_point: Some(zero_point),
                        quantized_dimension: *d,
                        ..Default::default()
                    },
                )
            });
            fb::Tensor::create(
                &mut fbb,
                &fb::TensorArgs {
                    shape: Some(shape),
                    type_: t.ty,
                    buffer: t.buffer,
                    name: Some(name),
                    quantization,
                    ..Default::default()
                },
            )
        })
        .collect();
    let ops: Vec<_> = m
        .ops
        .iter()
        .map(|o| {
            let inputs = fbb.create_vector(&o.inputs);
            let outputs = fbb.create_vector(&o.outputs);
            fb::Operator::create(
                &mut fbb,
                &fb::OperatorArgs {
                    opcode_index: o.opcode,
                    inputs: Some(inputs),
                    outputs: Some(outputs),
                    ..Default::default()
                },
            )
        })
        .collect();
    let opcodes: Vec<_> = m
        .opcodes
        .iter()
        .map(|(dep, code, custom)| {
            let custom_code = custom.map(|c| fbb.create_string(c));
            fb::OperatorCode::create(
                &mut fbb,
                &fb::OperatorCodeArgs {
                    deprecated_builtin_code: *dep,
                    custom_code,
                    version: 1,
                    builtin_code: fb::BuiltinOperator(*code),
                },
            )
        })
        .collect();
    let tensors = fbb.create_vector(&tensors);
    let ops = fbb.create_vector(&ops);
    let inputs = fbb.create_vector(&m.inputs);
    let outputs = fbb.create_vector(&m.outputs);
    let sg = fb::SubGraph::create(
        &mut fbb,
        &fb::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(ops),
            name: None,
        },
    );
    let subgraphs = fbb.create_vector(&[sg]);
    let opcodes = fbb.create_vector(&opcodes);
    let buffers = fbb.create_vector(&buffers);
    let model = fb::Model::create(
        &mut fbb,
        &fb::ModelArgs {
            version: m.version,
            operator_codes: Some(opcodes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    fb::finish_model_buffer(&mut fbb, model);
    fbb.finished_data().to_vec()
}

fn read_err(m: &RawModel) -> TfliteError {
    match read_model(&build(m)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn raw_builder_sanity() {
    let m = read_model(&build(&relu_model())).expect("valid model");
    assert_eq!(m.graph.nodes.len(), 1);
    assert_eq!(m.graph.nodes[0].op.name(), "RELU");
    assert_eq!(m.graph.nodes[0].name, "y");
}

#[test]
fn truncated_files_fail_cleanly() {
    let bytes = model_bytes("hand_recrop");
    let mut cuts: Vec<usize> = (0..64).collect();
    cuts.extend((1..40).map(|i| bytes.len() * i / 40));
    cuts.push(bytes.len() - 1);
    for n in cuts {
        let r = read_model(&bytes[..n]);
        assert!(r.is_err(), "{n}-byte prefix was accepted");
    }
}

/// xorshift64*: deterministic test randomness without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_bytes_fail_cleanly() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..2000 {
        let len = (rng.next() % 4096) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && len >= 8 {
            b[4..8].copy_from_slice(b"TFL3");
        }
        assert!(read_model(&b).is_err(), "random buffer {i} accepted");
    }
}

#[test]
fn mutated_real_model_never_panics() {
    // Corrupt a real model at random places: every outcome must be Ok or a clean Err.
    let orig = model_bytes("hand_recrop");
    let mut rng = Rng(42);
    let mut errors = 0;
    for _ in 0..300 {
        let mut b = orig.clone();
        for _ in 0..1 + rng.next() % 8 {
            let at = (rng.next() as usize) % b.len();
            b[at] = rng.next() as u8;
        }
        if read_model(&b).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 0);
}

#[test]
fn wrong_identifier() {
    let mut b = build(&relu_model());
    b[4..8].copy_from_slice(b"TFL2");
    match read_model(&b) {
        Err(TfliteError::Identifier { found }) => assert_eq!(found, "TFL2"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(read_model(b"TFL3"), Err(TfliteError::Size { .. })));
}

#[test]
fn wrong_schema_version() {
    let mut m = relu_model();
    m.version = 2;
    assert!(matches!(read_err(&m), TfliteError::Field { field, .. } if field == "Model.version"));
}

#[test]
fn out_of_range_indices() {
    // Buffer index.
    let mut m = relu_model();
    m.tensors[0].buffer = 7;
    match read_err(&m) {
        TfliteError::Index {
            what: "buffer",
            index: 7,
            count: 1,
            context,
        } => assert!(context.contains("'x'"), "{context}"),
        e => panic!("{e}"),
    }
    // Operator input tensor index.
    let mut m = relu_model();
    m.ops[0].inputs = vec![5];
    match read_err(&m) {
        TfliteError::Index {
            what: "tensor",
            index: 5,
            count: 2,
            context,
        } => assert!(context.contains("operator #0"), "{context}"),
        e => panic!("{e}"),
    }
    // -1 is only allowed as an optional input, never as an output.
    let mut m = relu_model();
    m.ops[0].outputs = vec![-1];
    assert!(matches!(read_err(&m), TfliteError::Index { index: -1, .. }));
    // Opcode index.
    let mut m = relu_model();
    m.ops[0].opcode = 3;
    assert!(matches!(
        read_err(&m),
        TfliteError::Index {
            what: "opcode",
            index: 3,
            count: 1,
            ..
        }
    ));
    // Graph input index.
    let mut m = relu_model();
    m.inputs = vec![9];
    assert!(matches!(read_err(&m), TfliteError::Index { index: 9, .. }));
}

#[test]
fn bad_tensors() {
    // Data size differs from shape × dtype.
    let mut m = relu_model();
    m.tensors.push(tensor("w", &[2, 2]));
    m.tensors[2].buffer = 1;
    m.buffers.push(vec![0; 15]);
    match read_err(&m) {
        TfliteError::Tensor {
            index: 2,
            tensor,
            reason,
        } => {
            assert_eq!(tensor, "w");
            assert!(reason.contains("needs 16"), "{reason}");
        }
        e => panic!("{e}"),
    }
    // Negative and overflowing shapes.
    let mut m = relu_model();
    m.tensors[0].shape = vec![1, -4];
    assert!(matches!(read_err(&m), TfliteError::Tensor { index: 0, .. }));
    let mut m = relu_model();
    m.tensors[0].shape = vec![i32::MAX, i32::MAX, i32::MAX, i32::MAX, i32::MAX];
    assert!(matches!(read_err(&m), TfliteError::Tensor { index: 0, .. }));
    // Unsupported dtype.
    let mut m = relu_model();
    m.tensors[0].ty = fb::TensorType::COMPLEX64;
    match read_err(&m) {
        TfliteError::Tensor { reason, .. } => assert!(reason.contains("COMPLEX64"), "{reason}"),
        e => panic!("{e}"),
    }
}

#[test]
fn bad_quantization() {
    let quantized = |scale: Vec<f32>, zp: Vec<i64>, dim: i32| {
        let mut m = relu_model();
        m.tensors[0].ty = fb::TensorType::INT8;
        m.tensors[1].ty = fb::TensorType::INT8;
        m.tensors[0].shape = vec![1, 4];
        m.tensors[0].quant = Some((scale, zp, dim));
        m.tensors[1].quant = Some((vec![0.5], vec![0], 0));
        m
    };
    // Valid per-channel on the last dim.
    let ok = read_model(&build(&quantized(vec![1.0; 4], vec![0; 4], 1))).expect("per-channel");
    let q = ok.graph.tensors[0].quant.clone().expect("quant");
    assert_eq!(q.axis, Some(1));
    // Negative axis, axis out of range, channel count mismatch, zero point out of range,
    // non-positive scale, scale/zero point count mismatch.
    for (scale, zp, dim) in [
        (vec![1.0; 4], vec![0; 4], -1),
        (vec![1.0; 4], vec![0; 4], 2),
        (vec![1.0; 3], vec![0; 3], 1),
        (vec![1.0], vec![200], 0),
        (vec![0.0], vec![0], 0),
        (vec![1.0; 4], vec![0; 2], 1),
        (vec![1.0], vec![i64::MAX], 0),
    ] {
        let e = read_err(&quantized(scale.clone(), zp.clone(), dim));
        assert!(
            matches!(&e, TfliteError::Tensor { index: 0, tensor, .. } if tensor == "x"),
            "{scale:?} {zp:?} {dim}: {e}"
        );
    }
}

#[test]
fn shape_disagreeing_with_the_op_is_rejected() {
    let mut m = relu_model();
    m.tensors[1].shape = vec![1, 5];
    match read_err(&m) {
        TfliteError::Operator {
            index: 0,
            op,
            output,
            reason,
        } => {
            assert_eq!(op, "RELU");
            assert_eq!(output, "y");
            assert!(reason.contains("[1, 5]"), "{reason}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn unknown_ops_are_listed_together() {
    // x → RELU → a → CUSTOM 'Foo' → b → SPLIT(49) → c ; IF(118) → d
    let mut m = relu_model();
    m.opcodes = vec![
        (19, 19, None),
        (32, 32, Some("Foo")),
        (49, 49, None),
        (118, 118, None),
    ];
    m.tensors = vec![
        tensor("x", &[1, 4]),
        tensor("a", &[1, 4]),
        tensor("b", &[1, 4]),
        tensor("c", &[1, 4]),
        tensor("d", &[1, 4]),
    ];
    m.ops = vec![
        RawOp {
            opcode: 0,
            inputs: vec![0],
            outputs: vec![1],
        },
        RawOp {
            opcode: 1,
            inputs: vec![1],
            outputs: vec![2],
        },
        RawOp {
            opcode: 2,
            inputs: vec![2],
            outputs: vec![3],
        },
        RawOp {
            opcode: 3,
            inputs: vec![3],
            outputs: vec![4],
        },
    ];
    m.outputs = vec![4];
    match read_err(&m) {
        TfliteError::UnsupportedOps(ops) => {
            let got: Vec<(usize, &str, &str)> = ops
                .iter()
                .map(|o| (o.index, o.op.as_str(), o.output.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (1, "CUSTOM 'Foo'", "b"),
                    (2, "SPLIT", "c"),
                    (3, "IF (control flow)", "d")
                ]
            );
            let msg = TfliteError::UnsupportedOps(ops).to_string();
            assert!(msg.contains("3 unsupported operator(s)"), "{msg}");
            assert!(msg.contains("operator #2 SPLIT (output 'c')"), "{msg}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn builtin_code_is_the_max_of_both_fields() {
    // Old files: only deprecated_builtin_code (builtin_code 0 = ADD by default).
    let mut m = relu_model();
    m.opcodes = vec![(19, 0, None)];
    assert_eq!(
        read_model(&build(&m)).expect("old").graph.nodes[0]
            .op
            .name(),
        "RELU"
    );
    // New files: codes above 127 store the placeholder 127 in the deprecated field.
    let mut m = relu_model();
    m.opcodes = vec![(127, 150, None)];
    match read_err(&m) {
        TfliteError::UnsupportedOps(ops) => assert_eq!(ops[0].op, "GELU"),
        e => panic!("{e}"),
    }
    // Codes below 127 are stored in both fields.
    let mut m = relu_model();
    m.opcodes = vec![(117, 117, None)];
    assert_eq!(
        read_model(&build(&m)).expect("new").graph.nodes[0]
            .op
            .name(),
        "HARD_SWISH"
    );
}

#[test]
fn explicit_padding_cannot_be_written() {
    let mut g = Graph::default();
    let x = g.add_tensor(Tensor::new("x", DType::F32, vec![1, 4, 4, 1]));
    let w = g.add_tensor(Tensor::from_f32("w", vec![1, 3, 3, 1], &[0.5; 9]).expect("w"));
    let y = g.add_tensor(Tensor::new("y", DType::F32, vec![1, 4, 4, 1]));
    g.add_node(
        "conv_explicit",
        Conv2d {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::Explicit {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1,
            },
            activation: Activation::None,
        }
        .into(),
        vec![Some(x), Some(w), None],
        vec![y],
    );
    g.inputs = vec![x];
    g.outputs = vec![y];
    match write_model(&g, "") {
        Err(TfliteError::Node { node, op, reason }) => {
            assert_eq!(node, "conv_explicit");
            assert_eq!(op, "CONV_2D");
            assert!(reason.contains("explicit padding"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_graphs_are_not_written() {
    // Dangling input.
    let mut g = Graph::default();
    let x = g.add_tensor(Tensor::new("x", DType::F32, vec![4]));
    let y = g.add_tensor(Tensor::new("y", DType::F32, vec![4]));
    g.add_node("relu", Relu.into(), vec![Some(x)], vec![y]);
    g.outputs = vec![y];
    assert!(matches!(write_model(&g, ""), Err(TfliteError::Ir(_))));
    // Constant data inconsistent with its shape (fields are public).
    g.inputs = vec![x];
    let mut bad = Tensor::from_f32("c", vec![2], &[1.0, 2.0]).expect("c");
    bad.shape = vec![3];
    g.add_tensor(bad);
    assert!(matches!(
        write_model(&g, ""),
        Err(TfliteError::Tensor { index: 2, .. })
    ));
}

#[test]
fn unsupported_ops_are_reported_before_other_operator_errors() {
    // Operator 0: CONV_2D without its options (an operator error); operator 1: a custom op.
    let mut m = relu_model();
    m.opcodes = vec![(3, 3, None), (32, 32, Some("Bar"))];
    m.tensors.push(tensor("z", &[1, 4]));
    m.ops = vec![
        RawOp {
            opcode: 0,
            inputs: vec![0, 0],
            outputs: vec![1],
        },
        RawOp {
            opcode: 1,
            inputs: vec![1],
            outputs: vec![2],
        },
    ];
    m.outputs = vec![2];
    match read_err(&m) {
        TfliteError::UnsupportedOps(ops) => {
            assert_eq!(ops.len(), 1);
            assert_eq!((ops[0].index, ops[0].op.as_str()), (1, "CUSTOM 'Bar'"));
        }
        e => panic!("{e}"),
    }
    // Without the custom op, the operator error names the operator and its output.
    m.ops.truncate(1);
    m.outputs = vec![1];
    match read_err(&m) {
        TfliteError::Operator {
            index: 0,
            op,
            output,
            reason,
        } => {
            assert_eq!((op.as_str(), output.as_str()), ("CONV_2D", "y"));
            assert!(reason.contains("Conv2DOptions"), "{reason}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn large_model_buffer_form() {
    // A constant whose data lives after the flatbuffer (Buffer.offset/size), as TFLite writes
    // models over 2 GB: x + c → y.
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut m = relu_model();
    m.opcodes = vec![(0, 0, None)];
    m.tensors.push(tensor("c", &[1, 4]));
    m.tensors[2].buffer = 1;
    m.buffers.push(vec![]);
    m.ops[0].inputs = vec![0, 2];
    m.large = Some((1, 2, 16));
    let len = build(&m).len() as u64;
    m.large = Some((1, len, 16));
    let mut bytes = build(&m);
    assert_eq!(bytes.len() as u64, len);
    bytes.extend_from_slice(&data);
    let g = read_model(&bytes).expect("large-model form").graph;
    assert_eq!(
        g.tensors[2].f32_data().expect("data"),
        vec![1.0, 2.0, 3.0, 4.0]
    );
    // Data outside the file is an error naming the tensor.
    bytes.truncate(bytes.len() - 1);
    match read_model(&bytes) {
        Err(TfliteError::Tensor {
            index: 2, tensor, ..
        }) => assert_eq!(tensor, "c"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn operand_counts_are_checked() {
    let mut m = relu_model();
    m.ops[0].inputs = vec![0, -1];
    match read_err(&m) {
        TfliteError::Operator {
            index: 0,
            op,
            reason,
            ..
        } => {
            assert_eq!(op, "RELU");
            assert!(reason.contains("2 operands"), "{reason}");
        }
        e => panic!("{e}"),
    }
    let mut m = relu_model();
    m.tensors.push(tensor("y2", &[1, 4]));
    m.ops[0].outputs = vec![1, 2];
    assert!(matches!(
        read_err(&m),
        TfliteError::Operator { index: 0, .. }
    ));
}

#[test]
fn huge_declared_tensors_are_rejected_by_size() {
    // 2^40 float32 elements (4 TiB): the element count fits in usize, the byte size is over
    // edgequant_ir::MAX_TENSOR_BYTES; rejected while reading, naming the tensor.
    let mut m = relu_model();
    m.tensors[0].shape = vec![1 << 20, 1 << 20];
    m.tensors[1].shape = vec![1 << 20, 1 << 20];
    match read_err(&m) {
        TfliteError::Tensor {
            index: 0,
            tensor,
            reason,
        } => {
            assert_eq!(tensor, "x");
            assert!(reason.contains("byte limit of one tensor"), "{reason}");
        }
        e => panic!("{e}"),
    }
    // Exactly at the limit (2 GiB) the activation is accepted: nothing is allocated to read it.
    let mut m = relu_model();
    m.tensors[0].shape = vec![1 << 29];
    m.tensors[1].shape = vec![1 << 29];
    read_model(&build(&m)).expect("a 2 GiB activation is within the limit");
}

#[test]
fn cyclic_graphs_are_rejected() {
    // y = RELU(z), z = RELU(y): each operator consumes the other's output.
    let mut m = relu_model();
    m.tensors.push(tensor("z", &[1, 4]));
    m.ops = vec![
        RawOp {
            opcode: 0,
            inputs: vec![2],
            outputs: vec![1],
        },
        RawOp {
            opcode: 0,
            inputs: vec![1],
            outputs: vec![2],
        },
    ];
    let err = read_err(&m).to_string();
    assert!(err.contains("cycle"), "{err}");
    // A self-loop.
    let mut m = relu_model();
    m.ops[0].inputs = vec![1];
    let err = read_err(&m).to_string();
    assert!(err.contains("cycle"), "{err}");
}
