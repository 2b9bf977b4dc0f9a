//! A faster twin of [`depthwise_conv_per_channel`](super::depthwise_conv::depthwise_conv_per_channel)
//! (int8 per-channel DEPTHWISE_CONV_2D).
//!
//! The input is first written, once per call, into a padded `i16` image of `x + input_offset`
//! whose channels are already expanded by the depth multiplier (channel `c` repeated `M`
//! times) and padded to a multiple of 16: the border holds 0, which is exactly the
//! contribution of a padding tap (`zero_point + input_offset = 0`). Every output pixel is then
//! a branch-free sum over the filter taps of `image · weight` on 16-channel blocks kept in
//! registers, followed by the same per-channel requantization
//! ([`ChannelRequant`](super::requant::ChannelRequant)). The integer sums are those of the
//! reference loop (wrapping `i32`), so the results are identical (property test below).
//! Rows of output pixels are split over rayon for large layers; the body is compiled for
//! AVX-512 or AVX2 when the CPU has them.

use super::depthwise_conv::DepthwiseParams;
use super::requant::ChannelRequant;
use super::{check_len, invalid, numel};
use crate::Parallelism;

/// Channel block (lanes of one 512-bit vector of `i32`).
const BLOCK: usize = 16;

/// A depthwise filter prepared for [`depthwise_conv_per_channel_fast`].
#[derive(Clone, Debug)]
pub struct DepthwiseFastFilter {
    /// `[KH · KW][channels padded to BLOCK]` weights widened to `i32`.
    weights: Vec<i32>,
    /// Padded channel count.
    padded: usize,
    requant: ChannelRequant,
    /// Per-channel multiplier, left and right shifts (padded), for the AVX-512 epilogue;
    /// `None` when a channel does not suit it (multiplier INT32_MIN or |shift| > 31).
    vector_requant: Option<[Vec<i32>; 3]>,
    output_offset: i32,
    act: (i32, i32),
    /// Weights for the direct AVX-512 kernel (depth multiplier 1, vector requantization).
    direct: Option<Box<DirectFilter>>,
}

/// Channels per block of the direct kernel (one 512-bit vector of `i16`).
const DBLOCK: usize = 32;

/// Filter of the direct depthwise kernel: taps grouped in pairs for `vpmaddwd`, channels in
/// the lane order that `unpacklo/hi_epi16` of two tap vectors produce, so that
/// `packs_epi32(lo, hi)` restores the channel order after requantization.
#[derive(Clone, Debug)]
struct DirectFilter {
    /// Tap pairs (`ceil(KH · KW / 2)`); an odd last tap is paired with a zero weight.
    pairs: usize,
    /// Channel blocks of [`DBLOCK`].
    blocks: usize,
    /// `[blocks][pairs][lo, hi][32]` interleaved weights.
    w: Vec<i16>,
    /// Σ over taps of the weights, per channel (for the input offset).
    wsum: Vec<i32>,
    /// `[blocks][lo, hi][16]` multiplier, left shift and right shift in accumulator lane order.
    rq: [Vec<i32>; 3],
}

/// Channel of lane `i` (0..16) of accumulator half `h` (0 = lo, 1 = hi) in block `k`.
#[inline]
fn direct_lane_channel(k: usize, h: usize, i: usize) -> usize {
    k * DBLOCK + 8 * (i / 4) + 4 * h + i % 4
}

