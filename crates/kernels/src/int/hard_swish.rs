//! HARD_SWISH on int8 / uint8.
//!
//! Reproduces `reference_ops::HardSwish` (quantized) with `activations.cc: HardSwishPrepare`:
//! the input is moved to a "high resolution" scale `input_scale / 128` in 16-bit fixed point,
//! a saturated "relu-ish" factor in [0, 1] is computed on the 3/32768 scale, and the product is
//! shifted to the output scale. All float multipliers are computed in `float` as TFLite does.

use super::quant_util::{
    downscale_int32_to_int16_multiplier, quantize_multiplier, rounding_divide_by_pot_i16,
    saturating_rounding_doubling_high_mul_i16,
};
use super::{check_len, invalid, QParams, QuantInt};

/// TFLite `HardSwishParams`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardSwishParams {
    /// Input zero point.
    pub input_zero_point: i16,
    /// Output zero point.
    pub output_zero_point: i16,
    /// Q0.15 multiplier of `(input_scale / 128) / (3 / 32768)`.
    pub reluish_multiplier_fixedpoint_int16: i16,
    /// Its exponent.
    pub reluish_multiplier_exponent: i32,
    /// Q0.15 multiplier of `(input_scale / 128) / output_scale`.
    pub output_multiplier_fixedpoint_int16: i16,
    /// Its exponent (must be <= 0).
    pub output_multiplier_exponent: i32,
}

impl HardSwishParams {
    /// Prepares HARD_SWISH for element type `T`.
    pub fn prepare<T: QuantInt>(input: QParams, output: QParams) -> crate::Result<Self> {
        input.check::<T>("hard_swish input")?;
        output.check::<T>("hard_swish output")?;
        let hires_input_scale = (1.0f32 / 128.0f32) * input.scale;
        let reluish_scale = 3.0f32 / 32768.0f32;
        let output_multiplier = hires_input_scale / output.scale;
        let (om, oe) = quantize_multiplier(output_multiplier as f64)?;
        if oe > 0 {
            return invalid(format!(
                "hard_swish: output multiplier {output_multiplier} needs a left shift"
            ));
        }
        let reluish_multiplier = hires_input_scale / reluish_scale;
        let (rm, re) = quantize_multiplier(reluish_multiplier as f64)?;
        Ok(Self {
            input_zero_point: input.zero_point as i16,
            output_zero_point: output.zero_point as i16,
            reluish_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(rm),
            reluish_multiplier_exponent: re,
            output_multiplier_fixedpoint_int16: downscale_int32_to_int16_multiplier(om),
            output_multiplier_exponent: oe,
        })
    }
}

fn saturating_left_shift(value: i16, amount: i32) -> i16 {
    let result = value as i64 * (1i64 << amount.clamp(0, 31));
    result.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// ARM `SQDMULH`-like: `(a * b) / 2^15` rounding toward zero, saturating `MIN * MIN`.
fn saturating_doubling_high_mul(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// `reference_ops::HardSwish` (quantized).
pub fn hard_swish<T: QuantInt>(
    p: &HardSwishParams,
    input: &[T],
    output: &mut [T],
) -> crate::Result<()> {
    check_len("hard_swish output", output.len(), input.len())?;
    for (o, &v) in output.iter_mut().zip(input) {
        let input_value = (v.to_i32() - p.input_zero_point as i32) as i16;
        let input_value_on_hires_input_scale = input_value.wrapping_mul(1 << 7);
        let input_value_on_preshift_output_scale = saturating_rounding_doubling_high_mul_i16(
            input_value_on_hires_input_scale,
            p.output_multiplier_fixedpoint_int16,
        );
        let mut reluish_value = input_value_on_hires_input_scale;
        if p.reluish_multiplier_exponent > 0 {
            reluish_value = saturating_left_shift(reluish_value, p.reluish_multiplier_exponent - 1);
        }
        reluish_value = saturating_rounding_doubling_high_mul_i16(
            reluish_value,
            p.reluish_multiplier_fixedpoint_int16,
        );
        if p.reluish_multiplier_exponent > 0 {
            reluish_value = saturating_left_shift(reluish_value, 1);
        }
        if p.reluish_multiplier_exponent < 0 {
            reluish_value =
                rounding_divide_by_pot_i16(reluish_value, -p.reluish_multiplier_exponent);
        }
        reluish_value = ((reluish_value as i32 + (1 << 15)) >> 1) as i16;
        let preshift_output_value =
            saturating_doubling_high_mul(reluish_value, input_value_on_preshift_output_scale);
        let mut output_value =
            rounding_divide_by_pot_i16(preshift_output_value, -p.output_multiplier_exponent);
        output_value = output_value.wrapping_add(p.output_zero_point);
        *o = T::saturate(output_value as i32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_float() {
        let inq = QParams::new(0.05, 5);
        let outq = QParams::new(0.03, -80);
        let p = HardSwishParams::prepare::<i8>(inq, outq).unwrap();
        let input: Vec<i8> = (-128..=127).map(|v| v as i8).collect();
        let mut out = vec![0i8; 256];
        hard_swish(&p, &input, &mut out).unwrap();
        for (&q, &o) in input.iter().zip(&out) {
            let x = (q as f32 - 5.0) * 0.05;
            let y = x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
            let expect = ((y / 0.03).round() as i32 - 80).clamp(-128, 127);
            assert!((o as i32 - expect).abs() <= 1, "{q}: {o} vs {expect}");
        }
    }
}
