//! DEPTHWISE_CONV_2D: direct NHWC loops vectorized over channels, register-blocked over four
//! output pixels in the interior, parallel over output rows.

use super::activation::Clamp;
#[cfg(target_arch = "x86_64")]
use super::simd::Fused;
use super::simd::{has_avx2_fma, Arith, Plain};
use crate::error::{check_len, invalid, numel};
use crate::{Parallelism, Result};
use rayon::prelude::*;

/// Geometry of a depthwise convolution: NHWC input with `in_c` channels, weights
/// `[1, KH, KW, in_c·depth_multiplier]`; output channel `c·M + m` reads input channel `c`.
/// Window placement as in [`super::Conv2dParams`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthwiseConv2dParams {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub depth_multiplier: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// Fused activation applied after the bias.
    pub clamp: Clamp,
}

impl DepthwiseConv2dParams {
    /// Output channels (`in_c · depth_multiplier`).
    pub fn out_c(&self) -> usize {
        self.in_c * self.depth_multiplier
    }

    /// Number of input elements.
    pub fn input_len(&self) -> Result<usize> {
        numel(&[self.batch, self.in_h, self.in_w, self.in_c])
    }

    /// Number of output elements.
    pub fn output_len(&self) -> Result<usize> {
        numel(&[self.batch, self.out_h, self.out_w, self.out_c()])
    }

    /// Number of weight elements (`KH·KW·out_c`).
    pub fn weights_len(&self) -> Result<usize> {
        numel(&[self.kernel_h, self.kernel_w, self.out_c()])
    }

    /// Checks that sizes are positive and fit in memory.
    pub fn validate(&self) -> Result<()> {
        let p = self;
        if p.in_h == 0 || p.in_w == 0 || p.in_c == 0 || p.depth_multiplier == 0 {
            return invalid(format!(
                "depthwise_conv2d: empty input or channels in {p:?}"
            ));
        }
        if p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 {
            return invalid("depthwise_conv2d: kernel and stride must be positive");
        }
        if p.dilation_h == 0 || p.dilation_w == 0 {
            return invalid("depthwise_conv2d: dilation must be positive");
        }
        self.input_len()?;
        self.output_len()?;
        self.weights_len()?;
        Ok(())
    }

    fn check(
        &self,
        weights: &[f32],
        bias: Option<&[f32]>,
        input: &[f32],
        output: &[f32],
    ) -> Result<()> {
        self.validate()?;
        check_len(
            "depthwise_conv2d weights",
            weights.len(),
            self.weights_len()?,
        )?;
        check_len("depthwise_conv2d input", input.len(), self.input_len()?)?;
        check_len("depthwise_conv2d output", output.len(), self.output_len()?)?;
        if let Some(b) = bias {
            check_len("depthwise_conv2d bias", b.len(), self.out_c())?;
        }
        Ok(())
    }
}

/// Below this many multiply-adds the kernel runs on one thread.
const PAR_MIN_MACS: usize = 1 << 20;
/// Channels per SIMD block (one AVX2 register).
const CB: usize = 8;

/// Depthwise convolution (TFLite DEPTHWISE_CONV_2D, float):
/// `output = clamp(depthwise(input, weights) + bias)`.
///
/// `weights` is `[1, KH, KW, in_c·M]` as stored in the model (no repacking needed), `bias`
/// `[in_c·M]` or `None`. Errors on inconsistent lengths or parameters.
///
/// Implementation: per output row, tiles of pixels × channel blocks are accumulated in
/// registers over all kernel taps (4 pixels × 16 channels in the interior, 1 pixel × 32
/// channels at the borders, where each pixel has its own valid tap range), so each
/// multiply-add costs about one load. Rows are split over rayon's pool for large layers.
pub fn depthwise_conv2d(
    p: &DepthwiseConv2dParams,
    weights: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    output: &mut [f32],
    par: Parallelism,
) -> Result<()> {
    p.check(weights, bias, input, output)?;
    if p.depth_multiplier == 1 {
        return depthwise_m1(p, weights, bias, input, output, par);
    }
    // Repeat every input channel M times; the M = 1 kernel then applies unchanged.
    let m = p.depth_multiplier;
    let mut expanded = vec![0.0; input.len() * m];
    for (dst, &v) in expanded.chunks_exact_mut(m).zip(input) {
        dst.fill(v);
    }
    let q = DepthwiseConv2dParams {
        in_c: p.out_c(),
        depth_multiplier: 1,
        ..*p
    };
    depthwise_m1(&q, weights, bias, &expanded, output, par)
}

