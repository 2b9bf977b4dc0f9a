//! Reads the MediaPipe models: op counts as LiteRT reports them, round trips, determinism.

mod common;

use common::{model_bytes, MEDIAPIPE};
use edgequant_tflite::{read_model, write_model, write_tflite_model, TfliteModel};
use std::collections::BTreeMap;

fn op_counts(m: &TfliteModel) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for n in &m.graph.nodes {
        *c.entry(n.op.name().to_string()).or_insert(0) += 1;
    }
    c
}

fn expected(stem: &str) -> BTreeMap<String, usize> {
    let e: &[(&str, usize)] = match stem {
        "face_detection_short_range" => &[
            ("DEQUANTIZE", 74),
            ("CONV_2D", 21),
            ("RELU", 17),
            ("DEPTHWISE_CONV_2D", 16),
            ("ADD", 16),
            ("PAD", 11),
            ("MAX_POOL_2D", 3),
            ("RESHAPE", 4),
            ("CONCATENATION", 2),
        ],
        "hand_recrop" => &[
            ("CONV_2D", 14),
            ("PRELU", 13),
            ("DEPTHWISE_CONV_2D", 19),
            ("MAX_POOL_2D", 6),
            ("PAD", 3),
            ("ADD", 6),
            ("STRIDED_SLICE", 2),
        ],
        "iris_landmark" => &[
            ("CONV_2D", 55),
            ("PRELU", 53),
            ("DEPTHWISE_CONV_2D", 26),
            ("ADD", 26),
            ("MAX_POOL_2D", 6),
            ("PAD", 1),
            ("RESHAPE", 2),
        ],
        "hand_landmark_lite" => &[
            ("DEQUANTIZE", 102),
            ("CONV_2D", 31),
            ("DEPTHWISE_CONV_2D", 16),
            ("MAX_POOL_2D", 1),
            ("ADD", 10),
            ("MEAN", 1),
            ("FULLY_CONNECTED", 4),
            ("LOGISTIC", 2),
        ],
        // LiteRT's counts, with MediaPipe's custom Convolution2DTransposeBias read as
        // TRANSPOSE_CONV (+ bias).
        "selfie_segmentation" => &[
            ("DEQUANTIZE", 110),
            ("CONV_2D", 43),
            ("HARD_SWISH", 11),
            ("RELU", 22),
            ("DEPTHWISE_CONV_2D", 11),
            ("AVERAGE_POOL_2D", 10),
            ("LOGISTIC", 11),
            ("MUL", 10),
            ("ADD", 14),
            ("RESIZE_BILINEAR", 3),
            ("TRANSPOSE_CONV", 1),
        ],
        other => panic!("no expected op counts for {other}"),
    };
    e.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn op_counts_match_litert() {
    for stem in MEDIAPIPE {
        let m = read_model(&model_bytes(stem)).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(op_counts(&m), expected(stem), "{stem}");
        assert!(
            !m.graph.inputs.is_empty() && !m.graph.outputs.is_empty(),
            "{stem}"
        );
    }
}

#[test]
fn float16_weights_behind_dequantize() {
    let m = read_model(&model_bytes("face_detection_short_range")).expect("read");
    let g = &m.graph;
    let deq: Vec<_> = g
        .nodes
        .iter()
        .filter(|n| n.op.name() == "DEQUANTIZE")
        .collect();
    assert_eq!(deq.len(), 74);
    for n in deq {
        let x = g.tensor(n.inputs[0].expect("operand"));
        assert_eq!(x.dtype, edgequant_ir::DType::F16, "{}", n.name);
        assert!(x.is_const(), "{}", n.name);
        assert_eq!(x.f16_data().expect("f16").len(), x.numel());
    }
    assert_eq!(g.tensor(g.inputs[0]).shape, vec![1, 128, 128, 3]);
    assert_eq!(
        m.description,
        "keras2tflite_facedetector-front.tflite.generated"
    );
}

#[test]
fn selfie_transpose_conv_bias_is_a_builtin_with_bias() {
    let m = read_model(&model_bytes("selfie_segmentation")).expect("read");
    let g = &m.graph;
    let n = g
        .nodes
        .iter()
        .find(|n| n.op.name() == "TRANSPOSE_CONV")
        .expect("transpose conv");
    assert_eq!(n.inputs.len(), 4);
    let shape = g.tensor(n.inputs[0].expect("shape"));
    let out = g.tensor(n.outputs[0]);
    let dims: Vec<usize> = shape
        .i32_data()
        .expect("int32")
        .iter()
        .map(|&d| d as usize)
        .collect();
    assert_eq!(dims, out.shape);
    assert!(n.inputs[3].is_some(), "bias operand");
}

#[test]
fn round_trip_is_equal_and_deterministic() {
    for stem in MEDIAPIPE {
        let m = read_model(&model_bytes(stem)).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let a = write_model(&m.graph, &m.description).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let b = write_model(&m.graph, &m.description).expect("second write");
        assert!(a == b, "{stem}: two writes differ");
        let back = read_model(&a).unwrap_or_else(|e| panic!("{stem} re-read: {e}"));
        assert_eq!(
            back.graph, m.graph,
            "{stem}: graph changed in the round trip"
        );
        assert_eq!(back.description, m.description);
        // Writing what was read back gives the same bytes again.
        let c = write_model(&back.graph, &back.description).expect("third write");
        assert!(a == c, "{stem}: rewrite differs");
        // The full model (with signature, if any) round-trips too.
        let d = write_tflite_model(&m).expect("write model");
        assert_eq!(read_model(&d).expect("re-read model"), m, "{stem}");
    }
}
