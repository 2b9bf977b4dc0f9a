//! Dynamic-range ("hybrid") kernels: float32 activations, int8 weights, float32 bias.
//!
//! These reproduce TFLite's hybrid kernels, which quantize the float input **at run time**,
//! once per batch entry, run an integer dot product against the int8 weights and rescale the
//! int32 accumulator back to float:
//!
//! * [`asymmetric_quantize`] = `tensor_utils::AsymmetricQuantizeFloats` (int8, zero point
//!   nudged into range, scale `(max - min) / 255` from the range widened to include 0);
//!   [`symmetric_quantize`] = `tensor_utils::SymmetricQuantizeFloats` (scale `max|x| / 127`).
//! * CONV_2D ([`hybrid_conv2d`] / [`hybrid_conv2d_ref`]): `conv.cc` uses
//!   `EvalHybridPerChannel` (asymmetric input per batch image, per-channel filter scales,
//!   `reference_ops::HybridConvPerChannel`) when the filter has several *distinct* scales or the
//!   convolution is grouped, and `EvalHybrid` (symmetric input, per-tensor filter scale,
//!   `optimized_ops::HybridConv`) otherwise.
//! * DEPTHWISE_CONV_2D ([`hybrid_depthwise_conv2d`] / [`hybrid_depthwise_conv2d_ref`]):
//!   `depthwise_conv.cc: EvalHybridPerChannel` + `reference_integer_ops::
//!   DepthwiseConvHybridPerChannel` (asymmetric input per batch image).
//! * FULLY_CONNECTED ([`hybrid_fully_connected`] / [`hybrid_fully_connected_ref`]):
//!   `fully_connected.cc: EvalHybridDense`: per input row, symmetric or asymmetric
//!   (`asymmetric_quantize_inputs`) quantization, per-channel or per-tensor filter scales, an
//!   all-zero input short-cuts to the bias.
//!
//! The float rescaling follows each TFLite function's order of operations, so results agree
//! with LiteRT's reference kernels up to float rounding of the final products. The optimized
//! twins compute the same integer accumulators (im2col + int8 GEMM, input offset folded in as
//! `offset · Σw`) and are tested for exact equality with the reference loops.

use super::gemm::{gemm_rows_dispatch, PackedRows};
use super::vnni::{self, Patches, VnniWeights};
use super::{check_len, compute_out_size_and_padding, invalid, numel, FusedActivation, Padding};
use crate::Parallelism;

/// `clamp(round(v · inv) + off, lo, hi)` over a row, `round` being C's `round` (half away from
/// zero), written without libm calls or branches so that it vectorizes. The product is rounded
/// before the offset is added: that is what LiteRT's x86 wheels compute (measured against
/// ai-edge-litert 2.3.0's reference kernels on photos whose products fall on or next to .5:
/// interp's `edgequant_dynamic_first_face_detection_layer_matches_reference_kernels`),
/// although `AsymmetricQuantizeFloats`'s portable source rounds `offset + v · inv`. Exact:
/// products are clamped to ±512 first (which cannot change the clamped result), where
/// truncation to `i32` is exact and `x − trunc(x)` decides the rounding; NaN gives 0 like the
/// saturating conversion of the scalar formula.
#[inline]
fn quantize_row(values: &[f32], out: &mut [i8], inv: f32, off: i32, lo: i32, hi: i32) {
    for (o, &v) in out.iter_mut().zip(values) {
        let x = (v * inv).clamp(-512.0, 512.0);
        let t = x as i32;
        let d = x - t as f32;
        let r = t + i32::from(d >= 0.5) - i32::from(d <= -0.5) + off;
        *o = r.clamp(lo, hi) as i8;
    }
}

/// `tensor_utils::AsymmetricQuantizeFloats`: quantizes `values` into `out` and returns
/// `(scaling_factor, offset)` with `value ≈ (q - offset) · scaling_factor`.
pub fn asymmetric_quantize(values: &[f32], out: &mut [i8]) -> crate::Result<(f32, i32)> {
    check_len("hybrid quantized input", out.len(), values.len())?;
    const QMIN: f64 = -128.0;
    const QMAX: f64 = 127.0;
    let (mn, mx) = min_max(values);
    let rmin = (mn.min(0.0)) as f64;
    let rmax = (mx.max(0.0)) as f64;
    if rmin == rmax {
        out.fill(0);
        return Ok((1.0, 0));
    }
    let scale = (rmax - rmin) / (QMAX - QMIN);
    let zp_from_min = QMIN - rmin / scale;
    let zp_from_max = QMAX - rmax / scale;
    let zp_from_min_err = QMIN.abs() + (rmin / scale).abs();
    let zp_from_max_err = QMAX.abs() + (rmax / scale).abs();
    let zp = if zp_from_min_err < zp_from_max_err {
        zp_from_min
    } else {
        zp_from_max
    };
    let offset = if zp <= QMIN {
        -128
    } else if zp >= QMAX {
        127
    } else {
        zp.round() as i32
    };
    let scaling_factor = scale as f32;
    let inv = 1.0f32 / scaling_factor;
    quantize_row(values, out, inv, offset, -128, 127);
    Ok((scaling_factor, offset))
}

/// `tensor_utils::SymmetricQuantizeFloats`: quantizes `values` into `out` (range ±127) and
/// returns the scaling factor (`value ≈ q · scaling_factor`).
pub fn symmetric_quantize(values: &[f32], out: &mut [i8]) -> crate::Result<f32> {
    check_len("hybrid quantized input", out.len(), values.len())?;
    let (mn, mx) = min_max(values);
    let range = mn.abs().max(mx.abs());
    if range == 0.0 || values.is_empty() {
        out.fill(0);
        return Ok(1.0);
    }
    let inv = 127.0f32 / range;
    quantize_row(values, out, inv, 0, -127, 127);
    Ok(range / 127.0)
}

