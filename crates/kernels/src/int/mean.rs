//! MEAN (and quantized SUM) over arbitrary axes, int8 / uint8 / int16.
//!
//! Reproduces `reference_ops::QuantizedMeanOrSum` with `reduce.cc: PrepareMeanOrSum`: the
//! multiplier of `input_scale / output_scale` is folded with `1 / num_elements` as
//! `(multiplier << s) / n` with `s = min(floor(log2 n), 32, 31 + shift)`, and the int32 sum of
//! `q - input_zero_point` is rescaled with `MultiplyByQuantizedMultiplier`.

use super::quant_util::{multiply_by_quantized_multiplier, quantize_multiplier};
use super::{check_len, invalid, numel, QParams, QuantInt};

/// Prepared MEAN / SUM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeanParams {
    /// Input shape.
    pub input_shape: Vec<usize>,
    /// Reduced axes (resolved, deduplicated).
    pub axes: Vec<usize>,
    /// `input_zero_point`.
    pub input_zero_point: i32,
    /// `output_zero_point`.
    pub output_zero_point: i32,
    /// Multiplier of `input_scale / output_scale`.
    pub multiplier: i32,
    /// Its shift.
    pub shift: i32,
    /// SUM instead of MEAN.
    pub compute_sum: bool,
}

impl MeanParams {
    /// Prepares a MEAN (or SUM with `compute_sum`) of `T` values over `axes` (negative axes
    /// count from the end, duplicates ignored).
    pub fn prepare<T: QuantInt>(
        input_shape: &[usize],
        axes: &[i64],
        input: QParams,
        output: QParams,
        compute_sum: bool,
    ) -> crate::Result<Self> {
        input.check::<T>("mean input")?;
        output.check::<T>("mean output")?;
        let rank = input_shape.len() as i64;
        let mut resolved = Vec::new();
        for &a in axes {
            let r = if a < 0 { a + rank } else { a };
            if r < 0 || r >= rank {
                return invalid(format!("mean: axis {a} out of range for rank {rank}"));
            }
            if !resolved.contains(&(r as usize)) {
                resolved.push(r as usize);
            }
        }
        let (multiplier, shift) = quantize_multiplier(input.scale as f64 / output.scale as f64)?;
        Ok(Self {
            input_shape: input_shape.to_vec(),
            axes: resolved,
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            multiplier,
            shift,
            compute_sum,
        })
    }

    /// Output element count (reduced dimensions removed or kept as 1 — same count).
    pub fn output_len(&self) -> usize {
        self.input_shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.axes.contains(i))
            .map(|(_, &d)| d)
            .product()
    }
}

/// `reference_ops::QuantizedMeanOrSum`.
pub fn mean<T: QuantInt>(p: &MeanParams, input: &[T], output: &mut [T]) -> crate::Result<()> {
    check_len("mean input", input.len(), numel(&p.input_shape)?)?;
    if p.axes.iter().any(|&a| a >= p.input_shape.len()) {
        return invalid("mean: axis out of range");
    }
    let out_len = p.output_len();
    check_len("mean output", output.len(), out_len)?;
    output.iter_mut().for_each(|o| *o = T::default());
    if input.is_empty() {
        return Ok(());
    }
    let rank = p.input_shape.len();
    // Output strides over the kept dimensions.
    let mut out_stride = vec![0usize; rank];
    let mut s = 1;
    for d in (0..rank).rev() {
        if !p.axes.contains(&d) {
            out_stride[d] = s;
            s *= p.input_shape[d];
        }
    }
    let mut sums = vec![0i32; out_len];
    let mut idx = vec![0usize; rank];
    let mut o = 0usize;
    for &v in input {
        sums[o] = sums[o].wrapping_add(v.to_i32());
        for d in (0..rank).rev() {
            idx[d] += 1;
            o += out_stride[d];
            if idx[d] < p.input_shape[d] {
                break;
            }
            o -= out_stride[d] * p.input_shape[d];
            idx[d] = 0;
        }
    }
    let n: i64 = p.axes.iter().map(|&a| p.input_shape[a] as i64).product();
    if n == 0 {
        return Ok(());
    }
    let (mut multiplier, mut shift) = (p.multiplier, p.shift);
    if !p.compute_sum {
        let mut s = 63 - (n as u64).leading_zeros() as i32;
        s = s.min(32).min(31 + shift);
        multiplier = (((multiplier as i64) << s) / n) as i32;
        shift -= s;
    }
    for (out, &sum) in output.iter_mut().zip(&sums) {
        let shifted = sum.wrapping_sub(p.input_zero_point.wrapping_mul(n as i32));
        let v = multiply_by_quantized_multiplier(shifted, multiplier, shift)
            .wrapping_add(p.output_zero_point);
        *out = T::saturate(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spatial_mean() {
        // 1x2x2x2, mean over H and W; same scale in and out.
        let q = QParams::new(0.1, 5);
        let p = MeanParams::prepare::<i8>(&[1, 2, 2, 2], &[1, 2], q, q, false).unwrap();
        let input = [10i8, -4, 20, -4, 30, -4, 41, -3];
        let mut out = [0i8; 2];
        mean(&p, &input, &mut out).unwrap();
        // channel 0: 5 + (101 - 20) / 4 = 5 + 20.25, but TFLite's double rounding folds the
        // 1/4 into the multiplier (2^30, shift -1): SRDHM(81) = 40.5 -> 41, then 20.5 -> 21,
        // so 26 (exactly what LiteRT produces). Channel 1: 5 + (-35 / 4) -> -4.
        assert_eq!(out, [26, -4]);
        // Different output scale: real mean of ch0 = (25.25 - 5) * 0.1 = 2.025 -> /0.05 = 40.5.
        let p = MeanParams::prepare::<i8>(&[1, 2, 2, 2], &[-3, 2], q, QParams::new(0.05, 0), false)
            .unwrap();
        mean(&p, &input, &mut out).unwrap();
        assert!((out[0] as i32 - 41).abs() <= 1, "{out:?}");
    }
}
