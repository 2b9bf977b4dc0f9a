//! Inputs the fuzz targets of fuzz/ failed on, checked in the normal test suite with the same
//! property as the target (the files are in crates/cli/tests/data/fuzz/).
//!
//! - `npy_bool_round_trip.npy` (target `npy_read`; a seed: a `|b1` array cut from MNIST): a
//!   bool array read as `Bool` but `encode_npy` wrote it as `|u1`, so it read back as uint8
//!   (`run` wrote bool outputs as uint8). Bool arrays are now written as `|b1`.

use edgequant::arrays::{encode_npy, read_npy_from};
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
