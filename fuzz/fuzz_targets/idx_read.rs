//! Fuzzes the IDX (MNIST format) reader `edgequant_calib::data::read_idx_from`, plain and
//! gzip-compressed (chosen by the magic bytes), with the stream length known (a file) or not,
//! with and without a sample limit. Any input must give `Ok` or a clean `Err`, never a panic or
//! a large allocation; an array that reads has as many elements as its dimensions declare.
#![no_main]

use edgequant_calib::data::{read_idx_from, IdxData};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn len(d: &IdxData) -> usize {
    match d {
        IdxData::U8(v) => v.len(),
        IdxData::I8(v) => v.len(),
        IdxData::I16(v) => v.len(),
        IdxData::I32(v) => v.len(),
        IdxData::F32(v) => v.len(),
        IdxData::F64(v) => v.len(),
    }
}

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz.idx");
    for (file_len, max) in [
        (Some(data.len() as u64), None),
        (Some(data.len() as u64), Some(3)),
        (None, None),
    ] {
        if let Ok(a) = read_idx_from(p, data, file_len, max) {
            let n: usize = a.dims.iter().product();
            assert_eq!(len(&a.data), n, "element count vs dims {:?}", a.dims);
        }
    }
});
