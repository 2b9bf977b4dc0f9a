//! Float range → quantization parameters, following the TFLite int8 quantization spec
//! (DESIGN.md section 3, <https://www.tensorflow.org/lite/performance/quantization_spec>) and
//! reproducing TensorFlow's converter arithmetic bit for bit, so that scales and zero points
//! equal the ones `tf.lite.TFLiteConverter` writes for the same ranges.
//!
//! Sources of the arithmetic (TensorFlow 2.x, MLIR quantizer, which `TFLiteConverter` uses with
//! `legacy_float_scale = true`):
//! * activations: `PrepareQuantStats` (`quantization/common/quantization_lib/
//!   quantization_utils.h`): the calibrated `[min, max]` is widened to contain 0, widened by
//!   `1e-6` on each side when narrower than `1e-6` (`TensorRangeSanityCheck`), then
//!   `DownCastScale` computes `scale = (float(max) - float(min)) / (qmax - qmin)` in f32 and
//!   `zero_point_from_min = float(qmin - min / scale)`, clamped to `[qmin, qmax]` or rounded
//!   half away from zero — the same nudging as the legacy
//!   `tensorflow/lite/tools/optimize/quantization_utils.cc: GetAsymmetricQuantizationParams`.
//! * int16 activations (16x8, legacy quantizer): `GetSymmetricQuantizationParams`:
//!   `scale = max(|min|, |max|) / 32767`, zero point 0.
//! * weights: `GetUniformQuantizedPerAxisTypeForWeight` + `ExpandVerySmallRange` +
//!   `DownCastScale`: symmetric narrow range `[-127, 127]`,
//!   `scale = (float(a) - float(-a)) / 254 == a / 127` with `a = max |w|` per channel, and a
//!   channel with `2a <= 1e-6` (all zeros, or no elements) widened to `a = 5e-7`, so no scale is
//!   ever 0. Values: `SymmetricPerChannelQuantizeValues` (`round(w * float(1.0 / scale))`) per
//!   channel, `PortableSymmetricQuantizeFloats` (`round(w * (127 / a))`) per tensor.
//! * bias: `GetUniformQuantizedTypeForBias`: `scale = float(input_scale * weight_scale)` per
//!   channel, zero point 0; values `SymmetricBiasQuantize`: `round(b * float(1.0 / scale))`
//!   saturated to `[-(2^31-1), 2^31-1]` (int64 for 16x8).
//! * runtime quantize/dequantize of values: TFLite reference `AffineQuantize`
//!   (`round(x / scale) + zero_point`, clamped) and `Dequantize` (`scale * (q - zero_point)` in
//!   double).
//!
//! Rounding is always half away from zero (`std::round`, `TfLiteRound`), which is Rust's
//! `f32::round`.

use crate::error::CalibError;
use edgequant_ir::QuantParams;

/// int8 range.
pub const INT8_MIN: i32 = -128;
/// int8 range.
pub const INT8_MAX: i32 = 127;
/// Narrow-range int8 weights are in `[-127, 127]`.
pub const INT8_WEIGHT_MAX: i32 = 127;
/// uint8 range.
pub const UINT8_MAX: i32 = 255;
/// Symmetric int16 activations use `[-32767, 32767]` for the scale (`quantized_range`).
pub const INT16_MAX: i32 = 32767;

/// `kNearZeroTolerance` of TF's MLIR quantizer.
const NEAR_ZERO_TOLERANCE: f64 = 1.0e-6;
/// `kSmallestHalfRange = kNearZeroTolerance / 2`.
const SMALLEST_HALF_RANGE: f64 = NEAR_ZERO_TOLERANCE / 2.0;

fn check_range(min: f32, max: f32) -> Result<(), CalibError> {
    if !(min.is_finite() && max.is_finite()) {
        return Err(CalibError::InvalidRange {
            min,
            max,
            reason: "bounds must be finite".into(),
        });
    }
    if min > max {
        return Err(CalibError::InvalidRange {
            min,
            max,
            reason: "min is greater than max".into(),
        });
    }
    Ok(())
}

