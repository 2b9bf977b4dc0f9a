//! Vectorized requantization of int32 accumulators to int8, bit-identical to
//! `MultiplyByQuantizedMultiplier` (double rounding) + offset + clamp.
//!
//! The AVX2 path uses two exact identities of gemmlowp's scalar code:
//! * `SaturatingRoundingDoublingHighMul(a, b) == (a·b + 2^30) >> 31` (arithmetic shift) for
//!   every pair except `a == b == i32::MIN` (the saturating case; multipliers never equal
//!   `i32::MIN`, and [`ChannelRequant::new`] falls back to scalar code if one did);
//! * `RoundingDivideByPOT` as mask / threshold / compare, lane by lane.
//!
//! A property test checks the vector path against [`multiply_by_quantized_multiplier`].

use super::quant_util::{multiply_by_quantized_multiplier, QuantizedMultiplier};
use super::{check_len, invalid};

/// Per-channel requantization parameters laid out for SIMD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRequant {
    multiplier: Vec<i32>,
    left_shift: Vec<i32>,
    right_shift: Vec<i32>,
    offset: i32,
    min: i32,
    max: i32,
    simd_ok: bool,
}

impl ChannelRequant {
    /// `out = clamp(MBQM(acc + constant[c], m[c]) + offset, min, max)` for channel `c`.
    pub fn new(multipliers: &[QuantizedMultiplier], offset: i32, min: i32, max: i32) -> Self {
        let multiplier: Vec<i32> = multipliers.iter().map(|m| m.multiplier).collect();
        let left_shift = multipliers.iter().map(|m| m.shift.clamp(0, 31)).collect();
        let right_shift = multipliers
            .iter()
            .map(|m| (-m.shift).clamp(0, 31))
            .collect();
        let simd_ok = multiplier.iter().all(|&m| m != i32::MIN)
            && multipliers.iter().all(|m| (-31..=31).contains(&m.shift));
        Self {
            multiplier,
            left_shift,
            right_shift,
            offset,
            min,
            max,
            simd_ok,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.multiplier.len()
    }

    #[inline]
    fn scalar(&self, a: i32, c: usize) -> i8 {
        let shift = self.left_shift[c] - self.right_shift[c];
        multiply_by_quantized_multiplier(a, self.multiplier[c], shift)
            .wrapping_add(self.offset)
            .clamp(self.min, self.max) as i8
    }

    /// Requantizes rows of `channels()` accumulators (`acc[r * C + c] + constant[c]`).
    pub fn rows_i8(&self, acc: &[i32], constant: &[i32], out: &mut [i8]) -> crate::Result<()> {
        let ch = self.channels();
        check_len("requant constant", constant.len(), ch)?;
        check_len("requant output", out.len(), acc.len())?;
        if ch == 0 {
            return if acc.is_empty() {
                Ok(())
            } else {
                invalid("requant: zero channels")
            };
        }
        if !acc.len().is_multiple_of(ch) {
            return invalid("requant: accumulators are not whole rows");
        }
        #[cfg(target_arch = "x86_64")]
        {
            if self.simd_ok && ch >= 8 && std::is_x86_feature_detected!("avx2") {
                for (a, o) in acc.chunks_exact(ch).zip(out.chunks_exact_mut(ch)) {
                    // SAFETY: AVX2 checked above; a, o, constant and the parameter vectors
                    // all have `ch` elements.
                    unsafe { self.row_avx2(a, constant, o) };
                }
                return Ok(());
            }
        }
        for (a, o) in acc.chunks_exact(ch).zip(out.chunks_exact_mut(ch)) {
            for c in 0..ch {
                o[c] = self.scalar(a[c].wrapping_add(constant[c]), c);
            }
        }
        Ok(())
    }

    /// # Safety
    /// Requires AVX2 and `acc.len() == out.len() == constant.len() == self.channels()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn row_avx2(&self, acc: &[i32], constant: &[i32], out: &mut [i8]) {
        use std::arch::x86_64::*;
        let ch = acc.len();
        let round = _mm256_set1_epi64x(1 << 30);
        let one = _mm256_set1_epi32(1);
        let offset = _mm256_set1_epi32(self.offset);
        let vmin = _mm256_set1_epi32(self.min);
        let vmax = _mm256_set1_epi32(self.max);
        let mut c = 0;
        while c + 8 <= ch {
            let ld = |v: &[i32]| _mm256_loadu_si256(v.as_ptr().add(c) as *const __m256i);
            let x = _mm256_add_epi32(ld(acc), ld(constant));
            let x = _mm256_sllv_epi32(x, ld(&self.left_shift));
            let m = ld(&self.multiplier);
            // SRDHM: even lanes, then odd lanes (moved to even positions).
            let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, m), round));
            let xo = _mm256_srli_epi64::<32>(x);
            let mo = _mm256_srli_epi64::<32>(m);
            let odd = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(xo, mo), round));
            let high = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
            // RoundingDivideByPOT.
            let e = ld(&self.right_shift);
            let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
            let remainder = _mm256_and_si256(high, mask);
            let threshold =
                _mm256_add_epi32(_mm256_srai_epi32::<1>(mask), _mm256_srli_epi32::<31>(high));
            let bump = _mm256_cmpgt_epi32(remainder, threshold);
            let v = _mm256_sub_epi32(_mm256_srav_epi32(high, e), bump);
            let v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, offset), vmin), vmax);
            // Narrow 8 x i32 (already in range) to 8 x i8.
            let w = _mm256_packs_epi32(v, v);
            let b = _mm256_packs_epi16(w, w);
            let lo = _mm256_castsi256_si128(b);
            let hi = _mm256_extracti128_si256::<1>(b);
            _mm_storel_epi64(
                out.as_mut_ptr().add(c) as *mut __m128i,
                _mm_unpacklo_epi32(lo, hi),
            );
            c += 8;
        }
        while c < ch {
            out[c] = self.scalar(acc[c].wrapping_add(constant[c]), c);
            c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn simd_equals_scalar(
            (ch, rows, seed, offset, lo, span) in
            (1usize..40, 1usize..5, any::<u64>(), -128i32..128, -128i32..0, 0i32..256)
        ) {
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); st };
            let mults: Vec<QuantizedMultiplier> = (0..ch).map(|_| {
                let r = rnd();
                let m = ((r >> 33) as i32).max(1 << 30);
                let s = ((r & 63) as i32) - 40; // -40..23 -> clamp below
                QuantizedMultiplier { multiplier: m, shift: s.clamp(-31, 8) }
            }).collect();
            let acc: Vec<i32> = (0..ch * rows).map(|_| {
                let r = rnd();
                match r % 4 { 0 => (r >> 32) as i32, 1 => ((r >> 40) as i32) - (1 << 23), 2 => i32::MIN + (r % 7) as i32, _ => i32::MAX - (r % 7) as i32 }
            }).collect();
            let constant: Vec<i32> = (0..ch).map(|_| (rnd() >> 48) as i32 - 30000).collect();
            let max = (lo + span).min(127);
            let rq = ChannelRequant::new(&mults, offset, lo, max);
            let mut got = vec![0i8; acc.len()];
            rq.rows_i8(&acc, &constant, &mut got).unwrap();
            for (i, &g) in got.iter().enumerate() {
                let c = i % ch;
                let want = multiply_by_quantized_multiplier(acc[i].wrapping_add(constant[c]), mults[c].multiplier, mults[c].shift)
                    .wrapping_add(offset).clamp(lo, max) as i8;
                prop_assert_eq!(g, want, "i={} acc={} m={:?}", i, acc[i], mults[c]);
            }
        }
    }
}
