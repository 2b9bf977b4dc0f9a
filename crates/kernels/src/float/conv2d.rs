//! CONV_2D: im2col + GEMM (1×1 stride-1 convolutions directly as a GEMM), tiled over output
//! pixels and parallel over tiles.

use super::activation::{clamp_in_place, Clamp};
use super::gemm::matmul;
use super::scratch::with_scratch;
use crate::error::{check_len, invalid, numel};
use crate::{Parallelism, Result};
use rayon::prelude::*;

/// Geometry of a 2-D convolution on NHWC input with OHWI weights.
///
/// Output pixel `(oy, ox)` reads input rows `oy·stride_h − pad_top + ky·dilation_h` and columns
/// `ox·stride_w − pad_left + kx·dilation_w`; taps outside the input read zero. With
/// `groups > 1` the input channels split into `groups` runs of `in_c / groups`, and output
/// channel `o` reads run `o / (out_c / groups)` (weights are `[out_c, KH, KW, in_c / groups]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2dParams {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub out_c: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub groups: usize,
    /// Fused activation applied after the bias.
    pub clamp: Clamp,
}

impl Conv2dParams {
    /// Checks that sizes are positive, the group count divides both channel counts and the
    /// tensor sizes fit in memory.
    pub fn validate(&self) -> Result<()> {
        let p = self;
        if p.in_h == 0 || p.in_w == 0 || p.in_c == 0 || p.out_c == 0 {
            return invalid(format!("conv2d: empty input or output channels in {p:?}"));
        }
        if p.kernel_h == 0 || p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 {
            return invalid("conv2d: kernel and stride must be positive");
        }
        if p.dilation_h == 0 || p.dilation_w == 0 || p.groups == 0 {
            return invalid("conv2d: dilation and groups must be positive");
        }
        if !p.in_c.is_multiple_of(p.groups) || !p.out_c.is_multiple_of(p.groups) {
            return invalid(format!(
                "conv2d: {} groups do not divide {} input / {} output channels",
                p.groups, p.in_c, p.out_c
            ));
        }
        self.input_len()?;
        self.output_len()?;
        self.weights_len()?;
        Ok(())
    }

    /// Input channels per group.
    pub fn group_in_c(&self) -> usize {
        self.in_c / self.groups.max(1)
    }

    /// Output channels per group.
    pub fn group_out_c(&self) -> usize {
        self.out_c / self.groups.max(1)
    }

    /// Number of input elements (`batch·in_h·in_w·in_c`).
    pub fn input_len(&self) -> Result<usize> {
        numel(&[self.batch, self.in_h, self.in_w, self.in_c])
    }

    /// Number of output elements (`batch·out_h·out_w·out_c`).
    pub fn output_len(&self) -> Result<usize> {
        numel(&[self.batch, self.out_h, self.out_w, self.out_c])
    }

    /// Number of weight elements (`out_c·KH·KW·in_c/groups`).
    pub fn weights_len(&self) -> Result<usize> {
        numel(&[self.out_c, self.kernel_h, self.kernel_w, self.group_in_c()])
    }

    /// True for a 1×1, stride-1, unpadded convolution whose output grid equals the input grid:
    /// the input is then directly the GEMM's left operand.
    pub fn is_pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
            && self.out_h == self.in_h
            && self.out_w == self.in_w
    }
}

/// Convolution weights prepared once for [`conv2d`]: per group a `[lead + KH·KW·in_c/groups,
/// out_c/groups]` row-major matrix (output channels contiguous). With a bias, `lead` is 1 and
/// the first row holds the group's bias: the input side gets a matching column of ones, so
/// every output starts at its bias and then accumulates the taps in `(ky, kx, ic)` order, as
/// XNNPACK's convolution kernels (LiteRT's default float path) do.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dWeights {
    groups: usize,
    k: usize,
    lead: usize,
    group_out_c: usize,
    packed: Vec<f32>,
}

impl Conv2dWeights {
    /// Packs OHWI weights and an optional `[out_c]` bias for the geometry `p`.
    pub fn pack(p: &Conv2dParams, ohwi: &[f32], bias: Option<&[f32]>) -> Result<Self> {
        p.validate()?;
        check_len("conv2d weights", ohwi.len(), p.weights_len()?)?;
        if let Some(b) = bias {
            check_len("conv2d bias", b.len(), p.out_c)?;
        }
        let k = p.kernel_h * p.kernel_w * p.group_in_c();
        let og = p.group_out_c();
        let lead = usize::from(bias.is_some());
        let kl = k + lead;
        let mut packed = vec![0.0; p.groups * kl * og];
        for g in 0..p.groups {
            let dst = &mut packed[g * kl * og..(g + 1) * kl * og];
            if let Some(b) = bias {
                dst[..og].copy_from_slice(&b[g * og..(g + 1) * og]);
            }
            for ol in 0..og {
                let src = &ohwi[(g * og + ol) * k..(g * og + ol + 1) * k];
                for (t, &v) in src.iter().enumerate() {
                    dst[(lead + t) * og + ol] = v;
                }
            }
        }
        Ok(Conv2dWeights {
            groups: p.groups,
            k,
            lead,
            group_out_c: og,
            packed,
        })
    }