impl DirectFilter {
    fn new(p: &DepthwiseParams, filter: &[i8]) -> Option<Self> {
        let [_, fh, fw, od] = p.filter_shape;
        let ok = p.depth_multiplier == 1
            && p.multipliers.len() == od
            && p.multipliers
                .iter()
                .all(|m| m.multiplier != i32::MIN && (-31..=31).contains(&m.shift));
        if !ok || fh * fw == 0 || od == 0 {
            return None;
        }
        let taps = fh * fw;
        let pairs = taps.div_ceil(2);
        let blocks = od.div_ceil(DBLOCK);
        let mut w = vec![0i16; blocks * pairs * 2 * DBLOCK];
        for k in 0..blocks {
            for pr in 0..pairs {
                for h in 0..2 {
                    for e in 0..DBLOCK {
                        // Element e of unpack{lo,hi}_epi16(a, b): 128-bit lane e / 8, pair
                        // (e % 8) / 2 of that lane, operand e % 2 (a = tap 2·pr, b = 2·pr + 1).
                        let c = direct_lane_channel(k, h, 4 * (e / 8) + (e % 8) / 2);
                        let t = 2 * pr + e % 2;
                        if c < od && t < taps {
                            w[((k * pairs + pr) * 2 + h) * DBLOCK + e] = filter[t * od + c] as i16;
                        }
                    }
                }
            }
        }
        let wsum = (0..od)
            .map(|c| (0..taps).fold(0i32, |a, t| a.wrapping_add(filter[t * od + c] as i32)))
            .collect();
        let mut rq = [
            vec![0i32; blocks * DBLOCK],
            vec![0i32; blocks * DBLOCK],
            vec![0i32; blocks * DBLOCK],
        ];
        for k in 0..blocks {
            for h in 0..2 {
                for i in 0..16 {
                    let c = direct_lane_channel(k, h, i);
                    if c < od {
                        let at = (k * 2 + h) * 16 + i;
                        let m = p.multipliers[c];
                        rq[0][at] = m.multiplier;
                        rq[1][at] = m.shift.max(0);
                        rq[2][at] = (-m.shift).max(0);
                    }
                }
            }
        }
        Some(Self {
            pairs,
            blocks,
            w,
            wsum,
            rq,
        })
    }
}

impl DepthwiseFastFilter {
    /// Prepares the `[1, KH, KW, C·M]` filter of `p`.
    pub fn new(p: &DepthwiseParams, filter: &[i8]) -> crate::Result<Self> {
        let [_, fh, fw, od] = p.filter_shape;
        check_len("depthwise filter", filter.len(), fh * fw * od)?;
        if p.multipliers.len() != od {
            return invalid("depthwise: one multiplier per output channel expected");
        }
        let padded = od.div_ceil(BLOCK) * BLOCK;
        let mut weights = vec![0i32; fh * fw * padded];
        for t in 0..fh * fw {
            for c in 0..od {
                weights[t * padded + c] = filter[t * od + c] as i32;
            }
        }
        let ok = p
            .multipliers
            .iter()
            .all(|m| m.multiplier != i32::MIN && (-31..=31).contains(&m.shift));
        let vector_requant = ok.then(|| {
            let mut v = [vec![0i32; padded], vec![0i32; padded], vec![0i32; padded]];
            for (c, m) in p.multipliers.iter().enumerate() {
                v[0][c] = m.multiplier;
                v[1][c] = m.shift.max(0);
                v[2][c] = (-m.shift).max(0);
            }
            v
        });
        Ok(Self {
            weights,
            padded,
            requant: ChannelRequant::new(&p.multipliers, p.output_offset, p.act_min, p.act_max),
            vector_requant,
            output_offset: p.output_offset,
            act: (p.act_min, p.act_max),
            direct: DirectFilter::new(p, filter).map(Box::new),
        })
    }
}