/// Minimum and maximum (`std::minmax_element`; NaNs are skipped), with 16 independent lanes
/// so that the loop vectorizes.
fn min_max(values: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; 16];
    let mut hi = [f32::NEG_INFINITY; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            // Comparisons with NaN are false: NaNs are skipped.
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    for &v in rest {
        lo[0] = if v < lo[0] { v } else { lo[0] };
        hi[0] = if v > hi[0] { v } else { hi[0] };
    }
    let mn = lo.iter().copied().fold(f32::INFINITY, f32::min);
    let mx = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if mn > mx {
        // Empty or all NaN.
        return (0.0, 0.0);
    }
    (mn, mx)
}

/// Float clamp range of a fused activation (`CalculateActivationRange`).
pub fn float_activation_range(act: FusedActivation) -> (f32, f32) {
    match act {
        FusedActivation::None => (f32::NEG_INFINITY, f32::INFINITY),
        FusedActivation::Relu => (0.0, f32::INFINITY),
        FusedActivation::Relu6 => (0.0, 6.0),
        FusedActivation::ReluN1To1 => (-1.0, 1.0),
    }
}

#[inline]
fn clamp(v: f32, (lo, hi): (f32, f32)) -> f32 {
    // ActivationFunctionWithMinMax: min(max(x, lo), hi).
    v.max(lo).min(hi)
}

/// How the float input of a hybrid kernel is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputQuantization {
    /// Symmetric (`SymmetricQuantizeFloats`), offset 0.
    Symmetric,
    /// Asymmetric (`AsymmetricQuantizeFloats`), with a per-batch offset.
    Asymmetric,
}

/// Broadcasts one scale or checks a per-channel list.
fn channel_scales(scales: &[f32], channels: usize, what: &str) -> crate::Result<Vec<f32>> {
    if scales.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
        return invalid(format!("{what}: invalid filter scale"));
    }
    match scales.len() {
        1 => Ok(vec![scales[0]; channels]),
        n if n == channels => Ok(scales.to_vec()),
        n => invalid(format!("{what}: {n} filter scales for {channels} channels")),
    }
}