fn depthwise_m1(
    p: &DepthwiseConv2dParams,
    weights: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    output: &mut [f32],
    par: Parallelism,
) -> Result<()> {
    let row_len = p.out_w * p.in_c;
    let rows = p.batch * p.out_h;
    if rows == 0 || row_len == 0 {
        return Ok(());
    }
    let macs = output.len() * p.kernel_h * p.kernel_w;
    let threads = if macs >= PAR_MIN_MACS {
        par.threads()
    } else {
        1
    };
    let fma = has_avx2_fma();
    let run = |(r0, out): (usize, &mut [f32])| {
        for (i, out_row) in out.chunks_exact_mut(row_len).enumerate() {
            let r = r0 + i;
            row(
                p,
                weights,
                bias,
                input,
                r / p.out_h,
                r % p.out_h,
                out_row,
                fma,
            );
        }
    };
    if threads > 1 {
        let rows_per_task = rows.div_ceil(threads * 4).max(1);
        output
            .par_chunks_mut(rows_per_task * row_len)
            .enumerate()
            .for_each(|(t, out)| run((t * rows_per_task, out)));
    } else {
        run((0, output));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[inline]
fn row(
    p: &DepthwiseConv2dParams,
    w: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    b: usize,
    oy: usize,
    out: &mut [f32],
    fma: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is true only when the CPU supports AVX2 and FMA.
        unsafe { row_fma(p, w, bias, input, b, oy, out) };
        return;
    }
    let _ = fma;
    row_impl::<Plain>(p, w, bias, input, b, oy, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_fma(
    p: &DepthwiseConv2dParams,
    w: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    b: usize,
    oy: usize,
    out: &mut [f32],
) {
    row_impl::<Fused>(p, w, bias, input, b, oy, out);
}

/// What one output row needs: the image of its batch, the valid kernel rows and their input
/// row offsets.
struct RowCtx<'a> {
    p: &'a DepthwiseConv2dParams,
    img: &'a [f32],
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    /// Element offsets of the valid kernel rows' input rows, with their `ky`.
    rows: [(usize, usize); MAX_KH],
    n_rows: usize,
}

/// Largest kernel height handled by the register-tiled path (larger kernels use the
/// bounds-checked pixel path).
const MAX_KH: usize = 16;

/// Valid kernel-column range `[lo, hi)` of output column `ox`.
#[inline(always)]
fn kx_range(p: &DepthwiseConv2dParams, ox: usize) -> (usize, usize) {
    let x0 = (ox * p.stride_w) as isize - p.pad_left as isize;
    let valid = |kx: usize| {
        let ix = x0 + (kx * p.dilation_w) as isize;
        ix >= 0 && ix < p.in_w as isize
    };
    let lo = (0..p.kernel_w).find(|&k| valid(k)).unwrap_or(p.kernel_w);
    let hi = (lo..p.kernel_w)
        .take_while(|&k| valid(k))
        .last()
        .map_or(lo, |k| k + 1);
    (lo, hi)
}

/// One output row `(b, oy)` of a depth-multiplier-1 depthwise convolution.
#[inline(always)]
fn row_impl<A: Tile>(
    p: &DepthwiseConv2dParams,
    w: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    b: usize,
    oy: usize,
    out: &mut [f32],
) {
    let c = p.in_c;
    let img_len = p.in_h * p.in_w * c;
    let img = &input[b * img_len..(b + 1) * img_len];
    let y0 = (oy * p.stride_h) as isize - p.pad_top as isize;
    let mut ctx = RowCtx {
        p,
        img,
        w,
        bias,
        rows: [(0, 0); MAX_KH],
        n_rows: 0,
    };
    if p.kernel_h > MAX_KH {
        for ox in 0..p.out_w {
            pixel::<A>(&ctx, y0, ox, 0, out);
        }
        return;
    }
    for ky in 0..p.kernel_h {
        let iy = y0 + (ky * p.dilation_h) as isize;
        if iy >= 0 && iy < p.in_h as isize {
            ctx.rows[ctx.n_rows] = (iy as usize * p.in_w * c, ky);
            ctx.n_rows += 1;
        }
    }
    let full = (0, p.kernel_w);
    let mut ox = 0;
    while ox < p.out_w {
        if ox + 4 <= p.out_w && kx_range(p, ox) == full && kx_range(p, ox + 3) == full {
            channels::<A, 4>(&ctx, ox, full, out);
            ox += 4;
        } else {
            let r = kx_range(p, ox);
            channels::<A, 1>(&ctx, ox, r, out);
            ox += 1;
        }
    }
}

/// Output pixels `ox..ox + PX` (all with valid kernel columns `kx`), every channel.
#[inline(always)]
fn channels<A: Tile, const PX: usize>(
    ctx: &RowCtx<'_>,
    ox: usize,
    kx: (usize, usize),
    out: &mut [f32],
) {
    let c = ctx.p.in_c;
    let full_blocks = c / CB;
    // A tile that fails its bounds check (never expected) is computed by the checked path.
    let tile = |nb: usize, c0: usize, out: &mut [f32]| {
        let done = match nb {
            4 => A::tile::<PX, 4>(ctx, ox, kx, c0, out),
            3 => A::tile::<PX, 3>(ctx, ox, kx, c0, out),
            2 => A::tile::<PX, 2>(ctx, ox, kx, c0, out),
            _ => A::tile::<PX, 1>(ctx, ox, kx, c0, out),
        };
        if !done {
            for j in 0..PX {
                tail::<A>(
                    ctx,
                    ox + j,
                    kx_range(ctx.p, ox + j),
                    (c0, c0 + nb * CB),
                    out,
                );
            }
        }
    };
    // Accumulator registers per tile: 4 blocks for one border pixel, 3 blocks × 4 pixels in
    // the interior (12 accumulators + 3 weight registers of the 16 AVX2 registers).
    let nb_wide = if PX == 1 { 4 } else { 3 };
    let mut cb = 0;
    while cb < full_blocks {
        let nb = nb_wide.min(full_blocks - cb);
        tile(nb, cb * CB, out);
        cb += nb;
    }
    if full_blocks * CB < c {
        for j in 0..PX {
            tail::<A>(
                ctx,
                ox + j,
                kx_range(ctx.p, ox + j),
                (full_blocks * CB, c),
                out,
            );
        }
    }
}

/// The register tile of the depthwise kernel, per arithmetic flavour.
trait Tile: Arith {
    /// Pixels `ox..ox + PX` × channels `c0..c0 + NB·CB`, accumulated in registers over the
    /// valid taps (kernel rows `ctx.rows`, kernel columns `kx`), then clamped and stored.
    /// Returns false, computing nothing, when the bounds check fails.
    fn tile<const PX: usize, const NB: usize>(
        ctx: &RowCtx<'_>,
        ox: usize,
        kx: (usize, usize),
        c0: usize,
        out: &mut [f32],
    ) -> bool;
}

/// Checks that every offset a tile touches is in bounds: valid rows, valid columns for all
/// PX pixels, `c0 + NB·CB ≤ c`, and the output block. Offsets are monotone in (row, pixel,
/// tap, block), so the extremes suffice. Returns the first input column of the tile.
#[inline(always)]
fn tile_bounds<const PX: usize, const NB: usize>(
    ctx: &RowCtx<'_>,
    ox: usize,
    kx: (usize, usize),
    c0: usize,
    out_len: usize,
) -> Option<isize> {
    let p = ctx.p;
    let c = p.in_c;
    let x_first = (ox * p.stride_w) as isize - p.pad_left as isize;
    if c0 + NB * CB > c || (ox + PX - 1) * c + c0 + NB * CB > out_len {
        return None;
    }
    if kx.0 >= kx.1 {
        return Some(x_first);
    }
    let ix_min = x_first + (kx.0 * p.dilation_w) as isize;
    let ix_max = x_first + ((PX - 1) * p.stride_w + (kx.1 - 1) * p.dilation_w) as isize;
    let ok = ix_min >= 0
        && (ix_max as usize) < p.in_w
        && ctx.rows[..ctx.n_rows.min(MAX_KH)].iter().all(|&(r, ky)| {
            r + ix_max as usize * c + c0 + NB * CB <= ctx.img.len()
                && (ky * p.kernel_w + kx.1 - 1) * c + c0 + NB * CB <= ctx.w.len()
        });
    ok.then_some(x_first)
}

impl Tile for Plain {
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn tile<const PX: usize, const NB: usize>(
        ctx: &RowCtx<'_>,
        ox: usize,
        kx: (usize, usize),
        c0: usize,
        out: &mut [f32],
    ) -> bool {
        // Portable version: bounds-checked, relies on auto-vectorization.
        let p = ctx.p;
        let c = p.in_c;
        let Some(x_first) = tile_bounds::<PX, NB>(ctx, ox, kx, c0, out.len()) else {
            debug_assert!(false, "depthwise tile out of bounds");
            return false;
        };
        let mut acc = [[[0.0f32; CB]; NB]; PX];
        for j in 0..PX {
            for nb in 0..NB {
                let o = c0 + nb * CB;
                acc[j][nb] = match ctx.bias {
                    Some(b) => b[o..o + CB].try_into().unwrap_or([0.0; CB]),
                    None => [0.0; CB],
                };
            }
        }
        for &(row_off, ky) in &ctx.rows[..ctx.n_rows.min(MAX_KH)] {
            for k in kx.0..kx.1 {
                let wo = (ky * p.kernel_w + k) * c + c0;
                let x_tap = (x_first + (k * p.dilation_w) as isize) as usize;
                for j in 0..PX {
                    let xo = row_off + (x_tap + j * p.stride_w) * c + c0;
                    for nb in 0..NB {
                        let xv = &ctx.img[xo + nb * CB..xo + nb * CB + CB];
                        let wv = &ctx.w[wo + nb * CB..wo + nb * CB + CB];
                        let a = &mut acc[j][nb];
                        for i in 0..CB {
                            a[i] = Plain::madd(xv[i], wv[i], a[i]);
                        }
                    }
                }
            }
        }
        for j in 0..PX {
            for nb in 0..NB {
                let o = (ox + j) * c + c0 + nb * CB;
                for (d, &v) in out[o..o + CB].iter_mut().zip(&acc[j][nb]) {
                    *d = p.clamp.apply(v);
                }
            }
        }
        true
    }
}

#[cfg(target_arch = "x86_64")]
impl Tile for Fused {
    #[inline(always)]
    fn tile<const PX: usize, const NB: usize>(
        ctx: &RowCtx<'_>,
        ox: usize,
        kx: (usize, usize),
        c0: usize,
        out: &mut [f32],
    ) -> bool {
        let Some(x_first) = tile_bounds::<PX, NB>(ctx, ox, kx, c0, out.len()) else {
            debug_assert!(false, "depthwise tile out of bounds");
            return false;
        };
        // SAFETY: `Fused` is only used inside `row_fma`, compiled with AVX2 and FMA and only
        // called after runtime detection; `tile_bounds` proved every offset in bounds.
        unsafe { avx2::tile::<PX, NB>(ctx, ox, kx, c0, x_first, out) };
        true
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{RowCtx, CB, MAX_KH};
    use std::arch::x86_64::*;

    /// AVX2 register tile: `PX × NB` accumulators of 8 channels.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA, and `super::tile_bounds` must have returned
    /// `Some(x_first)` for these arguments.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const PX: usize, const NB: usize>(
        ctx: &RowCtx<'_>,
        ox: usize,
        kx: (usize, usize),
        c0: usize,
        x_first: isize,
        out: &mut [f32],
    ) {
        let p = ctx.p;
        let c = p.in_c;
        let img = ctx.img.as_ptr();
        let w = ctx.w.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); NB]; PX];
        if let Some(b) = ctx.bias {
            if c0 + NB * CB <= b.len() {
                for nb in 0..NB {
                    // SAFETY: checked just above.
                    let bv = unsafe { _mm256_loadu_ps(b.as_ptr().add(c0 + nb * CB)) };
                    for a in acc.iter_mut() {
                        a[nb] = bv;
                    }
                }
            }
        }
        for &(row_off, ky) in &ctx.rows[..ctx.n_rows.min(MAX_KH)] {
            for k in kx.0..kx.1 {
                let wo = (ky * p.kernel_w + k) * c + c0;
                let x_tap = (x_first + (k * p.dilation_w) as isize) as usize;
                let mut wv = [_mm256_setzero_ps(); NB];
                for (nb, v) in wv.iter_mut().enumerate() {
                    // SAFETY: weight offsets are covered by the caller's bounds check.
                    *v = unsafe { _mm256_loadu_ps(w.add(wo + nb * CB)) };
                }
                for (j, a) in acc.iter_mut().enumerate() {
                    let xo = row_off + (x_tap + j * p.stride_w) * c + c0;
                    for nb in 0..NB {
                        // SAFETY: input offsets are covered by the caller's bounds check.
                        let xv = unsafe { _mm256_loadu_ps(img.add(xo + nb * CB)) };
                        a[nb] = _mm256_fmadd_ps(xv, wv[nb], a[nb]);
                    }
                }
            }
        }
        let lo = _mm256_set1_ps(p.clamp.min);
        let hi = _mm256_set1_ps(p.clamp.max);
        let dst = out.as_mut_ptr();
        for (j, a) in acc.iter().enumerate() {
            for (nb, &v) in a.iter().enumerate() {
                // Same NaN behaviour as `Clamp::apply`: max(lo, v) keeps a NaN `v`.
                let v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
                // SAFETY: the output block is covered by the caller's bounds check.
                unsafe { _mm256_storeu_ps(dst.add((ox + j) * c + c0 + nb * CB), v) };
            }
        }
    }
}

