//! Fixed-point building blocks of TFLite's integer arithmetic.
//!
//! Everything here reproduces, bit for bit, the functions of TFLite's
//! `kernels/internal/quantization_util.cc`, `kernels/internal/common.{h,cc}` and gemmlowp's
//! `fixedpoint/fixedpoint.h` scalar paths. TFLite's default build (and LiteRT's, including the
//! `ai-edge-litert` wheels) uses the *double-rounding* `MultiplyByQuantizedMultiplier`
//! (`SaturatingRoundingDoublingHighMul` followed by `RoundingDivideByPOT`); the
//! `TFLITE_SINGLE_ROUNDING` variant is provided as [`multiply_by_quantized_multiplier_single_round`]
//! for targets built that way (some TFLite Micro ports).
//!
//! Signed overflow, which is undefined behaviour in C++ but wraps on every compiler TFLite is
//! built with, is written here with explicit `wrapping_*` operations so results match and no
//! debug-build overflow panic can be triggered by data.

use crate::KernelError;

/// A real multiplier `m` encoded as `multiplier * 2^(shift - 31)`, with `multiplier` in
/// `[2^30, 2^31)` (or 0), as produced by TFLite's `QuantizeMultiplier`.
///
/// `shift` is a *left* shift when positive (TFLite's convention for
/// `MultiplyByQuantizedMultiplier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct QuantizedMultiplier {
    /// Q0.31 significand.
    pub multiplier: i32,
    /// Power-of-two exponent; positive means left shift.
    pub shift: i32,
}

impl QuantizedMultiplier {
    /// `QuantizeMultiplier(real)`.
    pub fn new(real: f64) -> crate::Result<Self> {
        let (multiplier, shift) = quantize_multiplier(real)?;
        Ok(Self { multiplier, shift })
    }

    /// Applies the multiplier to an `i32` accumulator (double rounding, TFLite's default).
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self.multiplier, self.shift)
    }

    /// Applies the multiplier to an `i64` accumulator (16x8 kernels).
    #[inline]
    pub fn apply_i64(self, x: i64) -> i32 {
        multiply_by_quantized_multiplier_i64(x, self.multiplier, self.shift)
    }
}

/// `std::frexp` for finite doubles: returns `(q, e)` with `x = q * 2^e` and `|q|` in `[0.5, 1)`
/// (`(0, 0)` for zero).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i32;
    if exp_field == 0 {
        // Subnormal: scale into the normal range first.
        let (q, e) = frexp(x * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (q, e - 64);
    }
    let e = exp_field - 1022;
    let q_bits = (bits & !(0x7ffu64 << 52)) | (1022u64 << 52);
    (f64::from_bits(q_bits), e)
}

