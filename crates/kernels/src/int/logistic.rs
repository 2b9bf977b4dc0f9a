//! LOGISTIC (sigmoid) on int8 / uint8.
//!
//! LiteRT's `BUILTIN_REF` kernel (`activations.cc: SigmoidPrepare<kReference>`) builds a
//! 256-entry table with `LUTPopulate` and the float function `1.0f / (1.0f + expf(-x))`; that
//! is [`LogisticParams::prepare`] + [`logistic`]. The output is fixed at scale 1/256 and zero
//! point -128 (int8) or 0 (uint8).
//!
//! TFLite Micro (and older TFLite) use the fixed-point `reference_integer_ops::Logistic`
//! instead (gemmlowp `logistic` on Q4.27); that is [`LogisticFixedPointParams`] +
//! [`logistic_fixed_point`].

use super::fixedpoint;
use super::lut::Lut8;
use super::quant_util::{calculate_input_radius, frexp, multiply_by_quantized_multiplier};
use super::{check_len, invalid, QParams, QuantInt};

/// Prepared table-based logistic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogisticParams {
    /// The lookup table.
    pub lut: Lut8,
}

impl LogisticParams {
    /// Prepares the table for element type `T` (`i8` or `u8`); the output scale must be 1/256.
    pub fn prepare<T: QuantInt>(input: QParams, output: QParams) -> crate::Result<Self> {
        input.check::<T>("logistic input")?;
        output.check::<T>("logistic output")?;
        if output.scale != 1.0 / 256.0 {
            return invalid(format!(
                "logistic: output scale {} must be 1/256",
                output.scale
            ));
        }
        Ok(Self {
            lut: Lut8::populate::<T>(input, output, |x| 1.0f32 / (1.0f32 + (-x).exp())),
        })
    }
}

/// Table-based int8 logistic (`optimized_integer_ops::LookupTable`, used by the reference
/// resolver).
pub fn logistic(p: &LogisticParams, input: &[i8], output: &mut [i8]) -> crate::Result<()> {
    p.lut.apply_i8(input, output)
}

/// Table-based uint8 logistic.
pub fn logistic_u8(p: &LogisticParams, input: &[u8], output: &mut [u8]) -> crate::Result<()> {
    p.lut.apply_u8(input, output)
}

/// Parameters of the fixed-point int8 logistic (TFLite Micro `LogisticPrepare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogisticFixedPointParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Inputs beyond ±radius saturate.
    pub input_range_radius: i32,
    /// Q0.31 multiplier of `input_scale * 2^27`.
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
}

impl LogisticFixedPointParams {
    /// TFLite Micro's preparation: `frexp(input_scale * 2^(31-4))`.
    pub fn prepare(input: QParams) -> crate::Result<Self> {
        input.check::<i8>("logistic input")?;
        const INPUT_INTEGER_BITS: i32 = 4;
        let real = input.scale as f64 * (1i64 << (31 - INPUT_INTEGER_BITS)) as f64;
        let (q, shift) = frexp(real);
        let m = (q * (1i64 << 31) as f64).round() as i64;
        Ok(Self {
            input_zero_point: input.zero_point,
            input_range_radius: calculate_input_radius(INPUT_INTEGER_BITS, shift, 31),
            input_multiplier: m.min(i32::MAX as i64) as i32,
            input_left_shift: shift,
        })
    }
}

/// `reference_integer_ops::Logistic` (int8, fixed point).
pub fn logistic_fixed_point(
    p: &LogisticFixedPointParams,
    input: &[i8],
    output: &mut [i8],
) -> crate::Result<()> {
    check_len("logistic output", output.len(), input.len())?;
    for (o, &v) in output.iter_mut().zip(input) {
        let x = v as i32 - p.input_zero_point;
        *o = if x <= -p.input_range_radius {
            i8::MIN
        } else if x >= p.input_range_radius {
            i8::MAX
        } else {
            let in_q4 = multiply_by_quantized_multiplier(x, p.input_multiplier, p.input_left_shift);
            let out_q0 = fixedpoint::logistic::<4>(in_q4);
            let out = fixedpoint::round_shift(out_q0, 31 - 8);
            i8::saturate(out - 128)
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lut_matches_float() {
        let inq = QParams::new(0.1, -3);
        let outq = QParams::new(1.0 / 256.0, -128);
        let p = LogisticParams::prepare::<i8>(inq, outq).unwrap();
        let input: Vec<i8> = (-128..=127).map(|v| v as i8).collect();
        let mut out = vec![0i8; 256];
        logistic(&p, &input, &mut out).unwrap();
        for (&q, &o) in input.iter().zip(&out) {
            let x = (q as f64 + 3.0) * 0.1;
            let expect = ((1.0 / (1.0 + (-x).exp())) * 256.0).round() as i32 - 128;
            assert!(
                (o as i32 - expect.min(127)).abs() <= 1,
                "{q}: {o} vs {expect}"
            );
        }
        let fp = LogisticFixedPointParams::prepare(inq).unwrap();
        let mut out2 = vec![0i8; 256];
        logistic_fixed_point(&fp, &input, &mut out2).unwrap();
        for (a, b) in out.iter().zip(&out2) {
            assert!((*a as i32 - *b as i32).abs() <= 1);
        }
        assert!(LogisticParams::prepare::<i8>(inq, QParams::new(0.01, -128)).is_err());
    }
}
