//! AVX-512 twins of the 8-bit [`add`](super::add::add) (ADD / SUB) and
//! [`mul`](super::mul::mul) kernels.
//!
//! Sixteen lanes of `i32` reproduce the reference arithmetic step by step: the left shift by
//! 20, `SaturatingRoundingDoublingHighMul` as `(a·b + 2³⁰) >> 31` (equal to gemmlowp's
//! truncating division with its sign-dependent nudge; the multipliers are never `INT32_MIN`,
//! so the saturating case cannot occur), `RoundingDivideByPOT` with the reference's
//! remainder/threshold test, the output offset and the activation clamp. Operands that repeat
//! along the trailing dimensions (per-channel constants such as folded batch-norm parameters)
//! have their per-channel terms computed once per call with the scalar functions.
//!
//! Supported layouts: equal shapes, or one operand repeating along the trailing dimensions of
//! the other; [`binary8`] returns `Ok(false)` for anything else (and on CPUs without
//! AVX-512F/BW) so the caller can use another kernel. A property test checks exact equality
//! with the reference kernels.

use super::add::AddParams;
use super::binary_lut::Int8;
use super::broadcast::repeats_trailing;
use super::mul::MulParams;
use super::quant_util::multiply_by_quantized_multiplier_smaller_than_one_exp;
use super::{check_len, numel};

/// The op of [`binary8`].
#[derive(Clone, Copy, Debug)]
pub enum Binary8<'a> {
    /// ADD or SUB (`AddParams::subtract`).
    Add(&'a AddParams),
    /// MUL.
    Mul(&'a MulParams),
}

/// Whether this CPU can run the AVX-512 element-wise kernels (F, BW, VL).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Which operand repeats along the trailing dimensions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Same,
    /// The second operand repeats every `b.len()` elements.
    RepeatB,
    /// The first operand repeats every `a.len()` elements.
    RepeatA,
}

/// Whether [`binary8`] runs for operands of these shapes on this CPU (equal shapes, or one
/// operand repeating along the trailing dimensions of the other).
pub fn supported(a_shape: &[usize], b_shape: &[usize]) -> bool {
    let Ok(out) = super::broadcast::broadcast_shape(a_shape, b_shape) else {
        return false;
    };
    let (na, nb, no) = (
        a_shape.iter().product::<usize>(),
        b_shape.iter().product::<usize>(),
        out.iter().product::<usize>(),
    );
    let full_a = na == no;
    let full_b = nb == no;
    available()
        && na > 0
        && nb > 0
        && ((full_a && (full_b || repeats_trailing(b_shape, &out)))
            || (full_b && repeats_trailing(a_shape, &out)))
}