/// The calibrated range widened to contain 0 and, when narrower than `1e-6`, widened by `1e-6`
/// on both sides (TF `PrepareQuantStats` / `TensorRangeSanityCheck`), in f64 as TF does.
fn effective_range(min: f32, max: f32) -> (f64, f64) {
    let mut lo = (min as f64).min(0.0);
    let mut hi = (max as f64).max(0.0);
    if (hi - lo).abs() < NEAR_ZERO_TOLERANCE {
        lo -= NEAR_ZERO_TOLERANCE;
        hi += NEAR_ZERO_TOLERANCE;
    }
    (lo, hi)
}

/// Asymmetric per-tensor parameters for integers in `[qmin, qmax]` from the float range
/// `[min, max]` (TF converter arithmetic, see the module documentation).
///
/// Guarantees: `scale` is finite and `> 0`; `qmin <= zero_point <= qmax`; 0.0 is exactly
/// representable (it quantizes to `zero_point`); every value of `[min, max]` quantizes with an
/// error of at most `scale / 2`. A zero-width range (constant or all-zero tensor) gets the
/// `1e-6` widening, never a zero scale.
///
/// Errors if a bound is not finite, `min > max`, `qmin >= qmax`, or the range is so wide that
/// the scale overflows f32.
pub fn asymmetric_params(
    min: f32,
    max: f32,
    qmin: i32,
    qmax: i32,
) -> Result<QuantParams, CalibError> {
    check_range(min, max)?;
    if qmin >= qmax {
        return Err(CalibError::Config(format!(
            "integer range [{qmin}, {qmax}] is empty"
        )));
    }
    let (lo, hi) = effective_range(min, max);
    let steps = (qmax as i64 - qmin as i64) as f32;
    let scale = ((hi as f32) - (lo as f32)) / steps;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(CalibError::InvalidRange {
            min,
            max,
            reason: format!("range too wide: scale {scale} is not a finite positive number"),
        });
    }
    let zp_from_min = (qmin as f64 - lo / scale as f64) as f32;
    let zero_point = if zp_from_min < qmin as f32 {
        qmin
    } else if zp_from_min > qmax as f32 {
        qmax
    } else {
        (zp_from_min.round() as i32).clamp(qmin, qmax)
    };
    Ok(QuantParams::per_tensor(scale, zero_point))
}

/// int8 activation parameters (`[-128, 127]`, asymmetric, per tensor): DESIGN.md section 3.
pub fn int8_activation_params(min: f32, max: f32) -> Result<QuantParams, CalibError> {
    asymmetric_params(min, max, INT8_MIN, INT8_MAX)
}

/// uint8 parameters (`[0, 255]`, asymmetric, per tensor) for legacy uint8 model inputs and
/// outputs.
pub fn uint8_params(min: f32, max: f32) -> Result<QuantParams, CalibError> {
    asymmetric_params(min, max, 0, UINT8_MAX)
}

/// int16 activation parameters for 16x8 quantization: symmetric, zero point 0,
/// `scale = max(|min|, |max|) / 32767` in f32 (TF legacy `GetSymmetricQuantizationParams`).
///
/// A range narrower than `1e-6` is widened by `1e-6` as for int8 (TF would produce scale 0).
pub fn int16_activation_params(min: f32, max: f32) -> Result<QuantParams, CalibError> {
    check_range(min, max)?;
    let (lo, hi) = effective_range(min, max);
    let half = (hi as f32).abs().max((lo as f32).abs());
    let scale = half / INT16_MAX as f32;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(CalibError::InvalidRange {
            min,
            max,
            reason: format!("scale {scale} is not a finite positive number"),
        });
    }
    Ok(QuantParams::per_tensor(scale, 0))
}

