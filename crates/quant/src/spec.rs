//! The TFLite quantization spec (DESIGN.md section 3): how ranges become quantization
//! parameters and how constants are quantized. Every quantization decision in edgequant goes
//! through this module.

use edgequant_ir::{DType, QuantParams};

/// Integer range `[qmin, qmax]` of activations of `dtype`: int8 `[-128, 127]`, uint8
/// `[0, 255]`, int16 `[-32767, 32767]` (symmetric, zero point 0).
pub fn activation_qrange(dtype: DType) -> (i32, i32) {
    match dtype {
        DType::U8 => (0, 255),
        DType::I16 => (-32767, 32767),
        _ => (-128, 127),
    }
}

/// Activation parameters from a float range, as TensorFlow's converter computes them
/// (`fakeQuantAttrsToType`): the range is widened to contain 0, `scale = (max - min) /
/// (qmax - qmin)`, and the zero point is `qmin - min / scale` rounded and clamped so that 0.0
/// is exactly representable. int16 is symmetric with zero point 0. A degenerate range (both
/// ends 0) gives scale 1, zero point at the range's zero. Non-finite bounds are treated as 0.
pub fn activation_params(min: f32, max: f32, dtype: DType) -> QuantParams {
    let fin = |v: f32| if v.is_finite() { v as f64 } else { 0.0 };
    let rmin = fin(min).min(0.0);
    let rmax = fin(max).max(0.0);
    let (qmin, qmax) = activation_qrange(dtype);
    if dtype == DType::I16 {
        let m = rmax.max(-rmin);
        let scale = if m > 0.0 { m / qmax as f64 } else { 1.0 };
        return QuantParams::per_tensor(scale as f32, 0);
    }
    if rmax - rmin <= 0.0 {
        let zp = if qmin < 0 { 0 } else { qmin };
        return QuantParams::per_tensor(1.0, zp);
    }
    let scale = (rmax - rmin) / (qmax - qmin) as f64;
    let zp_from_min = qmin as f64 - rmin / scale;
    let zp = if zp_from_min < qmin as f64 {
        qmin
    } else if zp_from_min > qmax as f64 {
        qmax
    } else {
        zp_from_min.round() as i32
    };
    QuantParams::per_tensor(scale as f32, zp)
}

