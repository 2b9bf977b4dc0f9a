//! AVX-512 VNNI int8 GEMM for convolution and fully connected layers (x86_64 CPUs with
//! `avx512f`, `avx512bw` and `avx512vnni`; [`available`] checks at run time, and callers fall
//! back to the AVX2 / portable kernels of [`conv`](super::conv) and
//! [`fully_connected`](super::fully_connected) otherwise).
//!
//! `vpdpbusd` multiplies unsigned by signed bytes, so activations are stored as
//! `u = x + 128` (`x ^ 0x80`) and the extra `128 · Σw` per output channel is folded into the
//! per-channel constant together with the bias and the input zero point:
//! `Σ (x + input_offset)·w + bias = Σ u·w + (input_offset − 128)·Σw + bias` (all wrapping
//! `i32`, like the reference). The integer accumulators are therefore identical to those of
//! the reference loops, and the same requantization follows: results are bit-identical to
//! [`conv2d_per_channel_ref`](super::conv::conv2d_per_channel_ref) and
//! [`fully_connected_ref`](super::fully_connected::fully_connected_ref) (property tests below).
//!
//! Weights are packed once into blocks of 16 output channels × 4 depth bytes (one 512-bit
//! register per depth group); the micro-kernel keeps an 8-row × 32-channel tile of `i32`
//! accumulators in 16 registers.

use super::conv::Conv2dParams;
use super::fully_connected::{FcRescale, FullyConnectedParams};
use super::requant::ChannelRequant;
use super::{check_len, invalid, numel};
use crate::Parallelism;

/// Whether this CPU can run the VNNI kernels.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `[rows, depth]` int8 weights packed for the VNNI micro-kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VnniWeights {
    rows: usize,
    depth: usize,
    /// Depth rounded up to a multiple of 4.
    kp: usize,
    /// `ceil(rows / 16)` blocks of `kp / 4` groups of 64 bytes (16 channels × 4 depth bytes).
    data: Vec<i8>,
    row_sums: Vec<i32>,
}

impl VnniWeights {
    /// Packs `w` (`rows × depth`, row-major).
    pub fn pack(w: &[i8], rows: usize, depth: usize) -> crate::Result<Self> {
        check_len("vnni weights", w.len(), rows * depth)?;
        let kp = depth.div_ceil(4) * 4;
        let blocks = rows.div_ceil(16);
        let groups = kp / 4;
        let mut data = vec![0i8; blocks * groups * 64];
        for r in 0..rows {
            let (nb, lane) = (r / 16, r % 16);
            for k in 0..depth {
                data[(nb * groups + k / 4) * 64 + lane * 4 + k % 4] = w[r * depth + k];
            }
        }
        let row_sums = (0..rows)
            .map(|r| {
                w[r * depth..(r + 1) * depth]
                    .iter()
                    .fold(0i32, |a, &v| a.wrapping_add(v as i32))
            })
            .collect();
        Ok(Self {
            rows,
            depth,
            kp,
            data,
            row_sums,
        })
    }

    /// Output channels.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Depth (unpadded).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Depth rounded up to a multiple of 4: the row length of the activation buffer.
    pub fn padded_depth(&self) -> usize {
        self.kp
    }

    /// `Σ_k w[r][k]` per output channel.
    pub fn row_sums(&self) -> &[i32] {
        &self.row_sums
    }