/// Quantizes each of `batches` equal chunks of `input`; returns per-batch
/// `(scaling_factor, offset)`.
fn quantize_batches(
    input: &[f32],
    batches: usize,
    mode: InputQuantization,
    out: &mut [i8],
) -> crate::Result<Vec<(f32, i32)>> {
    check_len("hybrid quantized input", out.len(), input.len())?;
    if batches == 0 {
        return Ok(Vec::new());
    }
    let size = input.len() / batches;
    input
        .chunks_exact(size.max(1))
        .zip(out.chunks_exact_mut(size.max(1)))
        .take(batches)
        .map(|(x, q)| match mode {
            InputQuantization::Asymmetric => asymmetric_quantize(x, q),
            InputQuantization::Symmetric => symmetric_quantize(x, q).map(|s| (s, 0)),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// CONV_2D

/// Prepared hybrid convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridConvParams {
    /// Input shape `[N, H, W, C]`.
    pub input_shape: [usize; 4],
    /// Filter shape `[O, KH, KW, C / groups]`.
    pub filter_shape: [usize; 4],
    /// Output shape `[N, OH, OW, O]`.
    pub output_shape: [usize; 4],
    /// Stride `(h, w)`.
    pub stride: (usize, usize),
    /// Dilation `(h, w)`.
    pub dilation: (usize, usize),
    /// Leading (top, left) padding.
    pub pad: (usize, usize),
    /// Filter scale per output channel (a per-tensor scale broadcast).
    pub filter_scales: Vec<f32>,
    /// `EvalHybridPerChannel` (asymmetric input, per-channel scales) rather than `EvalHybrid`.
    pub per_channel: bool,
    /// Float clamp of the fused activation.
    pub act: (f32, f32),
}

impl HybridConvParams {
    /// Prepares a hybrid convolution (`conv.cc` Prepare: per-channel when the filter has more
    /// than one scale and they are not all equal, or when the convolution is grouped).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        padding: Padding,
        stride: (usize, usize),
        dilation: (usize, usize),
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        filter_scales: &[f32],
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        let [n, h, w, c] = input_shape;
        let [o, kh, kw, fc] = filter_shape;
        if fc == 0 || c % fc != 0 || o == 0 || o % (c / fc) != 0 {
            return invalid(format!(
                "hybrid conv: input {input_shape:?} and filter {filter_shape:?} do not match"
            ));
        }
        let (oh, ph) = compute_out_size_and_padding(padding, h, kh, stride.0, dilation.0)?;
        let (ow, pw) = compute_out_size_and_padding(padding, w, kw, stride.1, dilation.1)?;
        let distinct =
            filter_scales.len() > 1 && filter_scales.iter().any(|&s| s != filter_scales[0]);
        let groups = c / fc;
        Ok(Self {
            input_shape,
            filter_shape,
            output_shape: [n, oh, ow, o],
            stride,
            dilation,
            pad: (ph, pw),
            filter_scales: channel_scales(filter_scales, o, "hybrid conv")?,
            per_channel: distinct || groups != 1,
            act: float_activation_range(activation),
        })
    }

    fn groups(&self) -> usize {
        self.input_shape[3] / self.filter_shape[3].max(1)
    }

    fn mode(&self) -> InputQuantization {
        if self.per_channel {
            InputQuantization::Asymmetric
        } else {
            InputQuantization::Symmetric
        }
    }

    fn check(
        &self,
        input: &[f32],
        filter_len: usize,
        bias: Option<&[f32]>,
        output: &[f32],
    ) -> crate::Result<()> {
        check_len("hybrid conv input", input.len(), numel(&self.input_shape)?)?;
        check_len("hybrid conv filter", filter_len, numel(&self.filter_shape)?)?;
        check_len(
            "hybrid conv output",
            output.len(),
            numel(&self.output_shape)?,
        )?;
        check_len(
            "hybrid conv scales",
            self.filter_scales.len(),
            self.filter_shape[0],
        )?;
        if let Some(b) = bias {
            check_len("hybrid conv bias", b.len(), self.filter_shape[0])?;
        }
        let (c, fd, o) = (
            self.input_shape[3],
            self.filter_shape[3],
            self.filter_shape[0],
        );
        if fd == 0 || c % fd != 0 || o % (c / fd).max(1) != 0 {
            return invalid(
                "hybrid conv: filter depth does not divide the input depth into groups",
            );
        }
        if self.output_shape[0] != self.input_shape[0] || self.output_shape[3] != o {
            return invalid("hybrid conv: inconsistent prepared shapes");
        }
        Ok(())
    }

    /// Rescales one accumulator of output channel `oc` in batch entry with quantization
    /// `(sf, _)`.
    #[inline]
    fn rescale(&self, acc: i32, oc: usize, sf: f32, bias: Option<&[f32]>) -> f32 {
        let mut v = if self.per_channel {
            // reference_ops::HybridConvPerChannel: acc * per_channel_scale * scaling_factor.
            acc as f32 * self.filter_scales[oc] * sf
        } else {
            // EvalHybrid: scaling_factor *= filter scale; output = acc * scaling_factor.
            acc as f32 * (sf * self.filter_scales[0])
        };
        if let Some(b) = bias {
            v += b[oc];
        }
        clamp(v, self.act)
    }
}

#[inline]
fn tap(
    o: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    f: usize,
    size: usize,
) -> Option<usize> {
    let v = (o * stride + f * dilation).checked_sub(pad)?;
    (v < size).then_some(v)
}

/// Hybrid convolution, literal reference loop (`reference_ops::HybridConvPerChannel`, or the
/// symmetric per-tensor arithmetic of `EvalHybrid`).
pub fn hybrid_conv2d_ref(
    p: &HybridConvParams,
    input: &[f32],
    filter: &[i8],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, fd] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let mut q = vec![0i8; input.len()];
    let quant = quantize_batches(input, batches, p.mode(), &mut q)?;
    let filters_per_group = out_d / p.groups().max(1);
    for (b, &(sf, off)) in quant.iter().enumerate() {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for oc in 0..out_d {
                    let group = oc / filters_per_group.max(1);
                    let mut acc: i32 = 0;
                    for ky in 0..fh {
                        let Some(iy) = tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h) else {
                            continue;
                        };
                        for kx in 0..fw {
                            let Some(ix) = tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w)
                            else {
                                continue;
                            };
                            let ibase = ((b * in_h + iy) * in_w + ix) * in_d + group * fd;
                            let fbase = ((oc * fh + ky) * fw + kx) * fd;
                            for ic in 0..fd {
                                let x = q[ibase + ic] as i32 - off;
                                acc = acc.wrapping_add(filter[fbase + ic] as i32 * x);
                            }
                        }
                    }
                    output[((b * out_h + oy) * out_w + ox) * out_d + oc] =
                        p.rescale(acc, oc, sf, bias);
                }
            }
        }
    }
    Ok(())
}

/// Filter of a hybrid convolution packed for [`hybrid_conv2d`] (done once at preparation).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedHybridFilter {
    rows: PackedRows,
    row_sums: Vec<i32>,
    /// The same weights for the AVX-512 VNNI GEMM, on CPUs that have it.
    vnni: Option<VnniWeights>,
}

impl PackedHybridFilter {
    /// Packs an OHWI filter of shape `p.filter_shape`.
    pub fn new(p: &HybridConvParams, filter: &[i8]) -> crate::Result<Self> {
        let [o, kh, kw, fd] = p.filter_shape;
        let rows = PackedRows::pack(filter, o, kh * kw * fd)?;
        let row_sums = rows.row_sums();
        let vnni = if vnni::available() && p.groups() == 1 {
            Some(VnniWeights::pack(filter, o, kh * kw * fd)?)
        } else {
            None
        };
        Ok(Self {
            rows,
            row_sums,
            vnni,
        })
    }
}

const POSITIONS_PER_BLOCK: usize = 64;