/// Symmetric narrow-range int8 quantization of a constant (weights: `[-127, 127]`, zero point
/// 0): per channel along `axis` when given, else per tensor. A channel whose values are all 0
/// gets scale 1. Returns the quantized values and their parameters.
pub fn quantize_symmetric_int8(values: &[f32], shape: &[usize], axis: Option<usize>) -> (Vec<i8>, QuantParams) {
    let (channels, inner) = channel_layout(shape, axis);
    let outer = if channels == 0 || inner == 0 { 0 } else { values.len() / (channels * inner) };
    let mut max_abs = vec![0f32; channels.max(1)];
    for o in 0..outer {
        for (c, m) in max_abs.iter_mut().enumerate().take(channels) {
            let base = (o * channels + c) * inner;
            for v in &values[base..base + inner] {
                *m = m.max(v.abs());
            }
        }
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let mut q = vec![0i8; values.len()];
    for o in 0..outer {
        for (c, &s) in scales.iter().enumerate().take(channels) {
            let base = (o * channels + c) * inner;
            for (qi, &v) in q[base..base + inner].iter_mut().zip(&values[base..base + inner]) {
                *qi = (v / s).round().clamp(-127.0, 127.0) as i8;
            }
        }
    }
    let params = QuantParams {
        zero_point: vec![0; scales.len()],
        scale: scales,
        axis: if axis.is_some() && channels > 0 { axis } else { None },
    };
    (q, params)
}

/// Asymmetric per-tensor int8 quantization of a constant operand of an elementwise op (e.g.
/// the constant of a MUL or the PRELU alpha), parameters from its min/max as for activations.
pub fn quantize_asymmetric(values: &[f32], dtype: DType) -> (Vec<i32>, QuantParams) {
    let (mn, mx) = values
        .iter()
        .fold((0f32, 0f32), |(a, b), &v| (a.min(v), b.max(v)));
    let p = activation_params(mn, mx, dtype);
    let q = quantize_with(values, &p, dtype);
    (q, p)
}

/// Quantizes float values with per-tensor parameters: `q = round(x / scale) + zero_point`,
/// rounded half away from zero, saturated to the dtype's activation range.
pub fn quantize_with(values: &[f32], p: &QuantParams, dtype: DType) -> Vec<i32> {
    let (qmin, qmax) = match dtype {
        DType::I16 => (-32768, 32767),
        d => activation_qrange(d),
    };
    let s = p.scale[0];
    let z = p.zero_point[0];
    values
        .iter()
        .map(|&v| (((v / s).round() as i64) + z as i64).clamp(qmin as i64, qmax as i64) as i32)
        .collect()
}

/// Bias quantization: int32 (or int64 for 16x8) with zero point 0 and scale
/// `input_scale × weight_scale[c]` per output channel; values rounded half away from zero
/// and saturated.
pub fn quantize_bias(values: &[f32], input_scale: f32, weight: &QuantParams, wide: bool) -> (Vec<i64>, QuantParams) {
    let n = values.len();
    let scales: Vec<f32> = (0..n)
        .map(|c| input_scale * weight.scale[if weight.scale.len() == 1 { 0 } else { c.min(weight.scale.len() - 1) }])
        .collect();
    let (lo, hi) = if wide {
        (i64::MIN as f64, i64::MAX as f64)
    } else {
        (i32::MIN as f64, i32::MAX as f64)
    };
    let q = values
        .iter()
        .zip(&scales)
        .map(|(&v, &s)| ((v as f64 / s as f64).round().clamp(lo, hi)) as i64)
        .collect();
    let params = if weight.scale.len() == 1 {
        QuantParams::per_tensor(scales.first().copied().unwrap_or(input_scale), 0)
    } else {
        QuantParams {
            zero_point: vec![0; n],
            scale: scales,
            axis: Some(0),
        }
    };
    (q, params)
}

/// For `axis` in `shape`: (channel count, elements per channel block after the axis).
fn channel_layout(shape: &[usize], axis: Option<usize>) -> (usize, usize) {
    match axis {
        Some(a) if a < shape.len() => (shape[a], shape[a + 1..].iter().product()),
        _ => (1, shape.iter().product()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_exact_and_range_covered() {
        for (mn, mx) in [(-1.0f32, 3.0f32), (0.5, 6.0), (-7.0, -0.1), (-0.003, 0.002)] {
            let p = activation_params(mn, mx, DType::I8);
            let (s, z) = (p.scale[0], p.zero_point[0]);
            assert!(s > 0.0 && (-128..=127).contains(&z));
            let zero = (0.0 / s).round() as i32 + z;
            assert_eq!(((zero - z) as f32) * s, 0.0);
            assert!((-128 - z) as f32 * s <= mn.min(0.0) + s / 2.0);
            assert!((127 - z) as f32 * s >= mx.max(0.0) - s / 2.0);
        }
    }

    #[test]
    fn degenerate_range_has_valid_scale() {
        let p = activation_params(0.0, 0.0, DType::I8);
        assert_eq!((p.scale[0], p.zero_point[0]), (1.0, 0));
        let p = activation_params(f32::NAN, f32::INFINITY, DType::I8);
        assert!(p.scale[0] > 0.0);
    }

    #[test]
    fn per_channel_weights() {
        let w = [1.0f32, -2.0, 0.5, 0.0, 0.0, 0.0];
        let (q, p) = quantize_symmetric_int8(&w, &[2, 3], Some(0));
        assert_eq!(p.scale, vec![2.0 / 127.0, 1.0]);
        assert_eq!(q, vec![64, -127, 32, 0, 0, 0]);
        assert_eq!(p.axis, Some(0));
    }

    #[test]
    fn depthwise_axis_is_last() {
        let w = [1.0f32, 4.0, -1.0, 2.0];
        let (q, p) = quantize_symmetric_int8(&w, &[1, 2, 1, 2], Some(3));
        assert_eq!(p.scale, vec![1.0 / 127.0, 4.0 / 127.0]);
        assert_eq!(q, vec![127, 127, -127, 64]);
    }
}