    /// `c[r · rows + o] = Σ_k a[r · kp + k] · w[o][k]` for `n` activation rows of
    /// `padded_depth()` unsigned bytes. Requires [`available`].
    pub(crate) fn gemm(&self, a: &[u8], n: usize, c: &mut [i32]) {
        debug_assert!(a.len() >= n * self.kp && c.len() >= n * self.rows);
        #[cfg(target_arch = "x86_64")]
        {
            if available() {
                // SAFETY: the features were just checked; lengths are checked by the callers
                // (a: n × kp bytes, c: n × rows values) and by the debug assertion.
                unsafe { avx512::gemm(self, a, n, c) };
                return;
            }
        }
        // Not reached when `available()` is false (callers check), but stay correct.
        for r in 0..n {
            for o in 0..self.rows {
                let mut s = 0i32;
                for k in 0..self.depth {
                    let w =
                        self.data[((o / 16) * (self.kp / 4) + k / 4) * 64 + (o % 16) * 4 + k % 4];
                    s = s.wrapping_add(a[r * self.kp + k] as i32 * w as i32);
                }
                c[r * self.rows + o] = s;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::VnniWeights;
    use std::arch::x86_64::*;

    /// One tile: `MR` activation rows × `NB` blocks of 16 channels.
    ///
    /// # Safety
    /// AVX-512F/BW/VNNI; `w` points at block `nb0`, `a` at row `r0` (`MR` rows of `kp`
    /// bytes), `c` at element `(r0, nb0 · 16)` of a row-major `[_, ldc]` matrix; `valid`
    /// channels of the last block are stored.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const MR: usize, const NB: usize>(
        w: *const i8,
        block_bytes: usize,
        a: *const u8,
        kp: usize,
        c: *mut i32,
        ldc: usize,
        valid: usize,
    ) {
        let mut acc = [[_mm512_setzero_si512(); NB]; MR];
        let groups = kp / 4;
        for g in 0..groups {
            let mut wv = [_mm512_setzero_si512(); NB];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(w.add(j * block_bytes + g * 64) as *const __m512i);
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = std::ptr::read_unaligned(a.add(r * kp + g * 4) as *const i32);
                let av = _mm512_set1_epi32(x);
                for (j, v) in row.iter_mut().enumerate() {
                    *v = _mm512_dpbusd_epi32(*v, av, wv[j]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let dst = c.add(r * ldc + j * 16) as *mut __m512i;
                let n = valid.saturating_sub(j * 16).min(16);
                if n == 16 {
                    _mm512_storeu_si512(dst, *v);
                } else if n > 0 {
                    _mm512_mask_storeu_epi32(dst as *mut i32, ((1u32 << n) - 1) as u16, *v);
                }
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_tile<const NB: usize>(
        mr: usize,
        w: *const i8,
        block_bytes: usize,
        a: *const u8,
        kp: usize,
        c: *mut i32,
        ldc: usize,
        valid: usize,
    ) {
        match mr {
            8 => tile::<8, NB>(w, block_bytes, a, kp, c, ldc, valid),
            7 => tile::<7, NB>(w, block_bytes, a, kp, c, ldc, valid),
            6 => tile::<6, NB>(w, block_bytes, a, kp, c, ldc, valid),
            5 => tile::<5, NB>(w, block_bytes, a, kp, c, ldc, valid),
            4 => tile::<4, NB>(w, block_bytes, a, kp, c, ldc, valid),
            3 => tile::<3, NB>(w, block_bytes, a, kp, c, ldc, valid),
            2 => tile::<2, NB>(w, block_bytes, a, kp, c, ldc, valid),
            _ => tile::<1, NB>(w, block_bytes, a, kp, c, ldc, valid),
        }
    }

    /// # Safety
    /// AVX-512F/BW/VNNI; `a.len() >= n · kp`, `c.len() >= n · rows`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(w: &VnniWeights, a: &[u8], n: usize, c: &mut [i32]) {
        let kp = w.kp;
        let block_bytes = (kp / 4) * 64;
        let blocks = w.rows.div_ceil(16);
        let ldc = w.rows;
        let mut nb = 0;
        while nb < blocks {
            let two = nb + 1 < blocks;
            let valid = (w.rows - nb * 16).min(if two { 32 } else { 16 });
            let wp = w.data.as_ptr().add(nb * block_bytes);
            let mut r = 0;
            while r < n {
                let mr = (n - r).min(8);
                let ap = a.as_ptr().add(r * kp);
                let cp = c.as_mut_ptr().add(r * ldc + nb * 16);
                if two {
                    rows_tile::<2>(mr, wp, block_bytes, ap, kp, cp, ldc, valid);
                } else {
                    rows_tile::<1>(mr, wp, block_bytes, ap, kp, cp, ldc, valid);
                }
                r += mr;
            }
            nb += if two { 2 } else { 1 };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512_requant {
    use super::{Epilogue, VnniWeights};
    use std::arch::x86_64::*;

    /// One tile with the requantizing epilogue: `MR` rows × `NB` blocks of 16 channels,
    /// stored as int8.
    ///
    /// # Safety
    /// AVX-512F/BW/VNNI; pointers as in the i32 tile; `e` vectors padded to whole blocks and
    /// offset to block `nb0`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const MR: usize, const NB: usize>(
        w: *const i8,
        block_bytes: usize,
        a: *const u8,
        kp: usize,
        out: *mut i8,
        ldo: usize,
        valid: usize,
        e: &Epilogue,
        c0: usize,
    ) {
        let mut acc = [[_mm512_setzero_si512(); NB]; MR];
        for g in 0..kp / 4 {
            let mut wv = [_mm512_setzero_si512(); NB];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(w.add(j * block_bytes + g * 64) as *const __m512i);
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = std::ptr::read_unaligned(a.add(r * kp + g * 4) as *const i32);
                let av = _mm512_set1_epi32(x);
                for (j, v) in row.iter_mut().enumerate() {
                    *v = _mm512_dpbusd_epi32(*v, av, wv[j]);
                }
            }
        }
        let round = _mm512_set1_epi64(1 << 30);
        let one = _mm512_set1_epi32(1);
        let offset = _mm512_set1_epi32(e.offset);
        let vmin = _mm512_set1_epi32(e.min);
        let vmax = _mm512_set1_epi32(e.max);
        for j in 0..NB {
            let n = valid.saturating_sub(j * 16).min(16);
            if n == 0 {
                continue;
            }
            let c = c0 + j * 16;
            let ld = |v: &[i32]| _mm512_loadu_si512(v.as_ptr().add(c) as *const __m512i);
            let (k, m, ls, rs) = (
                ld(&e.constant),
                ld(&e.multiplier),
                ld(&e.left),
                ld(&e.right),
            );
            let mo = _mm512_srli_epi64::<32>(m);
            let mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, rs), one);
            let half = _mm512_srai_epi32::<1>(mask);
            let store_mask = if n == 16 {
                0xffff
            } else {
                ((1u32 << n) - 1) as u16
            };
            for (r, row) in acc.iter().enumerate() {
                let x = _mm512_sllv_epi32(_mm512_add_epi32(row[j], k), ls);
                // SaturatingRoundingDoublingHighMul (the multiplier is never INT32_MIN).
                let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epi32(x, m), round));
                let xo = _mm512_srli_epi64::<32>(x);
                let odd =
                    _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epi32(xo, mo), round));
                let high = _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd));
                // RoundingDivideByPOT.
                let remainder = _mm512_and_si512(high, mask);
                let threshold = _mm512_add_epi32(half, _mm512_srli_epi32::<31>(high));
                let bump = _mm512_cmpgt_epi32_mask(remainder, threshold);
                let v = _mm512_mask_add_epi32(
                    _mm512_srav_epi32(high, rs),
                    bump,
                    _mm512_srav_epi32(high, rs),
                    one,
                );
                let v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, offset), vmin), vmax);
                _mm512_mask_cvtsepi32_storeu_epi8(out.add(r * ldo + j * 16), store_mask, v);
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_tile<const NB: usize>(
        mr: usize,
        w: *const i8,
        block_bytes: usize,
        a: *const u8,
        kp: usize,
        out: *mut i8,
        ldo: usize,
        valid: usize,
        e: &Epilogue,
        c0: usize,
    ) {
        match mr {
            8 => tile::<8, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            7 => tile::<7, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            6 => tile::<6, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            5 => tile::<5, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            4 => tile::<4, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            3 => tile::<3, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            2 => tile::<2, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
            _ => tile::<1, NB>(w, block_bytes, a, kp, out, ldo, valid, e, c0),
        }
    }

    /// `out[r · rows + o] = requant(Σ_k a[r · kp + k] · w[o][k] + constant[o])`.
    ///
    /// # Safety
    /// AVX-512F/BW/VNNI; `a.len() >= n · kp`, `out.len() >= n · rows`, epilogue vectors of
    /// `ceil(rows / 16) · 16` entries.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm_requant(
        w: &VnniWeights,
        a: &[u8],
        n: usize,
        out: &mut [i8],
        e: &Epilogue,
    ) {
        let kp = w.kp;
        let block_bytes = (kp / 4) * 64;
        let blocks = w.rows.div_ceil(16);
        let ldo = w.rows;
        let mut nb = 0;
        while nb < blocks {
            let two = nb + 1 < blocks;
            let valid = (w.rows - nb * 16).min(if two { 32 } else { 16 });
            let wp = w.data.as_ptr().add(nb * block_bytes);
            let mut r = 0;
            while r < n {
                let mr = (n - r).min(8);
                let ap = a.as_ptr().add(r * kp);
                let op = out.as_mut_ptr().add(r * ldo + nb * 16);
                if two {
                    rows_tile::<2>(mr, wp, block_bytes, ap, kp, op, ldo, valid, e, nb * 16);
                } else {
                    rows_tile::<1>(mr, wp, block_bytes, ap, kp, op, ldo, valid, e, nb * 16);
                }
                r += mr;
            }
            nb += if two { 2 } else { 1 };
        }
    }
}