/// TFLite's `QuantizeMultiplier(double, int32_t*, int*)`: returns `(multiplier, shift)` with
/// `real ≈ multiplier * 2^(shift - 31)`.
///
/// Multipliers so small that `shift < -31` are flushed to `(0, 0)`, as TFLite does. Non-finite
/// input is an error (TFLite would abort).
pub fn quantize_multiplier(real: f64) -> crate::Result<(i32, i32)> {
    if !real.is_finite() {
        return Err(KernelError::Invalid(format!(
            "cannot quantize non-finite multiplier {real}"
        )));
    }
    if real == 0.0 {
        return Ok((0, 0));
    }
    let (q, mut shift) = frexp(real);
    // TfLiteRound == std::round: half away from zero, like f64::round.
    let mut q_fixed = (q * (1i64 << 31) as f64).round() as i64;
    if q_fixed == (1i64 << 31) {
        q_fixed /= 2;
        shift += 1;
    }
    if q_fixed == -(1i64 << 31) - 1 || q_fixed > i32::MAX as i64 || q_fixed < i32::MIN as i64 {
        return Err(KernelError::Invalid(format!(
            "multiplier {real} does not fit Q0.31"
        )));
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    Ok((q_fixed as i32, shift))
}

/// `QuantizeMultiplierSmallerThanOneExp`: like [`quantize_multiplier`] but requires
/// `0 <= real < 1` (so `shift <= 0`).
pub fn quantize_multiplier_smaller_than_one_exp(real: f64) -> crate::Result<(i32, i32)> {
    if !(0.0..1.0).contains(&real) {
        return Err(KernelError::Invalid(format!(
            "multiplier {real} must be in [0, 1)"
        )));
    }
    let (m, s) = quantize_multiplier(real)?;
    if s > 0 {
        return Err(KernelError::Invalid(format!(
            "multiplier {real} gives a left shift"
        )));
    }
    Ok((m, s))
}

/// `QuantizeMultiplierGreaterThanOne`: requires `real > 1` (so `shift >= 0`).
pub fn quantize_multiplier_greater_than_one(real: f64) -> crate::Result<(i32, i32)> {
    if real.is_nan() || real <= 1.0 {
        return Err(KernelError::Invalid(format!(
            "multiplier {real} must be > 1"
        )));
    }
    let (m, s) = quantize_multiplier(real)?;
    if s < 0 {
        return Err(KernelError::Invalid(format!(
            "multiplier {real} gives a right shift"
        )));
    }
    Ok((m, s))
}

/// gemmlowp `SaturatingRoundingDoublingHighMul` for `i32` (ARM `VQRDMULH`):
/// `round(a * b / 2^31)`, rounding half away from zero, saturating `MIN * MIN` to `MAX`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `SaturatingRoundingDoublingHighMul` for `i16` (`round(a * b / 2^15)`).
#[inline]
pub fn saturating_rounding_doubling_high_mul_i16(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
///
/// `exponent` must be in `[0, 31]`; larger values are clamped to 31 (a C++ caller would have
/// undefined behaviour).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31) as u32;
    let mask: i32 = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// gemmlowp `RoundingDivideByPOT` on `i16`.
#[inline]
pub fn rounding_divide_by_pot_i16(x: i16, exponent: i32) -> i16 {
    let exponent = exponent.clamp(0, 15) as u32;
    let mask: i16 = ((1i32 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i16::from(x < 0);
    (x >> exponent) + i16::from(remainder > threshold)
}

/// gemmlowp `SaturatingRoundingMultiplyByPOT` / TFLite `SaturatingRoundingMultiplyByPOTParam`
/// on `i32`: a saturating left shift for `exponent > 0`, a rounding right shift for
/// `exponent < 0`.
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent == 0 {
        x
    } else if exponent > 0 {
        if exponent >= 31 {
            return if x > 0 {
                i32::MAX
            } else if x < 0 {
                i32::MIN
            } else {
                0
            };
        }
        let threshold: i32 = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x.wrapping_mul(1i32 << exponent)
        }
    } else {
        rounding_divide_by_pot(x, -exponent)
    }
}

/// TFLite's `MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift)` in the
/// default double-rounding build: `RoundingDivideByPOT(SRDHM(x << left, multiplier), right)`.
///
/// `shift` is expected in `[-31, 30]`.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, quantized_multiplier: i32, shift: i32) -> i32 {
    let left_shift = if shift > 0 { shift.min(31) } else { 0 };
    let right_shift = if shift > 0 { 0 } else { -shift };
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(
            x.wrapping_mul(1i32.wrapping_shl(left_shift as u32)),
            quantized_multiplier,
        ),
        right_shift,
    )
}

/// TFLite's `MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift)` (used by
/// the 16x8 kernels). In the default build this is already a single-rounding computation with
/// the multiplier reduced to 16 bits: `(x * round(m / 2^16) + 2^(14 - shift)) >> (15 - shift)`.
///
/// Preconditions (TFLite's asserts): `multiplier >= 0`, `shift` in `[-31, 7]`,
/// `|x| < 2^47`; outside them the result wraps like the C++ code.
#[inline]
pub fn multiply_by_quantized_multiplier_i64(x: i64, quantized_multiplier: i32, shift: i32) -> i32 {
    let reduced_multiplier: i64 = if quantized_multiplier < 0x7FFF_0000 {
        ((quantized_multiplier as i64) + (1 << 15)) >> 16
    } else {
        0x7FFF
    };
    let total_shift = (15 - shift).clamp(1, 63) as u32;
    let x = x
        .wrapping_mul(reduced_multiplier)
        .wrapping_add(1i64 << (total_shift - 1));
    (x >> total_shift) as i32
}

/// TFLite's `MultiplyByQuantizedMultiplier(int32_t, ...)` when built with
/// `TFLITE_SINGLE_ROUNDING=1`: `(x * m + 2^(30 - shift)) >> (31 - shift)`.
#[inline]
pub fn multiply_by_quantized_multiplier_single_round(
    x: i32,
    quantized_multiplier: i32,
    shift: i32,
) -> i32 {
    let total_shift = (31 - shift).clamp(1, 62) as u32;
    let round = 1i64 << (total_shift - 1);
    ((x as i64 * quantized_multiplier as i64 + round) >> total_shift) as i32
}

