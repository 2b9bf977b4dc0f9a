//! Importer behaviour on small hand-built models: errors (corrupt data, unsupported ops,
//! dangling edges, dynamic dims, bad attributes, external data) and graph structure (layout
//! handling, BN folding, constant folding, padding choice).

use edgequant_interp::{Interpreter, TensorValue};
use edgequant_ir::{Graph, Op};
use edgequant_onnx::proto::{
    attribute_proto::AttributeType, tensor_shape_proto::dimension::Value as Dim,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use edgequant_onnx::{read_onnx, ImportOptions, OnnxError};
use prost::Message;

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d >= 0 {
                Dim::DimValue(d)
            } else {
                Dim::DimParam(format!("d{}", -d))
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

fn tensor(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(1),
        float_data: v.to_vec(),
        ..Default::default()
    }
}

fn int_tensor(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![v.len() as i64],
        data_type: Some(7),
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn node(
    op: &str,
    name: &str,
    ins: &[&str],
    outs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: &[&str],
) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            initializer: inits,
            input: inputs,
            output: outputs.iter().map(|o| value_info(o, &[])).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 23) as f32 / 11.0 - 1.0)
        .collect()
}

fn conv_model(pads: &[i64], strides: &[i64]) -> Vec<u8> {
    model(
        vec![node(
            "Conv",
            "conv",
            &["x", "w", "b"],
            &["y"],
            vec![
                ints("pads", pads),
                ints("strides", strides),
                ints("kernel_shape", &[3, 3]),
            ],
        )],
        vec![
            tensor("w", &[4, 3, 3, 3], &ramp(108)),
            tensor("b", &[4], &[0.1, 0.2, 0.3, 0.4]),
        ],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    )
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

fn err(bytes: &[u8]) -> OnnxError {
    match read_onnx(bytes, &ImportOptions::default()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn corrupt_and_truncated_protobuf_are_errors() {
    assert!(matches!(
        err(b"\xff\xff\xff\xff garbage"),
        OnnxError::Decode { .. }
    ));
    let good = conv_model(&[1, 1, 1, 1], &[1, 1]);
    assert!(read_onnx(&good, &ImportOptions::default()).is_ok());
    for cut in [1, 7, good.len() / 3, good.len() / 2, good.len() - 1] {
        let e = read_onnx(&good[..cut], &ImportOptions::default());
        assert!(e.is_err(), "truncated to {cut} bytes must fail");
    }
    assert!(
        matches!(err(&[]), OnnxError::Model(_)),
        "empty model has no graph"
    );
}

#[test]
fn unsupported_ops_are_listed_together() {
    let bytes = model(
        vec![
            node("Foo", "f1", &["x"], &["a"], vec![]),
            node("Relu", "r", &["a"], &["b"], vec![]),
            node("Foo", "f2", &["b"], &["c"], vec![]),
            node("Bar", "b1", &["c"], &["y"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1, 4])],
        &["y"],
    );
    let e = err(&bytes);
    let OnnxError::Unsupported(list) = &e else {
        panic!("{e}");
    };
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].op_type, "Foo");
    assert_eq!(list[0].nodes, vec!["f1", "f2"]);
    assert_eq!(list[1].nodes, vec!["b1"]);
    let msg = e.to_string();
    assert!(
        msg.contains("Foo") && msg.contains("'f2'") && msg.contains("Bar"),
        "{msg}"
    );
}

#[test]
fn missing_initializer_names_node_and_value() {
    let bytes = model(
        vec![node("Conv", "conv1", &["x", "w_missing"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    );
    let msg = err(&bytes).to_string();
    assert!(
        msg.contains("conv1") && msg.contains("w_missing") && msg.contains("Conv"),
        "{msg}"
    );
}

#[test]
fn dangling_graph_output_and_cycles_are_errors() {
    let bytes = model(vec![], vec![], vec![value_info("x", &[1, 4])], &["nowhere"]);
    assert!(err(&bytes).to_string().contains("nowhere"));
    let bytes = model(
        vec![
            node("Relu", "a", &["x2"], &["x1"], vec![]),
            node("Relu", "b", &["x1"], &["x2"], vec![]),
        ],
        vec![],
        vec![value_info("x", &[1, 4])],
        &["x2"],
    );
    assert!(err(&bytes).to_string().contains("cycle"));
}

#[test]
fn dynamic_dims_need_an_override() {
    let bytes = model(
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![],
        vec![value_info("x", &[-1, 3, 4, 4])],
        &["y"],
    );
    match err(&bytes) {
        OnnxError::DynamicDim { input, dim, .. } => assert_eq!((input.as_str(), dim), ("x", 0)),
        e => panic!("{e}"),
    }
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("x".into(), vec![2, 3, 4, 4]);
    let g = read_onnx(&bytes, &opts).expect("override");
    assert_eq!(g.tensor(g.inputs[0]).shape, vec![2, 4, 4, 3]);
    opts.input_shapes.insert("x".into(), vec![2, 5, 4, 4]);
    assert!(matches!(
        read_onnx(&bytes, &opts),
        Err(OnnxError::ShapeOverride { .. })
    ));
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("nope".into(), vec![1]);
    assert!(matches!(
        read_onnx(&bytes, &opts),
        Err(OnnxError::ShapeOverride { .. })
    ));
}

#[test]
fn bad_attribute_type_names_the_attribute() {
    let bytes = model(
        vec![node(
            "Conv",
            "conv",
            &["x", "w"],
            &["y"],
            vec![AttributeProto {
                name: Some("strides".into()),
                r#type: Some(AttributeType::Float as i32),
                f: Some(2.0),
                ..Default::default()
            }],
        )],
        vec![tensor("w", &[4, 3, 3, 3], &ramp(108))],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    );
    match err(&bytes) {
        OnnxError::Attribute {
            node, attribute, ..
        } => assert_eq!((node.as_str(), attribute.as_str()), ("conv", "strides")),
        e => panic!("{e}"),
    }
}

#[test]
fn tensor_data_errors() {
    let mut w = tensor("w", &[4, 3, 3, 3], &[]);
    w.data_location = Some(1);
    w.external_data = vec![StringStringEntryProto {
        key: Some("location".into()),
        value: Some("weights.bin".into()),
    }];
    let bytes = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    );
    let msg = err(&bytes).to_string();
    assert!(
        msg.contains("external") && msg.contains("weights.bin"),
        "{msg}"
    );
    let mut w = tensor("w", &[4, 3, 3, 3], &[]);
    w.raw_data = Some(vec![0; 10]);
    let bytes = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    );
    assert!(matches!(err(&bytes), OnnxError::Tensor { .. }));
    let huge = tensor("w", &[i64::MAX, 4], &[]);
    let bytes = model(vec![], vec![huge], vec![value_info("x", &[1])], &["x"]);
    assert!(matches!(err(&bytes), OnnxError::Tensor { .. }));
}

#[test]
fn convolutions_stay_nhwc_without_transposes() {
    let bytes = model(
        vec![
            node(
                "Conv",
                "c1",
                &["x", "w1"],
                &["a"],
                vec![ints("pads", &[1, 1, 1, 1])],
            ),
            node("Relu", "r1", &["a"], &["b"], vec![]),
            node("Add", "add", &["b", "bias"], &["c"], vec![]),
            node(
                "Conv",
                "c2",
                &["c", "w2"],
                &["y"],
                vec![ints("pads", &[1, 1, 1, 1])],
            ),
        ],
        vec![
            tensor("w1", &[4, 3, 3, 3], &ramp(108)),
            tensor("bias", &[4, 1, 1], &[1.0, 2.0, 3.0, 4.0]),
            tensor("w2", &[2, 4, 3, 3], &ramp(72)),
        ],
        vec![value_info("x", &[1, 3, 8, 8])],
        &["y"],
    );
    let g = read_onnx(&bytes, &ImportOptions::default()).expect("import");
    assert_eq!(
        ops(&g),
        vec!["CONV_2D", "ADD", "CONV_2D"],
        "relu fused, no transposes"
    );
    assert!(matches!(&g.nodes[0].op, Op::Conv2d(c) if c.padding == edgequant_ir::Padding::Same));
    assert_eq!(g.tensor(g.outputs[0]).shape, vec![1, 8, 8, 2]);
    let keep = read_onnx(
        &bytes,
        &ImportOptions {
            keep_io_layout: true,
            ..Default::default()
        },
    )
    .expect("import");
    assert_eq!(
        ops(&keep),
        vec!["TRANSPOSE", "CONV_2D", "ADD", "CONV_2D", "TRANSPOSE"]
    );
    assert_eq!(keep.tensor(keep.inputs[0]).shape, vec![1, 3, 8, 8]);
    assert_eq!(keep.tensor(keep.outputs[0]).shape, vec![1, 2, 8, 8]);
    assert_eq!(keep.tensor(keep.outputs[0]).name, "y");
}

#[test]
fn asymmetric_pads_become_a_pad_op() {
    // k3 s2 p1 on an even size: PyTorch pads 1 before, TFLite SAME would pad after.
    let g = read_onnx(
        &conv_model(&[1, 1, 1, 1], &[2, 2]),
        &ImportOptions::default(),
    )
    .expect("import");
    assert_eq!(ops(&g), vec!["PAD", "CONV_2D"]);
    let g = read_onnx(
        &conv_model(&[0, 0, 0, 0], &[1, 1]),
        &ImportOptions::default(),
    )
    .expect("import");
    assert!(matches!(&g.nodes[0].op, Op::Conv2d(c) if c.padding == edgequant_ir::Padding::Valid));
}

#[test]
fn batch_norm_folds_into_conv_and_matches_unfolded() {
    let bn = |x: &str| {
        node(
            "BatchNormalization",
            "bn",
            &[x, "s", "bb", "m", "v"],
            &["y"],
            vec![],
        )
    };
    let params = vec![
        tensor("s", &[4], &[1.0, 0.5, 2.0, -1.0]),
        tensor("bb", &[4], &[0.1, 0.2, 0.3, 0.4]),
        tensor("m", &[4], &[0.5, -0.5, 0.0, 1.0]),
        tensor("v", &[4], &[1.0, 2.0, 0.5, 4.0]),
    ];
    let mut inits = vec![tensor("w", &[4, 3, 3, 3], &ramp(108))];
    inits.extend(params.clone());
    let folded = model(
        vec![
            node(
                "Conv",
                "conv",
                &["x", "w"],
                &["a"],
                vec![ints("pads", &[1, 1, 1, 1])],
            ),
            bn("a"),
        ],
        inits.clone(),
        vec![value_info("x", &[1, 3, 6, 6])],
        &["y"],
    );
    let g = read_onnx(&folded, &ImportOptions::default()).expect("import");
    assert_eq!(ops(&g), vec!["CONV_2D"]);
    // The same conv with its output also a graph output cannot fold: MUL + ADD.
    let unfolded = model(
        vec![
            node(
                "Conv",
                "conv",
                &["x", "w"],
                &["a"],
                vec![ints("pads", &[1, 1, 1, 1])],
            ),
            bn("a"),
        ],
        inits,
        vec![value_info("x", &[1, 3, 6, 6])],
        &["y", "a"],
    );
    let g2 = read_onnx(&unfolded, &ImportOptions::default()).expect("import");
    assert_eq!(ops(&g2), vec!["CONV_2D", "MUL", "ADD"]);
    let x = TensorValue::from_f32(vec![1, 6, 6, 3], ramp(108)).expect("x");
    let y1 = Interpreter::new(&g)
        .expect("interp")
        .run(vec![x.clone()])
        .expect("run");
    let y2 = Interpreter::new(&g2)
        .expect("interp")
        .run(vec![x])
        .expect("run");
    let (a, b) = (y1[0].as_f32().expect("f32"), y2[0].as_f32().expect("f32"));
    assert!(a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-5));
}

#[test]
fn shape_arithmetic_folds_to_one_reshape() {
    // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): a flatten keeping dim 0.
    let bytes = model(
        vec![
            node("Shape", "shape", &["x"], &["s"], vec![]),
            node(
                "Gather",
                "gather",
                &["s", "zero"],
                &["n"],
                vec![int("axis", 0)],
            ),
            node("Unsqueeze", "unsq", &["n", "axes0"], &["n1"], vec![]),
            node(
                "Concat",
                "cat",
                &["n1", "minus1"],
                &["shape"],
                vec![int("axis", 0)],
            ),
            node("Reshape", "reshape", &["x", "shape"], &["y"], vec![]),
        ],
        vec![
            TensorProto {
                name: Some("zero".into()),
                data_type: Some(7),
                int64_data: vec![0],
                ..Default::default()
            },
            int_tensor("axes0", &[0]),
            int_tensor("minus1", &[-1]),
        ],
        vec![value_info("x", &[2, 3, 4, 5])],
        &["y"],
    );
    let g = read_onnx(&bytes, &ImportOptions::default()).expect("import");
    // The NHWC input goes back to NCHW order before the reshape (ONNX semantics).
    assert_eq!(ops(&g), vec!["TRANSPOSE", "RESHAPE"]);
    assert_eq!(g.tensor(g.outputs[0]).shape, vec![2, 60]);
    let x: Vec<f32> = (0..120).map(|i| i as f32).collect();
    // Feed NHWC: element (n, h, w, c) = NCHW value n*60 + c*20 + h*5 + w.
    let mut nhwc = Vec::new();
    for n in 0..2 {
        for h in 0..4 {
            for w in 0..5 {
                for c in 0..3 {
                    nhwc.push(x[n * 60 + c * 20 + h * 5 + w]);
                }
            }
        }
    }
    let y = Interpreter::new(&g)
        .expect("interp")
        .run(vec![
            TensorValue::from_f32(vec![2, 4, 5, 3], nhwc).expect("x")
        ])
        .expect("run");
    assert_eq!(y[0].as_f32().expect("f32"), x.as_slice());
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut count = 0;
    for e in std::fs::read_dir(&dir).expect("tests/data/fuzz") {
        let bytes = std::fs::read(e.expect("entry").path()).expect("read");
        for keep_io_layout in [false, true] {
            let opts = ImportOptions {
                keep_io_layout,
                ..Default::default()
            };
            if let Ok(g) = read_onnx(&bytes, &opts) {
                g.validate().expect("valid graph");
            }
        }
        count += 1;
    }
    assert!(count > 0);
}
