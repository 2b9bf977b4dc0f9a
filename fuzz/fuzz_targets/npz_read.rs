//! Fuzzes the `.npz` readers: `edgequant::arrays::read_npz_from` (used by `eval`/tests) and
//! `edgequant_calib::data::read_npz_from` (calibration data). Any input must give `Ok` or a
//! clean `Err`, never a panic or a large allocation.
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


use arrays::read_npz_from;
use edgequant_calib::data::read_npz_from as calib_read_npz;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(arrays) = read_npz_from("fuzz.npz", Cursor::new(data)) {
        for (_, a) in &arrays {
            assert_eq!(a.bytes.len(), a.numel() * a.dtype.size(), "size invariant");
        }
    }
    for max in [None, Some(2)] {
        let _ = calib_read_npz(Path::new("fuzz.npz"), Cursor::new(data), max);
    }
});
