//! DEQUANTIZE int8 / uint8 / int16 / int32 / float16 → float32 (TFLite reference).

use super::quantize::{channel_split, QuantInt};
use crate::error::check_len;
use crate::Result;
use half::f16;

/// Per-tensor dequantization: `output = (q − zero_point) · scale`, computed in double and
/// rounded once to float, as TFLite's reference does.
pub fn dequantize<T: QuantInt>(
    input: &[T],
    scale: f32,
    zero_point: i32,
    output: &mut [f32],
) -> Result<()> {
    check_len("dequantize output", output.len(), input.len())?;
    let s = scale as f64;
    for (o, &q) in output.iter_mut().zip(input) {
        *o = (s * (q.to_i64() - zero_point as i64) as f64) as f32;
    }
    Ok(())
}

/// Per-channel dequantization along `axis` of `shape` (float arithmetic, as TFLite's
/// `PerChannelDequantize`).
pub fn dequantize_per_channel<T: QuantInt>(
    input: &[T],
    shape: &[usize],
    axis: usize,
    scales: &[f32],
    zero_points: &[i32],
    output: &mut [f32],
) -> Result<()> {
    let (outer, ch, inner) = channel_split(shape, axis, scales, zero_points)?;
    check_len("dequantize input", input.len(), outer * ch * inner)?;
    check_len("dequantize output", output.len(), input.len())?;
    for (i, (o, &q)) in output.iter_mut().zip(input).enumerate() {
        let c = (i / inner) % ch;
        *o = scales[c] * (q.to_i64() - zero_points[c] as i64) as f32;
    }
    Ok(())
}

/// Float16 → float32 (exact).
pub fn dequantize_f16(input: &[f16], output: &mut [f32]) -> Result<()> {
    check_len("dequantize output", output.len(), input.len())?;
    for (o, &h) in output.iter_mut().zip(input) {
        *o = h.to_f32();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let mut o = [0.0; 3];
        dequantize(&[-128i8, 0, 127], 0.5, -1, &mut o).unwrap();
        assert_eq!(o, [-63.5, 0.5, 64.0]);
        dequantize_per_channel(&[1u8, 2, 3], &[3], 0, &[1.0, 2.0, 0.5], &[1, 0, 1], &mut o)
            .unwrap();
        assert_eq!(o, [0.0, 4.0, 1.0]);
        dequantize_f16(&[f16::from_f32(0.5), f16::from_f32(-2.0), f16::MAX], &mut o).unwrap();
        assert_eq!(o, [0.5, -2.0, 65504.0]);
    }

    #[test]
    fn roundtrip() {
        let x: Vec<f32> = (-50..50).map(|v| v as f32 * 0.1).collect();
        let mut q = vec![0i8; x.len()];
        crate::float::quantize(&x, 0.05, 3, &mut q).unwrap();
        let mut y = vec![0.0; x.len()];
        dequantize(&q, 0.05, 3, &mut y).unwrap();
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() <= 0.025 + 1e-6);
        }
    }
}
