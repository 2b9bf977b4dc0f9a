//! TANH on int8 / uint8.
//!
//! LiteRT's `BUILTIN_REF` kernel (`activations.cc: TanhPrepare<kReference>`) builds a
//! 256-entry table with `LUTPopulate` and `std::tanh(float)`; that is [`TanhParams`] +
//! [`tanh`]. TFLite's int8 spec fixes the output at scale 1/128, zero point 0 (uint8: 128).
//! The fixed-point variant of TFLite Micro is [`tanh_fixed_point`].

use super::fixedpoint;
use super::lut::Lut8;
use super::quant_util::{calculate_input_radius, frexp, multiply_by_quantized_multiplier};
use super::{check_len, QParams, QuantInt};

/// Prepared table-based tanh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TanhParams {
    /// The lookup table.
    pub lut: Lut8,
}

impl TanhParams {
    /// Prepares the table for element type `T` (`i8` or `u8`).
    pub fn prepare<T: QuantInt>(input: QParams, output: QParams) -> crate::Result<Self> {
        input.check::<T>("tanh input")?;
        output.check::<T>("tanh output")?;
        Ok(Self {
            lut: Lut8::populate::<T>(input, output, f32::tanh),
        })
    }
}

/// Table-based int8 tanh.
pub fn tanh(p: &TanhParams, input: &[i8], output: &mut [i8]) -> crate::Result<()> {
    p.lut.apply_i8(input, output)
}

/// Table-based uint8 tanh.
pub fn tanh_u8(p: &TanhParams, input: &[u8], output: &mut [u8]) -> crate::Result<()> {
    p.lut.apply_u8(input, output)
}

/// Parameters of the fixed-point int8 tanh (TFLite Micro `TanhPrepare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TanhFixedPointParams {
    /// Input zero point.
    pub input_zero_point: i32,
    /// Inputs beyond ±radius saturate.
    pub input_range_radius: i32,
    /// Q0.31 multiplier of `input_scale * 2^27`.
    pub input_multiplier: i32,
    /// Its left shift.
    pub input_left_shift: i32,
}

impl TanhFixedPointParams {
    /// `frexp(input_scale * 2^(31-4))`, radius `CalculateInputRadius(4, shift)`.
    pub fn prepare(input: QParams) -> crate::Result<Self> {
        input.check::<i8>("tanh input")?;
        let real = input.scale as f64 * (1i64 << 27) as f64;
        let (q, shift) = frexp(real);
        let m = (q * (1i64 << 31) as f64).round() as i64;
        Ok(Self {
            input_zero_point: input.zero_point,
            input_range_radius: calculate_input_radius(4, shift, 31),
            input_multiplier: m.min(i32::MAX as i64) as i32,
            input_left_shift: shift,
        })
    }
}

/// `reference_integer_ops::Tanh` (int8, fixed point, output scale 1/128).
pub fn tanh_fixed_point(
    p: &TanhFixedPointParams,
    input: &[i8],
    output: &mut [i8],
) -> crate::Result<()> {
    check_len("tanh output", output.len(), input.len())?;
    for (o, &v) in output.iter_mut().zip(input) {
        let x = v as i32 - p.input_zero_point;
        *o = if x <= -p.input_range_radius {
            i8::MIN
        } else if x >= p.input_range_radius {
            i8::MAX
        } else {
            let in_q4 = multiply_by_quantized_multiplier(x, p.input_multiplier, p.input_left_shift);
            let out_q0 = fixedpoint::tanh::<4, 5>(in_q4);
            i8::saturate(fixedpoint::round_shift(out_q0, 24))
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lut_matches_float() {
        let inq = QParams::new(0.05, 10);
        let outq = QParams::new(1.0 / 128.0, 0);
        let p = TanhParams::prepare::<i8>(inq, outq).unwrap();
        let input: Vec<i8> = (-128..=127).map(|v| v as i8).collect();
        let mut out = vec![0i8; 256];
        tanh(&p, &input, &mut out).unwrap();
        let fp = TanhFixedPointParams::prepare(inq).unwrap();
        let mut out2 = vec![0i8; 256];
        tanh_fixed_point(&fp, &input, &mut out2).unwrap();
        for ((&q, &o), &o2) in input.iter().zip(&out).zip(&out2) {
            let x = (q as f64 - 10.0) * 0.05;
            let expect = (x.tanh() * 128.0).round().clamp(-128.0, 127.0) as i32;
            assert_eq!(o as i32, expect, "{q}");
            assert!((o2 as i32 - expect).abs() <= 1, "{q}: {o2} vs {expect}");
        }
    }
}
