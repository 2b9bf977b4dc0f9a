//! Scalar port of gemmlowp's `fixedpoint.h` math used by TFLite's reference integer kernels.
//!
//! A value `FixedPoint<int32_t, IB>` is represented by its raw `i32`; the integer-bit count is
//! passed explicitly (const generic or argument). Multiplication of raws is
//! [`saturating_rounding_doubling_high_mul`] (integer bits add up), `Rescale` is
//! [`saturating_rounding_multiply_by_pot`]. Plain `+`/`-` on raws wrap, as gemmlowp's do on
//! every supported compiler.

use super::quant_util::{
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
    saturating_rounding_multiply_by_pot,
};

/// Raw `FixedPoint` multiplication (`operator*`): the result has `IB_a + IB_b` integer bits.
#[inline]
pub fn mul(a: i32, b: i32) -> i32 {
    saturating_rounding_doubling_high_mul(a, b)
}

/// gemmlowp `Rescale<dst>(x)` from `src` integer bits.
#[inline]
pub fn rescale(x: i32, src_integer_bits: i32, dst_integer_bits: i32) -> i32 {
    saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)
}

/// gemmlowp `RoundingHalfSum` for `i32`.
#[inline]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign: i64 = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `FixedPoint<int32_t, IB>::One()` raw value.
#[inline]
pub const fn one(integer_bits: i32) -> i32 {
    if integer_bits == 0 {
        i32::MAX
    } else {
        1 << (31 - integer_bits)
    }
}

/// gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl` (Q0.31 in, Q0.31 out).
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1895147668; // exp(-1/8)
    const CONSTANT_1_OVER_3: i32 = 715827883;
    let x = a.wrapping_add(1 << 28); // a + 1/8
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let x4_over_24_plus_x3_over_6_plus_x2_over_2 = saturating_rounding_multiply_by_pot(
        mul(x4_over_4.wrapping_add(x3), CONSTANT_1_OVER_3).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(mul(
        CONSTANT_TERM,
        x.wrapping_add(x4_over_24_plus_x3_over_6_plus_x2_over_2),
    ))
}

/// gemmlowp `exp_on_negative_values<IB>`: `exp(a)` for `a <= 0` given as `Q(IB)`, result Q0.31.
pub fn exp_on_negative_values<const IB: i32>(a: i32) -> i32 {
    let fractional_bits = 31 - IB;
    let one_quarter: i32 = 1 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(
        a_mod_quarter_minus_one_quarter,
        IB,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    const BARREL: [(i32, i32); 7] = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ];
    for (exponent, multiplier) in BARREL {
        if IB > exponent {
            let shift = fractional_bits + exponent;
            if remainder & (1i32 << shift) != 0 {
                result = mul(result, multiplier);
            }
        }
    }
    if IB > 5 {
        let clamp = -(1i32 << (36 - IB));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = one(0);
    }
    result
}

/// gemmlowp `one_over_one_plus_x_for_x_in_0_1` (Q0.31 in and out).
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, one(0));
    const C48_OVER_17: i32 = 1515870810;
    const CNEG32_OVER_17: i32 = -1010580540;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = one(2).wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(rescale(mul(x, one_minus), 4, 2));
    }
    // ExactMulByPot<-1> (F2 -> F1, same raw) then Rescale<0>.
    rescale(x, 1, 0)
}

/// gemmlowp `one_minus_x_over_one_plus_x_for_x_in_0_1` (Q0.31 in and out).
pub fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, one(0));
    const C48_OVER_17: i32 = 1515870810;
    const CNEG32_OVER_17: i32 = -1010580540;
    let mut x = C48_OVER_17.wrapping_add(mul(half_denominator, CNEG32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = one(2).wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(rescale(mul(x, one_minus), 4, 2));
    }
    rescale(x.wrapping_sub(one(2)), 2, 0)
}

/// gemmlowp `logistic<IB>`: `1 / (1 + exp(-a))`, Q(IB) in, Q0.31 out.
pub fn logistic<const IB: i32>(a: i32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let positive = a > 0;
    let abs_input = if positive { a } else { a.wrapping_neg() };
    let result_if_positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values::<IB>(abs_input.wrapping_neg()));
    if positive {
        result_if_positive
    } else {
        one(0).wrapping_sub(result_if_positive)
    }
}

/// gemmlowp `tanh<IB>`: Q(IB) in, Q0.31 out. `IB1` must be `IB + 1` (stable Rust cannot
/// compute it from `IB`).
pub fn tanh<const IB: i32, const IB1: i32>(a: i32) -> i32 {
    if a == 0 {
        return 0;
    }
    let negative = a < 0;
    let n = if negative { a } else { a.wrapping_neg() };
    // neg_tanh_on_negative_values: ExactMulByPot<1> turns Q(IB) into Q(IB+1), same raw.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values::<IB1>(n));
    if negative {
        t.wrapping_neg()
    } else {
        t
    }
}

/// `RoundingDivideByPOT` re-export for kernels that downcast Q0.31 results.
#[inline]
pub fn round_shift(x: i32, exponent: i32) -> i32 {
    rounding_divide_by_pot(x, exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_f(raw: i32, ib: i32) -> f64 {
        raw as f64 / 2f64.powi(31 - ib)
    }

    fn from_f(x: f64, ib: i32) -> i32 {
        (x * 2f64.powi(31 - ib)).round() as i32
    }

    #[test]
    fn exp_accuracy() {
        for i in 0..200 {
            let x = -(i as f64) * 0.1;
            let got = to_f(exp_on_negative_values::<5>(from_f(x, 5)), 0);
            assert!((got - x.exp()).abs() < 2e-7, "exp({x}) = {got}");
        }
        assert_eq!(exp_on_negative_values::<5>(0), i32::MAX);
    }

    #[test]
    fn reciprocal_logistic_tanh_accuracy() {
        for i in 1..100 {
            let x = i as f64 / 100.0;
            let got = to_f(one_over_one_plus_x_for_x_in_0_1(from_f(x, 0)), 0);
            assert!((got - 1.0 / (1.0 + x)).abs() < 1e-8);
            let got = to_f(one_minus_x_over_one_plus_x_for_x_in_0_1(from_f(x, 0)), 0);
            assert!((got - (1.0 - x) / (1.0 + x)).abs() < 1e-8);
        }
        for i in -70..70 {
            let x = i as f64 / 10.0;
            let got = to_f(logistic::<4>(from_f(x, 4)), 0);
            assert!(
                (got - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6,
                "logistic({x})"
            );
            let got = to_f(tanh::<4, 5>(from_f(x, 4)), 0);
            assert!((got - x.tanh()).abs() < 1e-6, "tanh({x}) = {got}");
        }
    }
}
