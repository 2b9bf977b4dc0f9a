//! edgequant quantization: the TFLite quantization spec ([`spec`]), the per-op rules
//! ([`rules`]) and the passes that turn a float graph into an int8, 16x8, dynamic-range or
//! float16 graph (DESIGN.md section 3).
//!
//! Typical flow: [`prepare_float`] (fold constant DEQUANTIZE so weights are plain float32),
//! calibrate the prepared graph (observe every float tensor's range), then
//! [`quantize_integer`] with those ranges, then [`correct_biases`] with the same data; or
//! [`quantize_dynamic`] / [`quantize_float16`] which need no data.

mod bias_correction;
mod calibrate;
mod dynamic;
mod error;
mod float16;
mod integer;
pub mod passes;
pub mod rules;
pub mod spec;
mod weight_rounding;

pub use bias_correction::{correct_biases, BiasCorrectionOptions, BiasCorrectionReport};
pub use calibrate::calibrate;
pub use dynamic::{quantize_dynamic, DynamicOptions};
pub use error::{FloatNode, QuantError};
pub use float16::quantize_float16;
pub use integer::{quantize_integer, IntegerOptions, IoType, Quantized, CUSTOM_OP_ALIASES};
pub use weight_rounding::{optimize_weight_rounding, WeightRoundingOptions, WeightRoundingReport};

use edgequant_ir::{run_passes, Graph};

/// Normalizes a float graph before calibration and quantization: constant DEQUANTIZE nodes
/// (float16 or int8 stored weights) are folded into float32 constants.
pub fn prepare_float(graph: &Graph) -> Result<Graph, QuantError> {
    let mut g = graph.clone();
    run_passes(&mut g, &[&passes::FoldConstantDequantize])?;
    g.validate()?;
    Ok(g)
}