/// `MultiplyByQuantizedMultiplierSmallerThanOneExp` (double rounding):
/// `RoundingDivideByPOT(SRDHM(x, m), -left_shift)` with `left_shift <= 0`.
#[inline]
pub fn multiply_by_quantized_multiplier_smaller_than_one_exp(
    x: i32,
    quantized_multiplier: i32,
    left_shift: i32,
) -> i32 {
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x, quantized_multiplier),
        -left_shift,
    )
}

/// `MultiplyByQuantizedMultiplierGreaterThanOne` (double rounding):
/// `SRDHM(x * 2^left_shift, m)` with `left_shift >= 0`.
#[inline]
pub fn multiply_by_quantized_multiplier_greater_than_one(
    x: i32,
    quantized_multiplier: i32,
    left_shift: i32,
) -> i32 {
    saturating_rounding_doubling_high_mul(
        x.wrapping_mul(1i32.wrapping_shl(left_shift.clamp(0, 31) as u32)),
        quantized_multiplier,
    )
}

/// TFLite `CalculateInputRadius(input_integer_bits, input_left_shift, total_signed_bits)`:
/// the largest input magnitude that does not saturate after rescaling.
pub fn calculate_input_radius(
    input_integer_bits: i32,
    input_left_shift: i32,
    total_signed_bits: i32,
) -> i32 {
    let max_input_rescaled = 1.0
        * ((1i64 << input_integer_bits) - 1) as f64
        * (1i64 << (total_signed_bits - input_integer_bits)) as f64
        / (1i64 << input_left_shift.clamp(0, 62)) as f64;
    max_input_rescaled.floor() as i32
}

/// TFLite `PreprocessSoftmaxScaling` (double-rounding build): returns
/// `(quantized_multiplier, left_shift)` for `beta * input_scale * 2^(31 - input_integer_bits)`,
/// capped at `2^31 - 1`.
pub fn preprocess_softmax_scaling(
    beta: f64,
    input_scale: f64,
    input_integer_bits: i32,
) -> crate::Result<(i32, i32)> {
    let max_real_multiplier = ((1i64 << 31) - 1) as f64;
    let real =
        (beta * input_scale * (1i64 << (31 - input_integer_bits)) as f64).min(max_real_multiplier);
    quantize_multiplier_greater_than_one(real)
}

/// gemmlowp-style count of leading zeros of a `u32` (32 for zero).
#[inline]
pub fn count_leading_zeros_u32(x: u32) -> i32 {
    x.leading_zeros() as i32
}

/// TFLite `CountLeadingSignBits` for `i32`.
#[inline]
pub fn count_leading_sign_bits_i32(x: i32) -> i32 {
    if x >= 0 {
        (x as u32).leading_zeros() as i32 - 1
    } else if x != i32::MIN {
        ((2u32.wrapping_mul(x.unsigned_abs())).wrapping_sub(1)).leading_zeros() as i32
    } else {
        0
    }
}