/// Per-channel requantization vectors of the fused epilogue, padded to whole 16-channel
/// blocks: `out = clamp(MBQM(acc + constant) + offset, min, max)`.
#[derive(Clone, Debug, Default)]
struct Epilogue {
    constant: Vec<i32>,
    multiplier: Vec<i32>,
    left: Vec<i32>,
    right: Vec<i32>,
    offset: i32,
    min: i32,
    max: i32,
}

// ---------------------------------------------------------------------------------------------
// Convolution

/// A convolution filter packed for [`conv2d_per_channel_vnni`] (done once at preparation).
#[derive(Clone, Debug)]
pub struct VnniConvFilter {
    weights: VnniWeights,
    requant: ChannelRequant,
    /// The fused epilogue (multipliers, shifts), when every channel suits the vector path
    /// (multiplier ≠ INT32_MIN, |shift| ≤ 31); its `constant` is filled per call.
    epilogue: Option<Epilogue>,
}

impl VnniConvFilter {
    /// Packs an OHWI filter of shape `p.filter_shape` (groups must be 1).
    pub fn new(p: &Conv2dParams, filter: &[i8]) -> crate::Result<Self> {
        let [o, kh, kw, fd] = p.filter_shape;
        if fd != p.input_shape[3] {
            return invalid("vnni conv: grouped convolutions are not supported");
        }
        let padded = o.div_ceil(16) * 16;
        let simd_ok = p
            .multipliers
            .iter()
            .all(|m| m.multiplier != i32::MIN && (-31..=31).contains(&m.shift));
        let epilogue = (simd_ok && p.multipliers.len() == o).then(|| {
            let mut e = Epilogue {
                constant: vec![0; padded],
                multiplier: vec![0; padded],
                left: vec![0; padded],
                right: vec![0; padded],
                offset: p.output_offset,
                min: p.act_min,
                max: p.act_max,
            };
            for (c, m) in p.multipliers.iter().enumerate() {
                e.multiplier[c] = m.multiplier;
                e.left[c] = m.shift.max(0);
                e.right[c] = (-m.shift).max(0);
            }
            e
        });
        Ok(Self {
            weights: VnniWeights::pack(filter, o, kh * kw * fd)?,
            requant: ChannelRequant::new(&p.multipliers, p.output_offset, p.act_min, p.act_max),
            epilogue,
        })
    }
}

