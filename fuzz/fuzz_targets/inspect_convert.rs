//! Fuzzes the whole `inspect → convert` path of the CLI on one file: format detection and import
//! (.tflite, or ONNX when not .tflite), the `inspect` text and JSON descriptions, writing
//! .tflite, and reading the written file back. Any input must give `Ok` or a clean `Err`, never
//! a panic; a model that loads must describe, write and read back with the same inputs and
//! outputs (names, dtypes, shapes, quantization) and op counts, and writing is deterministic.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/cli/src/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "../../crates/cli/src/describe.rs"]
mod describe;

use describe::{describe, text};
use model::{load_bytes, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.onnx");
    let Ok(m) = load_bytes(path, data, &LoadOptions::default()) else {
        return;
    };
    let json = describe(&m);
    let _ = text(path, &m);
    let bytes = match edgequant_tflite::write_model(&m.graph, "fuzz") {
        Ok(b) => b,
        Err(_) => return, // e.g. an ONNX graph with an op .tflite cannot hold: a clean error
    };
    match edgequant_tflite::write_model(&m.graph, "fuzz") {
        Ok(again) => assert!(again == bytes, "writing the same graph twice differs"),
        Err(e) => panic!("second write failed: {e}"),
    }
    let back = match load_bytes(Path::new("back.tflite"), &bytes, &LoadOptions::default()) {
        Ok(b) => b,
        Err(e) => panic!("a written model must read: {e:#}"),
    };
    let json_back = describe(&back);
    for key in ["inputs", "outputs", "ops"] {
        let strip = |v: &serde_json::Value| -> serde_json::Value {
            let mut v = v[key].clone();
            if let Some(items) = v.as_array_mut() {
                for it in items {
                    if let Some(o) = it.as_object_mut() {
                        o.remove("index");
                    }
                }
            }
            v
        };
        assert_eq!(strip(&json), strip(&json_back), "'{key}' changed by convert");
    }
});
