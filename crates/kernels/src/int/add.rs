//! ADD and SUB, int8 / uint8 / int16 (general scales).
//!
//! Reproduces `reference_integer_ops::AddFunc` (and `reference_ops::Add`/`Sub` for the other
//! types) with `add.cc`/`sub.cc` Prepare: inputs are shifted left by 20 bits (15 for int16),
//! rescaled to twice the larger input scale, summed, and rescaled to the output.

use super::broadcast;
use super::quant_util::{
    multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_smaller_than_one_exp,
    quantize_multiplier_greater_than_one, quantize_multiplier_smaller_than_one_exp,
};
use super::{activation_range, invalid, FusedActivation, QParams, QuantInt};

/// Prepared ADD/SUB parameters (TFLite `ArithmeticParams` quantized fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// 20 for 8-bit, 15 for 16-bit.
    pub left_shift: i32,
    /// `-input1_zero_point`.
    pub input1_offset: i32,
    /// `-input2_zero_point`.
    pub input2_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Input 1 multiplier (Q0.31) and (non-positive) shift.
    pub input1_multiplier: (i32, i32),
    /// Input 2 multiplier and shift.
    pub input2_multiplier: (i32, i32),
    /// Output multiplier and shift.
    pub output_multiplier: (i32, i32),
    /// Quantized activation clamp.
    pub act_min: i32,
    /// Quantized activation clamp.
    pub act_max: i32,
    /// Whether this is a subtraction.
    pub subtract: bool,
}

impl AddParams {
    /// Prepares ADD (`subtract = false`) or SUB for element type `T`.
    pub fn prepare<T: QuantInt>(
        input1: QParams,
        input2: QParams,
        output: QParams,
        activation: FusedActivation,
        subtract: bool,
    ) -> crate::Result<Self> {
        input1.check::<T>("add input1")?;
        input2.check::<T>("add input2")?;
        output.check::<T>("add output")?;
        let left_shift = if T::MAX > 255 { 15 } else { 20 };
        // add.cc: twice_max_input_scale = 2 * (double)max(s1, s2) (identical to sub.cc's float
        // product, the factor 2 being exact).
        let twice_max = 2.0 * input1.scale.max(input2.scale) as f64;
        let real1 = input1.scale as f64 / twice_max;
        let real2 = input2.scale as f64 / twice_max;
        let real_out = twice_max / ((1i64 << left_shift) as f64 * output.scale as f64);
        let input1_multiplier = quantize_multiplier_smaller_than_one_exp(real1)?;
        let input2_multiplier = quantize_multiplier_smaller_than_one_exp(real2)?;
        let output_multiplier = if subtract && real_out > 1.0 {
            quantize_multiplier_greater_than_one(real_out)?
        } else if real_out < 1.0 {
            quantize_multiplier_smaller_than_one_exp(real_out)?
        } else {
            return invalid(format!(
                "add: output multiplier {real_out} >= 1 (output scale {} too small)",
                output.scale
            ));
        };
        let (act_min, act_max) = activation_range::<T>(activation, output)?;
        Ok(Self {
            left_shift,
            input1_offset: -input1.zero_point,
            input2_offset: -input2.zero_point,
            output_offset: output.zero_point,
            input1_multiplier,
            input2_multiplier,
            output_multiplier,
            act_min,
            act_max,
            subtract,
        })
    }

    /// One element (`AddFunc` / `SubFunc`).
    #[inline]
    pub fn apply(&self, x: i32, y: i32) -> i32 {
        let shifted1 = (self.input1_offset + x).wrapping_mul(1 << self.left_shift);
        let shifted2 = (self.input2_offset + y).wrapping_mul(1 << self.left_shift);
        let scaled1 = multiply_by_quantized_multiplier_smaller_than_one_exp(
            shifted1,
            self.input1_multiplier.0,
            self.input1_multiplier.1,
        );
        let scaled2 = multiply_by_quantized_multiplier_smaller_than_one_exp(
            shifted2,
            self.input2_multiplier.0,
            self.input2_multiplier.1,
        );
        let raw = if self.subtract {
            scaled1.wrapping_sub(scaled2)
        } else {
            scaled1.wrapping_add(scaled2)
        };
        let out = if self.output_multiplier.1 > 0 {
            multiply_by_quantized_multiplier(
                raw,
                self.output_multiplier.0,
                self.output_multiplier.1,
            )
        } else {
            multiply_by_quantized_multiplier_smaller_than_one_exp(
                raw,
                self.output_multiplier.0,
                self.output_multiplier.1,
            )
        };
        out.wrapping_add(self.output_offset)
            .clamp(self.act_min, self.act_max)
    }
}

/// Element-wise quantized ADD/SUB with broadcasting (`reference_integer_ops::Add` /
/// `BroadcastAdd6DSlow`, `reference_ops::Sub` / `BroadcastQuantSubSlow`).
pub fn add<T: QuantInt>(
    p: &AddParams,
    input1: &[T],
    shape1: &[usize],
    input2: &[T],
    shape2: &[usize],
    output: &mut [T],
) -> crate::Result<()> {
    broadcast::binary(input1, shape1, input2, shape2, output, |x, y| {
        T::from_i32(p.apply(x.to_i32(), y.to_i32()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(x: f32, p: QParams) -> i8 {
        ((x / p.scale).round() as i32 + p.zero_point).clamp(-128, 127) as i8
    }

    #[test]
    fn float_golden_add_sub() {
        let a = QParams::new(0.1, 3);
        let b = QParams::new(0.05, -7);
        let o = QParams::new(0.2, 1);
        let xs = [0.5f32, -1.0, 2.3, 0.0, -6.0];
        let ys = [1.0f32, 1.0, -0.4, 0.0, -6.0];
        let qa: Vec<i8> = xs.iter().map(|&x| q(x, a)).collect();
        let qb: Vec<i8> = ys.iter().map(|&y| q(y, b)).collect();
        let p = AddParams::prepare::<i8>(a, b, o, FusedActivation::None, false).unwrap();
        let mut out = [0i8; 5];
        add(&p, &qa, &[5], &qb, &[5], &mut out).unwrap();
        let expect: Vec<i8> = xs.iter().zip(&ys).map(|(x, y)| q(x + y, o)).collect();
        assert_eq!(out.to_vec(), expect);
        let p = AddParams::prepare::<i8>(a, b, o, FusedActivation::Relu, true).unwrap();
        add(&p, &qa, &[5], &qb, &[5], &mut out).unwrap();
        let expect: Vec<i8> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| q((x - y).max(0.0), o))
            .collect();
        assert_eq!(out.to_vec(), expect);
        // Broadcast a scalar.
        let p = AddParams::prepare::<i8>(a, b, o, FusedActivation::None, false).unwrap();
        add(&p, &qa, &[5], &qb[..1], &[1], &mut out).unwrap();
        let expect: Vec<i8> = xs.iter().map(|x| q(x + 1.0, o)).collect();
        assert_eq!(out.to_vec(), expect);
    }

    #[test]
    fn int16_add() {
        let s = QParams::new(1.0 / 1024.0, 0);
        let p = AddParams::prepare::<i16>(
            s,
            s,
            QParams::new(1.0 / 512.0, 0),
            FusedActivation::None,
            false,
        )
        .unwrap();
        assert_eq!(p.left_shift, 15);
        let mut out = [0i16; 2];
        add(&p, &[1000i16, -3000], &[2], &[24, 1000], &[2], &mut out).unwrap();
        assert_eq!(out, [512, -1000]);
    }
}