/// Copies `n` bytes in 8-byte chunks, reading and writing up to 7 bytes past the end (much
/// cheaper than a `memcpy` call for the short runs of small-depth convolutions).
///
/// # Safety
/// `src` must have `n + 7` readable and `dst` `n + 7` writable bytes, not overlapping.
#[inline(always)]
unsafe fn copy_chunked(dst: *mut u8, src: *const u8, n: usize) {
    let mut i = 0;
    while i < n {
        std::ptr::write_unaligned(
            dst.add(i) as *mut u64,
            std::ptr::read_unaligned(src.add(i) as *const u64),
        );
        i += 8;
    }
}

/// im2col geometry for the VNNI kernels: patches of `x ^ 0x80` (unsigned) bytes, one row of
/// `kp` bytes per output position, read from a copy of the input padded with the zero point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Patches {
    pub input_shape: [usize; 4],
    pub filter_hw: (usize, usize),
    pub output_hw: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    pub pad: (usize, usize),
    /// Row length: `KH · KW · C` rounded up to a multiple of 4.
    pub kp: usize,
}

impl Patches {
    /// 1x1, stride 1, no padding, depth a multiple of 4: the input pixels are the patches.
    pub fn is_identity(&self) -> bool {
        self.filter_hw == (1, 1)
            && self.pad == (0, 0)
            && self.stride == (1, 1)
            && self.kp == self.input_shape[3]
    }

