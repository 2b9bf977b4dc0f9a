//! LEAKY_RELU on int8 / uint8 / int16.
//!
//! Reproduces `reference_ops::QuantizeLeakyRelu` with `activations.cc: LeakyReluPrepare`:
//! separate multipliers for the identity (`input_scale / output_scale`) and alpha
//! (`input_scale * alpha / output_scale`, computed in float) branches. Negative alphas are
//! applied through a positive multiplier and a negated result, as current TFLite does.

use super::quant_util::{multiply_by_quantized_multiplier, quantize_multiplier};
use super::{check_len, QParams, QuantInt};

/// Prepared LEAKY_RELU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakyReluParams {
    /// Input zero point.
    pub input_offset: i32,
    /// Output zero point.
    pub output_offset: i32,
    /// Multiplier and shift of the alpha branch.
    pub alpha: (i32, i32),
    /// Multiplier and shift of the identity branch.
    pub identity: (i32, i32),
}

impl LeakyReluParams {
    /// Prepares LEAKY_RELU for element type `T`.
    pub fn prepare<T: QuantInt>(
        input: QParams,
        output: QParams,
        alpha: f32,
    ) -> crate::Result<Self> {
        input.check::<T>("leaky_relu input")?;
        output.check::<T>("leaky_relu output")?;
        let alpha_multiplier = (input.scale * alpha / output.scale) as f64;
        let identity_multiplier = (input.scale / output.scale) as f64;
        Ok(Self {
            input_offset: input.zero_point,
            output_offset: output.zero_point,
            alpha: quantize_multiplier(alpha_multiplier)?,
            identity: quantize_multiplier(identity_multiplier)?,
        })
    }
}

/// `reference_ops::QuantizeLeakyRelu`.
pub fn leaky_relu<T: QuantInt>(
    p: &LeakyReluParams,
    input: &[T],
    output: &mut [T],
) -> crate::Result<()> {
    check_len("leaky_relu output", output.len(), input.len())?;
    let negative_alpha = p.alpha.0 < 0;
    let alpha_m = p.alpha.0.wrapping_abs();
    for (o, &v) in output.iter_mut().zip(input) {
        let x = v.to_i32() - p.input_offset;
        let y = if x >= 0 {
            multiply_by_quantized_multiplier(x, p.identity.0, p.identity.1)
        } else {
            let s = multiply_by_quantized_multiplier(x, alpha_m, p.alpha.1);
            if negative_alpha {
                s.wrapping_neg()
            } else {
                s
            }
        };
        *o = T::saturate(p.output_offset.wrapping_add(y));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_golden() {
        let q = QParams::new(0.5, 0);
        let p = LeakyReluParams::prepare::<i8>(q, q, 0.25).unwrap();
        let mut out = [0i8; 4];
        leaky_relu(&p, &[8i8, -8, -6, 0], &mut out).unwrap();
        // -6 * 0.25 = -1.5 -> -2 (ties away from zero).
        assert_eq!(out, [8, -2, -2, 0]);
    }
}