/// Vectorized int8 depthwise convolution, identical to the reference
/// `reference_integer_ops::DepthwiseConvPerChannel`.
pub fn depthwise_conv_per_channel_fast(
    p: &DepthwiseParams,
    f: &DepthwiseFastFilter,
    input: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
    parallelism: Parallelism,
) -> crate::Result<()> {
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, od] = p.filter_shape;
    let [ob, out_h, out_w, oc] = p.output_shape;
    check_len("depthwise input", input.len(), numel(&p.input_shape)?)?;
    check_len("depthwise output", output.len(), numel(&p.output_shape)?)?;
    let m = p.depth_multiplier;
    if ob != batches || oc != od || in_d * m != od || f.weights.len() != fh * fw * f.padded {
        return invalid("depthwise: prepared filter does not match the shapes");
    }
    let mut constant = vec![0i32; f.padded];
    if let Some(b) = bias {
        check_len("depthwise bias", b.len(), od)?;
        constant[..od].copy_from_slice(b);
    }
    if batches * out_h * out_w * od == 0 {
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(d) = &f.direct {
            if super::elementwise_simd::available() {
                return direct::run(p, f, d, input, &constant[..od], output, parallelism);
            }
        }
    }
    let (sy, sx) = p.stride;
    let (dy, dx) = p.dilation;
    let (py, px) = p.pad;
    let hp = ((out_h - 1) * sy + (fh - 1) * dy + 1).max(py + in_h);
    let wp = ((out_w - 1) * sx + (fw - 1) * dx + 1).max(px + in_w);
    let cp = f.padded;
    // Padded, multiplier-expanded image of x + input_offset (0 on the border).
    let mut img = vec![0i16; batches * hp * wp * cp];
    for b in 0..batches {
        for y in 0..in_h {
            for x in 0..in_w {
                let src = &input[((b * in_h + y) * in_w + x) * in_d..][..in_d];
                let at = ((b * hp + y + py) * wp + x + px) * cp;
                let dst = &mut img[at..at + od];
                if m == 1 {
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = (v as i32 + p.input_offset) as i16;
                    }
                } else {
                    for (ch, &v) in src.iter().enumerate() {
                        dst[ch * m..(ch + 1) * m].fill((v as i32 + p.input_offset) as i16);
                    }
                }
            }
        }
    }
    let geometry = Geometry {
        hp,
        wp,
        cp,
        od,
        fh,
        fw,
        sy,
        sx,
        dy,
        dx,
        out_h,
        out_w,
    };
    let row_len = out_w * od;
    let row = |r: usize, out_row: &mut [i8], acc: &mut Vec<i32>| {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(v) = &f.vector_requant {
                if super::elementwise_simd::available() {
                    // SAFETY: AVX-512F/BW/VL checked; the geometry was checked against the
                    // image, weight and output sizes above.
                    unsafe { avx512::row(&geometry, &img, f, v, &constant, r, out_row) };
                    return;
                }
            }
        }
        acc.resize(cp, 0);
        run_row(
            &geometry,
            &img,
            &f.weights,
            r,
            out_row,
            acc,
            &f.requant,
            &constant[..od],
        );
    };
    let work = batches * out_h * out_w * cp * fh * fw;
    if parallelism.threads() > 1 && batches * out_h > 1 && work >= (1 << 21) {
        use rayon::prelude::*;
        output
            .par_chunks_mut(row_len)
            .enumerate()
            .for_each_init(Vec::new, |acc, (r, o)| row(r, o, acc));
    } else {
        let mut acc = Vec::new();
        for (r, o) in output.chunks_mut(row_len).enumerate() {
            row(r, o, &mut acc);
        }
    }
    Ok(())
}

/// The direct AVX-512 kernel: reads the int8 input in place (no padded copy). Each output
/// pixel gathers one pointer per tap (taps in the padding point at a row of input zero points,
/// whose contribution `w · (zero_point + input_offset)` is 0 like the reference's skipped
/// taps), widens 32 channels of two taps to `i16`, interleaves them and accumulates
/// `w₀·x₀ + w₁·x₁` with `vpmaddwd`. `Σ w·(x + input_offset) = Σ w·x + input_offset·Σ w` in
/// wrapping `i32`, so the accumulators equal the reference's.
#[cfg(target_arch = "x86_64")]
mod direct {
    use super::super::elementwise_simd::avx512::mbqm;
    use super::{DepthwiseFastFilter, DepthwiseParams, DirectFilter, DBLOCK};
    use crate::Parallelism;
    use std::arch::x86_64::*;