    /// Padded image height and width: every tap of every output position lies inside.
    fn padded_hw(&self) -> (usize, usize) {
        let [_, in_h, in_w, _] = self.input_shape;
        let (out_h, out_w) = self.output_hw;
        let (fh, fw) = self.filter_hw;
        let hp = (out_h.max(1) - 1) * self.stride.0 + (fh - 1) * self.dilation.0 + 1;
        let wp = (out_w.max(1) - 1) * self.stride.1 + (fw - 1) * self.dilation.1 + 1;
        (hp.max(self.pad.0 + in_h), wp.max(self.pad.1 + in_w))
    }

    /// The input as unsigned bytes inside a border of `pad_byte`, plus 8 bytes of slack.
    pub fn padded_image<T: Copy + Into<i32>>(&self, input: &[T], pad_byte: u8) -> Vec<u8> {
        let [batches, in_h, in_w, in_d] = self.input_shape;
        let (hp, wp) = self.padded_hw();
        let mut img = vec![pad_byte; batches * hp * wp * in_d + 8];
        for b in 0..batches {
            for y in 0..in_h {
                let src =
                    &input[((b * in_h + y) * in_w) * in_d..((b * in_h + y + 1) * in_w) * in_d];
                let at = ((b * hp + y + self.pad.0) * wp + self.pad.1) * in_d;
                for (d, &v) in img[at..at + src.len()].iter_mut().zip(src) {
                    *d = (v.into() as u8) ^ 0x80;
                }
            }
        }
        img
    }

    /// Writes the patch rows of output positions `first .. first + count` into `patches`
    /// (`count · kp + 8` bytes) from a [`Patches::padded_image`].
    pub fn fill(&self, img: &[u8], first: usize, count: usize, patches: &mut [u8]) {
        let [batches, _, _, in_d] = self.input_shape;
        let (out_h, out_w) = self.output_hw;
        let (fh, fw) = self.filter_hw;
        let (sy, sx) = self.stride;
        let (dy, dx) = self.dilation;
        let (hp, wp) = self.padded_hw();
        let kp = self.kp;
        let taps_len = fh * fw * in_d;
        assert!(
            patches.len() >= count * kp + 8
                && img.len() >= batches * hp * wp * in_d + 8
                && first + count <= batches * out_h * out_w,
            "patch buffers too small"
        );
        let dst0 = patches.as_mut_ptr();
        let src0 = img.as_ptr();
        for r in 0..count {
            let pos = first + r;
            let b = pos / (out_h * out_w);
            let oy = (pos / out_w) % out_h;
            let ox = pos % out_w;
            let row = r * kp;
            for ky in 0..fh {
                let line = ((b * hp + oy * sy + ky * dy) * wp + ox * sx) * in_d;
                let at = row + ky * fw * in_d;
                if dx == 1 {
                    // SAFETY: the source run [line, line + fw·in_d) lies inside the padded
                    // image (hp, wp cover every tap), which has 8 bytes of slack; the
                    // destination run lies inside this row of `patches`, which has 8 bytes of
                    // slack after the last row (checked above). Bytes written past the run
                    // are overwritten by the following runs or belong to the slack.
                    unsafe { copy_chunked(dst0.add(at), src0.add(line), fw * in_d) };
                } else {
                    for kx in 0..fw {
                        // SAFETY: as above, one tap of in_d bytes.
                        unsafe {
                            copy_chunked(
                                dst0.add(at + kx * in_d),
                                src0.add(line + kx * dx * in_d),
                                in_d,
                            )
                        };
                    }
                }
            }
            // Depth padding (at most 3 bytes; the weights there are zero, but keep the bytes
            // defined). SAFETY: 4 bytes from `row + taps_len` stay inside this row plus the
            // following row (written afterwards) or the 8 bytes of slack.
            if kp > taps_len {
                unsafe { std::ptr::write_unaligned(dst0.add(row + taps_len) as *mut u32, 0) };
            }
        }
    }
}