/// Optimized hybrid convolution: per-batch input quantization, im2col (padding filled with
/// the batch's input offset, which contributes exactly zero), int8 GEMM, and the same float
/// rescaling as [`hybrid_conv2d_ref`] (identical results). Grouped convolutions fall back to
/// the reference loop.
pub fn hybrid_conv2d(
    p: &HybridConvParams,
    packed: &PackedHybridFilter,
    filter_raw: &[i8],
    input: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
    parallelism: Parallelism,
) -> crate::Result<()> {
    p.check(input, filter_raw.len(), bias, output)?;
    if p.groups() != 1 {
        return hybrid_conv2d_ref(p, input, filter_raw, bias, output);
    }
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, _] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let depth = fh * fw * in_d;
    if packed.rows.rows() != out_d || packed.rows.depth() != depth {
        return invalid("hybrid conv: packed filter does not match the prepared shapes");
    }
    if batches == 0 || out_h * out_w == 0 || out_d == 0 {
        return Ok(());
    }
    let mut q = vec![0i8; input.len()];
    let quant = quantize_batches(input, batches, p.mode(), &mut q)?;
    let per_image = out_h * out_w;
    if let Some(w) = &packed.vnni {
        return hybrid_conv2d_vnni(
            p,
            w,
            &packed.row_sums,
            &q,
            &quant,
            bias,
            output,
            parallelism,
        );
    }
    let block = |b: usize, first: usize, out_block: &mut [f32]| {
        let (sf, off) = quant[b];
        let count = out_block.len() / out_d;
        let mut patches = PackedRows::default();
        patches.reset(count, depth);
        for r in 0..count {
            let pos = first + r;
            let oy = pos / out_w;
            let ox = pos % out_w;
            let row = patches.row_mut(r);
            let mut d = 0;
            for ky in 0..fh {
                let iy = tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h);
                for kx in 0..fw {
                    let ix = tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w);
                    let dst = &mut row[d..d + in_d];
                    match (iy, ix) {
                        (Some(iy), Some(ix)) => {
                            let base = ((b * in_h + iy) * in_w + ix) * in_d;
                            for (o, &v) in dst.iter_mut().zip(&q[base..base + in_d]) {
                                *o = v as i16;
                            }
                        }
                        _ => dst.fill(off as i16),
                    }
                    d += in_d;
                }
            }
        }
        let mut acc = vec![0i32; count * out_d];
        gemm_rows_dispatch(&packed.rows, &patches, 0, count, &mut acc);
        for (orow, arow) in out_block
            .chunks_exact_mut(out_d)
            .zip(acc.chunks_exact(out_d))
        {
            for (oc, (o, &a)) in orow.iter_mut().zip(arow).enumerate() {
                let a = a.wrapping_sub(off.wrapping_mul(packed.row_sums[oc]));
                *o = p.rescale(a, oc, sf, bias);
            }
        }
    };
    let chunk = POSITIONS_PER_BLOCK * out_d;
    for (b, out_img) in output.chunks_exact_mut(per_image * out_d).enumerate() {
        if parallelism.threads() > 1 && per_image > POSITIONS_PER_BLOCK {
            use rayon::prelude::*;
            out_img
                .par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, o)| block(b, i * POSITIONS_PER_BLOCK, o));
        } else {
            out_img
                .chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, o)| block(b, i * POSITIONS_PER_BLOCK, o));
        }
    }
    Ok(())
}