/// Channels `c_from..` of pixel `ox` (the channel count's remainder below one block), with
/// bounds-checked indexing.
#[inline(always)]
fn tail<A: Arith>(
    ctx: &RowCtx<'_>,
    ox: usize,
    kx: (usize, usize),
    (c_from, c_to): (usize, usize),
    out: &mut [f32],
) {
    let p = ctx.p;
    let c = p.in_c;
    let acc = &mut out[ox * c + c_from..ox * c + c_to];
    match ctx.bias {
        Some(b) => acc.copy_from_slice(&b[c_from..c_to]),
        None => acc.fill(0.0),
    }
    let x0 = (ox * p.stride_w) as isize - p.pad_left as isize;
    for &(row_off, ky) in &ctx.rows[..ctx.n_rows.min(MAX_KH)] {
        for k in kx.0..kx.1 {
            let ix = (x0 + (k * p.dilation_w) as isize) as usize;
            let xo = row_off + ix * c;
            let wo = (ky * p.kernel_w + k) * c;
            for ((a, &x), &wv) in acc
                .iter_mut()
                .zip(&ctx.img[xo + c_from..xo + c_to])
                .zip(&ctx.w[wo + c_from..wo + c_to])
            {
                *a = A::madd(x, wv, *a);
            }
        }
    }
    for a in acc.iter_mut() {
        *a = p.clamp.apply(*a);
    }
}