    pub(super) fn run(
        p: &DepthwiseParams,
        f: &DepthwiseFastFilter,
        d: &DirectFilter,
        input: &[i8],
        bias: &[i32],
        output: &mut [i8],
        parallelism: Parallelism,
    ) -> crate::Result<()> {
        let [batches, in_h, in_w, in_d] = p.input_shape;
        let [_, fh, fw, od] = p.filter_shape;
        let [_, out_h, out_w, _] = p.output_shape;
        // Per-call constant (bias + input_offset · Σw) in accumulator lane order.
        let mut constant = vec![0i32; d.blocks * DBLOCK];
        for k in 0..d.blocks {
            for h in 0..2 {
                for i in 0..16 {
                    let c = super::direct_lane_channel(k, h, i);
                    if c < od {
                        constant[(k * 2 + h) * 16 + i] =
                            bias[c].wrapping_add(p.input_offset.wrapping_mul(d.wsum[c]));
                    }
                }
            }
        }
        let zp_row = vec![(-p.input_offset) as i8; d.blocks * DBLOCK];
        let row_len = out_w * od;
        let tp = 2 * d.pairs;
        let row = |r: usize, out_row: &mut [i8], ptrs: &mut Vec<*const i8>| {
            let (b, oy) = (r / out_h, r % out_h);
            // Tap pointers of every output pixel of the row: `ptrs[ox · tp + tap]`.
            ptrs.clear();
            ptrs.resize(out_w * tp, zp_row.as_ptr());
            for ky in 0..fh {
                let Some(iy) = (oy * p.stride.0 + ky * p.dilation.0)
                    .checked_sub(p.pad.0)
                    .filter(|&iy| iy < in_h)
                else {
                    continue;
                };
                let line = (b * in_h + iy) * in_w;
                let (sx, px) = (p.stride.1, p.pad.1);
                for kx in 0..fw {
                    let t = ky * fw + kx;
                    // Output columns whose tap `kx` falls inside the image:
                    // 0 ≤ ox·sx + kx·dx − px < in_w.
                    let a = kx * p.dilation.1;
                    let lo = px.saturating_sub(a).div_ceil(sx);
                    let hi = if in_w + px > a {
                        ((in_w - 1 + px - a) / sx + 1).min(out_w)
                    } else {
                        0
                    };
                    for ox in lo..hi {
                        let ix = ox * sx + a - px;
                        ptrs[ox * tp + t] = input.as_ptr().wrapping_add((line + ix) * in_d);
                    }
                }
            }
            // SAFETY: AVX-512F/BW/VL checked by the caller; every pointer addresses at least
            // `od` bytes (an input pixel inside the image, or the zero-point row) and loads
            // and stores are masked to `od` channels; `ptrs` holds `out_w · tp` pointers,
            // `out_row` `out_w · od` bytes; the weight, constant and requantization vectors
            // hold `blocks · DBLOCK` lanes per pair.
            unsafe { row_kernel(d, f, ptrs, tp, &constant, od, out_w, out_row) };
        };
        let work = batches * out_h * out_w * od * fh * fw;
        if parallelism.threads() > 1 && batches * out_h > 1 && work >= (1 << 21) {
            use rayon::prelude::*;
            output
                .par_chunks_mut(row_len)
                .enumerate()
                .for_each_init(Vec::new, |ptrs, (r, o)| row(r, o, ptrs));
        } else {
            let mut ptrs = Vec::new();
            for (r, o) in output.chunks_mut(row_len).enumerate() {
                row(r, o, &mut ptrs);
            }
        }
        Ok(())
    }

