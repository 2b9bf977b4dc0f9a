//! SOFTMAX, LOGISTIC and TANH on int16 activations (the 16x8 mode).
//!
//! * [`softmax_int16`] reproduces `reference_ops::SoftmaxInt16` with `activations.cc:
//!   SoftmaxPrepare` (int16 branch): input differences to the row maximum are rescaled so that
//!   `[-65535, 0]` covers `[-10, 0]`, exponentiated with a 513-entry interpolated table
//!   ([`lut_populate_int16`] of `exp` on `[-10, 0]`), summed in Q16.15, inverted with a table of
//!   `1 / (1 + x)` and the outputs produced at scale 1/32768 (zero point 0).
//! * [`logistic_int16`] / [`tanh_int16`] reproduce `reference_integer_ops::Logistic` / `Tanh`
//!   (int16): the input is rescaled to `1 / (3 · 4096)` per unit (`SigmoidPrepare` /
//!   `TanhPrepare`: a multiplier and a left shift, or the power-of-two shortcut) and looked up
//!   with linear interpolation in TFLite's 256-entry table of `sigmoid(i / 24)` in Q0.16.
//!
//! TFLite requires zero points 0 and an output scale of 1/32768 for all three; `prepare`
//! reports anything else as an error.

use super::quant_util::{checked_log2, multiply_by_quantized_multiplier, quantize_multiplier};
use super::{check_len, invalid};

/// Entries of an int16 interpolation table (512 steps + the end point).
pub const LUT16_SIZE: usize = 513;

/// TFLite `LUTPopulateInt16<double>`: a 513-entry table of `f` over the int16 input range of
/// `(input_scale, input_zero_point)`, quantized with `(output_scale, output_zero_point)`, each
/// entry biased by half the interpolation error at the step's midpoint.
pub fn lut_populate_int16(
    input_scale: f64,
    input_zero_point: i32,
    output_scale: f64,
    output_zero_point: i32,
    f: impl Fn(f64) -> f64,
) -> [i16; LUT16_SIZE] {
    let input_min = input_scale * (i16::MIN as i32 - input_zero_point) as f64;
    let input_max = input_scale * (i16::MAX as i32 - input_zero_point) as f64;
    let output_min = output_scale * (i16::MIN as i32 - output_zero_point) as f64;
    let output_max = output_scale * (i16::MAX as i32 - output_zero_point) as f64;
    const STEPS: usize = LUT16_SIZE - 1;
    let step = (input_max - input_min) / STEPS as f64;
    let half_step = step / 2.0;
    let inv = (i16::MAX as i32 - i16::MIN as i32 + 1) as f64 / (output_max - output_min);
    let (lo, hi) = (i16::MIN as f64, i16::MAX as f64);
    let mut lut = [0i16; LUT16_SIZE];
    for (i, e) in lut.iter_mut().take(STEPS).enumerate() {
        let x = input_min + i as f64 * step;
        let val = f(x);
        let val_mid = f(x + half_step);
        let val_next = f(input_min + (i + 1) as f64 * step);
        let sample = (val * inv).round();
        let mid_interp = ((val_next * inv + (val * inv).round()) / 2.0).round();
        let mid = (val_mid * inv).round();
        let bias = ((mid_interp - mid) / 2.0).round();
        *e = (sample - bias).clamp(lo, hi) as i16;
    }
    lut[STEPS] = (f(input_max) * inv).round().clamp(lo, hi) as i16;
    lut
}

/// TFLite `lut_lookup` / `generic_int16_table_lookup`: linear interpolation in a 513-entry
/// table indexed by the top 9 bits of `value`.
#[inline]
pub fn lut_lookup_int16(value: i16, lut: &[i16; LUT16_SIZE]) -> i16 {
    let index = (256 + (value >> 7) as i32) as usize;
    let offset = (value & 0x7f) as i32;
    let base = lut[index];
    let slope = lut[index + 1].wrapping_sub(base) as i32;
    let delta = (slope * offset + 64) >> 7;
    (base as i32 + delta) as i16
}

/// Prepared int16 softmax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Softmax16Params {
    /// Multiplier of `input_scale · beta / (10 / 65535)`.
    pub input_multiplier: i32,
    /// Its shift (positive = left).
    pub input_shift: i32,
    /// `exp` on `[-10, 0]`.
    pub exp_lut: Box<[i16; LUT16_SIZE]>,
    /// `1 / (1 + x)` on `[0, 1]`.
    pub one_over_one_plus_x_lut: Box<[i16; LUT16_SIZE]>,
}