/// Output pixel `ox`, channels `c_from..`, fully bounds-checked (kernels taller than
/// [`MAX_KH`]).
#[inline(always)]
fn pixel<A: Arith>(ctx: &RowCtx<'_>, y0: isize, ox: usize, c_from: usize, out: &mut [f32]) {
    let p = ctx.p;
    let c = p.in_c;
    let acc = &mut out[ox * c + c_from..(ox + 1) * c];
    match ctx.bias {
        Some(b) => acc.copy_from_slice(&b[c_from..c]),
        None => acc.fill(0.0),
    }
    let x0 = (ox * p.stride_w) as isize - p.pad_left as isize;
    for ky in 0..p.kernel_h {
        let iy = y0 + (ky * p.dilation_h) as isize;
        if iy < 0 || iy >= p.in_h as isize {
            continue;
        }
        for kx in 0..p.kernel_w {
            let ix = x0 + (kx * p.dilation_w) as isize;
            if ix < 0 || ix >= p.in_w as isize {
                continue;
            }
            let xo = (iy as usize * p.in_w + ix as usize) * c;
            let wo = (ky * p.kernel_w + kx) * c;
            for ((a, &x), &wv) in acc
                .iter_mut()
                .zip(&ctx.img[xo + c_from..xo + c])
                .zip(&ctx.w[wo + c_from..wo + c])
            {
                *a = A::madd(x, wv, *a);
            }
        }
    }
    for a in acc.iter_mut() {
        *a = p.clamp.apply(*a);
    }
}