    /// One output row, channel block by channel block.
    ///
    /// # Safety
    /// See the call site.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn row_kernel(
        d: &DirectFilter,
        f: &DepthwiseFastFilter,
        ptrs: &[*const i8],
        tp: usize,
        constant: &[i32],
        od: usize,
        out_w: usize,
        out: &mut [i8],
    ) {
        let offset = _mm512_set1_epi32(f.output_offset);
        let (vmin, vmax) = (_mm512_set1_epi32(f.act.0), _mm512_set1_epi32(f.act.1));
        let cp = constant.as_ptr();
        let op = out.as_mut_ptr();
        for k in 0..d.blocks {
            let c0 = k * DBLOCK;
            let n = (od - c0).min(DBLOCK);
            let mask: u32 = if n == DBLOCK {
                u32::MAX
            } else {
                (1u32 << n) - 1
            };
            let ld = |a: *const i32| _mm512_loadu_si512(a as *const __m512i);
            let (c_lo, c_hi) = (ld(cp.add(k * 32)), ld(cp.add(k * 32 + 16)));
            let at = k * 32;
            let (m_lo, m_hi) = (
                ld(d.rq[0].as_ptr().add(at)),
                ld(d.rq[0].as_ptr().add(at + 16)),
            );
            let (l_lo, l_hi) = (
                ld(d.rq[1].as_ptr().add(at)),
                ld(d.rq[1].as_ptr().add(at + 16)),
            );
            let (r_lo, r_hi) = (
                ld(d.rq[2].as_ptr().add(at)),
                ld(d.rq[2].as_ptr().add(at + 16)),
            );
            let wk = d.w.as_ptr().add(k * d.pairs * 2 * DBLOCK);
            for ox in 0..out_w {
                let pp = ptrs.as_ptr().add(ox * tp);
                let mut lo = c_lo;
                let mut hi = c_hi;
                for pr in 0..d.pairs {
                    let a = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(
                        mask,
                        (*pp.add(2 * pr)).add(c0),
                    ));
                    let b = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(
                        mask,
                        (*pp.add(2 * pr + 1)).add(c0),
                    ));
                    let w = wk.add(pr * 2 * DBLOCK);
                    let wl = _mm512_loadu_si512(w as *const __m512i);
                    let wh = _mm512_loadu_si512(w.add(DBLOCK) as *const __m512i);
                    lo = _mm512_add_epi32(lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(a, b), wl));
                    hi = _mm512_add_epi32(hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(a, b), wh));
                }
                let fin = |v: __m512i| {
                    _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, offset), vmin), vmax)
                };
                let q_lo = fin(mbqm(lo, m_lo, l_lo, r_lo));
                let q_hi = fin(mbqm(hi, m_hi, l_hi, r_hi));
                let packed = _mm512_packs_epi32(q_lo, q_hi);
                _mm256_mask_storeu_epi8(op.add(ox * od + c0), mask, _mm512_cvtsepi16_epi8(packed));
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::super::elementwise_simd::avx512::mbqm;
    use super::{DepthwiseFastFilter, Geometry, BLOCK};
    use std::arch::x86_64::*;

    /// One output row with 16-channel register accumulators and the requantization fused.
    ///
    /// # Safety
    /// AVX-512F/BW/VL; `img` holds `batches · hp · wp · cp` values covering every tap of
    /// every output position of the row, `f.weights` `fh · fw · cp`, `v` and `constant` `cp`
    /// values each, `out_row` `out_w · od` bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn row(
        g: &Geometry,
        img: &[i16],
        f: &DepthwiseFastFilter,
        v: &[Vec<i32>; 3],
        constant: &[i32],
        r: usize,
        out_row: &mut [i8],
    ) {
        let (b, oy) = (r / g.out_h, r % g.out_h);
        let cp = g.cp;
        let ip = img.as_ptr();
        let wp = f.weights.as_ptr();
        let op = out_row.as_mut_ptr();
        let offset = _mm512_set1_epi32(f.output_offset);
        let (vmin, vmax) = (_mm512_set1_epi32(f.act.0), _mm512_set1_epi32(f.act.1));
        for ox in 0..g.out_w {
            for c0 in (0..cp).step_by(BLOCK) {
                let mut acc = _mm512_loadu_si512(constant.as_ptr().add(c0) as *const __m512i);
                for ky in 0..g.fh {
                    let line = (b * g.hp + oy * g.sy + ky * g.dy) * g.wp + ox * g.sx;
                    for kx in 0..g.fw {
                        let at = (line + kx * g.dx) * cp + c0;
                        let x =
                            _mm512_cvtepi16_epi32(_mm256_loadu_si256(ip.add(at) as *const __m256i));
                        let w = _mm512_loadu_si512(
                            wp.add((ky * g.fw + kx) * cp + c0) as *const __m512i
                        );
                        acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, w));
                    }
                }
                let ld = |a: &[i32]| _mm512_loadu_si512(a.as_ptr().add(c0) as *const __m512i);
                let q = mbqm(acc, ld(&v[0]), ld(&v[1]), ld(&v[2]));
                let q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, offset), vmin), vmax);
                let n = (g.od - c0).min(BLOCK);
                let mask = if n == BLOCK {
                    0xffff
                } else {
                    ((1u32 << n) - 1) as u16
                };
                _mm512_mask_cvtsepi32_storeu_epi8(op.add(ox * g.od + c0), mask, q);
            }
        }
    }
}

