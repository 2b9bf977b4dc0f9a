//! MUL, int8 / uint8 / int16.
//!
//! Reproduces `reference_integer_ops::MulElementwise` / `BroadcastMul6DSlow` with `mul.cc`
//! Prepare, where the real multiplier `s1 * s2 / s_out` is computed in **float** and then
//! widened to double.

use super::broadcast;
use super::quant_util::{multiply_by_quantized_multiplier, quantize_multiplier};
use super::{activation_range, FusedActivation, QParams, QuantInt};

/// Prepared MUL parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MulParams {
    /// `-input1_zero_point`.
    pub input1_offset: i32,
    /// `-input2_zero_point`.
    pub input2_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Output multiplier.
    pub output_multiplier: i32,
    /// Output shift (positive = left).
    pub output_shift: i32,
    /// Quantized activation clamp.
    pub act_min: i32,
    /// Quantized activation clamp.
    pub act_max: i32,
}

impl MulParams {
    /// Prepares MUL for element type `T`.
    pub fn prepare<T: QuantInt>(
        input1: QParams,
        input2: QParams,
        output: QParams,
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        input1.check::<T>("mul input1")?;
        input2.check::<T>("mul input2")?;
        output.check::<T>("mul output")?;
        let real = (input1.scale * input2.scale / output.scale) as f64;
        let (output_multiplier, output_shift) = quantize_multiplier(real)?;
        let (act_min, act_max) = activation_range::<T>(activation, output)?;
        Ok(Self {
            input1_offset: -input1.zero_point,
            input2_offset: -input2.zero_point,
            output_offset: output.zero_point,
            output_multiplier,
            output_shift,
            act_min,
            act_max,
        })
    }

    /// One element.
    #[inline]
    pub fn apply(&self, x: i32, y: i32) -> i32 {
        let prod = (self.input1_offset + x).wrapping_mul(self.input2_offset + y);
        self.output_offset
            .wrapping_add(multiply_by_quantized_multiplier(
                prod,
                self.output_multiplier,
                self.output_shift,
            ))
            .clamp(self.act_min, self.act_max)
    }
}

/// Element-wise quantized MUL with broadcasting.
pub fn mul<T: QuantInt>(
    p: &MulParams,
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

    #[test]
    fn float_golden() {
        let a = QParams::new(0.5, 2);
        let b = QParams::new(0.25, -4);
        let o = QParams::new(0.125, 0);
        // real a = (q - 2) * 0.5, b = (q + 4) * 0.25.
        let qa = [4i8, 0, 12]; // 1.0, -1.0, 5.0
        let qb = [8i8, 4, -8]; // 3.0, 2.0, -1.0
        let p = MulParams::prepare::<i8>(a, b, o, FusedActivation::None).unwrap();
        let mut out = [0i8; 3];
        mul(&p, &qa, &[3], &qb, &[3], &mut out).unwrap();
        // 3.0 / 0.125 = 24, -2 -> -16, -5 -> -40.
        assert_eq!(out, [24, -16, -40]);
    }
}