    /// Rows of one group's matrix: the taps plus the bias row.
    fn rows(&self) -> usize {
        self.k + self.lead
    }

    /// `out = a · W_g` for group `g`: `a` is `np × rows()` with row stride `lda`, `out` is
    /// `np × group_out_c` with row stride `ldc`.
    fn group_product(
        &self,
        g: usize,
        np: usize,
        a: &[f32],
        lda: usize,
        out: &mut [f32],
        ldc: usize,
    ) -> Result<()> {
        let (og, kl) = (self.group_out_c, self.rows());
        matmul(
            np,
            og,
            kl,
            a,
            lda,
            &self.packed[g * kl * og..(g + 1) * kl * og],
            og,
            out,
            ldc,
            false,
            Parallelism::None,
        )
    }

    fn check(&self, p: &Conv2dParams) -> Result<()> {
        if self.groups != p.groups
            || self.k != p.kernel_h * p.kernel_w * p.group_in_c()
            || self.group_out_c != p.group_out_c()
        {
            return invalid("conv2d: weights were packed for another geometry");
        }
        Ok(())
    }
}

/// im2col scratch budget per tile, in floats (fits in L2 with the weights).
const IM2COL_FLOATS: usize = 16 * 1024;
/// Output floats per tile of a pointwise convolution (keeps the bias/clamp pass in cache).
const POINTWISE_TILE_FLOATS: usize = 64 * 1024;
/// Below this many multiply-adds a convolution runs on one thread.
const PAR_MIN_MACS: usize = 1 << 22;

/// Convolution (TFLite CONV_2D, float): `output = clamp(conv(input, weights) + bias)`.
///
/// `input` is `[batch, in_h, in_w, in_c]`, `output` `[batch, out_h, out_w, out_c]`, both NHWC;
/// `weights` come from [`Conv2dWeights::pack`] for the same `p`. Errors on inconsistent
/// lengths or parameters.
pub fn conv2d(
    p: &Conv2dParams,
    weights: &Conv2dWeights,
    input: &[f32],
    output: &mut [f32],
    par: Parallelism,
) -> Result<()> {
    conv2d_tiled(p, weights, input, output, par, None)
}

/// [`conv2d`] with an optional forced tile size (output pixels per tile), for tests.
pub(crate) fn conv2d_tiled(
    p: &Conv2dParams,
    w: &Conv2dWeights,
    input: &[f32],
    output: &mut [f32],
    par: Parallelism,
    force_tile: Option<usize>,
) -> Result<()> {
    p.validate()?;
    w.check(p)?;
    check_len("conv2d input", input.len(), p.input_len()?)?;
    check_len("conv2d output", output.len(), p.output_len()?)?;
    let total_px = p.batch * p.out_h * p.out_w;
    if total_px == 0 {
        return Ok(());
    }
    let pointwise = p.is_pointwise();
    let macs = total_px.saturating_mul(w.k).saturating_mul(p.out_c);
    let threads = if macs >= PAR_MIN_MACS {
        par.threads()
    } else {
        1
    };
    let mut tile = if pointwise {
        (POINTWISE_TILE_FLOATS / p.out_c.max(w.rows())).max(16)
    } else {
        (IM2COL_FLOATS / w.k).max(8)
    };
    if threads > 1 {
        tile = tile.min(total_px.div_ceil(threads * 3)).max(8);
    }
    if let Some(t) = force_tile {
        tile = t.max(1);
    }
    let tile = tile.min(total_px);
    let chunk = tile * p.out_c;
    let run = |(t, out): (usize, &mut [f32])| -> Result<()> {
        let px0 = t * tile;
        let np = out.len() / p.out_c;
        if pointwise && w.lead == 0 {
            tile_pointwise(p, w, input, px0, np, out)
        } else if pointwise {
            with_scratch(np * w.rows(), |col| {
                tile_pointwise_lead(p, w, input, px0, np, out, col)
            })
        } else {
            with_scratch(np * w.rows(), |col| {
                tile_im2col(p, w, input, px0, np, out, col)
            })
        }?;
        clamp_in_place(out, p.clamp);
        Ok(())
    };
    if threads > 1 && total_px > tile {
        output.par_chunks_mut(chunk).enumerate().try_for_each(run)
    } else {
        output.chunks_mut(chunk).enumerate().try_for_each(run)
    }
}

