//! DEQUANTIZE: int8 / uint8 / int16 → float.
//!
//! Reproduces `reference_ops::Dequantize`: `(float)((double)scale * (q - zero_point))`, which
//! equals the single-precision product because it is exact in double.

use super::{check_len, invalid, numel, QParams, QuantInt};

/// Per-tensor dequantization.
pub fn dequantize<T: QuantInt>(q: QParams, input: &[T], output: &mut [f32]) -> crate::Result<()> {
    check_len("dequantize output", output.len(), input.len())?;
    let scale = q.scale as f64;
    for (o, &v) in output.iter_mut().zip(input) {
        *o = (scale * (v.to_i32() - q.zero_point) as f64) as f32;
    }
    Ok(())
}

/// Per-channel dequantization (`reference_ops::PerChannelDequantize`) along `axis`.
pub fn dequantize_per_channel<T: QuantInt>(
    scales: &[f32],
    zero_points: &[i32],
    axis: usize,
    shape: &[usize],
    input: &[T],
    output: &mut [f32],
) -> crate::Result<()> {
    if axis >= shape.len() || scales.len() != shape[axis] || zero_points.len() != shape[axis] {
        return invalid("dequantize_per_channel: scales/zero points do not match the axis");
    }
    check_len("dequantize input", input.len(), numel(shape)?)?;
    check_len("dequantize output", output.len(), input.len())?;
    let inner: usize = shape[axis + 1..].iter().product();
    let channels = shape[axis];
    for (i, (o, &v)) in output.iter_mut().zip(input).enumerate() {
        let c = (i / inner.max(1)) % channels.max(1);
        *o = scales[c] * (v.to_i32() - zero_points[c]) as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let q = QParams::new(0.1, 5);
        let mut out = [0f32; 3];
        dequantize(q, &[5i8, 15, -128], &mut out).unwrap();
        assert_eq!(
            out,
            [
                0.0,
                (0.1f32 as f64 * 10.0) as f32,
                (0.1f32 as f64 * -133.0) as f32
            ]
        );
    }
}
