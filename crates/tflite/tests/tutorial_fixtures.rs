//! The TF-converted tutorial CNN fixtures (float, dynamic-range, int8, int8 with float I/O,
//! float16): read, check what the converter wrote, round trip.

mod common;

use common::tutorial_fixtures;
use edgequant_ir::DType;
use edgequant_tflite::{read_model, write_model, write_tflite_model};

fn fixture(name: &str) -> Vec<u8> {
    let p = common::repo_root()
        .join("fixtures")
        .join("tutorial_cnn")
        .join(format!("{name}.tflite"));
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}): regenerate with scripts/make_tutorial_fixture.py",
            p.display()
        )
    })
}

#[test]
fn all_fixtures_read_and_round_trip() {
    let files = tutorial_fixtures();
    assert!(
        files.len() >= 5,
        "expected the 5 tutorial_cnn fixtures, found {files:?}"
    );
    for p in files {
        let bytes = std::fs::read(&p).expect("read fixture");
        let m = read_model(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let sig = m.signature.as_ref().expect("converter writes a signature");
        assert_eq!(sig.key, "serving_default");
        assert_eq!(sig.inputs.len(), 1);
        assert_eq!(sig.outputs.len(), 1);
        let a = write_tflite_model(&m).expect("write");
        assert_eq!(a, write_tflite_model(&m).expect("write again"));
        assert_eq!(read_model(&a).expect("re-read"), m, "{}", p.display());
        let plain = write_model(&m.graph, &m.description).expect("write graph");
        assert_eq!(read_model(&plain).expect("re-read").graph, m.graph);
    }
}

#[test]
fn int8_fixture_quantization() {
    let m = read_model(&fixture("int8")).expect("read");
    let g = &m.graph;
    let input = g.tensor(g.inputs[0]);
    assert_eq!(input.dtype, DType::I8);
    assert_eq!(input.shape, vec![1, 28, 28, 1]);
    let q = input.quant.as_ref().expect("input quant");
    assert_eq!(q.zero_point, vec![-128]);
    assert!((q.scale[0] - 1.0 / 255.0).abs() < 1e-9);
    let out = g.tensor(g.outputs[0]);
    assert_eq!(
        out.quant.as_ref().expect("output quant").scale,
        vec![1.0 / 256.0]
    );
    // CONV_2D weights: int8 per-channel on dim 0; bias int32 per-channel.
    let conv = g
        .nodes
        .iter()
        .find(|n| n.op.name() == "CONV_2D")
        .expect("conv");
    let w = g.tensor(conv.inputs[1].expect("weights"));
    let wq = w.quant.as_ref().expect("weight quant");
    assert_eq!(w.dtype, DType::I8);
    assert_eq!(wq.axis, Some(0));
    assert_eq!(wq.scale.len(), w.shape[0]);
    let b = g.tensor(conv.inputs[2].expect("bias"));
    assert_eq!(b.dtype, DType::I32);
    assert_eq!(
        b.quant.as_ref().expect("bias quant").scale.len(),
        w.shape[0]
    );
}

#[test]
fn float_fixture_dynamic_flatten() {
    // SHAPE → STRIDED_SLICE → PACK → RESHAPE: the reshape target is run-time data; the reader
    // records the static output shape.
    let m = read_model(&fixture("float")).expect("read");
    let g = &m.graph;
    let names: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
    assert!(names.contains(&"SHAPE") && names.contains(&"PACK"));
    let r = g
        .nodes
        .iter()
        .find(|n| n.op.name() == "RESHAPE")
        .expect("reshape");
    match &r.op {
        edgequant_ir::Op::Reshape(op) => assert_eq!(op.new_shape, Some(vec![1, 3136])),
        other => panic!("{other:?}"),
    }
    assert_eq!(g.tensor(r.outputs[0]).shape, vec![1, 3136]);
}

#[test]
fn float16_fixture_has_f16_constants() {
    let m = read_model(&fixture("float16")).expect("read");
    let f16 = m
        .graph
        .tensors
        .iter()
        .filter(|t| t.dtype == DType::F16 && t.is_const())
        .count();
    assert_eq!(f16, 16);
}
