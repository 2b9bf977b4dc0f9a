//! QUANTIZE: float → int8 / uint8 / int16, and requantization between integer types.
//!
//! * [`quantize`] reproduces `reference_ops::AffineQuantize`:
//!   `clamp((int32)round(x / (float)scale) + zero_point)`.
//! * [`quantize_per_channel`] reproduces `reference_ops::PerChannelQuantize`.
//! * [`requantize`] reproduces `reference_ops::Requantize` with `quantize.cc: Prepare`
//!   (`effective = (double)input_scale / (double)output_scale`, then
//!   `MultiplyByQuantizedMultiplier`), used for int8 ↔ uint8, int8 → int8 and int16 → int8.

use super::quant_util::{multiply_by_quantized_multiplier, QuantizedMultiplier};
use super::{check_len, invalid, numel, QParams, QuantInt};

/// `reference_ops::AffineQuantize`.
pub fn quantize<T: QuantInt>(q: QParams, input: &[f32], output: &mut [T]) -> crate::Result<()> {
    q.check::<T>("quantize output")?;
    check_len("quantize output", output.len(), input.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        // Rust's float -> int `as` saturates (NaN -> 0) where C++ is undefined.
        let v = ((x / q.scale).round() as i32).saturating_add(q.zero_point);
        *o = T::saturate(v);
    }
    Ok(())
}

/// `reference_ops::PerChannelQuantize`: `scales`/`zero_points` indexed along `axis` of
/// `shape`.
pub fn quantize_per_channel<T: QuantInt>(
    scales: &[f32],
    zero_points: &[i32],
    axis: usize,
    shape: &[usize],
    input: &[f32],
    output: &mut [T],
) -> crate::Result<()> {
    if axis >= shape.len() || scales.len() != shape[axis] || zero_points.len() != shape[axis] {
        return invalid("quantize_per_channel: scales/zero points do not match the axis");
    }
    check_len("quantize input", input.len(), numel(shape)?)?;
    check_len("quantize output", output.len(), input.len())?;
    let inner: usize = shape[axis + 1..].iter().product();
    let channels = shape[axis];
    for (i, (o, &x)) in output.iter_mut().zip(input).enumerate() {
        let c = (i / inner.max(1)) % channels.max(1);
        let v = ((x / scales[c]).round() as i32).saturating_add(zero_points[c]);
        *o = T::saturate(v);
    }
    Ok(())
}

/// Prepared requantization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequantizeParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier: QuantizedMultiplier,
}

impl RequantizeParams {
    /// Prepares `I` → `O` requantization.
    pub fn prepare<I: QuantInt, O: QuantInt>(
        input: QParams,
        output: QParams,
    ) -> crate::Result<Self> {
        input.check::<I>("requantize input")?;
        output.check::<O>("requantize output")?;
        Ok(Self {
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            multiplier: QuantizedMultiplier::new(input.scale as f64 / output.scale as f64)?,
        })
    }
}

/// `reference_ops::Requantize`.
pub fn requantize<I: QuantInt, O: QuantInt>(
    p: &RequantizeParams,
    input: &[I],
    output: &mut [O],
) -> crate::Result<()> {
    check_len("requantize output", output.len(), input.len())?;
    for (o, &v) in output.iter_mut().zip(input) {
        let x = v.to_i32() - p.input_zero_point;
        let y = multiply_by_quantized_multiplier(x, p.multiplier.multiplier, p.multiplier.shift)
            .wrapping_add(p.output_zero_point);
        *o = O::saturate(y);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_and_requantize() {
        let q = QParams::new(0.5, -3);
        let mut out = [0i8; 6];
        quantize(q, &[0.0, 0.25, -0.25, 1.26, 1000.0, f32::NAN], &mut out).unwrap();
        // 0.25 / 0.5 = 0.5 -> 1 (half away from zero); -0.5 -> -1.
        assert_eq!(out, [-3, -2, -4, -0, 127, -3]);
        let p = RequantizeParams::prepare::<i8, u8>(QParams::new(0.1, -128), QParams::new(0.1, 0))
            .unwrap();
        let mut u = [0u8; 3];
        requantize(&p, &[-128i8, 0, 127], &mut u).unwrap();
        assert_eq!(u, [0, 128, 255]);
        let mut pc = [0i8; 4];
        quantize_per_channel(
            &[1.0, 0.5],
            &[0, 1],
            1,
            &[2, 2],
            &[1.0, 1.0, -2.0, 2.0],
            &mut pc,
        )
        .unwrap();
        assert_eq!(pc, [1, 3, -2, 5]);
    }
}