/// Output positions per im2col block.
const POSITIONS_PER_BLOCK: usize = 64;

/// int8 per-channel convolution with the VNNI GEMM: im2col of `x ^ 0x80` (padding filled
/// with the input zero point, contributing exactly zero), GEMM, per-channel requantization.
/// Bit-identical to [`conv2d_per_channel_ref`](super::conv::conv2d_per_channel_ref). Errors
/// when [`available`] is false or the shapes do not match.
pub fn conv2d_per_channel_vnni(
    p: &Conv2dParams,
    filter: &VnniConvFilter,
    input: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
    parallelism: Parallelism,
) -> crate::Result<()> {
    if !available() {
        return invalid("vnni conv: the CPU lacks AVX-512 VNNI");
    }
    let [batches, _, _, in_d] = p.input_shape;
    let [out_d, fh, fw, fd] = p.filter_shape;
    let [ob, out_h, out_w, oc] = p.output_shape;
    check_len("conv input", input.len(), numel(&p.input_shape)?)?;
    check_len("conv output", output.len(), numel(&p.output_shape)?)?;
    if let Some(b) = bias {
        check_len("conv bias", b.len(), out_d)?;
    }
    let w = &filter.weights;
    if fd != in_d
        || ob != batches
        || oc != out_d
        || w.rows != out_d
        || w.depth != fh * fw * in_d
        || filter.requant.channels() != out_d
    {
        return invalid("vnni conv: packed filter does not match the prepared shapes");
    }
    let positions = batches * out_h * out_w;
    if positions == 0 || out_d == 0 {
        return Ok(());
    }
    let kp = w.kp;
    let correction = p.input_offset.wrapping_sub(128);
    let constant: Vec<i32> = (0..out_d)
        .map(|o| {
            bias.map_or(0, |b| b[o])
                .wrapping_add(correction.wrapping_mul(w.row_sums[o]))
        })
        .collect();
    let epilogue = filter.epilogue.as_ref().map(|e| {
        let mut e = e.clone();
        e.constant[..out_d].copy_from_slice(&constant);
        e
    });
    let pad_byte = ((-p.input_offset) as i8 as u8) ^ 0x80;
    let geom = Patches {
        input_shape: p.input_shape,
        filter_hw: (fh, fw),
        output_hw: (out_h, out_w),
        stride: p.stride,
        dilation: p.dilation,
        pad: p.pad,
        kp,
    };
    let one_by_one = geom.is_identity();
    let xu: Vec<u8> = if one_by_one {
        input.iter().map(|&v| (v as u8) ^ 0x80).collect()
    } else {
        geom.padded_image(input, pad_byte)
    };
    let fill_patches = |first: usize, count: usize, patches: &mut [u8]| {
        geom.fill(&xu, first, count, patches);
    };
    let block =
        |block_idx: usize, out_block: &mut [i8], patches: &mut Vec<u8>, acc: &mut Vec<i32>| {
            let first = block_idx * POSITIONS_PER_BLOCK;
            let count = out_block.len() / out_d;
            let a: &[u8] = if one_by_one {
                &xu[first * kp..(first + count) * kp]
            } else {
                patches.resize(count * kp + 8, 0);
                fill_patches(first, count, patches);
                &patches[..count * kp]
            };
            match &epilogue {
                #[cfg(target_arch = "x86_64")]
                Some(e) => {
                    // SAFETY: `available()` was checked; `a` has count × kp bytes, `out_block`
                    // count × out_d values, the epilogue vectors whole blocks.
                    unsafe { avx512_requant::gemm_requant(w, a, count, out_block, e) };
                }
                _ => {
                    acc.resize(count * out_d, 0);
                    w.gemm(a, count, acc);
                    // Shapes were checked above, so this cannot fail.
                    let _ = filter.requant.rows_i8(acc, &constant, out_block);
                }
            }
        };
    let chunk = POSITIONS_PER_BLOCK * out_d;
    // Threads pay off only for large layers (a rayon region costs a few microseconds).
    let work = positions * out_d * kp;
    if parallelism.threads() > 1 && positions > POSITIONS_PER_BLOCK && work >= (1 << 22) {
        use rayon::prelude::*;
        output.par_chunks_mut(chunk).enumerate().for_each_init(
            || (Vec::new(), Vec::new()),
            |(pa, ac), (i, o)| block(i, o, pa, ac),
        );
    } else {
        let (mut pa, mut ac) = (Vec::new(), Vec::new());
        for (i, o) in output.chunks_mut(chunk).enumerate() {
            block(i, o, &mut pa, &mut ac);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Fully connected

/// Fully connected int8 weights packed for [`fully_connected_vnni`].
#[derive(Clone, Debug)]
pub struct VnniFcWeights {
    weights: VnniWeights,
}

impl VnniFcWeights {
    /// Packs `[output_depth, accum_depth]` int8 weights.
    pub fn new(p: &FullyConnectedParams, filter: &[i8]) -> crate::Result<Self> {
        Ok(Self {
            weights: VnniWeights::pack(filter, p.output_depth, p.accum_depth)?,
        })
    }
}

/// int8 fully connected with the VNNI GEMM; identical to
/// [`fully_connected_ref`](super::fully_connected::fully_connected_ref) (same accumulators,
/// same rescaling mode). Errors when [`available`] is false or the shapes do not match.
pub fn fully_connected_vnni(
    p: &FullyConnectedParams,
    weights: &VnniFcWeights,
    input: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    if !available() {
        return invalid("vnni fully connected: the CPU lacks AVX-512 VNNI");
    }
    let (m, d, n) = (p.output_depth, p.accum_depth, p.batches);
    check_len("fully connected input", input.len(), n * d)?;
    check_len("fully connected output", output.len(), n * m)?;
    if let Some(b) = bias {
        check_len("fully connected bias", b.len(), m)?;
    }
    let w = &weights.weights;
    if w.rows != m || w.depth != d {
        return invalid("vnni fully connected: packed weights do not match the prepared shapes");
    }
    if p.multipliers.len() != 1 && p.multipliers.len() != m
        || p.effective_scales.len() != p.multipliers.len()
    {
        return invalid("fully connected: inconsistent multipliers");
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let kp = w.kp;
    let mut rows = vec![0u8; n * kp];
    // Weight zero point correction Σ(w + fo)(x + io): with the int8 spec fo = 0; a non-zero
    // legacy filter offset adds fo·Σx + d·fo·io per row.
    for (r, row) in rows.chunks_exact_mut(kp).enumerate() {
        for (dst, &s) in row.iter_mut().zip(&input[r * d..(r + 1) * d]) {
            *dst = (s as u8) ^ 0x80;
        }
    }
    let mut acc = vec![0i32; n * m];
    w.gemm(&rows, n, &mut acc);
    let correction = p.input_offset.wrapping_sub(128);
    for r in 0..n {
        let xsum = if p.filter_offset != 0 {
            input[r * d..(r + 1) * d]
                .iter()
                .fold(0i32, |a, &v| a.wrapping_add(v as i32))
                .wrapping_mul(p.filter_offset)
                .wrapping_add(
                    (d as i32)
                        .wrapping_mul(p.filter_offset)
                        .wrapping_mul(p.input_offset),
                )
        } else {
            0
        };
        for o in 0..m {
            let a = acc[r * m + o]
                .wrapping_add(correction.wrapping_mul(w.row_sums[o]))
                .wrapping_add(bias.map_or(0, |b| b[o]))
                .wrapping_add(xsum);
            let ch = if p.multipliers.len() == 1 { 0 } else { o };
            // FullyConnectedParams' rescaling (see its `FcRescale` modes).
            let v = match p.rescale {
                FcRescale::QuantizedMultiplier => p.multipliers[ch].apply(a),
                FcRescale::DoubleScale => (a as f64 * p.effective_scales[ch]).round() as i32,
            };
            output[r * m + o] = v.wrapping_add(p.output_offset).clamp(p.act_min, p.act_max) as i8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::conv::{conv2d_per_channel_ref, ConvOptions};
    use super::super::fully_connected::fully_connected_ref;
    use super::super::{FusedActivation, Padding, QParams};
    use super::*;
    use proptest::prelude::*;

    fn rnd(st: &mut u64) -> i8 {
        *st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*st >> 56) as i8
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]
        #[test]
        fn conv_vnni_equals_reference(
            (n, h, w, c, o, kh, kw) in (1usize..3, 1usize..10, 1usize..10, 1usize..40, 1usize..50, 1usize..4, 1usize..4),
            (s, d, same, izp, ozp, seed) in (1usize..3, 1usize..3, any::<bool>(), -128i32..128, -128i32..128, any::<u64>()),
        ) {
            if !available() {
                return Ok(());
            }
            let opts = ConvOptions {
                padding: if same { Padding::Same } else { Padding::Valid },
                stride_h: s, stride_w: s, dilation_h: d, dilation_w: 3 - d,
                activation: FusedActivation::Relu,
            };
            let scales: Vec<f32> = (0..o).map(|i| 0.002 + 0.0007 * i as f32).collect();
            let Ok(p) = Conv2dParams::prepare::<i8>(opts, [n, h, w, c], [o, kh, kw, c],
                QParams::new(0.05, izp), &scales, QParams::new(0.09, ozp)) else { return Ok(()); };
            let mut st = seed;
            let input: Vec<i8> = (0..n * h * w * c).map(|_| rnd(&mut st)).collect();
            let filter: Vec<i8> = (0..o * kh * kw * c).map(|_| rnd(&mut st).max(-127)).collect();
            let bias: Vec<i32> = (0..o).map(|i| i as i32 * 37 - 600).collect();
            let len = p.output_shape.iter().product();
            let mut r = vec![0i8; len];
            conv2d_per_channel_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let f = VnniConvFilter::new(&p, &filter).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut x = vec![0i8; len];
                conv2d_per_channel_vnni(&p, &f, &input, Some(&bias), &mut x, par).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }

        #[test]
        fn fc_vnni_equals_reference(
            (b, d, o, per_channel, izp, ozp, double, seed) in
            (1usize..12, 1usize..300, 1usize..70, any::<bool>(), -128i32..128, -128i32..128, any::<bool>(), any::<u64>())
        ) {
            if !available() {
                return Ok(());
            }
            let scales: Vec<f32> = if per_channel {
                (0..o).map(|i| 0.001 + 0.0003 * i as f32).collect()
            } else { vec![0.0013] };
            let mode = if double { FcRescale::DoubleScale } else { FcRescale::QuantizedMultiplier };
            let p = FullyConnectedParams::prepare::<i8>(b, d, o, QParams::new(0.07, izp), &scales, 0,
                QParams::new(0.3, ozp), FusedActivation::None).unwrap().with_rescale(mode);
            let mut st = seed;
            let input: Vec<i8> = (0..b * d).map(|_| rnd(&mut st)).collect();
            let filter: Vec<i8> = (0..o * d).map(|_| rnd(&mut st).max(-127)).collect();
            let bias: Vec<i32> = (0..o).map(|i| i as i32 * 101 - 500).collect();
            let mut r = vec![0i8; b * o];
            fully_connected_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let w = VnniFcWeights::new(&p, &filter).unwrap();
            let mut x = vec![0i8; b * o];
            fully_connected_vnni(&p, &w, &input, Some(&bias), &mut x).unwrap();
            prop_assert_eq!(&r, &x);
        }
    }
}

#[cfg(test)]
mod availability {
    #[test]
    fn report() {
        println!("avx512 vnni available: {}", super::available());
    }
}