/// TFLite `GetReciprocal(x, x_integer_digits, &num_bits_over_unit)`: returns
/// `(1 / x as Q0.31 scaled into [0.5, 1), num_bits_over_unit)`.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = count_leading_zeros_u32(x as u32);
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    let shifted = if headroom_plus_one >= 32 {
        0u32
    } else {
        (x as u32) << headroom_plus_one
    };
    let shifted_sum_minus_one = shifted.wrapping_sub(1u32 << 31) as i32;
    (
        super::fixedpoint::one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// TFLite `GetInvSqrtQuantizedMultiplierExp(input, reverse_shift)`: returns
/// `(output_inv_sqrt, output_shift)` with `1/sqrt(input) ≈ inv_sqrt * 2^(shift - 31)` (for
/// `reverse_shift = -1`, the L2-norm convention).
pub fn get_inv_sqrt_quantized_multiplier_exp(mut input: i32, reverse_shift: i32) -> (i32, i32) {
    use super::fixedpoint::{mul, rescale};
    if input <= 1 {
        return (i32::MAX, 0);
    }
    let mut output_shift: i32 = 11;
    while input >= (1 << 29) {
        input /= 4;
        output_shift += 1;
    }
    let max_left_shift_bits = count_leading_zeros_u32(input as u32) - 1;
    let max_left_shift_bit_pairs = max_left_shift_bits / 2;
    let left_shift_bit_pairs = max_left_shift_bit_pairs - 1;
    output_shift -= left_shift_bit_pairs;
    input <<= 2 * left_shift_bit_pairs;
    // F3 arithmetic (3 integer bits).
    let fixedpoint_input = input >> 1;
    let fixedpoint_half_input = saturating_rounding_multiply_by_pot(fixedpoint_input, -1);
    let fixedpoint_half_three: i32 = (1 << 28) + (1 << 27);
    let mut x: i32 = 1 << 28; // F3::One()
    for _ in 0..5 {
        let x3 = rescale(mul(mul(x, x), x), 9, 3);
        x = rescale(
            mul(fixedpoint_half_three, x).wrapping_sub(mul(fixedpoint_half_input, x3)),
            6,
            3,
        );
    }
    let fixedpoint_half_sqrt_2: i32 = 1518500250;
    let mut inv_sqrt = mul(x, fixedpoint_half_sqrt_2);
    if output_shift < 0 {
        inv_sqrt = inv_sqrt.wrapping_shl((-output_shift) as u32);
        output_shift = 0;
    }
    (inv_sqrt, output_shift * reverse_shift)
}

/// TFLite `DownScaleInt32ToInt16Multiplier`: rounds a Q0.31 multiplier to Q0.15.
pub fn downscale_int32_to_int16_multiplier(multiplier: i32) -> i16 {
    const ROUNDING_OFFSET: i32 = 1 << 15;
    if multiplier >= i32::MAX - ROUNDING_OFFSET {
        return i16::MAX;
    }
    ((multiplier + ROUNDING_OFFSET) >> 16) as i16
}

/// TFLite `CheckedLog2`: `Some(round(log2(x)))` when `x` is (within 1e-3 in the exponent) a
/// power of two.
pub fn checked_log2(x: f32) -> (bool, i32) {
    if x <= 0.0 {
        return (false, 0);
    }
    let x_log2 = x.ln() * (1.0f32 / 2.0f32.ln());
    let rounded = x_log2.round();
    ((x_log2 - rounded).abs() < 1e-3, rounded as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_definition() {
        for &x in &[1.0, 0.5, 0.75, 3.0, 1e-10, -2.5, 123456.789, 5e-320] {
            let (q, e) = frexp(x);
            assert!((0.5..1.0).contains(&q.abs()), "{x} -> {q}");
            assert_eq!((q * 2f64.powi(e + 100)) * 2f64.powi(-100), x);
        }
        assert_eq!(frexp(0.0), (0.0, 0));
    }

    #[test]
    fn quantize_multiplier_known_values() {
        // Values checked against TFLite's quantization_util_test.cc semantics.
        assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
        assert_eq!(quantize_multiplier(1.0).unwrap(), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.5).unwrap(), (1 << 30, 0));
        assert_eq!(quantize_multiplier(0.25).unwrap(), (1 << 30, -1));
        assert_eq!(quantize_multiplier(2.0).unwrap(), (1 << 30, 2));
        assert_eq!(quantize_multiplier(0.75).unwrap(), (1610612736, 0));
        assert_eq!(quantize_multiplier(-0.5).unwrap(), (-(1 << 30), 0));
        // Rounds up to 2^31 and is renormalised.
        assert_eq!(quantize_multiplier(0.999_999_999_9).unwrap(), (1 << 30, 1));
        // Flushed to zero below 2^-32.
        assert_eq!(quantize_multiplier(1e-12).unwrap(), (0, 0));
        assert!(quantize_multiplier(f64::NAN).is_err());
        assert!(quantize_multiplier(f64::INFINITY).is_err());
        // A typical conv multiplier.
        let (m, s) = quantize_multiplier(0.003_921_568_627_451).unwrap();
        assert_eq!(s, -7);
        assert!((m as f64 * 2f64.powi(s - 31) - 0.003_921_568_627_451).abs() < 1e-12);
    }

    #[test]
    fn srdhm_and_rdbp() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // VQRDMULH rounds ties toward +infinity.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2); // 1.5 -> 2
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1); // -1.5 -> -1
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1); // 0.5 -> 1
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0); // -0.5 -> 0
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 -> 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot_i16(-5, 1), -3);
        assert_eq!(
            saturating_rounding_doubling_high_mul_i16(i16::MIN, i16::MIN),
            i16::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul_i16(1 << 14, 1 << 14),
            1 << 13
        );
    }

    #[test]
    fn mbqm_matches_real_arithmetic() {
        // 100 * 0.5 = 50; 100 * 0.75 = 75; -3 * 0.5 = -1.5 -> -1 (SRDHM ties go up).
        let (m, s) = quantize_multiplier(0.5).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(100, m, s), 50);
        assert_eq!(multiply_by_quantized_multiplier(-3, m, s), -1);
        // With a right shift the second rounding is half away from zero: -3 * 0.25:
        // SRDHM(-3, 2^30) = -1, then -1 / 2 = -0.5 -> -1.
        let (m, s) = quantize_multiplier(0.25).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(-3, m, s), -1);
        // Double rounding: 81 * 0.25 = 20.25, but SRDHM gives 40.5 -> 41, then 20.5 -> 21.
        assert_eq!(multiply_by_quantized_multiplier(81, m, s), 21);
        assert_eq!(multiply_by_quantized_multiplier_single_round(81, m, s), 20);
        let (m, s) = quantize_multiplier(0.5).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(3, m, s), 2);
        let (m, s) = quantize_multiplier(0.75).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(100, m, s), 75);
        let (m, s) = quantize_multiplier(3.0).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(100, m, s), 300);
        let (m, s) = quantize_multiplier(1.0 / 3.0).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(300, m, s), 100);
        // -301 / 3 = -100.33, yet SRDHM gives -200.67 -> -201, then -100.5 -> -101.
        assert_eq!(multiply_by_quantized_multiplier(-301, m, s), -101);
        // Single rounding agrees away from ties.
        let (m, s) = (1_073_741_825, -1); // ~0.25 + 2^-31
        let d = multiply_by_quantized_multiplier(2, m, s);
        let single = multiply_by_quantized_multiplier_single_round(2, m, s);
        assert_eq!(d, 1);
        assert_eq!(single, 1);
        // i64 variant.
        let (m, s) = quantize_multiplier(0.5).unwrap();
        assert_eq!(
            multiply_by_quantized_multiplier_i64(1_000_000_001, m, s),
            500_000_001
        );
        assert_eq!(multiply_by_quantized_multiplier_i64(-3, m, s), -1);
    }

    #[test]
    fn brute_force_against_f64_model() {
        // For multipliers < 1 the double-rounding result is within 1 of round(x * real).
        let mut seed = 12345u64;
        for _ in 0..20000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let real = ((seed >> 11) as f64 / (1u64 << 53) as f64) * 0.99 + 1e-6;
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = (seed >> 40) as i32 - (1 << 23);
            let (m, s) = quantize_multiplier(real).unwrap();
            let got = multiply_by_quantized_multiplier(x, m, s) as f64;
            let exact = x as f64 * (m as f64) * 2f64.powi(s - 31);
            assert!((got - exact).abs() <= 1.0, "{x} * {real}: {got} vs {exact}");
        }
    }

    #[test]
    fn input_radius_and_softmax_scaling() {
        // Softmax with input_scale 1/16 ("kScaledDiffIntegerBits" = 5).
        let (m, ls) = preprocess_softmax_scaling(1.0, 1.0 / 16.0, 5).unwrap();
        assert_eq!((m, ls), (1 << 30, 23));
        assert_eq!(calculate_input_radius(5, ls, 31), 248);
        assert_eq!(calculate_input_radius(4, 0, 31), 2013265920);
        assert_eq!(calculate_input_radius(4, 20, 15), 0);
    }

    #[test]
    fn inv_sqrt() {
        assert_eq!(get_inv_sqrt_quantized_multiplier_exp(1, -1), (i32::MAX, 0));
        for &v in &[2i32, 3, 100, 12345, 1 << 20, 1 << 30, i32::MAX] {
            let (m, s) = get_inv_sqrt_quantized_multiplier_exp(v, -1);
            let approx = m as f64 * 2f64.powi(s - 31);
            let exact = 1.0 / (v as f64).sqrt();
            assert!(
                (approx / exact - 1.0).abs() < 1e-4,
                "{v}: {approx} vs {exact} ({m}, {s})"
            );
        }
    }

    #[test]
    fn downscale_and_log2() {
        assert_eq!(downscale_int32_to_int16_multiplier(1 << 30), 1 << 14);
        assert_eq!(downscale_int32_to_int16_multiplier(i32::MAX), i16::MAX);
        assert_eq!(checked_log2(0.25), (true, -2));
        assert!(!checked_log2(0.3).0);
        assert_eq!(count_leading_sign_bits_i32(1), 30);
        assert_eq!(count_leading_sign_bits_i32(-1), 31);
        assert_eq!(count_leading_sign_bits_i32(0), 31);
    }
}