impl Softmax16Params {
    /// `SoftmaxPrepare` for int16 input and output (both zero points must be 0).
    pub fn prepare(
        beta: f32,
        input_scale: f32,
        input_zero_point: i32,
        output_scale: f32,
        output_zero_point: i32,
    ) -> crate::Result<Self> {
        if input_zero_point != 0 || output_zero_point != 0 {
            return invalid("int16 softmax: input and output zero points must be 0");
        }
        if (output_scale - 1.0 / 32768.0).abs() > 0.001 / 32768.0 {
            return invalid(format!(
                "int16 softmax: output scale {output_scale} must be 1/32768"
            ));
        }
        if !(input_scale.is_finite() && input_scale > 0.0 && beta.is_finite()) {
            return invalid("int16 softmax: invalid input scale or beta");
        }
        let rescale = (input_scale * beta) as f64 / (10.0 / 65535.0);
        let (input_multiplier, input_shift) = quantize_multiplier(rescale)?;
        let range = (i16::MAX as i32 - i16::MIN as i32) as f64;
        let exp_lut = lut_populate_int16(10.0 / range, i16::MAX as i32, 2.0 / range, 0, f64::exp);
        let one_over = lut_populate_int16(1.0 / range, i16::MIN as i32, 2.0 / range, 0, |x| {
            1.0 / (1.0 + x)
        });
        Ok(Self {
            input_multiplier,
            input_shift,
            exp_lut: Box::new(exp_lut),
            one_over_one_plus_x_lut: Box::new(one_over),
        })
    }
}

/// `reference_ops::SoftmaxInt16` over rows of `depth` elements.
pub fn softmax_int16(
    p: &Softmax16Params,
    input: &[i16],
    depth: usize,
    output: &mut [i16],
) -> crate::Result<()> {
    check_len("int16 softmax output", output.len(), input.len())?;
    if depth == 0 || !input.len().is_multiple_of(depth) {
        return if input.is_empty() {
            Ok(())
        } else {
            invalid(format!(
                "int16 softmax: {} elements are not rows of {depth}",
                input.len()
            ))
        };
    }
    for (row, out) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max_in_row = row.iter().copied().max().unwrap_or(i16::MIN) as i32;
        let mut sum_of_exps: i32 = 0;
        for (o, &x) in out.iter_mut().zip(row) {
            let diff = x as i32 - max_in_row;
            let scaled = multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_shift);
            let sym = scaled.wrapping_add(32767).clamp(-32768, 32767) as i16;
            *o = lut_lookup_int16(sym, &p.exp_lut);
            sum_of_exps = sum_of_exps.wrapping_add(*o as i32);
        }
        let headroom_plus_one = (sum_of_exps as u32).leading_zeros() as i32;
        if headroom_plus_one == 0 || headroom_plus_one > 31 {
            return invalid("int16 softmax: degenerate sum of exponentials");
        }
        let shifted_sum = (((sum_of_exps as i64) << (headroom_plus_one - 1)) + (1 << 13)) >> 14;
        let sym_shifted_sum = (shifted_sum as i32).wrapping_add(-((1 << 15) + (1 << 16)));
        let sat = sym_shifted_sum.clamp(-32768, 32767) as i16;
        let reciprocal = lut_lookup_int16(sat, &p.one_over_one_plus_x_lut) as i64;
        let right_shift = 31 - headroom_plus_one;
        let round: i64 = if right_shift > 0 {
            1 << (right_shift - 1)
        } else {
            0
        };
        for o in out.iter_mut() {
            let r = ((*o as i64 * reciprocal + round) >> right_shift) as i32;
            *o = r.clamp(0, 32767) as i16;
        }
    }
    Ok(())
}

/// TFLite's table of `sigmoid(i / 24)` in Q0.16 (`sigmoid_table_uint16`), shared by the int16
/// logistic and tanh (`tanh(x) = 2 · sigmoid(2x) - 1`).
#[rustfmt::skip]
const SIGMOID_TABLE_U16: [u16; 256] = [
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
];