/// Scale of symmetric narrow-range int8 weights whose largest magnitude is `abs_max`:
/// `(float(a) - float(-a)) / 254` with `a = abs_max`, or `a = 5e-7` when `2·abs_max <= 1e-6`
/// (TF `ExpandVerySmallRange`), so the scale is always finite and positive for finite input.
///
/// Returns `None` if `abs_max` is not finite or the scale overflows.
pub fn symmetric_int8_scale(abs_max: f32) -> Option<f32> {
    if !abs_max.is_finite() {
        return None;
    }
    let a = (abs_max as f64).abs();
    let a = if 2.0 * a > NEAR_ZERO_TOLERANCE {
        a
    } else {
        a.max(SMALLEST_HALF_RANGE)
    };
    let hi = a as f32;
    let lo = (-a) as f32;
    let scale = (hi - lo) / (2 * INT8_WEIGHT_MAX) as f32;
    (scale.is_finite() && scale > 0.0).then_some(scale)
}

/// Validated channel layout of a weight tensor: `(channels, inner)` where element `i` belongs to
/// channel `(i / inner) % channels`.
fn channel_layout(
    len: usize,
    shape: &[usize],
    axis: Option<usize>,
) -> Result<(usize, usize), CalibError> {
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| CalibError::Config(format!("weight shape {shape:?} overflows")))?;
    if numel != len {
        return Err(CalibError::Config(format!(
            "weight shape {shape:?} has {numel} elements but {len} values were given"
        )));
    }
    match axis {
        None => Ok((1, numel.max(1))),
        Some(ax) => {
            let Some(&channels) = shape.get(ax) else {
                return Err(CalibError::Config(format!(
                    "quantized dimension {ax} is outside weight shape {shape:?}"
                )));
            };
            if channels == 0 {
                return Err(CalibError::Config(format!(
                    "quantized dimension {ax} of weight shape {shape:?} is empty"
                )));
            }
            // numel is representable, so this product is too.
            let inner = shape[ax + 1..].iter().product::<usize>().max(1);
            Ok((channels, inner))
        }
    }
}

fn per_channel_abs_max(
    values: &[f32],
    channels: usize,
    inner: usize,
) -> Result<Vec<f32>, CalibError> {
    let mut abs_max = vec![0f32; channels];
    for (i, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(CalibError::Config(format!(
                "weight value {v} at element {i} is not finite"
            )));
        }
        let c = (i / inner) % channels;
        abs_max[c] = abs_max[c].max(v.abs());
    }
    Ok(abs_max)
}

/// Symmetric narrow-range int8 weight parameters (`[-127, 127]`, zero point 0): per channel
/// along dimension `axis` (`Some(0)` for CONV_2D's OHWI, `Some(3)` for DEPTHWISE_CONV_2D's
/// 1HWO), or per tensor with `axis = None`. See [`symmetric_int8_scale`] for the scale; a channel
/// whose weights are all zero (or that has no elements) gets the tiny positive scale of
/// `a = 5e-7`, never 0.
///
/// Errors if `values.len()` does not match `shape`, `axis` is outside `shape` or an empty
/// dimension, or a weight is NaN/infinite.
pub fn int8_weight_params(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> Result<QuantParams, CalibError> {
    let (channels, inner) = channel_layout(values.len(), shape, axis)?;
    let abs_max = per_channel_abs_max(values, channels, inner)?;
    let scale = abs_max
        .iter()
        .map(|&a| {
            symmetric_int8_scale(a).ok_or_else(|| {
                CalibError::Config(format!("weight magnitude {a} gives no finite scale"))
            })
        })
        .collect::<Result<Vec<f32>, _>>()?;
    Ok(QuantParams {
        zero_point: vec![0; scale.len()],
        scale,
        axis,
    })
}

/// Quantizes weights to symmetric narrow-range int8 as TF's converter does: the parameters of
/// [`int8_weight_params`] and the values `clamp(round(w * inv), -127, 127)` with
/// `inv = float(1.0 / scale)` per channel (`SymmetricPerChannelQuantizeValues`) or
/// `inv = 127 / max|w|` per tensor (`PortableSymmetricQuantizeFloats`).
pub fn quantize_int8_weights(
    values: &[f32],
    shape: &[usize],
    axis: Option<usize>,
) -> Result<(Vec<i8>, QuantParams), CalibError> {
    let params = int8_weight_params(values, shape, axis)?;
    let (channels, inner) = channel_layout(values.len(), shape, axis)?;
    let inv: Vec<f32> = match axis {
        Some(_) => params
            .scale
            .iter()
            .map(|&s| (1.0f64 / s as f64) as f32)
            .collect(),
        None => {
            let a = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            // Below the 1e-6 widening TF's per-tensor values would not match the stored scale;
            // use the scale's inverse there so values and scale stay consistent.
            if 2.0 * (a as f64) > NEAR_ZERO_TOLERANCE {
                vec![INT8_WEIGHT_MAX as f32 / a]
            } else {
                vec![(1.0f64 / params.scale[0] as f64) as f32]
            }
        }
    };
    let q = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = (i / inner) % channels;
            let r = (v * inv[c.min(inv.len() - 1)]).round();
            r.clamp(-(INT8_WEIGHT_MAX as f32), INT8_WEIGHT_MAX as f32) as i8
        })
        .collect();
    Ok((q, params))
}