/// Reference twin of [`depthwise_conv2d`]: TFLite's reference loop nest.
pub fn depthwise_conv2d_ref(
    p: &DepthwiseConv2dParams,
    weights: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    p.check(weights, bias, input, output)?;
    let oc_n = p.out_c();
    for b in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                for ic in 0..p.in_c {
                    for m in 0..p.depth_multiplier {
                        let oc = ic * p.depth_multiplier + m;
                        let mut acc = 0.0f32;
                        for ky in 0..p.kernel_h {
                            let iy =
                                (oy * p.stride_h + ky * p.dilation_h) as isize - p.pad_top as isize;
                            for kx in 0..p.kernel_w {
                                let ix = (ox * p.stride_w + kx * p.dilation_w) as isize
                                    - p.pad_left as isize;
                                if iy < 0
                                    || iy >= p.in_h as isize
                                    || ix < 0
                                    || ix >= p.in_w as isize
                                {
                                    continue;
                                }
                                let x = input[((b * p.in_h + iy as usize) * p.in_w + ix as usize)
                                    * p.in_c
                                    + ic];
                                acc += x * weights[(ky * p.kernel_w + kx) * oc_n + oc];
                            }
                        }
                        let bv = bias.map_or(0.0, |b| b[oc]);
                        output[((b * p.out_h + oy) * p.out_w + ox) * oc_n + oc] =
                            p.clamp.apply(acc + bv);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::testutil::{assert_close, vec_strategy};
    use proptest::prelude::*;

    #[allow(clippy::too_many_arguments)]
    fn params(
        (batch, in_h, in_w, in_c): (usize, usize, usize, usize),
        m: usize,
        (kernel_h, kernel_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        (dilation_h, dilation_w): (usize, usize),
        (pad_top, pad_left): (usize, usize),
    ) -> DepthwiseConv2dParams {
        let eh = (kernel_h - 1) * dilation_h + 1;
        let ew = (kernel_w - 1) * dilation_w + 1;
        DepthwiseConv2dParams {
            batch,
            in_h,
            in_w,
            in_c,
            out_h: (in_h + 2 * pad_top).saturating_sub(eh) / stride_h + 1,
            out_w: (in_w + 2 * pad_left).saturating_sub(ew) / stride_w + 1,
            depth_multiplier: m,
            kernel_h,
            kernel_w,
            stride_h,
            stride_w,
            dilation_h,
            dilation_w,
            pad_top,
            pad_left,
            clamp: Clamp::NONE,
        }
    }

    #[test]
    fn hand_computed() {
        // 1x2x2x2 input, 2x2 VALID kernel: channel 0 weights 1, channel 1 weights 2, bias
        // [0, 1]. Out ch0 = 1+2+3+4 = 10; ch1 = 2·(10+20+30+40) + 1 = 201.
        let p = params((1, 2, 2, 2), 1, (2, 2), (1, 1), (1, 1), (0, 0));
        let input = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let w = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0];
        let mut out = [0.0; 2];
        depthwise_conv2d(
            &p,
            &w,
            Some(&[0.0, 1.0]),
            &input,
            &mut out,
            Parallelism::None,
        )
        .unwrap();
        assert_eq!(out, [10.0, 201.0]);
    }

    #[test]
    fn depth_multiplier_two() {
        // 1x1x1x1 input 3, M = 2, 1x1 kernel weights [2, -1]: out [6, -3].
        let p = params((1, 1, 1, 1), 2, (1, 1), (1, 1), (1, 1), (0, 0));
        let mut out = [0.0; 2];
        depthwise_conv2d(&p, &[2.0, -1.0], None, &[3.0], &mut out, Parallelism::None).unwrap();
        assert_eq!(out, [6.0, -3.0]);
    }

    #[test]
    fn tall_kernel_uses_the_checked_path() {
        // KH = 20 > MAX_KH: the bounds-checked pixel path.
        let p = params((1, 20, 3, 9), 1, (20, 3), (1, 1), (1, 1), (0, 1));
        let x: Vec<f32> = (0..p.input_len().unwrap())
            .map(|i| (i % 11) as f32 - 5.0)
            .collect();
        let w: Vec<f32> = (0..p.weights_len().unwrap())
            .map(|i| (i % 7) as f32 * 0.25)
            .collect();
        let mut got = vec![0.0; p.output_len().unwrap()];
        let mut want = got.clone();
        depthwise_conv2d(&p, &w, None, &x, &mut got, Parallelism::None).unwrap();
        depthwise_conv2d_ref(&p, &w, None, &x, &mut want).unwrap();
        assert_close(&got, &want, &vec![1000.0; got.len()], 1e-6);
    }

    fn case() -> impl Strategy<
        Value = (
            DepthwiseConv2dParams,
            Vec<f32>,
            Vec<f32>,
            Vec<f32>,
            bool,
            bool,
        ),
    > {
        (
            (1usize..3, 1usize..12, 1usize..14, 1usize..42),
            1usize..3,
            (1usize..6, 1usize..6),
            (1usize..3, 1usize..3),
            (1usize..3, 1usize..3),
            (0usize..3, 0usize..3),
            (any::<bool>(), any::<bool>()),
        )
            .prop_flat_map(|(shape, m, k, s, d, pad, (par, has_bias))| {
                let mut p = params(shape, m, k, s, d, pad);
                p.clamp = Clamp::new(-3.0, 3.0);
                (
                    Just(p),
                    vec_strategy(p.input_len().unwrap()),
                    vec_strategy(p.weights_len().unwrap()),
                    vec_strategy(p.out_c()),
                    Just(par),
                    Just(has_bias),
                )
            })
    }

    proptest! {
        // Tolerance: the optimized kernel accumulates the KH·KW ≤ 25 taps in the same order
        // but may use fused multiply-adds (one rounding instead of two per tap), so results
        // differ by at most ~25 roundings of terms ≤ 4: 1e-6 relative to 4·KH·KW + 2.
        #[test]
        fn matches_reference((p, input, w, bias, par, has_bias) in case()) {
            let bias = has_bias.then_some(bias.as_slice());
            let mut got = vec![0.0; p.output_len().unwrap()];
            let par = if par { Parallelism::Rayon } else { Parallelism::None };
            depthwise_conv2d(&p, &w, bias, &input, &mut got, par).unwrap();
            let mut want = vec![0.0; got.len()];
            depthwise_conv2d_ref(&p, &w, bias, &input, &mut want).unwrap();
            let scale = vec![(4 * p.kernel_h * p.kernel_w + 2) as f32; got.len()];
            assert_close(&got, &want, &scale, 1e-6);
        }
    }
}
