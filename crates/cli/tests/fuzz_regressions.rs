//! Inputs the fuzz targets of fuzz/ failed on, checked in the normal test suite with the same
//! property as the target (the files are in crates/cli/tests/data/fuzz/).
//!
//! - `npy_bool_round_trip.npy` (target `npy_read`; a seed: a `|b1` array cut from MNIST): a
//!   bool array read as `Bool` but `encode_npy` wrote it as `|u1`, so it read back as uint8
//!   (`run` wrote bool outputs as uint8). Bool arrays are now written as `|b1`.
//! - `onnx_empty_constant_output.onnx` (target `inspect_convert`; the ONNX backend test
//!   `test_shape_start_1` mutated to `start = 3`): SHAPE folds to an empty int64 constant that
//!   is a graph output. The .tflite writer stores it as an empty buffer, which reads back as
//!   "no data", so the written model failed to read ("never produced"). The reader now takes a
//!   zero-element tensor that nothing produces as an empty constant.
//! - `npy_nested_brackets_in_string.npy` (target `npy_read`, a timeout): a header with 100+
//!   nested `[` after a quote that the bracket-depth guard took for the start of a string
//!   (the header parser did not), so the guard passed it and the parser backtracked for
//!   minutes. The guard now counts every bracket.

use edgequant::arrays::{encode_npy, read_npy_from};
use edgequant::model::{load_bytes, LoadOptions};
use edgequant_ir::DType;
use std::path::Path;

fn data(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `npy_read` property: an array that reads encodes and reads back unchanged.
fn npy_round_trip(bytes: &[u8]) {
    let Ok(a) = read_npy_from("case.npy", bytes) else {
        return;
    };
    let enc = encode_npy(&a).expect("an array that reads must encode");
    let back = read_npy_from("back.npy", &enc[..]).expect("an encoded array must read");
    assert_eq!(back, a, "round trip changed the array");
}

#[test]
fn npy_bool_round_trip() {
    let bytes = data("npy_bool_round_trip.npy");
    let a = read_npy_from("case.npy", &bytes[..]).expect("valid bool array");
    assert_eq!(a.dtype, DType::Bool);
    assert_eq!(a.shape, vec![3, 6, 6]);
    npy_round_trip(&bytes);
}

/// The `inspect_convert` property: a model that loads writes, and reads back with the same
/// outputs.
#[test]
fn onnx_empty_constant_output_round_trips() {
    let bytes = data("onnx_empty_constant_output.onnx");
    let m = load_bytes(Path::new("case.onnx"), &bytes, &LoadOptions::default()).expect("import");
    let out = m.graph.tensor(m.graph.outputs[0]).clone();
    assert_eq!(out.shape, vec![0]);
    let written = edgequant_tflite::write_model(&m.graph, "case").expect("write");
    let back = load_bytes(Path::new("back.tflite"), &written, &LoadOptions::default())
        .expect("a written model must read");
    let out_back = back.graph.tensor(back.graph.outputs[0]);
    assert_eq!(out_back.shape, out.shape);
    assert_eq!(out_back.dtype, out.dtype);
    assert!(out_back.data.as_ref().is_some_and(|d| d.is_empty()));
}

/// A header nesting brackets 100 deep, partly "inside" a string, is rejected by the depth
/// guard before the header parser sees it (the parser used to backtrack on it for minutes).
#[test]
fn npy_nested_brackets_in_string_are_rejected_before_parsing() {
    let bytes = data("npy_nested_brackets_in_string.npy");
    let err = read_npy_from("case.npy", &bytes[..]).expect_err("nested header");
    assert!(err.to_string().contains("levels deep"), "{err}");
    npy_round_trip(&bytes);
}