/// Bias parameters: `scale[c] = input_scale * weight_scale[c]` (f32 product, equal to TF's
/// `float(double * double)`), zero point 0, `axis = Some(0)` when the weights are per channel
/// (the bias is 1-D), else per tensor. DESIGN.md section 3: int32 bias for int8, int64 for 16x8.
///
/// Errors if a scale is not finite and positive, or the product underflows to 0 / overflows.
pub fn bias_params(input_scale: f32, weight: &QuantParams) -> Result<QuantParams, CalibError> {
    if !(input_scale.is_finite() && input_scale > 0.0) {
        return Err(CalibError::Config(format!(
            "input scale {input_scale} is not a finite positive number"
        )));
    }
    if weight.scale.is_empty() {
        return Err(CalibError::Config("weight parameters have no scale".into()));
    }
    let scale = weight
        .scale
        .iter()
        .map(|&w| {
            let s = input_scale * w;
            if w.is_finite() && w > 0.0 && s.is_finite() && s > 0.0 {
                Ok(s)
            } else {
                Err(CalibError::Config(format!(
                    "bias scale {input_scale} * {w} = {s} is not a finite positive number"
                )))
            }
        })
        .collect::<Result<Vec<f32>, _>>()?;
    let axis = weight.axis.map(|_| 0);
    Ok(QuantParams {
        zero_point: vec![0; scale.len()],
        scale,
        axis,
    })
}

/// `kBiasMax` of TF's quantization driver: quantized int32 bias magnitudes are kept within
/// `INT32_MAX / 2` to leave room in the accumulator.
pub const BIAS_MAX: i32 = i32::MAX / 2;