/// Element-wise 8-bit op on `i8` or `u8` data with the reference arithmetic. Returns
/// `Ok(false)` without writing when the layout or the CPU is not supported (see
/// [`supported`]).
pub fn binary8<T: Int8>(
    op: Binary8<'_>,
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out: &mut [T],
) -> crate::Result<bool> {
    let unsigned = T::MIN == 0;
    // SAFETY: i8 and u8 have the same size and alignment as u8; every bit pattern is valid.
    let (a, b, out) = unsafe {
        (
            std::slice::from_raw_parts(a.as_ptr() as *const u8, a.len()),
            std::slice::from_raw_parts(b.as_ptr() as *const u8, b.len()),
            std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, out.len()),
        )
    };
    check_len("broadcast lhs", a.len(), numel(a_shape)?)?;
    check_len("broadcast rhs", b.len(), numel(b_shape)?)?;
    let out_shape = super::broadcast::broadcast_shape(a_shape, b_shape)?;
    check_len("broadcast output", out.len(), numel(&out_shape)?)?;
    if !available() || a.is_empty() || b.is_empty() {
        return Ok(false);
    }
    let layout = if a.len() == out.len() && b.len() == out.len() {
        Layout::Same
    } else if a.len() == out.len() && repeats_trailing(b_shape, &out_shape) {
        Layout::RepeatB
    } else if b.len() == out.len() && repeats_trailing(a_shape, &out_shape) {
        Layout::RepeatA
    } else {
        return Ok(false);
    };
    if let Binary8::Add(p) = op {
        // The vector path uses 32-bit shifts; TFLite's 8-bit ADD always shifts by 20.
        if p.left_shift != 20 {
            return Ok(false);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AVX-512F/BW checked by `available()`; lengths checked above (the repeating
        // operand's length divides the output length).
        unsafe { avx512::run(op, unsigned, layout, a, b, out) };
        Ok(true)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (op, unsigned, layout);
        Ok(false)
    }
}

/// The input-side term of ADD for one value: `MBQM<1((v + offset) << shift, m, s)`.
fn add_term(v: i32, offset: i32, left_shift: i32, (m, s): (i32, i32)) -> i32 {
    multiply_by_quantized_multiplier_smaller_than_one_exp(
        (offset + v).wrapping_mul(1 << left_shift),
        m,
        s,
    )
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use super::{add_term, Binary8, Layout};
    use std::arch::x86_64::*;

    /// `RoundingDivideByPOT(SRDHM(x << left, m), right)` on 16 lanes (TFLite's
    /// `MultiplyByQuantizedMultiplier`, multiplier ≠ INT32_MIN).
    ///
    /// # Safety
    /// AVX-512F/BW/VL.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(crate) unsafe fn mbqm(x: __m512i, m: __m512i, left: __m512i, right: __m512i) -> __m512i {
        let round = _mm512_set1_epi64(1 << 30);
        let one = _mm512_set1_epi32(1);
        let x = _mm512_sllv_epi32(x, left);
        let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epi32(x, m), round));
        let odd = _mm512_srli_epi64::<31>(_mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), _mm512_srli_epi64::<32>(m)),
            round,
        ));
        let high = _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd));
        let mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
        let remainder = _mm512_and_si512(high, mask);
        let threshold =
            _mm512_add_epi32(_mm512_srai_epi32::<1>(mask), _mm512_srli_epi32::<31>(high));
        let bump = _mm512_cmpgt_epi32_mask(remainder, threshold);
        let q = _mm512_srav_epi32(high, right);
        _mm512_mask_add_epi32(q, bump, q, one)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(p: *const u8, mask: u16, unsigned: bool) -> __m512i {
        let v = _mm_maskz_loadu_epi8(mask, p as *const i8);
        if unsigned {
            _mm512_cvtepu8_epi32(v)
        } else {
            _mm512_cvtepi8_epi32(v)
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn store(p: *mut u8, mask: u16, v: __m512i, unsigned: bool) {
        if unsigned {
            _mm512_mask_cvtusepi32_storeu_epi8(p as *mut i8, mask, v);
        } else {
            _mm512_mask_cvtsepi32_storeu_epi8(p as *mut i8, mask, v);
        }
    }

    fn split(s: i32) -> (i32, i32) {
        (s.clamp(0, 31), (-s).clamp(0, 31))
    }

    /// # Safety
    /// AVX-512F/BW; `out.len()` equals the full operand's length and is a multiple of the
    /// repeating operand's length.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn run(
        op: Binary8<'_>,
        unsigned: bool,
        layout: Layout,
        a: &[u8],
        b: &[u8],
        out: &mut [u8],
    ) {
        let val = |v: u8| if unsigned { v as i32 } else { v as i8 as i32 };
        let n = out.len();
        // The repeating operand's per-position term (in i32), if any.
        let (rep, rep_len): (&[u8], usize) = match layout {
            Layout::Same => (&[], 0),
            Layout::RepeatB => (b, b.len()),
            Layout::RepeatA => (a, a.len()),
        };
        match op {
            Binary8::Add(p) => {
                let (m1, s1) = p.input1_multiplier;
                let (m2, s2) = p.input2_multiplier;
                let (mo, so) = p.output_multiplier;
                let (l1, r1) = split(s1);
                let (l2, r2) = split(s2);
                let (lo, ro) = split(so);
                let (vm1, vl1, vr1) = (
                    _mm512_set1_epi32(m1),
                    _mm512_set1_epi32(l1),
                    _mm512_set1_epi32(r1),
                );
                let (vm2, vl2, vr2) = (
                    _mm512_set1_epi32(m2),
                    _mm512_set1_epi32(l2),
                    _mm512_set1_epi32(r2),
                );
                let (vmo, vlo, vro) = (
                    _mm512_set1_epi32(mo),
                    _mm512_set1_epi32(lo),
                    _mm512_set1_epi32(ro),
                );
                let (o1, o2) = (
                    _mm512_set1_epi32(p.input1_offset),
                    _mm512_set1_epi32(p.input2_offset),
                );
                let shift = _mm512_set1_epi32(p.left_shift);
                let (offset, vmin, vmax) = (
                    _mm512_set1_epi32(p.output_offset),
                    _mm512_set1_epi32(p.act_min),
                    _mm512_set1_epi32(p.act_max),
                );
                let terms: Vec<i32> = match layout {
                    Layout::RepeatB => rep
                        .iter()
                        .map(|&v| {
                            add_term(val(v), p.input2_offset, p.left_shift, p.input2_multiplier)
                        })
                        .collect(),
                    Layout::RepeatA => rep
                        .iter()
                        .map(|&v| {
                            add_term(val(v), p.input1_offset, p.left_shift, p.input1_multiplier)
                        })
                        .collect(),
                    Layout::Same => Vec::new(),
                };
                let term1 = |x: __m512i| {
                    mbqm(
                        _mm512_add_epi32(x, o1),
                        vm1,
                        _mm512_add_epi32(vl1, shift),
                        vr1,
                    )
                };
                let term2 = |y: __m512i| {
                    mbqm(
                        _mm512_add_epi32(y, o2),
                        vm2,
                        _mm512_add_epi32(vl2, shift),
                        vr2,
                    )
                };
                let finish = |s1: __m512i, s2: __m512i| {
                    let raw = if p.subtract {
                        _mm512_sub_epi32(s1, s2)
                    } else {
                        _mm512_add_epi32(s1, s2)
                    };
                    let v = _mm512_add_epi32(mbqm(raw, vmo, vlo, vro), offset);
                    _mm512_min_epi32(_mm512_max_epi32(v, vmin), vmax)
                };
                each(n, rep_len, |i, c, mask| {
                    let v = match layout {
                        Layout::Same => finish(
                            term1(load(a.as_ptr().add(i), mask, unsigned)),
                            term2(load(b.as_ptr().add(i), mask, unsigned)),
                        ),
                        Layout::RepeatB => finish(
                            term1(load(a.as_ptr().add(i), mask, unsigned)),
                            _mm512_maskz_loadu_epi32(mask, terms.as_ptr().add(c)),
                        ),
                        Layout::RepeatA => finish(
                            _mm512_maskz_loadu_epi32(mask, terms.as_ptr().add(c)),
                            term2(load(b.as_ptr().add(i), mask, unsigned)),
                        ),
                    };
                    store(out.as_mut_ptr().add(i), mask, v, unsigned);
                });
            }
            Binary8::Mul(p) => {
                let (l, r) = split(p.output_shift);
                let (vm, vl, vr) = (
                    _mm512_set1_epi32(p.output_multiplier),
                    _mm512_set1_epi32(l),
                    _mm512_set1_epi32(r),
                );
                let (o1, o2) = (
                    _mm512_set1_epi32(p.input1_offset),
                    _mm512_set1_epi32(p.input2_offset),
                );
                let (offset, vmin, vmax) = (
                    _mm512_set1_epi32(p.output_offset),
                    _mm512_set1_epi32(p.act_min),
                    _mm512_set1_epi32(p.act_max),
                );
                let terms: Vec<i32> = match layout {
                    Layout::RepeatB => rep.iter().map(|&v| val(v) + p.input2_offset).collect(),
                    Layout::RepeatA => rep.iter().map(|&v| val(v) + p.input1_offset).collect(),
                    Layout::Same => Vec::new(),
                };
                let finish = |x: __m512i, y: __m512i| {
                    let prod = _mm512_mullo_epi32(x, y);
                    let v = _mm512_add_epi32(mbqm(prod, vm, vl, vr), offset);
                    _mm512_min_epi32(_mm512_max_epi32(v, vmin), vmax)
                };
                each(n, rep_len, |i, c, mask| {
                    let v = match layout {
                        Layout::Same => finish(
                            _mm512_add_epi32(load(a.as_ptr().add(i), mask, unsigned), o1),
                            _mm512_add_epi32(load(b.as_ptr().add(i), mask, unsigned), o2),
                        ),
                        Layout::RepeatB => finish(
                            _mm512_add_epi32(load(a.as_ptr().add(i), mask, unsigned), o1),
                            _mm512_maskz_loadu_epi32(mask, terms.as_ptr().add(c)),
                        ),
                        Layout::RepeatA => finish(
                            _mm512_maskz_loadu_epi32(mask, terms.as_ptr().add(c)),
                            _mm512_add_epi32(load(b.as_ptr().add(i), mask, unsigned), o2),
                        ),
                    };
                    store(out.as_mut_ptr().add(i), mask, v, unsigned);
                });
            }
        }
    }

    /// Calls `f(index, channel, mask)` for chunks of up to 16 elements: over the whole range
    /// (`rep_len == 0`) or row by row of `rep_len` elements (channel = offset in the row).
    #[inline(always)]
    unsafe fn each(n: usize, rep_len: usize, mut f: impl FnMut(usize, usize, u16)) {
        let row = if rep_len == 0 { n } else { rep_len };
        let mut start = 0;
        while start < n {
            let mut c = 0;
            while c < row {
                let k = (row - c).min(16);
                let mask = if k == 16 {
                    0xffff
                } else {
                    ((1u32 << k) - 1) as u16
                };
                f(start + c, c, mask);
                c += 16;
            }
            start += row;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::add::{add, AddParams};
    use super::super::mul::{mul, MulParams};
    use super::super::{FusedActivation, QParams};
    use super::*;
    use proptest::prelude::*;

    fn shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop_oneof![
            Just((vec![2, 3, 4, 37], vec![2, 3, 4, 37])),
            Just((vec![2, 3, 4, 32], vec![32])),
            Just((vec![2, 3, 4, 5], vec![1, 1, 1, 5])),
            Just((vec![21], vec![2, 3, 4, 21])),
            Just((vec![2, 3, 4, 5], vec![1])),
            Just((vec![2, 3, 4, 40], vec![4, 40])),
        ]
    }

    fn run(
        op: Binary8<'_>,
        unsigned: bool,
        a: &[u8],
        sa: &[usize],
        b: &[u8],
        sb: &[usize],
        n: usize,
    ) -> Vec<u8> {
        assert!(supported(sa, sb));
        if unsigned {
            let mut o = vec![0u8; n];
            assert!(binary8(op, a, sa, b, sb, &mut o).unwrap());
            o
        } else {
            let ai: Vec<i8> = a.iter().map(|&v| v as i8).collect();
            let bi: Vec<i8> = b.iter().map(|&v| v as i8).collect();
            let mut o = vec![0i8; n];
            assert!(binary8(op, &ai, sa, &bi, sb, &mut o).unwrap());
            o.iter().map(|&v| v as u8).collect()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]
        #[test]
        fn simd_equals_reference(
            (sa, sb) in shapes(),
            (s1, s2, so) in (0.0005f32..0.3, 0.0005f32..0.3, 0.001f32..0.5),
            (z1, z2, zo) in (-128i32..128, -128i32..128, -128i32..128),
            (sub, relu, seed) in (any::<bool>(), any::<bool>(), any::<u64>()),
        ) {
            if !available() {
                return Ok(());
            }
            let act = if relu { FusedActivation::Relu6 } else { FusedActivation::None };
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1); (st >> 56) as u8 };
            let a: Vec<u8> = (0..sa.iter().product::<usize>()).map(|_| rnd()).collect();
            let b: Vec<u8> = (0..sb.iter().product::<usize>()).map(|_| rnd()).collect();
            let n = super::super::broadcast::broadcast_shape(&sa, &sb).unwrap().iter().product();
            for unsigned in [false, true] {
                let off = if unsigned { 128 } else { 0 };
                let (q1, q2, qo) = (QParams::new(s1, z1 + off), QParams::new(s2, z2 + off), QParams::new(so, zo + off));
                let ai: Vec<i8> = a.iter().map(|&v| v as i8).collect();
                let bi: Vec<i8> = b.iter().map(|&v| v as i8).collect();
                let addp = if unsigned { AddParams::prepare::<u8>(q1, q2, qo, act, sub) } else { AddParams::prepare::<i8>(q1, q2, qo, act, sub) };
                if let Ok(p) = addp {
                    let want: Vec<u8> = if unsigned {
                        let mut r = vec![0u8; n]; add(&p, &a, &sa, &b, &sb, &mut r).unwrap(); r
                    } else {
                        let mut r = vec![0i8; n]; add(&p, &ai, &sa, &bi, &sb, &mut r).unwrap(); r.iter().map(|&v| v as u8).collect()
                    };
                    let got = run(Binary8::Add(&p), unsigned, &a, &sa, &b, &sb, n);
                    prop_assert_eq!(&got, &want);
                }
                let p = if unsigned { MulParams::prepare::<u8>(q1, q2, qo, act) } else { MulParams::prepare::<i8>(q1, q2, qo, act) }.unwrap();
                let want: Vec<u8> = if unsigned {
                    let mut r = vec![0u8; n]; mul(&p, &a, &sa, &b, &sb, &mut r).unwrap(); r
                } else {
                    let mut r = vec![0i8; n]; mul(&p, &ai, &sa, &bi, &sb, &mut r).unwrap(); r.iter().map(|&v| v as u8).collect()
                };
                let got = run(Binary8::Mul(&p), unsigned, &a, &sa, &b, &sb, n);
                prop_assert_eq!(&got, &want);
            }
        }
    }
}
