//! Vectorized per-tensor QUANTIZE float32 → int8 / uint8, identical to
//! [`quantize`](super::quantize::quantize) (`reference_ops::AffineQuantize`:
//! `clamp(round(x / scale) + zero_point)`, round half away from zero, NaN → `zero_point`).
//!
//! The AVX2 path divides in `f32` exactly like the scalar code, then rounds half away from
//! zero without a library call: `t = trunc(q)`, `q − t` is exact, and `t ± 1` is taken when
//! `|q − t| ≥ 0.5`. Values are clamped to ±2²⁴ (exact in `f32`, far outside any 8-bit range)
//! before the integer conversion, so the final clamp gives the reference's result; NaN
//! becomes 0 before the zero point is added. A property test checks equality with the scalar
//! reference, including halves, infinities and NaN.

use super::{check_len, QParams, QuantInt};

/// 8-bit outputs of [`quantize_8bit`].
pub trait Quant8: QuantInt {
    /// Whether the type is unsigned (`u8`).
    const UNSIGNED: bool;
}
impl Quant8 for i8 {
    const UNSIGNED: bool = false;
}
impl Quant8 for u8 {
    const UNSIGNED: bool = true;
}

/// `reference_ops::AffineQuantize` into `i8` or `u8`, vectorized when the CPU has AVX2.
/// Same contract and results as [`quantize`](super::quantize::quantize).
pub fn quantize_8bit<T: Quant8>(q: QParams, input: &[f32], output: &mut [T]) -> crate::Result<()> {
    q.check::<T>("quantize output")?;
    check_len("quantize output", output.len(), input.len())?;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 checked; `i8`/`u8` have the layout of `u8`; input and output have
            // the same length (checked above).
            done = unsafe {
                avx2::run(
                    q,
                    T::UNSIGNED,
                    input,
                    std::slice::from_raw_parts_mut(output.as_mut_ptr() as *mut u8, output.len()),
                )
            };
        }
    }
    super::quantize::quantize(q, &input[done..], &mut output[done..])
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::QParams;
    use std::arch::x86_64::*;

    /// Quantizes whole blocks of 8 values; returns how many were written.
    ///
    /// # Safety
    /// AVX2; `out.len() == input.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run(q: QParams, unsigned: bool, input: &[f32], out: &mut [u8]) -> usize {
        let n = input.len() / 8 * 8;
        let scale = _mm256_set1_ps(q.scale);
        let sign = _mm256_set1_ps(-0.0);
        let half = _mm256_set1_ps(0.5);
        let one = _mm256_set1_ps(1.0);
        let big = _mm256_set1_ps(16_777_216.0);
        let nbig = _mm256_set1_ps(-16_777_216.0);
        let zp = _mm256_set1_epi32(q.zero_point);
        let (lo, hi) = if unsigned { (0, 255) } else { (-128, 127) };
        let (vlo, vhi) = (_mm256_set1_epi32(lo), _mm256_set1_epi32(hi));
        let mut i = 0;
        while i < n {
            let x = _mm256_loadu_ps(input.as_ptr().add(i));
            let v = _mm256_div_ps(x, scale);
            let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(v);
            let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
            let up = _mm256_cmp_ps::<_CMP_GE_OQ>(frac, half);
            let step = _mm256_or_ps(_mm256_and_ps(v, sign), one);
            let r = _mm256_add_ps(t, _mm256_and_ps(up, step));
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v);
            let r = _mm256_andnot_ps(nan, r);
            let r = _mm256_min_ps(_mm256_max_ps(r, nbig), big);
            let k = _mm256_add_epi32(_mm256_cvtps_epi32(r), zp);
            let k = _mm256_min_epi32(_mm256_max_epi32(k, vlo), vhi);
            // Narrow 8 × i32 (in range) to 8 bytes.
            let w = _mm256_packs_epi32(k, k);
            let b = if unsigned {
                _mm256_packus_epi16(w, w)
            } else {
                _mm256_packs_epi16(w, w)
            };
            let bytes =
                _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256::<1>(b));
            _mm_storel_epi64(out.as_mut_ptr().add(i) as *mut __m128i, bytes);
            i += 8;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::super::quantize::quantize;
    use super::*;
    use proptest::prelude::*;

    fn check<T: Quant8 + PartialEq + std::fmt::Debug>(q: QParams, x: &[f32]) {
        let mut want = vec![T::default(); x.len()];
        let mut got = vec![T::default(); x.len()];
        quantize(q, x, &mut want).unwrap();
        quantize_8bit(q, x, &mut got).unwrap();
        assert_eq!(want, got, "scale {} zp {}", q.scale, q.zero_point);
    }

    #[test]
    fn halves_and_specials() {
        let mut x: Vec<f32> = (-600..600).map(|i| i as f32 * 0.25).collect();
        x.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            0.49999997,
            -0.49999997,
            1e30,
            -1e30,
            8_388_607.5,
            -8_388_607.5,
            f32::MIN_POSITIVE,
        ]);
        for (scale, zp) in [(1.0, 0), (0.5, -3), (0.25, 100), (3.0, -128), (1e-3, 7)] {
            check::<i8>(QParams::new(scale, zp), &x);
        }
        for (scale, zp) in [(1.0, 0), (0.5, 128), (0.25, 255), (7.0, 3)] {
            check::<u8>(QParams::new(scale, zp), &x);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn simd_equals_reference(
            xs in proptest::collection::vec(any::<f32>(), 0..67),
            ys in proptest::collection::vec(-300.0f32..300.0, 0..67),
            scale in 1e-4f32..10.0,
            zp in -128i32..128,
        ) {
            let mut x = xs;
            x.extend(ys);
            check::<i8>(QParams::new(scale, zp), &x);
            check::<u8>(QParams::new(scale, zp + 128), &x);
        }
    }
}