fn tile_pointwise(
    p: &Conv2dParams,
    w: &Conv2dWeights,
    input: &[f32],
    px0: usize,
    np: usize,
    out: &mut [f32],
) -> Result<()> {
    let (ig, og) = (p.group_in_c(), w.group_out_c);
    let a = &input[px0 * p.in_c..(px0 + np) * p.in_c];
    for g in 0..p.groups {
        w.group_product(g, np, &a[g * ig..], p.in_c, &mut out[g * og..], p.out_c)?;
    }
    Ok(())
}

/// Pointwise tile with a bias row: the tile's input rows are copied behind a column of ones.
fn tile_pointwise_lead(
    p: &Conv2dParams,
    w: &Conv2dWeights,
    input: &[f32],
    px0: usize,
    np: usize,
    out: &mut [f32],
    col: &mut [f32],
) -> Result<()> {
    let (ig, og, kl) = (p.group_in_c(), w.group_out_c, w.rows());
    let a = &input[px0 * p.in_c..(px0 + np) * p.in_c];
    for g in 0..p.groups {
        for (dst, src) in col.chunks_exact_mut(kl).zip(a.chunks_exact(p.in_c)) {
            dst[0] = 1.0;
            copy_run(&mut dst[1..], &src[g * ig..(g + 1) * ig]);
        }
        w.group_product(g, np, col, kl, &mut out[g * og..], p.out_c)?;
    }
    Ok(())
}

fn tile_im2col(
    p: &Conv2dParams,
    w: &Conv2dWeights,
    input: &[f32],
    px0: usize,
    np: usize,
    out: &mut [f32],
    col: &mut [f32],
) -> Result<()> {
    let (og, kl) = (w.group_out_c, w.rows());
    for g in 0..p.groups {
        im2col(p, input, px0, g, w.lead, col);
        w.group_product(g, np, col, kl, &mut out[g * og..], p.out_c)?;
    }
    Ok(())
}