/// Weight and int32 bias parameters of an int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED,
/// with TF's overflow adjustment (`QuantizationDriver::SetBiasParamsWithAdjustments`): when a
/// bias would quantize beyond [`BIAS_MAX`] with `input_scale * weight_scale` (tiny weights, e.g.
/// an all-zero channel, next to a large bias), the bias scale becomes `|b| / BIAS_MAX` and the
/// weight scale `bias_scale / input_scale` (f64 arithmetic, stored as f32), per channel for
/// per-channel weights, from `max |b|` for per-tensor weights.
///
/// Returns `(weight, bias)` parameters; `weight` is [`int8_weight_params`]' result for the
/// same tensor. Quantize the weights afterwards with [`quantize_int8_weights_with`] and the bias
/// with [`quantize_bias_i32`]. Errors as [`bias_params`], or if a per-channel bias does not
/// have one value per channel, or a bias value is not finite.
pub fn weight_and_bias_params(
    input_scale: f32,
    weight: &QuantParams,
    bias: &[f32],
) -> Result<(QuantParams, QuantParams), CalibError> {
    let mut b = bias_params(input_scale, weight)?;
    let mut w = weight.clone();
    if let Some((i, v)) = bias.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(CalibError::Config(format!(
            "bias value {v} at element {i} is not finite"
        )));
    }
    let bias_max = BIAS_MAX as f64;
    let in_scale = input_scale as f64;
    if weight.axis.is_some() {
        if bias.len() != b.scale.len() {
            return Err(CalibError::Config(format!(
                "{} bias values for {} weight channels",
                bias.len(),
                b.scale.len()
            )));
        }
        for (i, &v) in bias.iter().enumerate() {
            let abs_b = v.abs() as f64;
            if abs_b / b.scale[i] as f64 > bias_max {
                let nb = abs_b / bias_max;
                b.scale[i] = nb as f32;
                w.scale[i] = (nb / in_scale) as f32;
            }
        }
    } else {
        let half = bias.iter().fold(0f64, |m, v| m.max(v.abs() as f64));
        if half / b.scale[0] as f64 >= bias_max {
            let nb = half / bias_max;
            b.scale = vec![nb as f32; b.scale.len()];
            w.scale = vec![(nb / in_scale) as f32; w.scale.len()];
        }
    }
    if let Some(s) = b
        .scale
        .iter()
        .chain(&w.scale)
        .find(|s| !(s.is_finite() && **s > 0.0))
    {
        return Err(CalibError::Config(format!(
            "bias adjustment produced scale {s}, not a finite positive number"
        )));
    }
    Ok((w, b))
}

/// Quantizes weights with given symmetric int8 parameters (for example adjusted by
/// [`weight_and_bias_params`]): `clamp(round(w * float(1.0 / scale[c])), -127, 127)`, TF's
/// `SymmetricPerChannelQuantizeValues` (also used for per-tensor parameters).
///
/// Errors if the parameters do not fit `shape` (channel count along `params.axis`) or a scale
/// is not finite and positive.
pub fn quantize_int8_weights_with(
    values: &[f32],
    shape: &[usize],
    params: &QuantParams,
) -> Result<Vec<i8>, CalibError> {
    let (channels, inner) = channel_layout(values.len(), shape, params.axis)?;
    if params.scale.len() != channels {
        return Err(CalibError::Config(format!(
            "{} weight scales for {channels} channels",
            params.scale.len()
        )));
    }
    if let Some(s) = params.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(CalibError::Config(format!(
            "weight scale {s} is not a finite positive number"
        )));
    }
    let inv: Vec<f32> = params
        .scale
        .iter()
        .map(|&s| (1.0f64 / s as f64) as f32)
        .collect();
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let r = (v * inv[(i / inner) % channels]).round();
            r.clamp(-(INT8_WEIGHT_MAX as f32), INT8_WEIGHT_MAX as f32) as i8
        })
        .collect())
}

fn bias_inverses(len: usize, bias: &QuantParams) -> Result<Vec<f32>, CalibError> {
    let n = bias.scale.len();
    if n != 1 && n != len {
        return Err(CalibError::Config(format!(
            "{len} bias values but {n} bias scales"
        )));
    }
    Ok(bias
        .scale
        .iter()
        .map(|&s| {
            if s == 0.0 {
                0.0
            } else {
                (1.0f64 / s as f64) as f32
            }
        })
        .collect())
}

fn quantize_bias_with<T>(
    values: &[f32],
    bias: &QuantParams,
    cast: impl Fn(f32) -> T,
) -> Result<Vec<T>, CalibError> {
    let inv = bias_inverses(values.len(), bias)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if !v.is_finite() {
                return Err(CalibError::Config(format!(
                    "bias value {v} at element {i} is not finite"
                )));
            }
            let k = if inv.len() == 1 { inv[0] } else { inv[i] };
            Ok(cast((v * k).round()))
        })
        .collect()
}

