//! Fuzzes `edgequant_tflite::read_model`: any input must give `Ok` or a clean `Err`, never a
//! panic, and a model that reads must write and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = edgequant_tflite::read_model(data) else {
        return;
    };
    let bytes = match edgequant_tflite::write_tflite_model(&model) {
        Ok(b) => b,
        Err(e) => panic!("a model that reads must write: {e}"),
    };
    let back = match edgequant_tflite::read_model(&bytes) {
        Ok(m) => m,
        Err(e) => panic!("a written model must read: {e}"),
    };
    // The writer adds zero biases to convolutions without one; otherwise the round trip is exact.
    if back.graph.tensors.len() == model.graph.tensors.len() {
        assert_eq!(back, model, "round trip changed the model");
    }
});
