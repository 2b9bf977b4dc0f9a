//! SOFTMAX on int8 / uint8 input with int8 / uint8 / int16 output.
//!
//! Reproduces `reference_ops::Softmax` (quantized) as used by LiteRT's `BUILTIN_REF` resolver
//! (`activations.cc: SoftmaxPrepare<kReference>`): differences to the row maximum are scaled
//! by `beta * input_scale` into Q5.26 (`PreprocessSoftmaxScaling`), exponentiated with gemmlowp's
//! `exp_on_negative_values`, summed in Q12.19, inverted with `GetReciprocal`, and the outputs
//! are produced on the fixed output scale 1/256 (zero point -128 for int8, 0 for uint8) or
//! 1/32768 for int16. Differences below `diff_min` (`-CalculateInputRadius(5, left_shift)`)
//! give the minimum output.

use super::fixedpoint::{exp_on_negative_values, mul, rescale};
use super::quant_util::{
    calculate_input_radius, get_reciprocal, multiply_by_quantized_multiplier_greater_than_one,
    preprocess_softmax_scaling, rounding_divide_by_pot,
};
use super::{check_len, invalid, QuantInt};

const SCALED_DIFF_INTEGER_BITS: i32 = 5;
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// Prepared softmax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    /// Q0.31 multiplier of `beta * input_scale * 2^26`.
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
    /// Smallest difference to the row maximum that still contributes.
    pub diff_min: i32,
}

impl SoftmaxParams {
    /// Prepares a softmax with `beta` on inputs of scale `input_scale`.
    pub fn prepare(beta: f32, input_scale: f32) -> crate::Result<Self> {
        if !(input_scale.is_finite() && input_scale > 0.0 && beta.is_finite()) {
            return invalid(format!(
                "softmax: invalid beta {beta} / input scale {input_scale}"
            ));
        }
        let (input_multiplier, input_left_shift) =
            preprocess_softmax_scaling(beta as f64, input_scale as f64, SCALED_DIFF_INTEGER_BITS)?;
        let diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, input_left_shift, 31);
        Ok(Self {
            input_multiplier,
            input_left_shift,
            diff_min,
        })
    }
}

/// Quantized softmax over the last axis (rows of `depth` elements). Output type `O` selects
/// the fixed output quantization: `i8` (1/256, -128), `u8` (1/256, 0), `i16` (1/32768 with
/// the int8/uint8 input variant's -32768 offset).
pub fn softmax<I: QuantInt, O: QuantInt>(
    p: &SoftmaxParams,
    input: &[I],
    depth: usize,
    output: &mut [O],
) -> crate::Result<()> {
    check_len("softmax output", output.len(), input.len())?;
    if depth == 0 {
        return if input.is_empty() {
            Ok(())
        } else {
            invalid("softmax: zero depth")
        };
    }
    if !input.len().is_multiple_of(depth) {
        return invalid(format!(
            "softmax: {} elements are not rows of {depth}",
            input.len()
        ));
    }
    let out_bits = if O::MAX > 255 { 16 } else { 8 };
    let out_min = O::MIN;
    for (row, out_row) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max_in_row = row.iter().map(|v| v.to_i32()).max().unwrap_or(I::MIN);
        let scaled = |v: I| -> Option<i32> {
            let diff = v.to_i32() - max_in_row;
            (diff >= p.diff_min).then(|| {
                multiply_by_quantized_multiplier_greater_than_one(
                    diff,
                    p.input_multiplier,
                    p.input_left_shift,
                )
            })
        };
        let mut sum_of_exps: i32 = 0;
        for &v in row {
            if let Some(s) = scaled(v) {
                let e = exp_on_negative_values::<SCALED_DIFF_INTEGER_BITS>(s);
                sum_of_exps = sum_of_exps.wrapping_add(rescale(e, 0, ACCUMULATION_INTEGER_BITS));
            }
        }
        let (shifted_scale, num_bits_over_unit) =
            get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS);
        let exponent = num_bits_over_unit + 31 - out_bits;
        if !(0..=31).contains(&exponent) {
            return invalid(format!("softmax: exponent {exponent} out of range"));
        }
        for (&v, o) in row.iter().zip(out_row.iter_mut()) {
            *o = match scaled(v) {
                Some(s) => {
                    let exp_in_0 = exp_on_negative_values::<SCALED_DIFF_INTEGER_BITS>(s);
                    let unsat = rounding_divide_by_pot(mul(shifted_scale, exp_in_0), exponent);
                    O::saturate(unsat.wrapping_add(out_min))
                }
                None => O::from_i32(out_min),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_golden() {
        let scale = 0.1f32;
        let p = SoftmaxParams::prepare(1.0, scale).unwrap();
        let input: Vec<i8> = vec![-20, 0, 10, 30, 30, -128];
        let mut out = vec![0i8; 6];
        softmax(&p, &input, 6, &mut out).unwrap();
        let xs: Vec<f64> = input.iter().map(|&q| q as f64 * scale as f64).collect();
        let m = xs.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = xs.iter().map(|x| (x - m).exp()).sum();
        for (i, &x) in xs.iter().enumerate() {
            let expect = ((x - m).exp() / sum * 256.0).round() as i32 - 128;
            assert!(
                (out[i] as i32 - expect.min(127)).abs() <= 1,
                "{i}: {} vs {expect}",
                out[i]
            );
        }
        // Uniform row: each 1/4 -> 64 - 128 = -64.
        let mut out = vec![0i8; 4];
        softmax(&p, &[5i8, 5, 5, 5], 4, &mut out).unwrap();
        assert_eq!(out, vec![-64; 4]);
        // A single element saturates to 127 (1.0 is not representable).
        let mut out = vec![0i8; 1];
        softmax(&p, &[3i8], 1, &mut out).unwrap();
        assert_eq!(out, vec![127]);
    }
}