/// Shapes of one call.
struct Geometry {
    hp: usize,
    wp: usize,
    cp: usize,
    od: usize,
    fh: usize,
    fw: usize,
    sy: usize,
    sx: usize,
    dy: usize,
    dx: usize,
    out_h: usize,
    out_w: usize,
}

/// One output row (batch `r / out_h`, output y `r % out_h`).
#[allow(clippy::too_many_arguments)]
fn run_row(
    g: &Geometry,
    img: &[i16],
    weights: &[i32],
    r: usize,
    out_row: &mut [i8],
    acc: &mut [i32],
    requant: &ChannelRequant,
    constant: &[i32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was just checked; the body only indexes within bounds
            // computed from the checked shapes.
            unsafe { row_avx512(g, img, weights, r, out_row, acc, requant, constant) };
            return;
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            unsafe { row_avx2(g, img, weights, r, out_row, acc, requant, constant) };
            return;
        }
    }
    row_body(g, img, weights, r, out_row, acc, requant, constant);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
unsafe fn row_avx512(
    g: &Geometry,
    img: &[i16],
    weights: &[i32],
    r: usize,
    out_row: &mut [i8],
    acc: &mut [i32],
    requant: &ChannelRequant,
    constant: &[i32],
) {
    row_body(g, img, weights, r, out_row, acc, requant, constant)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn row_avx2(
    g: &Geometry,
    img: &[i16],
    weights: &[i32],
    r: usize,
    out_row: &mut [i8],
    acc: &mut [i32],
    requant: &ChannelRequant,
    constant: &[i32],
) {
    row_body(g, img, weights, r, out_row, acc, requant, constant)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_body(
    g: &Geometry,
    img: &[i16],
    weights: &[i32],
    r: usize,
    out_row: &mut [i8],
    acc: &mut [i32],
    requant: &ChannelRequant,
    constant: &[i32],
) {
    let (b, oy) = (r / g.out_h, r % g.out_h);
    let cp = g.cp;
    for (ox, out_px) in out_row.chunks_exact_mut(g.od).enumerate().take(g.out_w) {
        for c0 in (0..cp).step_by(BLOCK) {
            let mut a = [0i32; BLOCK];
            for ky in 0..g.fh {
                let line = (b * g.hp + oy * g.sy + ky * g.dy) * g.wp + ox * g.sx;
                for kx in 0..g.fw {
                    let at = (line + kx * g.dx) * cp + c0;
                    let x: &[i16; BLOCK] = img[at..at + BLOCK].try_into().unwrap_or(&[0; BLOCK]);
                    let wat = (ky * g.fw + kx) * cp + c0;
                    let w: &[i32; BLOCK] =
                        weights[wat..wat + BLOCK].try_into().unwrap_or(&[0; BLOCK]);
                    for i in 0..BLOCK {
                        a[i] = a[i].wrapping_add((x[i] as i32).wrapping_mul(w[i]));
                    }
                }
            }
            acc[c0..c0 + BLOCK].copy_from_slice(&a);
        }
        // Shapes are consistent by construction (`constant` and the requantization have
        // `od` channels), so this cannot fail.
        let r = requant.rows_i8(&acc[..g.od], constant, out_px);
        debug_assert!(r.is_ok(), "depthwise requantization: {r:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::depthwise_conv::{depthwise_conv_per_channel_ref, DepthwiseOptions};
    use super::super::{FusedActivation, Padding, QParams};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]
        #[test]
        fn fast_equals_reference(
            (n, h, w, c, m, kh, kw) in (1usize..3, 1usize..9, 1usize..9, 1usize..21, 1usize..4, 1usize..4, 1usize..4),
            (s, d, same, izp, ozp, seed) in (1usize..3, 1usize..3, any::<bool>(), -128i32..128, -128i32..128, any::<u64>()),
        ) {
            let od = c * m;
            let opts = DepthwiseOptions {
                padding: if same { Padding::Same } else { Padding::Valid },
                stride_h: s, stride_w: s, dilation_h: d, dilation_w: 3 - d,
                depth_multiplier: m,
                activation: FusedActivation::Relu6,
            };
            let scales: Vec<f32> = (0..od).map(|i| 0.003 + 0.001 * i as f32).collect();
            let Ok(p) = DepthwiseParams::prepare::<i8>(opts, [n, h, w, c], [1, kh, kw, od],
                QParams::new(0.05, izp), &scales, QParams::new(0.04, ozp)) else { return Ok(()); };
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1); (st >> 56) as i8 };
            let input: Vec<i8> = (0..n * h * w * c).map(|_| rnd()).collect();
            let filter: Vec<i8> = (0..kh * kw * od).map(|_| rnd().max(-127)).collect();
            let bias: Vec<i32> = (0..od).map(|i| i as i32 * 53 - 700).collect();
            let len = p.output_shape.iter().product();
            let mut r = vec![0i8; len];
            depthwise_conv_per_channel_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let f = DepthwiseFastFilter::new(&p, &filter).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut x = vec![0i8; len];
                depthwise_conv_per_channel_fast(&p, &f, &input, Some(&bias), &mut x, par).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }

        /// Depth multiplier 1 (the direct kernel where the CPU has AVX-512): several channel
        /// blocks and partial blocks, 3x3 / 5x5 / odd tap counts, strides 1 and 2, dilation,
        /// extreme zero points and multipliers with left shifts.
        #[test]
        fn direct_equals_reference(
            (h, w, c, kh, kw) in (1usize..12, 1usize..12, 1usize..100, 1usize..6, 1usize..6),
            (s, d, same, izp, ozp, seed, big) in (1usize..3, 1usize..3, any::<bool>(), -128i32..128, -128i32..128, any::<u64>(), any::<bool>()),
        ) {
            let opts = DepthwiseOptions {
                padding: if same { Padding::Same } else { Padding::Valid },
                stride_h: s, stride_w: s, dilation_h: d, dilation_w: 3 - d,
                depth_multiplier: 1,
                activation: if big { FusedActivation::None } else { FusedActivation::Relu6 },
            };
            let scales: Vec<f32> = (0..c).map(|i| if big { 0.5 + 0.3 * i as f32 } else { 0.0004 + 0.0007 * i as f32 }).collect();
            let Ok(p) = DepthwiseParams::prepare::<i8>(opts, [1, h, w, c], [1, kh, kw, c],
                QParams::new(0.05, izp), &scales, QParams::new(0.04, ozp)) else { return Ok(()); };
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (st >> 56) as i8 };
            let input: Vec<i8> = (0..h * w * c).map(|_| rnd()).collect();
            let filter: Vec<i8> = (0..kh * kw * c).map(|_| rnd().max(-127)).collect();
            let bias: Vec<i32> = (0..c).map(|i| (i as i32 * 7919) % 20001 - 10000).collect();
            let len = p.output_shape.iter().product();
            let f = DepthwiseFastFilter::new(&p, &filter).unwrap();
            for b in [None, Some(&bias[..])] {
                let mut r = vec![0i8; len];
                depthwise_conv_per_channel_ref(&p, &input, &filter, b, &mut r).unwrap();
                let mut x = vec![0i8; len];
                depthwise_conv_per_channel_fast(&p, &f, &input, b, &mut x, Parallelism::None).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }
    }
}