/// Quantizes a bias to int32 with [`bias_params`]' scales (TF `SymmetricBiasQuantize<int32>`):
/// `round(b * float(1.0 / scale))` saturated to `[-(2^31 - 1), 2^31 - 1]`.
pub fn quantize_bias_i32(values: &[f32], bias: &QuantParams) -> Result<Vec<i32>, CalibError> {
    quantize_bias_with(values, bias, |r| (r as i32).max(-i32::MAX))
}

/// Quantizes a bias to int64 (16x8 models), as [`quantize_bias_i32`] with int64 saturation.
pub fn quantize_bias_i64(values: &[f32], bias: &QuantParams) -> Result<Vec<i64>, CalibError> {
    quantize_bias_with(values, bias, |r| (r as i64).max(-i64::MAX))
}

/// TFLite reference `AffineQuantize` of one value: `round(x / scale) + zero_point` (f32
/// division, rounding half away from zero), clamped to `[qmin, qmax]`. NaN quantizes to
/// `zero_point`; out-of-range values saturate.
pub fn quantize_value(x: f32, scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> i32 {
    let r = (x / scale).round();
    let q = (r as i64).saturating_add(zero_point as i64);
    q.clamp(qmin as i64, qmax as i64) as i32
}

/// TFLite reference `Dequantize` of one value: `float(double(scale) * (q - zero_point))`.
pub fn dequantize_value(q: i32, scale: f32, zero_point: i32) -> f32 {
    (scale as f64 * (q as i64 - zero_point as i64) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu6_range_matches_tflite() {
        // [0, 6]: scale 6/255, zero point -128 (the well-known TFLite relu6 parameters).
        let p = int8_activation_params(0.0, 6.0).unwrap();
        assert_eq!(p.scale, vec![6.0f32 / 255.0]);
        assert_eq!(p.zero_point, vec![-128]);
        assert_eq!(p.axis, None);
    }

    #[test]
    fn symmetric_range_zero_point() {
        // [-1, 1]: zero_point_from_min = -128 + 127.5 = -0.5 -> rounds away from zero to -1.
        let p = int8_activation_params(-1.0, 1.0).unwrap();
        assert_eq!(p.scale, vec![2.0f32 / 255.0]);
        assert_eq!(p.zero_point, vec![-1]);
    }

    #[test]
    fn zero_range_is_widened() {
        let p = int8_activation_params(0.0, 0.0).unwrap();
        assert!(p.scale[0] > 0.0);
        assert_eq!(p.scale[0], (1e-6f32 - -1e-6f32) / 255.0);
        let p16 = int16_activation_params(0.0, 0.0).unwrap();
        assert!(p16.scale[0] > 0.0);
        assert_eq!(p16.zero_point, vec![0]);
    }

    #[test]
    fn weight_scale_matches_division_by_127() {
        for a in [0.1f32, 0.3, 1.0, 1.7, 123.456, 1e-3] {
            assert_eq!(symmetric_int8_scale(a), Some(a / 127.0));
        }
        assert_eq!(symmetric_int8_scale(0.0), Some(5e-7f32 / 127.0));
    }

    #[test]
    fn bias_scale_is_product() {
        let w = QuantParams {
            scale: vec![0.5, 0.25],
            zero_point: vec![0, 0],
            axis: Some(0),
        };
        let b = bias_params(0.1, &w).unwrap();
        assert_eq!(b.scale, vec![0.1f32 * 0.5, 0.1f32 * 0.25]);
        assert_eq!(b.axis, Some(0));
        let q = quantize_bias_i32(&[1.0, -1.0], &b).unwrap();
        assert_eq!(q, vec![20, -40]);
        let big = quantize_bias_i32(&[1e30], &QuantParams::per_tensor(1e-6, 0)).unwrap();
        assert_eq!(big, vec![i32::MAX]);
        let neg = quantize_bias_i32(&[-1e30], &QuantParams::per_tensor(1e-6, 0)).unwrap();
        assert_eq!(neg, vec![-i32::MAX]);
    }
}
