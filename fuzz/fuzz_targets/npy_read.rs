//! Fuzzes the `.npy` readers: `edgequant::arrays::read_npy_from` (used by `run -i`) and
//! `edgequant_calib::data::read_npy_from` (calibration data, with and without a sample limit).
//! Any input must give `Ok` or a clean `Err`, never a panic or a large allocation; an array
//! that reads must encode and read back unchanged.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/cli/src/exit.rs"]
mod exit;
#[allow(dead_code)]
#[path = "../../crates/cli/src/output.rs"]
mod output;
#[allow(dead_code)]
#[path = "../../crates/cli/src/arrays.rs"]
mod arrays;


use arrays::{encode_npy, read_npy_from, Array};
use edgequant_calib::data::read_npy_from as calib_read_npy;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = read_npy_from("fuzz.npy", data) {
        assert_eq!(a.bytes.len(), a.numel() * a.dtype.size(), "size invariant");
        let bytes = match encode_npy(&a) {
            Ok(b) => b,
            Err(e) => panic!("an array that reads must encode: {e}"),
        };
        let back: Array = match read_npy_from("back.npy", &bytes[..]) {
            Ok(b) => b,
            Err(e) => panic!("an encoded array must read: {e}"),
        };
        if a.dtype != edgequant_ir::DType::F16 {
            assert_eq!(back, a, "round trip changed the array");
        }
    }
    let p = Path::new("fuzz.npy");
    for max in [None, Some(2)] {
        let _ = calib_read_npy(p, data, Some(data.len() as u64), max);
    }
    let _ = calib_read_npy(p, data, None, None);
});
