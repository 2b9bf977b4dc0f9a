//! The TFLite quantization spec (DESIGN.md section 3) as the quantization passes apply it:
//! which integer ranges activations use and how ranges and constants become parameters and
//! integers. The arithmetic (bit-exact with TensorFlow's converter) is `edgequant_calib::params`;
//! this module fixes the spec's choices on top of it.

use crate::error::QuantError;
use edgequant_calib::params;
use edgequant_ir::{DType, QuantParams};

/// Activation parameters from a float range: int8 asymmetric `[-128, 127]`, uint8 asymmetric
/// `[0, 255]`, int16 symmetric with zero point 0. The range is widened to contain 0.
pub fn activation_params(min: f32, max: f32, dtype: DType) -> Result<QuantParams, QuantError> {
    Ok(match dtype {
        DType::I16 => params::int16_activation_params(min, max)?,
        DType::U8 => params::uint8_params(min, max)?,
        _ => params::int8_activation_params(min, max)?,
    })
}

/// Symmetric narrow-range int8 weights (`[-127, 127]`, zero point 0), per channel along
/// `axis` or per tensor.
pub fn quantize_weights(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> Result<(Vec<i8>, QuantParams), QuantError> {
    Ok(params::quantize_int8_weights(values, shape, axis)?)
}

/// Weights and bias of a CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV / FULLY_CONNECTED:
/// bias scale = input scale × weight scale (int32, or int64 when `wide`), with TensorFlow's
/// adjustment of the weight scale where the bias would overflow. Returns the int8 weights,
/// their parameters, the bias integers and their parameters.
pub fn quantize_weights_and_bias(
    weights: &[f32],
    shape: &[usize],
    axis: Option<usize>,
    bias: &[f32],
    input_scale: f32,
    wide: bool,
) -> Result<(Vec<i8>, QuantParams, Vec<i64>, QuantParams), QuantError> {
    let w0 = params::int8_weight_params(weights, shape, axis)?;
    let (w, b) = if wide {
        (w0.clone(), params::bias_params(input_scale, &w0)?)
    } else {
        params::weight_and_bias_params(input_scale, &w0, bias)?
    };
    let q = params::quantize_int8_weights_with(weights, shape, &w)?;
    let qb: Vec<i64> = if wide {
        params::quantize_bias_i64(bias, &b)?
    } else {
        params::quantize_bias_i32(bias, &b)?
            .into_iter()
            .map(i64::from)
            .collect()
    };
    Ok((q, w, qb, b))
}

/// Quantizes float values with per-tensor parameters (TFLite's reference quantize: round half
/// away from zero, saturate to the dtype's range).
pub fn quantize_with(values: &[f32], p: &QuantParams, dtype: DType) -> Vec<i32> {
    let (qmin, qmax) = match dtype {
        DType::I16 => (-32768, 32767),
        DType::U8 => (0, 255),
        _ => (-128, 127),
    };
    values
        .iter()
        .map(|&v| params::quantize_value(v, p.scale[0], p.zero_point[0], qmin, qmax))
        .collect()
}

/// Asymmetric per-tensor quantization of a constant operand of an elementwise op (the
/// constant of a MUL/ADD, a PRELU alpha): parameters from its min/max as for activations.
pub fn quantize_asymmetric(
    values: &[f32],
    dtype: DType,
) -> Result<(Vec<i32>, QuantParams), QuantError> {
    let (mn, mx) = values
        .iter()
        .fold((0f32, 0f32), |(a, b), &v| (a.min(v), b.max(v)));
    let p = activation_params(mn, mx, dtype)?;
    let q = quantize_with(values, &p, dtype);
    Ok((q, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_exact_and_range_covered() {
        for (mn, mx) in [(-1.0f32, 3.0f32), (0.5, 6.0), (-7.0, -0.1), (-0.003, 0.002)] {
            let p = activation_params(mn, mx, DType::I8).expect("params");
            let (s, z) = (p.scale[0], p.zero_point[0]);
            assert!(s > 0.0 && (-128..=127).contains(&z));
            assert!((-128 - z) as f32 * s <= mn.min(0.0) + s / 2.0);
            assert!((127 - z) as f32 * s >= mx.max(0.0) - s / 2.0);
        }
    }

    #[test]
    fn degenerate_range_has_valid_scale() {
        let p = activation_params(0.0, 0.0, DType::I8).expect("params");
        assert!(p.scale[0] > 0.0 && p.scale[0].is_finite());
    }

    #[test]
    fn depthwise_weights_are_per_channel_on_last_axis() {
        let w = [1.0f32, 4.0, -1.0, 2.0];
        let (q, p) = quantize_weights(&w, &[1, 2, 1, 2], Some(3)).expect("weights");
        assert_eq!(p.axis, Some(3));
        assert_eq!(p.scale.len(), 2);
        assert_eq!(q, vec![127, 127, -127, 64]);
    }

    #[test]
    fn bias_scale_is_input_times_weight_scale() {
        let w = [0.5f32, -1.0, 2.0, 0.25];
        let (_, wp, qb, bp) =
            quantize_weights_and_bias(&w, &[2, 2], Some(0), &[0.1, -0.2], 0.02, false)
                .expect("bias");
        for c in 0..2 {
            assert_eq!(bp.scale[c], 0.02 * wp.scale[c]);
        }
        assert_eq!(qb[0], (0.1f64 / bp.scale[0] as f64).round() as i64);
    }
}