/// The VNNI variant of [`hybrid_conv2d`]: patches of the quantized image (padding filled with
/// the batch's offset), `u8 × i8` GEMM, `Σ w·(q − offset) = acc − (offset + 128)·Σw`, and the
/// same float rescaling.
#[allow(clippy::too_many_arguments)]
fn hybrid_conv2d_vnni(
    p: &HybridConvParams,
    w: &VnniWeights,
    row_sums: &[i32],
    q: &[i8],
    quant: &[(f32, i32)],
    bias: Option<&[f32]>,
    output: &mut [f32],
    parallelism: Parallelism,
) -> crate::Result<()> {
    let [_, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, _] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let image = in_h * in_w * in_d;
    let per_image = out_h * out_w;
    let kp = w.padded_depth();
    let geom = Patches {
        input_shape: [1, in_h, in_w, in_d],
        filter_hw: (fh, fw),
        output_hw: (out_h, out_w),
        stride: p.stride,
        dilation: p.dilation,
        pad: p.pad,
        kp,
    };
    for (b, out_img) in output.chunks_exact_mut(per_image * out_d).enumerate() {
        let (sf, off) = quant[b];
        let img = geom.padded_image(&q[b * image..(b + 1) * image], (off as i8 as u8) ^ 0x80);
        let correction = off.wrapping_add(128);
        let block = |i: usize, out_block: &mut [f32], patches: &mut Vec<u8>, acc: &mut Vec<i32>| {
            let first = i * POSITIONS_PER_BLOCK;
            let count = out_block.len() / out_d;
            patches.resize(count * kp + 8, 0);
            geom.fill(&img, first, count, patches);
            acc.resize(count * out_d, 0);
            w.gemm(patches, count, acc);
            for (orow, arow) in out_block
                .chunks_exact_mut(out_d)
                .zip(acc.chunks_exact(out_d))
            {
                for ((o, &a), &s) in orow.iter_mut().zip(arow).zip(row_sums) {
                    *o = a.wrapping_sub(correction.wrapping_mul(s)) as f32;
                }
                // The rescaling of `HybridConvParams::rescale`, as straight vector loops.
                if p.per_channel {
                    for (o, &fs) in orow.iter_mut().zip(&p.filter_scales) {
                        *o = *o * fs * sf;
                    }
                } else {
                    let scale = sf * p.filter_scales[0];
                    for o in orow.iter_mut() {
                        *o *= scale;
                    }
                }
                if let Some(b) = bias {
                    for (o, &b) in orow.iter_mut().zip(b) {
                        *o += b;
                    }
                }
                for o in orow.iter_mut() {
                    *o = clamp(*o, p.act);
                }
            }
        };
        let chunk = POSITIONS_PER_BLOCK * out_d;
        if parallelism.threads() > 1 && per_image * out_d * kp >= (1 << 22) {
            use rayon::prelude::*;
            out_img.par_chunks_mut(chunk).enumerate().for_each_init(
                || (Vec::new(), Vec::new()),
                |(pa, ac), (i, o)| block(i, o, pa, ac),
            );
        } else {
            let (mut pa, mut ac) = (Vec::new(), Vec::new());
            for (i, o) in out_img.chunks_mut(chunk).enumerate() {
                block(i, o, &mut pa, &mut ac);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// DEPTHWISE_CONV_2D

/// Prepared hybrid depthwise convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridDepthwiseParams {
    /// Input shape `[N, H, W, C]`.
    pub input_shape: [usize; 4],
    /// Filter shape `[1, KH, KW, C·M]`.
    pub filter_shape: [usize; 4],
    /// Output shape `[N, OH, OW, C·M]`.
    pub output_shape: [usize; 4],
    /// Stride `(h, w)`.
    pub stride: (usize, usize),
    /// Dilation `(h, w)`.
    pub dilation: (usize, usize),
    /// Leading (top, left) padding.
    pub pad: (usize, usize),
    /// Depth multiplier `M`.
    pub depth_multiplier: usize,
    /// Filter scale per output channel.
    pub filter_scales: Vec<f32>,
    /// Float clamp of the fused activation.
    pub act: (f32, f32),
}

impl HybridDepthwiseParams {
    /// Prepares a hybrid depthwise convolution.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        padding: Padding,
        stride: (usize, usize),
        dilation: (usize, usize),
        depth_multiplier: usize,
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        filter_scales: &[f32],
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        let [n, h, w, c] = input_shape;
        let [one, kh, kw, oc] = filter_shape;
        if one != 1 || depth_multiplier == 0 || oc != c * depth_multiplier {
            return invalid(format!(
                "hybrid depthwise: filter {filter_shape:?} does not match input depth {c} × multiplier {depth_multiplier}"
            ));
        }
        let (oh, ph) = compute_out_size_and_padding(padding, h, kh, stride.0, dilation.0)?;
        let (ow, pw) = compute_out_size_and_padding(padding, w, kw, stride.1, dilation.1)?;
        Ok(Self {
            input_shape,
            filter_shape,
            output_shape: [n, oh, ow, oc],
            stride,
            dilation,
            pad: (ph, pw),
            depth_multiplier,
            filter_scales: channel_scales(filter_scales, oc, "hybrid depthwise")?,
            act: float_activation_range(activation),
        })
    }

    fn check(
        &self,
        input: &[f32],
        filter: &[i8],
        bias: Option<&[f32]>,
        output: &[f32],
    ) -> crate::Result<()> {
        check_len(
            "hybrid depthwise input",
            input.len(),
            numel(&self.input_shape)?,
        )?;
        check_len(
            "hybrid depthwise filter",
            filter.len(),
            numel(&self.filter_shape)?,
        )?;
        check_len(
            "hybrid depthwise output",
            output.len(),
            numel(&self.output_shape)?,
        )?;
        let oc = self.filter_shape[3];
        check_len("hybrid depthwise scales", self.filter_scales.len(), oc)?;
        if let Some(b) = bias {
            check_len("hybrid depthwise bias", b.len(), oc)?;
        }
        if self.output_shape[3] != oc
            || self.input_shape[3] * self.depth_multiplier != oc
            || self.output_shape[0] != self.input_shape[0]
        {
            return invalid("hybrid depthwise: inconsistent prepared shapes");
        }
        Ok(())
    }

    #[inline]
    fn rescale(&self, acc: i32, oc: usize, sf: f32, bias: Option<&[f32]>) -> f32 {
        // DepthwiseConvHybridPerChannel: acc_float *= per_channel_scale * scaling_factor.
        let mut v = acc as f32 * (self.filter_scales[oc] * sf);
        if let Some(b) = bias {
            v += b[oc];
        }
        clamp(v, self.act)
    }
}

/// Hybrid depthwise convolution, literal reference loop
/// (`reference_integer_ops::DepthwiseConvHybridPerChannel`).
pub fn hybrid_depthwise_conv2d_ref(
    p: &HybridDepthwiseParams,
    input: &[f32],
    filter: &[i8],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> crate::Result<()> {
    p.check(input, filter, bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, out_d] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let m = p.depth_multiplier;
    let mut q = vec![0i8; input.len()];
    let quant = quantize_batches(input, batches, InputQuantization::Asymmetric, &mut q)?;
    for (b, &(sf, off)) in quant.iter().enumerate() {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ic in 0..in_d {
                    for mm in 0..m {
                        let oc = mm + ic * m;
                        let mut acc: i32 = 0;
                        for ky in 0..fh {
                            let Some(iy) = tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h)
                            else {
                                continue;
                            };
                            for kx in 0..fw {
                                let Some(ix) = tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w)
                                else {
                                    continue;
                                };
                                let x = q[((b * in_h + iy) * in_w + ix) * in_d + ic] as i32 - off;
                                let w = filter[(ky * fw + kx) * out_d + oc] as i32;
                                acc = acc.wrapping_add(w * x);
                            }
                        }
                        output[((b * out_h + oy) * out_w + ox) * out_d + oc] =
                            p.rescale(acc, oc, sf, bias);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Optimized hybrid depthwise convolution: channel-innermost accumulation (vectorizable) of
/// the same integer sums as [`hybrid_depthwise_conv2d_ref`], rows of output pixels split over
/// rayon. Identical results.
pub fn hybrid_depthwise_conv2d(
    p: &HybridDepthwiseParams,
    input: &[f32],
    filter: &[i8],
    bias: Option<&[f32]>,
    output: &mut [f32],
    parallelism: Parallelism,
) -> crate::Result<()> {
    p.check(input, filter, bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, out_d] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let m = p.depth_multiplier;
    if batches == 0 || out_h * out_w * out_d == 0 {
        return Ok(());
    }
    let mut q = vec![0i8; input.len()];
    let quant = quantize_batches(input, batches, InputQuantization::Asymmetric, &mut q)?;
    // Filter widened once per call (small: KH·KW·C·M).
    let w16: Vec<i32> = filter.iter().map(|&v| v as i32).collect();
    let row = |b: usize, oy: usize, out_row: &mut [f32]| {
        let (sf, off) = quant[b];
        let mut acc = vec![0i32; out_d];
        let mut xs = vec![0i32; out_d];
        for (ox, out_px) in out_row.chunks_exact_mut(out_d).enumerate() {
            acc.fill(0);
            for ky in 0..fh {
                let Some(iy) = tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h) else {
                    continue;
                };
                for kx in 0..fw {
                    let Some(ix) = tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w) else {
                        continue;
                    };
                    let src = &q[((b * in_h + iy) * in_w + ix) * in_d..][..in_d];
                    if m == 1 {
                        for (x, &v) in xs.iter_mut().zip(src) {
                            *x = v as i32 - off;
                        }
                    } else {
                        for (ic, &v) in src.iter().enumerate() {
                            xs[ic * m..(ic + 1) * m].fill(v as i32 - off);
                        }
                    }
                    let wrow = &w16[(ky * fw + kx) * out_d..][..out_d];
                    for ((a, &x), &w) in acc.iter_mut().zip(&xs).zip(wrow) {
                        *a = a.wrapping_add(w * x);
                    }
                }
            }
            for (oc, (o, &a)) in out_px.iter_mut().zip(&acc).enumerate() {
                *o = p.rescale(a, oc, sf, bias);
            }
        }
    };
    let row_len = out_w * out_d;
    if parallelism.threads() > 1 && batches * out_h > 1 && row_len * fh * fw >= 4096 {
        use rayon::prelude::*;
        output
            .par_chunks_mut(row_len)
            .enumerate()
            .for_each(|(i, o)| row(i / out_h, i % out_h, o));
    } else {
        output
            .chunks_mut(row_len)
            .enumerate()
            .for_each(|(i, o)| row(i / out_h, i % out_h, o));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FULLY_CONNECTED

/// Prepared hybrid fully connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridFcParams {
    /// Input rows.
    pub batches: usize,
    /// Input depth.
    pub accum_depth: usize,
    /// Output units.
    pub output_depth: usize,
    /// One filter scale (per-tensor) or one per unit (per-channel).
    pub filter_scales: Vec<f32>,
    /// Input quantization (`asymmetric_quantize_inputs`).
    pub input_quantization: InputQuantization,
    /// Float clamp of the fused activation.
    pub act: (f32, f32),
}

impl HybridFcParams {
    /// Prepares a hybrid fully connected layer; `filter_scales` of length `output_depth`
    /// selects TFLite's per-channel path, length 1 the per-tensor path.
    pub fn prepare(
        batches: usize,
        accum_depth: usize,
        output_depth: usize,
        filter_scales: &[f32],
        input_quantization: InputQuantization,
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        if filter_scales.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return invalid("hybrid fully connected: invalid filter scale");
        }
        if filter_scales.len() != 1 && filter_scales.len() != output_depth {
            return invalid(format!(
                "hybrid fully connected: {} filter scales for {output_depth} units",
                filter_scales.len()
            ));
        }
        Ok(Self {
            batches,
            accum_depth,
            output_depth,
            filter_scales: filter_scales.to_vec(),
            input_quantization,
            act: float_activation_range(activation),
        })
    }

    fn check(
        &self,
        input: &[f32],
        filter_len: usize,
        bias: Option<&[f32]>,
        output: &[f32],
    ) -> crate::Result<()> {
        check_len(
            "hybrid fully connected input",
            input.len(),
            self.batches * self.accum_depth,
        )?;
        check_len(
            "hybrid fully connected filter",
            filter_len,
            self.output_depth * self.accum_depth,
        )?;
        check_len(
            "hybrid fully connected output",
            output.len(),
            self.batches * self.output_depth,
        )?;
        if let Some(b) = bias {
            check_len("hybrid fully connected bias", b.len(), self.output_depth)?;
        }
        Ok(())
    }

    /// Output = bias (or 0); returns false when the whole input is zero (TFLite then skips the
    /// product and only applies the activation).
    fn init(&self, input: &[f32], bias: Option<&[f32]>, output: &mut [f32]) -> bool {
        for row in output.chunks_exact_mut(self.output_depth.max(1)) {
            match bias {
                Some(b) => row.copy_from_slice(b),
                None => row.fill(0.0),
            }
        }
        if input.iter().all(|&v| v == 0.0) {
            for o in output.iter_mut() {
                *o = clamp(*o, self.act);
            }
            return false;
        }
        true
    }

    /// `result += dotprod * scale` of `MatrixBatchVectorMultiplyAccumulate`, where `dotprod`
    /// already has the offset correction applied.
    #[inline]
    fn accumulate(&self, out: &mut f32, dot: i32, unit: usize, sf: f32) {
        let scale = if self.filter_scales.len() > 1 {
            sf * self.filter_scales[unit]
        } else {
            sf
        };
        *out = clamp(*out + dot as f32 * scale, self.act);
    }

    /// Per-row scaling factors (with the per-tensor filter scale folded in) and offsets.
    fn quantize_rows(&self, input: &[f32], q: &mut [i8]) -> crate::Result<Vec<(f32, i32)>> {
        let mut quant = quantize_batches(input, self.batches, self.input_quantization, q)?;
        if self.filter_scales.len() == 1 {
            for (sf, _) in &mut quant {
                *sf *= self.filter_scales[0];
            }
        }
        Ok(quant)
    }
}

/// `dotprod -= row_sum * offset` as TFLite computes it (the offset is a float there).
#[inline]
fn offset_correction(dot: i32, row_sum: i32, off: i32) -> i32 {
    if off == 0 {
        return dot;
    }
    (dot as f32 - row_sum as f32 * off as f32) as i32
}

/// Hybrid fully connected, literal reference (`EvalHybridDense` with the portable
/// `MatrixBatchVectorMultiplyAccumulate`).
pub fn hybrid_fully_connected_ref(
    p: &HybridFcParams,
    input: &[f32],
    filter: &[i8],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    if !p.init(input, bias, output) || p.output_depth == 0 || p.accum_depth == 0 {
        return Ok(());
    }
    let d = p.accum_depth;
    let mut q = vec![0i8; input.len()];
    let quant = p.quantize_rows(input, &mut q)?;
    for (b, &(sf, off)) in quant.iter().enumerate() {
        let x = &q[b * d..(b + 1) * d];
        for u in 0..p.output_depth {
            let w = &filter[u * d..(u + 1) * d];
            let dot = w
                .iter()
                .zip(x)
                .fold(0i32, |a, (&w, &x)| a.wrapping_add(w as i32 * x as i32));
            let row_sum = w.iter().fold(0i32, |a, &w| a.wrapping_add(w as i32));
            let dot = offset_correction(dot, row_sum, off);
            p.accumulate(&mut output[b * p.output_depth + u], dot, u, sf);
        }
    }
    Ok(())
}

/// Weights of a hybrid fully connected layer packed for [`hybrid_fully_connected`].
#[derive(Clone, Debug, PartialEq)]
pub struct PackedHybridFcWeights {
    rows: PackedRows,
    row_sums: Vec<i32>,
    /// The same weights for the AVX-512 VNNI GEMM, on CPUs that have it.
    vnni: Option<VnniWeights>,
}

impl PackedHybridFcWeights {
    /// Packs `[output_depth, accum_depth]` int8 weights.
    pub fn new(p: &HybridFcParams, filter: &[i8]) -> crate::Result<Self> {
        let rows = PackedRows::pack(filter, p.output_depth, p.accum_depth)?;
        let row_sums = rows.row_sums();
        let vnni = if vnni::available() {
            Some(VnniWeights::pack(filter, p.output_depth, p.accum_depth)?)
        } else {
            None
        };
        Ok(Self {
            rows,
            row_sums,
            vnni,
        })
    }
}

/// Optimized hybrid fully connected (int8 GEMM on the quantized rows), identical to
/// [`hybrid_fully_connected_ref`].
pub fn hybrid_fully_connected(
    p: &HybridFcParams,
    weights: &PackedHybridFcWeights,
    filter_raw_len: usize,
    input: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> crate::Result<()> {
    p.check(input, filter_raw_len, bias, output)?;
    if weights.rows.rows() != p.output_depth || weights.rows.depth() != p.accum_depth {
        return invalid("hybrid fully connected: packed weights do not match the prepared shapes");
    }
    if !p.init(input, bias, output) || p.output_depth == 0 || p.accum_depth == 0 {
        return Ok(());
    }
    let mut q = vec![0i8; input.len()];
    let quant = p.quantize_rows(input, &mut q)?;
    let m = p.output_depth;
    let mut acc = vec![0i32; p.batches * m];
    if let Some(w) = &weights.vnni {
        // u = q + 128: Σ w·q = Σ w·u − 128·Σw.
        let kp = w.padded_depth();
        let mut u = vec![0u8; p.batches * kp];
        for (row, src) in u.chunks_exact_mut(kp).zip(q.chunks_exact(p.accum_depth)) {
            for (d, &v) in row.iter_mut().zip(src) {
                *d = (v as u8) ^ 0x80;
            }
        }
        w.gemm(&u, p.batches, &mut acc);
        for row in acc.chunks_exact_mut(m) {
            for (a, &s) in row.iter_mut().zip(&weights.row_sums) {
                *a = a.wrapping_sub(s.wrapping_mul(128));
            }
        }
    } else {
        let packed = PackedRows::pack(&q, p.batches, p.accum_depth)?;
        gemm_rows_dispatch(&weights.rows, &packed, 0, p.batches, &mut acc);
    }
    for (b, &(sf, off)) in quant.iter().enumerate() {
        for u in 0..m {
            let dot = offset_correction(acc[b * m + u], weights.row_sums[u], off);
            p.accumulate(&mut output[b * m + u], dot, u, sf);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn asymmetric_quantization_matches_tflite_formula() {
        // Range [-1, 3]: scale 4/255, zero point from min: -128 + 63.75 = -64.25 -> -64.
        let x = [-1.0f32, 0.0, 3.0, 1.5];
        let mut q = [0i8; 4];
        let (s, off) = asymmetric_quantize(&x, &mut q).unwrap();
        assert_eq!(s, (4.0f64 / 255.0) as f32);
        assert_eq!(off, -64);
        assert_eq!(q[1], -64);
        assert_eq!(q[0], -128);
        assert_eq!(q[2], 127);
        let (s0, o0) = asymmetric_quantize(&[0.0; 3], &mut [0i8; 3]).unwrap();
        assert_eq!((s0, o0), (1.0, 0));
        // All positive: the range includes 0, so 0 maps exactly to -128.
        let (_, off) = asymmetric_quantize(&[0.5, 2.0], &mut [0i8; 2]).unwrap();
        assert_eq!(off, -128);
    }

    #[test]
    fn symmetric_quantization() {
        let mut q = [0i8; 3];
        let s = symmetric_quantize(&[-2.0, 1.0, 0.5], &mut q).unwrap();
        assert_eq!(s, 2.0 / 127.0);
        assert_eq!(q, [-127, 64, 32]);
    }

    #[test]
    fn fc_float_golden() {
        // y = W x + b, weights exactly representable at scale 0.5.
        let x = [1.0f32, -2.0, 0.5, 4.0];
        let w = [2i8, 0, -2, 1, 1, 1, 1, 1];
        let b = [0.25f32, -1.0];
        let want: Vec<f32> = (0..2)
            .map(|u| {
                (0..4)
                    .map(|k| w[u * 4 + k] as f32 * 0.5 * x[k])
                    .sum::<f32>()
                    + b[u]
            })
            .collect();
        for mode in [InputQuantization::Symmetric, InputQuantization::Asymmetric] {
            let p = HybridFcParams::prepare(1, 4, 2, &[0.5], mode, FusedActivation::None).unwrap();
            let mut out = [0f32; 2];
            hybrid_fully_connected_ref(&p, &x, &w, Some(&b), &mut out).unwrap();
            for (o, e) in out.iter().zip(&want) {
                assert!((o - e).abs() < 0.05, "{mode:?}: {out:?} vs {want:?}");
            }
            let pw = PackedHybridFcWeights::new(&p, &w).unwrap();
            let mut out2 = [0f32; 2];
            hybrid_fully_connected(&p, &pw, w.len(), &x, Some(&b), &mut out2).unwrap();
            assert_eq!(out, out2);
        }
    }

    fn rnd(seed: &mut u64) -> u32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as u32
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn conv_optimized_equals_reference(
            (n, h, w, c, o, kh, kw) in (1usize..3, 1usize..8, 1usize..8, 1usize..5, 1usize..6, 1usize..4, 1usize..4),
            (s, d, same, per_channel, relu, seed) in (1usize..3, 1usize..3, any::<bool>(), any::<bool>(), any::<bool>(), any::<u64>()),
        ) {
            let mut st = seed;
            let scales: Vec<f32> = if per_channel {
                (0..o).map(|i| 0.01 + 0.002 * i as f32).collect()
            } else { vec![0.02] };
            let pad = if same { Padding::Same } else { Padding::Valid };
            let act = if relu { FusedActivation::Relu } else { FusedActivation::None };
            let Ok(p) = HybridConvParams::prepare(pad, (s, s), (d, 1), [n, h, w, c], [o, kh, kw, c], &scales, act) else {
                return Ok(());
            };
            let input: Vec<f32> = (0..n * h * w * c).map(|_| (rnd(&mut st) % 2000) as f32 / 500.0 - 1.3).collect();
            let filter: Vec<i8> = (0..o * kh * kw * c).map(|_| (rnd(&mut st) % 255) as i32 as i8).map(|v| v.max(-127)).collect();
            let bias: Vec<f32> = (0..o).map(|i| i as f32 * 0.1 - 0.2).collect();
            let len = p.output_shape.iter().product();
            let mut r = vec![0f32; len];
            hybrid_conv2d_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let packed = PackedHybridFilter::new(&p, &filter).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut x = vec![0f32; len];
                hybrid_conv2d(&p, &packed, &filter, &input, Some(&bias), &mut x, par).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }

        #[test]
        fn depthwise_optimized_equals_reference(
            (n, h, w, c, m, kh, kw) in (1usize..3, 1usize..8, 1usize..8, 1usize..5, 1usize..3, 1usize..4, 1usize..4),
            (s, d, same, seed) in (1usize..3, 1usize..3, any::<bool>(), any::<u64>()),
        ) {
            let mut st = seed;
            let oc = c * m;
            let scales: Vec<f32> = (0..oc).map(|i| 0.01 + 0.002 * i as f32).collect();
            let pad = if same { Padding::Same } else { Padding::Valid };
            let Ok(p) = HybridDepthwiseParams::prepare(pad, (s, s), (d, d), m, [n, h, w, c], [1, kh, kw, oc], &scales, FusedActivation::Relu6) else {
                return Ok(());
            };
            let input: Vec<f32> = (0..n * h * w * c).map(|_| (rnd(&mut st) % 2000) as f32 / 300.0 - 2.0).collect();
            let filter: Vec<i8> = (0..kh * kw * oc).map(|_| (rnd(&mut st) % 255) as i32 as i8).map(|v| v.max(-127)).collect();
            let bias: Vec<f32> = (0..oc).map(|i| i as f32 * 0.05).collect();
            let len = p.output_shape.iter().product();
            let mut r = vec![0f32; len];
            hybrid_depthwise_conv2d_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut x = vec![0f32; len];
                hybrid_depthwise_conv2d(&p, &input, &filter, Some(&bias), &mut x, par).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }

        #[test]
        fn fc_optimized_equals_reference(
            (b, d, o, per_channel, asym, seed) in (1usize..6, 1usize..70, 1usize..20, any::<bool>(), any::<bool>(), any::<u64>()),
        ) {
            let mut st = seed;
            let scales: Vec<f32> = if per_channel { (0..o).map(|i| 0.01 + 0.001 * i as f32).collect() } else { vec![0.013] };
            let mode = if asym { InputQuantization::Asymmetric } else { InputQuantization::Symmetric };
            let p = HybridFcParams::prepare(b, d, o, &scales, mode, FusedActivation::Relu).unwrap();
            let input: Vec<f32> = (0..b * d).map(|_| (rnd(&mut st) % 2000) as f32 / 700.0 - 0.5).collect();
            let filter: Vec<i8> = (0..o * d).map(|_| (rnd(&mut st) % 255) as i32 as i8).map(|v| v.max(-127)).collect();
            let bias: Vec<f32> = (0..o).map(|i| i as f32 * 0.01).collect();
            let mut r = vec![0f32; b * o];
            hybrid_fully_connected_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let w = PackedHybridFcWeights::new(&p, &filter).unwrap();
            let mut x = vec![0f32; b * o];
            hybrid_fully_connected(&p, &w, filter.len(), &input, Some(&bias), &mut x).unwrap();
            prop_assert_eq!(&r, &x);
        }
    }
}
