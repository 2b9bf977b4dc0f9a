//! Inputs the `tflite_read` fuzz target (fuzz/) once failed on, checked with the same property:
//! reading never panics, and a model that reads writes and reads back unchanged.
//!
//! - `round_trip_unary_extra_operands.bin`: TANH with operands `[x, w, -1]`. It used to read
//!   (extra operands were ignored) and came back as `[x, w]`, because the writer drops trailing
//!   omitted operands. Operand counts are now checked per op and trailing `-1`s dropped on read.
//! - `inferred_output_over_limit.bin` (target `inspect_convert`): DEQUANTIZE of an int8
//!   `[998244352]` input (under the 2 GiB tensor limit) to an output stored with unknown rank.
//!   The reader adopted the inferred float32 shape (3.7 GiB) unchecked, so the model read but
//!   its written copy did not. Inferred shapes are now held to the same limit.
//! - `int8_conv_weights_without_quant.bin`: an int8 CONV_2D whose weights have no quantization
//!   parameters and whose bias operand is omitted. It read, but the writer (which must add the
//!   zero bias TFLite needs, with scale input × weight scale) failed. Integer convolutions
//!   without input or weight parameters are now rejected on read, naming the node and tensor.
//! - `inferred_dimension_over_int32.bin`: CONCATENATION of two inputs with a 0 dimension and a
//!   first dimension of 1,108,344,844 into an output of unknown rank. The inferred shape holds
//!   no elements (within the size limit) but a dimension of 2,216,689,688, which a .tflite
//!   shape (int32) cannot hold, so the model read but did not write. Inferred dimensions are
//!   now checked against int32.
//! - `int8_conv_bias_scale_underflow.bin`: an int8 CONV_2D without bias whose input scale ×
//!   weight scale is 0 in float32, so the zero bias the writer must add had an invalid scale.
//!   The reader now builds those biases (the writer's own function) and fails on read.

use edgequant_tflite::{read_model, write_tflite_model};
use std::path::Path;

fn check(data: &[u8]) {
    let Ok(model) = read_model(data) else { return };
    let bytes = write_tflite_model(&model).expect("a model that reads must write");
    let back = read_model(&bytes).expect("a written model must read");
    if back.graph.tensors.len() == model.graph.tensors.len() {
        assert_eq!(back, model, "round trip changed the model");
    }
}

#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/data/fuzz") {
        let path = entry.expect("entry").path();
        check(&std::fs::read(&path).expect("read"));
        n += 1;
    }
    assert!(n > 0);
    // The case of the first regression, built explicitly: it is now an operand-count error.
    let data = std::fs::read(dir.join("round_trip_unary_extra_operands.bin")).expect("read");
    let err = read_model(&data).expect_err("TANH with 3 operands");
    assert!(err.to_string().contains("TANH"), "{err}");
}

#[test]
fn inferred_shapes_obey_the_tensor_size_limit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let data = std::fs::read(dir.join("inferred_output_over_limit.bin")).expect("read");
    let err = read_model(&data)
        .expect_err("3.7 GiB inferred output")
        .to_string();
    assert!(err.contains("DEQUANTIZE"), "{err}");
    assert!(err.contains("byte limit of one tensor"), "{err}");
}

#[test]
fn integer_convolution_needs_quantization_parameters() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let data = std::fs::read(dir.join("int8_conv_weights_without_quant.bin")).expect("read");
    let err = read_model(&data)
        .expect_err("int8 weights without parameters")
        .to_string();
    assert!(err.contains("CONV_2D"), "{err}");
    assert!(
        err.contains("weights 'tutorial_cnn_1/conv2d_1/convolution' have no quantization"),
        "{err}"
    );
}

#[test]
fn inferred_dimensions_fit_in_int32() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let data = std::fs::read(dir.join("inferred_dimension_over_int32.bin")).expect("read");
    let err = read_model(&data)
        .expect_err("dimension 2216689688")
        .to_string();
    assert!(err.contains("CONCATENATION"), "{err}");
    assert!(err.contains("dimension 2216689688 does not fit"), "{err}");
}

#[test]
fn zero_bias_scale_must_be_valid_on_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let data = std::fs::read(dir.join("int8_conv_bias_scale_underflow.bin")).expect("read");
    let err = read_model(&data).expect_err("bias scale 0").to_string();
    assert!(err.contains("CONV_2D"), "{err}");
    assert!(err.contains("zero bias"), "{err}");
    assert!(
        err.contains("scale 0 is not a finite positive number"),
        "{err}"
    );
}
