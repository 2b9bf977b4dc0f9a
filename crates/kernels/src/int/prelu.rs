//! PRELU on int8 / uint8.
//!
//! Reproduces `reference_ops::Prelu` / `BroadcastPrelu4DSlow` with `activations.cc:
//! PreluPrepare`: multiplier 1 is `input_scale / output_scale`, multiplier 2 is
//! `input_scale * alpha_scale / output_scale` (both in float).

use super::broadcast;
use super::quant_util::{multiply_by_quantized_multiplier, quantize_multiplier};
use super::{QParams, QuantInt};

/// Prepared PRELU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreluParams {
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `-alpha_zero_point`.
    pub alpha_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Positive branch multiplier and shift.
    pub multiplier_1: (i32, i32),
    /// Negative branch multiplier and shift.
    pub multiplier_2: (i32, i32),
}

impl PreluParams {
    /// Prepares PRELU for element type `T`.
    pub fn prepare<T: QuantInt>(
        input: QParams,
        alpha: QParams,
        output: QParams,
    ) -> crate::Result<Self> {
        input.check::<T>("prelu input")?;
        alpha.check::<T>("prelu alpha")?;
        output.check::<T>("prelu output")?;
        // Computed in float, as `PreluPrepare` does.
        let real1 = (input.scale / output.scale) as f64;
        let real2 = (input.scale * alpha.scale / output.scale) as f64;
        Ok(Self {
            input_offset: -input.zero_point,
            alpha_offset: -alpha.zero_point,
            output_offset: output.zero_point,
            multiplier_1: quantize_multiplier(real1)?,
            multiplier_2: quantize_multiplier(real2)?,
        })
    }
}

/// Quantized PRELU with alpha broadcast to the input shape.
pub fn prelu<T: QuantInt>(
    p: &PreluParams,
    input: &[T],
    input_shape: &[usize],
    alpha: &[T],
    alpha_shape: &[usize],
    output: &mut [T],
) -> crate::Result<()> {
    broadcast::binary(input, input_shape, alpha, alpha_shape, output, |x, a| {
        let xv = p.input_offset + x.to_i32();
        let y = if xv >= 0 {
            multiply_by_quantized_multiplier(xv, p.multiplier_1.0, p.multiplier_1.1)
        } else {
            let av = p.alpha_offset + a.to_i32();
            multiply_by_quantized_multiplier(
                xv.wrapping_mul(av),
                p.multiplier_2.0,
                p.multiplier_2.1,
            )
        };
        T::saturate(y.wrapping_add(p.output_offset))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_golden() {
        let q = QParams::new(0.5, 0);
        let a = QParams::new(0.125, 0);
        let p = PreluParams::prepare::<i8>(q, a, q).unwrap();
        let mut out = [0i8; 4];
        // alpha per channel [0.25, 0.5] broadcast over 2x2.
        prelu(&p, &[8i8, -8, -6, 4], &[2, 2], &[2i8, 4], &[2], &mut out).unwrap();
        assert_eq!(out, [8, -4, -2, 4]);
    }
}