/// Prepared int16 LOGISTIC or TANH (`SigmoidPrepare` / `TanhPrepare`, int16 branch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sigmoid16Params {
    /// Input multiplier (0 = the power-of-two shortcut).
    pub input_multiplier: i32,
    /// Input left shift.
    pub input_left_shift: i32,
}

impl Sigmoid16Params {
    fn prepare_with(
        what: &str,
        pot_shift_ok: impl Fn(i32) -> bool,
        input_scale: f32,
        input_zero_point: i32,
        output_scale: f32,
        output_zero_point: i32,
    ) -> crate::Result<Self> {
        if input_zero_point != 0 || output_zero_point != 0 {
            return invalid(format!(
                "int16 {what}: input and output zero points must be 0"
            ));
        }
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return invalid(format!("int16 {what}: invalid input scale {input_scale}"));
        }
        const INPUT_INTEGER_BITS: i32 = 3;
        const OUTPUT_FRACTIONAL_BITS: i32 = 15;
        let (mut pot, log2) = checked_log2(input_scale);
        let mut input_left_shift = (15 - INPUT_INTEGER_BITS) + log2;
        pot &= pot_shift_ok(input_left_shift);
        let mut input_multiplier = 0;
        if !pot {
            let mut multiplier = input_scale as f64 * 4096.0 * 3.0;
            input_left_shift = 0;
            while multiplier <= 32767.0 / 2.0 && input_left_shift <= 30 {
                input_left_shift += 1;
                multiplier *= 2.0;
            }
            input_multiplier = multiplier as i32;
        }
        let (out_pot, out_log2) = checked_log2(output_scale);
        if !out_pot || out_log2 != -OUTPUT_FRACTIONAL_BITS {
            return invalid(format!(
                "int16 {what}: output scale {output_scale} must be 1/32768"
            ));
        }
        if input_left_shift < 0 {
            return invalid(format!("int16 {what}: input scale {input_scale} too large"));
        }
        Ok(Self {
            input_multiplier,
            input_left_shift,
        })
    }

    /// Preparation of the int16 LOGISTIC.
    pub fn prepare_logistic(
        input_scale: f32,
        input_zero_point: i32,
        output_scale: f32,
        output_zero_point: i32,
    ) -> crate::Result<Self> {
        Self::prepare_with(
            "logistic",
            |s| s == 0,
            input_scale,
            input_zero_point,
            output_scale,
            output_zero_point,
        )
    }

    /// Preparation of the int16 TANH.
    pub fn prepare_tanh(
        input_scale: f32,
        input_zero_point: i32,
        output_scale: f32,
        output_zero_point: i32,
    ) -> crate::Result<Self> {
        Self::prepare_with(
            "tanh",
            |s| s == 0 || s == 1,
            input_scale,
            input_zero_point,
            output_scale,
            output_zero_point,
        )
    }

    /// The effective `(multiplier, left_shift, rounding)` of the reference loops.
    fn effective(&self) -> (i32, i32, i32) {
        let (m, s) = if self.input_multiplier == 0 {
            (3i32.wrapping_shl(self.input_left_shift as u32), 0)
        } else {
            (self.input_multiplier, self.input_left_shift)
        };
        let round = if s > 0 { 1 << (s - 1) } else { 0 };
        (m, s, round)
    }
}

/// `reference_integer_ops::Logistic` (int16).
pub fn logistic_int16(p: &Sigmoid16Params, input: &[i16], output: &mut [i16]) -> crate::Result<()> {
    check_len("int16 logistic output", output.len(), input.len())?;
    let (m, s, round) = p.effective();
    for (o, &x) in output.iter_mut().zip(input) {
        let v = (x as i32).wrapping_mul(m).wrapping_add(round) >> s;
        let abs = v.unsigned_abs();
        let uh = abs >> 9;
        let mut result: u32 = if uh >= 255 {
            0x7FFF << 10
        } else {
            let ua = SIGMOID_TABLE_U16[uh as usize] as u32;
            let ub = SIGMOID_TABLE_U16[uh as usize + 1] as u32;
            let ut = abs & 0x1ff;
            (ua << 9).wrapping_add(ut.wrapping_mul(ub.wrapping_sub(ua)))
        };
        result = if v >= 0 {
            result.wrapping_add(1 << 9)
        } else {
            (1u32 << (16 + 9))
                .wrapping_sub(result)
                .wrapping_add(1 << 9)
                .wrapping_sub(1)
        };
        *o = (result >> 10) as i16;
    }
    Ok(())
}

