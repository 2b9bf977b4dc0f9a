//! QUANTIZE float32 → int8 / uint8 / int16 / int32 (TFLite reference `AffineQuantize`).

use crate::error::{check_len, invalid};
use crate::Result;

/// An integer storage type of quantized values.
pub trait QuantInt: Copy + Send + Sync + 'static {
    /// Smallest value.
    const MIN: i64;
    /// Largest value.
    const MAX: i64;
    /// Widens to i64.
    fn to_i64(self) -> i64;
    /// Narrows a value already clamped to `[MIN, MAX]`.
    fn from_clamped(v: i64) -> Self;
}

macro_rules! quant_int {
    ($($t:ty),*) => {$(
        impl QuantInt for $t {
            const MIN: i64 = <$t>::MIN as i64;
            const MAX: i64 = <$t>::MAX as i64;
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_clamped(v: i64) -> Self {
                v as $t
            }
        }
    )*};
}
quant_int!(i8, u8, i16, i32);

/// One value: `clamp(round(x / scale) + zero_point)` with round half away from zero, computed
/// as TFLite's reference does (division in float, sum in double). NaN maps to `zero_point`.
#[inline(always)]
fn quantize_one<T: QuantInt>(x: f32, scale: f32, zero_point: i32) -> T {
    let r = (x / scale).round();
    if r.is_nan() {
        return T::from_clamped((zero_point as i64).clamp(T::MIN, T::MAX));
    }
    let v = r as f64 + zero_point as f64;
    T::from_clamped(v.clamp(T::MIN as f64, T::MAX as f64) as i64)
}

/// Per-tensor quantization of `input` into `output` (same length).
pub fn quantize<T: QuantInt>(
    input: &[f32],
    scale: f32,
    zero_point: i32,
    output: &mut [T],
) -> Result<()> {
    check_len("quantize output", output.len(), input.len())?;
    if !(scale.is_finite() && scale > 0.0) {
        return invalid(format!(
            "quantize: scale {scale} is not a finite positive number"
        ));
    }
    if quantize_8bit_fast(input, scale, zero_point, output)? {
        return Ok(());
    }
    for (o, &x) in output.iter_mut().zip(input) {
        *o = quantize_one(x, scale, zero_point);
    }
    Ok(())
}

/// `int8`/`uint8` outputs go to the vectorized [`crate::int::quantize_fast`] kernel (same
/// results); returns `false` for other types.
fn quantize_8bit_fast<T: QuantInt>(
    input: &[f32],
    scale: f32,
    zero_point: i32,
    output: &mut [T],
) -> Result<bool> {
    use crate::int::{quantize_fast::quantize_8bit, QParams};
    use std::any::TypeId;
    if !(T::MIN..=T::MAX).contains(&(zero_point as i64)) {
        return Ok(false);
    }
    let q = QParams::new(scale, zero_point);
    let (ptr, len) = (output.as_mut_ptr(), output.len());
    if TypeId::of::<T>() == TypeId::of::<i8>() {
        // SAFETY: T is i8.
        let out = unsafe { std::slice::from_raw_parts_mut(ptr as *mut i8, len) };
        quantize_8bit(q, input, out)?;
        Ok(true)
    } else if TypeId::of::<T>() == TypeId::of::<u8>() {
        // SAFETY: T is u8.
        let out = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
        quantize_8bit(q, input, out)?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Per-channel quantization along `axis` of `shape`: element with index `c` on `axis` uses
/// `scales[c]`, `zero_points[c]`.
pub fn quantize_per_channel<T: QuantInt>(
    input: &[f32],
    shape: &[usize],
    axis: usize,
    scales: &[f32],
    zero_points: &[i32],
    output: &mut [T],
) -> Result<()> {
    let (outer, ch, inner) = channel_split(shape, axis, scales, zero_points)?;
    check_len("quantize input", input.len(), outer * ch * inner)?;
    check_len("quantize output", output.len(), input.len())?;
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return invalid(format!(
            "quantize: scale {s} is not a finite positive number"
        ));
    }
    for (i, (o, &x)) in output.iter_mut().zip(input).enumerate() {
        let c = (i / inner) % ch;
        *o = quantize_one(x, scales[c], zero_points[c]);
    }
    Ok(())
}

/// `(outer, channels, inner)` sizes around `axis`, checking the parameter counts.
pub(crate) fn channel_split(
    shape: &[usize],
    axis: usize,
    scales: &[f32],
    zero_points: &[i32],
) -> Result<(usize, usize, usize)> {
    let Some(&ch) = shape.get(axis) else {
        return invalid(format!(
            "per-channel axis {axis} outside rank {}",
            shape.len()
        ));
    };
    if scales.len() != ch || zero_points.len() != ch {
        return invalid(format!(
            "per-channel: {} scales / {} zero points for {ch} channels",
            scales.len(),
            zero_points.len()
        ));
    }
    let outer = crate::error::numel(&shape[..axis])?;
    let inner = crate::error::numel(&shape[axis + 1..])?;
    Ok((outer, ch, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_saturation() {
        let mut o = [0i8; 6];
        quantize(&[0.25, -0.25, 0.75, 100.0, -100.0, 0.0], 0.5, -1, &mut o).unwrap();
        // 0.5 → 1 (half away from zero) − 1 = 0; −0.5 → −1 − 1 = −2; 1.5 → 2 − 1 = 1.
        assert_eq!(o, [0, -2, 1, 127, -128, -1]);
        let mut u = [0u8; 3];
        quantize(&[-1.0, 0.0, 1.0], 1.0 / 128.0, 128, &mut u).unwrap();
        assert_eq!(u, [0, 128, 255]);
        let mut s = [0i16; 2];
        quantize(&[1.0, -1.0], 1.0 / 32768.0, 0, &mut s).unwrap();
        assert_eq!(s, [32767, -32768]);
        assert!(quantize(&[1.0], 0.0, 0, &mut o[..1]).is_err());
    }

    #[test]
    fn per_channel() {
        let mut o = [0i8; 4];
        quantize_per_channel(
            &[1.0, 1.0, 2.0, 2.0],
            &[2, 2],
            1,
            &[1.0, 0.5],
            &[0, 0],
            &mut o,
        )
        .unwrap();
        assert_eq!(o, [1, 2, 2, 4]);
    }
}
