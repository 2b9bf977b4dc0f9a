//! Fuzzes `edgequant_onnx::read_onnx`: any input must give `Ok` or a clean `Err`, never a
//! panic, and a graph that imports must be valid IR (checked again here, in both boundary
//! layouts).
#![no_main]

use edgequant_onnx::{read_onnx, ImportOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for keep_io_layout in [false, true] {
        let opts = ImportOptions {
            keep_io_layout,
            ..Default::default()
        };
        if let Ok(graph) = read_onnx(data, &opts) {
            if let Err(e) = graph.validate() {
                panic!("an imported graph must be valid: {e}");
            }
        }
    }
});
