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

/// Minimum reduction of the weight quantization error ([`per_channel_gain_db`]), in dB, for
/// which FULLY_CONNECTED weights are stored per channel by default (3 dB = half the error
/// power). Below it they stay per tensor, TensorFlow's layout, which every runtime version
/// reads.
pub const FC_PER_CHANNEL_MIN_GAIN_DB: f64 = 3.0;

/// How much per-channel (along `axis`) symmetric int8 quantization of `values` improves on one
/// per-tensor scale, in dB: `10 log10(nsr_per_tensor / nsr_per_channel)`, where `nsr` is the
/// mean over the channels with non-zero weights of each channel's quantization noise energy
/// divided by its weight energy (every output channel is a separate result, so a channel much
/// smaller than the others counts as much as a large one). 0 when both are exact, infinite when
/// only per-channel is exact.
pub fn per_channel_gain_db(
    values: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<f64, QuantError> {
    let channels = shape.get(axis).copied().unwrap_or(1).max(1);
    let inner: usize = shape
        .get(axis + 1..)
        .map_or(1, |s| s.iter().product::<usize>().max(1));
    let channel = |i: usize| (i / inner) % channels;
    let mut energy = vec![0f64; channels];
    for (i, &v) in values.iter().enumerate() {
        energy[channel(i)] += v as f64 * v as f64;
    }
    let nsr = |axis: Option<usize>| -> Result<f64, QuantError> {
        let (q, p) = quantize_weights(values, shape, axis)?;
        let mut noise = vec![0f64; channels];
        for (i, (&v, &x)) in values.iter().zip(&q).enumerate() {
            let s = if p.scale.len() > 1 {
                p.scale[channel(i)]
            } else {
                p.scale[0]
            } as f64;
            let e = v as f64 - x as f64 * s;
            noise[channel(i)] += e * e;
        }
        let used: Vec<f64> = noise
            .iter()
            .zip(&energy)
            .filter(|(_, &en)| en > 0.0)
            .map(|(&n, &en)| n / en)
            .collect();
        Ok(if used.is_empty() {
            0.0
        } else {
            used.iter().sum::<f64>() / used.len() as f64
        })
    };
    let (pt, pc) = (nsr(None)?, nsr(Some(axis))?);
    Ok(if pt == 0.0 {
        0.0
    } else if pc == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (pt / pc).log10()
    })
}

/// The weight axis of a FULLY_CONNECTED: per channel (axis 0) when `force` is set, or when
/// `auto` is set and per-channel scales cut the weight quantization error by at least
/// [`FC_PER_CHANNEL_MIN_GAIN_DB`]; otherwise per tensor.
pub fn fully_connected_axis(
    values: &[f32],
    shape: &[usize],
    force: bool,
    auto: bool,
) -> Result<Option<usize>, QuantError> {
    if force {
        return Ok(Some(0));
    }
    if auto && shape.len() == 2 && shape[0] > 1 {
        let gain = per_channel_gain_db(values, shape, 0)?;
        if gain >= FC_PER_CHANNEL_MIN_GAIN_DB {
            return Ok(Some(0));
        }
    }
    Ok(None)
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
    fn fully_connected_goes_per_channel_only_when_it_pays() {
        // Rows of similar magnitude: per-tensor is nearly as good; stays per tensor.
        let even: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        assert!(per_channel_gain_db(&even, &[4, 16], 0).expect("gain") < 3.0);
        assert_eq!(
            fully_connected_axis(&even, &[4, 16], false, true).expect("axis"),
            None
        );
        // One row 1000x smaller than the others: per tensor rounds it to almost nothing.
        let mut uneven = even.clone();
        for v in &mut uneven[..16] {
            *v *= 1e-3;
        }
        assert!(per_channel_gain_db(&uneven, &[4, 16], 0).expect("gain") > 3.0);
        assert_eq!(
            fully_connected_axis(&uneven, &[4, 16], false, true).expect("axis"),
            Some(0)
        );
        assert_eq!(
            fully_connected_axis(&uneven, &[4, 16], false, false).expect("axis"),
            None
        );
        assert_eq!(
            fully_connected_axis(&even, &[4, 16], true, false).expect("axis"),
            Some(0)
        );
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