/// `reference_integer_ops::Tanh` (int16).
pub fn tanh_int16(p: &Sigmoid16Params, input: &[i16], output: &mut [i16]) -> crate::Result<()> {
    check_len("int16 tanh output", output.len(), input.len())?;
    let (m, s, round) = p.effective();
    for (o, &x) in output.iter_mut().zip(input) {
        let v = (x as i32).wrapping_mul(m).wrapping_add(round) >> s;
        let abs = v.unsigned_abs();
        let uh = abs >> 8;
        let mut result: i32 = if uh >= 255 {
            0xFFFF << 8
        } else {
            let ua = SIGMOID_TABLE_U16[uh as usize] as u32;
            let ub = SIGMOID_TABLE_U16[uh as usize + 1] as u32;
            let ut = abs & 0xff;
            (ua << 8).wrapping_add(ut.wrapping_mul(ub.wrapping_sub(ua))) as i32
        };
        result = if v >= 0 {
            result
                .wrapping_sub(1 << (14 + 9))
                .wrapping_add(1 << (9 - 2))
        } else {
            result
                .wrapping_neg()
                .wrapping_add(1 << (14 + 9))
                .wrapping_add(1 << (9 - 2))
                .wrapping_sub(1)
        };
        *o = (result >> (9 - 1)) as i16;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_int16_is_a_distribution() {
        // Float golden: softmax of [0, 1, 2, 3] at input scale 1/1024.
        let scale = 1.0 / 1024.0;
        let xs = [0.0f32, 1.0, 2.0, 3.0];
        let q: Vec<i16> = xs.iter().map(|x| (x / scale) as i16).collect();
        let p = Softmax16Params::prepare(1.0, scale, 0, 1.0 / 32768.0, 0).unwrap();
        let mut out = [0i16; 4];
        softmax_int16(&p, &q, 4, &mut out).unwrap();
        let e: Vec<f32> = xs.iter().map(|x| x.exp()).collect();
        let s: f32 = e.iter().sum();
        for (o, v) in out.iter().zip(&e) {
            let want = v / s;
            assert!((*o as f32 / 32768.0 - want).abs() < 2e-3, "{out:?}");
        }
        assert!(Softmax16Params::prepare(1.0, scale, 1, 1.0 / 32768.0, 0).is_err());
    }

    #[test]
    fn logistic_and_tanh_int16_float_golden() {
        let scale = 1.0 / 4096.0; // POT: the shortcut path for both.
        let xs = [-6.0f32, -1.0, -0.25, 0.0, 0.5, 2.0, 7.5];
        let q: Vec<i16> = xs.iter().map(|x| (x / scale) as i16).collect();
        for non_pot in [false, true] {
            let s = if non_pot { scale * 1.3 } else { scale };
            let q: Vec<i16> = xs.iter().map(|x| (x / s) as i16).collect();
            let pl = Sigmoid16Params::prepare_logistic(s, 0, 1.0 / 32768.0, 0).unwrap();
            let pt = Sigmoid16Params::prepare_tanh(s, 0, 1.0 / 32768.0, 0).unwrap();
            let (mut l, mut t) = (vec![0i16; q.len()], vec![0i16; q.len()]);
            logistic_int16(&pl, &q, &mut l).unwrap();
            tanh_int16(&pt, &q, &mut t).unwrap();
            for (i, &x) in q.iter().enumerate() {
                let xf = x as f32 * s;
                let lw = 1.0 / (1.0 + (-xf).exp());
                assert!(
                    (l[i] as f32 / 32768.0 - lw).abs() < 1e-3,
                    "logistic({xf}) {}",
                    l[i]
                );
                assert!(
                    (t[i] as f32 / 32768.0 - xf.tanh()).abs() < 1e-3,
                    "tanh({xf}) {}",
                    t[i]
                );
            }
        }
        let _ = q;
    }

    #[test]
    fn lut_end_points() {
        let range = 65535.0;
        let lut = lut_populate_int16(10.0 / range, 32767, 2.0 / range, 0, f64::exp);
        assert_eq!(lut[512], 32767); // exp(0) = 1 saturates.
        assert!(lut[0] <= 2); // exp(-10) ~ 4.5e-5.
        assert!(lut_lookup_int16(32767, &lut) > 32700);
    }
}