/// Copies a short run without a `memcpy` call (the runs of small-channel convolutions are a
/// few floats long, where the call overhead dominates): lengths up to 16 become fixed-size
/// moves.
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    #[inline(always)]
    fn fixed<const N: usize>(dst: &mut [f32], src: &[f32]) {
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
            *d = *s;
        }
    }
    match dst.len() {
        1 => fixed::<1>(dst, src),
        2 => fixed::<2>(dst, src),
        3 => fixed::<3>(dst, src),
        4 => fixed::<4>(dst, src),
        6 => fixed::<6>(dst, src),
        8 => fixed::<8>(dst, src),
        9 => fixed::<9>(dst, src),
        12 => fixed::<12>(dst, src),
        16 => fixed::<16>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// Fills `col` (rows of `KH·KW·ig`) with the receptive fields of output pixels `px0..` for
/// group `g`; taps in the padding are zero.
/// Writes the patches of output pixels `px0..` of group `g` into `col`, one row of
/// `lead + KH·KW·in_c/groups` per pixel: `lead` ones (the bias column), then the taps.
fn im2col(p: &Conv2dParams, input: &[f32], px0: usize, g: usize, lead: usize, col: &mut [f32]) {
    let ig = p.group_in_c();
    let row_len = p.kernel_w * ig;
    let k = p.kernel_h * row_len;
    if k == 0 {
        return;
    }
    let img_len = p.in_h * p.in_w * p.in_c;
    let per_img = p.out_h * p.out_w;
    let in_row_len = p.in_w * p.in_c;
    // Whole kernel rows are contiguous in the input when taps are adjacent and cover all
    // channels.
    let contiguous_rows = p.dilation_w == 1 && p.groups == 1;
    let (mut b, rem) = (px0 / per_img, px0 % per_img);
    let (mut oy, mut ox) = (rem / p.out_w, rem % p.out_w);
    for dst in col.chunks_exact_mut(lead + k) {
        let (ones, dst) = dst.split_at_mut(lead);
        ones.fill(1.0);
        let img = &input[b * img_len..(b + 1) * img_len];
        let x0 = (ox * p.stride_w) as isize - p.pad_left as isize;
        let x_last = x0 + ((p.kernel_w - 1) * p.dilation_w) as isize;
        let x_inside = x0 >= 0 && x_last < p.in_w as isize;
        for (ky, seg) in dst.chunks_exact_mut(row_len).enumerate() {
            let iy = (oy * p.stride_h + ky * p.dilation_h) as isize - p.pad_top as isize;
            if iy < 0 || iy >= p.in_h as isize {
                seg.fill(0.0);
                continue;
            }
            let in_row = &img[iy as usize * in_row_len..(iy as usize + 1) * in_row_len];
            if contiguous_rows && x_inside {
                let s = x0 as usize * p.in_c;
                copy_run(seg, &in_row[s..s + row_len]);
                continue;
            }
            for (kx, d) in seg.chunks_exact_mut(ig).enumerate() {
                let ix = x0 + (kx * p.dilation_w) as isize;
                if ix < 0 || ix >= p.in_w as isize {
                    d.fill(0.0);
                } else {
                    let s = ix as usize * p.in_c + g * ig;
                    copy_run(d, &in_row[s..s + ig]);
                }
            }
        }
        // Next output pixel.
        ox += 1;
        if ox == p.out_w {
            ox = 0;
            oy += 1;
            if oy == p.out_h {
                oy = 0;
                b += 1;
            }
        }
    }
}

/// Reference twin of [`conv2d`]: TFLite's reference loop nest on unpacked OHWI weights.
pub fn conv2d_ref(
    p: &Conv2dParams,
    ohwi: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    p.validate()?;
    check_len("conv2d weights", ohwi.len(), p.weights_len()?)?;
    check_len("conv2d input", input.len(), p.input_len()?)?;
    check_len("conv2d output", output.len(), p.output_len()?)?;
    if let Some(b) = bias {
        check_len("conv2d bias", b.len(), p.out_c)?;
    }
    let (ig, og) = (p.group_in_c(), p.group_out_c());
    for b in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                for oc in 0..p.out_c {
                    let g = oc / og;
                    let mut acc = 0.0f32;
                    for ky in 0..p.kernel_h {
                        let iy =
                            (oy * p.stride_h + ky * p.dilation_h) as isize - p.pad_top as isize;
                        if iy < 0 || iy >= p.in_h as isize {
                            continue;
                        }
                        for kx in 0..p.kernel_w {
                            let ix = (ox * p.stride_w + kx * p.dilation_w) as isize
                                - p.pad_left as isize;
                            if ix < 0 || ix >= p.in_w as isize {
                                continue;
                            }
                            for ic in 0..ig {
                                let x = input[((b * p.in_h + iy as usize) * p.in_w + ix as usize)
                                    * p.in_c
                                    + g * ig
                                    + ic];
                                let wv = ohwi[((oc * p.kernel_h + ky) * p.kernel_w + kx) * ig + ic];
                                acc += x * wv;
                            }
                        }
                    }
                    let bv = bias.map_or(0.0, |b| b[oc]);
                    output[((b * p.out_h + oy) * p.out_w + ox) * p.out_c + oc] =
                        p.clamp.apply(acc + bv);
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

    fn params(
        (batch, in_h, in_w, in_c): (usize, usize, usize, usize),
        out_c: usize,
        (kernel_h, kernel_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        (dilation_h, dilation_w): (usize, usize),
        (pad_top, pad_left): (usize, usize),
        groups: usize,
    ) -> Conv2dParams {
        let eh = (kernel_h - 1) * dilation_h + 1;
        let ew = (kernel_w - 1) * dilation_w + 1;
        let out_h = (in_h + 2 * pad_top).saturating_sub(eh) / stride_h + 1;
        let out_w = (in_w + 2 * pad_left).saturating_sub(ew) / stride_w + 1;
        Conv2dParams {
            batch,
            in_h,
            in_w,
            in_c,
            out_h,
            out_w,
            out_c,
            kernel_h,
            kernel_w,
            stride_h,
            stride_w,
            dilation_h,
            dilation_w,
            pad_top,
            pad_left,
            groups,
            clamp: Clamp::NONE,
        }
    }

    #[test]
    fn hand_computed_3x3_same() {
        // 1x3x3x1 input 1..9, one 3x3 filter of ones, SAME padding, bias 1:
        // each output is 1 + the sum of its 3x3 neighbourhood.
        let p = params((1, 3, 3, 1), 1, (3, 3), (1, 1), (1, 1), (1, 1), 1);
        assert_eq!((p.out_h, p.out_w), (3, 3));
        let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let w = Conv2dWeights::pack(&p, &[1.0; 9], Some(&[1.0])).unwrap();
        let mut out = vec![0.0; 9];
        conv2d(&p, &w, &input, &mut out, Parallelism::None).unwrap();
        assert_eq!(out, [13.0, 22.0, 17.0, 28.0, 46.0, 34.0, 25.0, 40.0, 29.0]);
        let mut r = vec![0.0; 9];
        conv2d_ref(&p, &[1.0; 9], Some(&[1.0]), &input, &mut r).unwrap();
        assert_eq!(out, r);
    }

    #[test]
    fn pointwise_and_relu6() {
        // 1x1x2x2 input, 1x1 conv to 2 channels: out = [x0 + x1, x0 - x1], clamped to [0, 6].
        let mut p = params((1, 1, 2, 2), 2, (1, 1), (1, 1), (1, 1), (0, 0), 1);
        p.clamp = Clamp::RELU6;
        assert!(p.is_pointwise());
        let w = [1.0, 1.0, 1.0, -1.0];
        let packed = Conv2dWeights::pack(&p, &w, None).unwrap();
        let mut out = vec![0.0; 4];
        conv2d(
            &p,
            &packed,
            &[3.0, 1.0, 2.0, 5.0],
            &mut out,
            Parallelism::None,
        )
        .unwrap();
        assert_eq!(out, [4.0, 2.0, 6.0, 0.0]);
    }

    #[test]
    fn grouped() {
        // 2 groups of 1 channel: each output channel scales its own input channel.
        let p = params((1, 1, 1, 2), 2, (1, 1), (1, 1), (1, 1), (0, 0), 2);
        let packed = Conv2dWeights::pack(&p, &[2.0, 3.0], None).unwrap();
        let mut out = vec![0.0; 2];
        conv2d(&p, &packed, &[1.0, 10.0], &mut out, Parallelism::None).unwrap();
        assert_eq!(out, [2.0, 30.0]);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let p = params((1, 3, 3, 1), 1, (3, 3), (1, 1), (1, 1), (1, 1), 1);
        assert!(Conv2dWeights::pack(&p, &[1.0; 8], None).is_err());
        let w = Conv2dWeights::pack(&p, &[1.0; 9], None).unwrap();
        let mut out = vec![0.0; 9];
        assert!(conv2d(&p, &w, &[0.0; 8], &mut out, Parallelism::None).is_err());
        let mut bad = p;
        bad.groups = 2;
        assert!(bad.validate().is_err());
    }

    fn case() -> impl Strategy<Value = (Conv2dParams, Vec<f32>, Vec<f32>, Vec<f32>, usize, bool)> {
        (
            (1usize..3, 1usize..9, 1usize..9),
            (1usize..3, 1usize..6, 1usize..6),
            (1usize..4, 1usize..4),
            (1usize..3, 1usize..3),
            (1usize..3, 1usize..3),
            (0usize..3, 0usize..3),
            (1usize..40, any::<bool>()),
        )
            .prop_flat_map(|((b, h, w), (g, icg, ocg), k, s, d, pad, (tile, par))| {
                let p = params((b, h, w, g * icg), g * ocg, k, s, d, pad, g);
                let p = Conv2dParams {
                    clamp: Clamp::new(-1.5, 1.5),
                    ..p
                };
                (
                    Just(p),
                    vec_strategy(p.input_len().unwrap()),
                    vec_strategy(p.weights_len().unwrap()),
                    vec_strategy(p.out_c),
                    Just(tile),
                    Just(par),
                )
            })
    }

    proptest! {
        // Tolerance: GEMM sums the K = KH·KW·I products in a different (blocked, FMA) order than
        // the reference; with |x|,|w| ≤ 2 and K ≤ 100 the absolute difference stays below
        // K·4·eps ≈ 5e-5, far below 1e-5 relative to the magnitude scale K·4 used here.
        #[test]
        fn matches_reference((p, input, w, bias, tile, par) in case()) {
            let packed = Conv2dWeights::pack(&p, &w, Some(&bias)).unwrap();
            let mut got = vec![0.0; p.output_len().unwrap()];
            let par = if par { Parallelism::Rayon } else { Parallelism::None };
            conv2d_tiled(&p, &packed, &input, &mut got, par, Some(tile)).unwrap();
            let mut want = vec![0.0; got.len()];
            conv2d_ref(&p, &w, Some(&bias), &input, &mut want).unwrap();
            let k = (p.kernel_h * p.kernel_w * p.group_in_c()) as f32;
            let scale = vec![4.0 * k + 2.0; got.len()];
            assert_close(&got, &want, &scale, 1e-6);
            // The default tiling agrees too.
            conv2d(&p, &packed, &input, &mut got, par).unwrap();
            assert_close(&got, &want, &scale, 1e-6);
        }
    }
}
