//! CONV_2D, int8 (per-channel) and 16x8.
//!
//! Reproduces TFLite's `reference_integer_ops::ConvPerChannel` (int8 activations, int8
//! per-channel weights, int32 bias) and its 16-bit-activation overload (int16 activations, int8
//! weights, int64 or int32 bias, 64-bit accumulator), with the parameters of
//! `conv.cc: Prepare` / `PopulateConvolutionQuantizationParams`.
//!
//! [`conv2d_per_channel`] is the optimized path (im2col + [`gemm`](super::gemm), rayon over
//! output positions); [`conv2d_per_channel_ref`] is the literal reference loop.

use super::gemm::{gemm_rows_dispatch, PackedRows};
use super::quant_util::QuantizedMultiplier;
use super::requant::ChannelRequant;
use super::{
    activation_range, check_len, compute_out_size_and_padding, invalid, numel,
    per_channel_multipliers, FusedActivation, Padding, QParams, QuantInt,
};
use crate::Parallelism;

/// Builtin options of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvOptions {
    /// Padding scheme.
    pub padding: Padding,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Fused activation.
    pub activation: FusedActivation,
}

impl Default for ConvOptions {
    fn default() -> Self {
        Self {
            padding: Padding::Same,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            activation: FusedActivation::None,
        }
    }
}

/// Prepared convolution: shapes, padding, per-channel multipliers and clamp range.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dParams {
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
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// Per output channel multiplier and shift.
    pub multipliers: Vec<QuantizedMultiplier>,
    /// Quantized activation clamp.
    pub act_min: i32,
    /// Quantized activation clamp.
    pub act_max: i32,
}

impl Conv2dParams {
    /// Prepares an int8 convolution (`conv.cc` Prepare). `filter_scales` has one entry per
    /// output channel (or one, broadcast). Output elements of type `T` (`i8`; `i16` for 16x8).
    pub fn prepare<T: QuantInt>(
        options: ConvOptions,
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        input: QParams,
        filter_scales: &[f32],
        output: QParams,
    ) -> crate::Result<Self> {
        input.check::<T>("conv input")?;
        output.check::<T>("conv output")?;
        let [n, h, w, c] = input_shape;
        let [o, kh, kw, fc] = filter_shape;
        if fc == 0 || c % fc != 0 {
            return invalid(format!(
                "conv: input depth {c} is not a multiple of filter depth {fc}"
            ));
        }
        let groups = c / fc;
        if o == 0 || o % groups != 0 {
            return invalid(format!(
                "conv: {o} output channels not divisible into {groups} groups"
            ));
        }
        let (oh, pad_h) = compute_out_size_and_padding(
            options.padding,
            h,
            kh,
            options.stride_h,
            options.dilation_h,
        )?;
        let (ow, pad_w) = compute_out_size_and_padding(
            options.padding,
            w,
            kw,
            options.stride_w,
            options.dilation_w,
        )?;
        let multipliers = per_channel_multipliers(input, filter_scales, output, o)?;
        let (act_min, act_max) = activation_range::<T>(options.activation, output)?;
        Ok(Self {
            input_shape,
            filter_shape,
            output_shape: [n, oh, ow, o],
            stride: (options.stride_h, options.stride_w),
            dilation: (options.dilation_h, options.dilation_w),
            pad: (pad_h, pad_w),
            input_offset: -input.zero_point,
            output_offset: output.zero_point,
            multipliers,
            act_min,
            act_max,
        })
    }

    fn groups(&self) -> usize {
        self.input_shape[3] / self.filter_shape[3].max(1)
    }

    fn check<I, B, O>(
        &self,
        input: &[I],
        filter_len: usize,
        bias: Option<&[B]>,
        output: &[O],
    ) -> crate::Result<()> {
        check_len("conv input", input.len(), numel(&self.input_shape)?)?;
        check_len("conv filter", filter_len, numel(&self.filter_shape)?)?;
        check_len("conv output", output.len(), numel(&self.output_shape)?)?;
        check_len(
            "conv multipliers",
            self.multipliers.len(),
            self.filter_shape[0],
        )?;
        if let Some(b) = bias {
            check_len("conv bias", b.len(), self.filter_shape[0])?;
        }
        let (c, fd, o) = (
            self.input_shape[3],
            self.filter_shape[3],
            self.filter_shape[0],
        );
        if fd == 0 || !c.is_multiple_of(fd) || !o.is_multiple_of((c / fd).max(1)) {
            return invalid("conv: filter depth does not divide the input depth into groups");
        }
        if self.output_shape[0] != self.input_shape[0] || self.output_shape[3] != o {
            return invalid("conv: inconsistent prepared shapes");
        }
        Ok(())
    }

    /// Input coordinate of filter tap `f` for output coordinate `o` along one axis, or `None`
    /// when it falls in the padding.
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
}

/// `reference_integer_ops::ConvPerChannel` (int8): literal reference loop.
pub fn conv2d_per_channel_ref(
    p: &Conv2dParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, fd] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let filters_per_group = out_d / p.groups().max(1);
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for oc in 0..out_d {
                    let group = oc / filters_per_group;
                    let mut acc: i32 = 0;
                    for ky in 0..fh {
                        let Some(iy) =
                            Conv2dParams::tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h)
                        else {
                            continue;
                        };
                        for kx in 0..fw {
                            let Some(ix) =
                                Conv2dParams::tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w)
                            else {
                                continue;
                            };
                            let ibase = ((b * in_h + iy) * in_w + ix) * in_d + group * fd;
                            let fbase = ((oc * fh + ky) * fw + kx) * fd;
                            for ic in 0..fd {
                                let iv = input[ibase + ic] as i32;
                                let fv = filter[fbase + ic] as i32;
                                acc = acc.wrapping_add(fv.wrapping_mul(iv + p.input_offset));
                            }
                        }
                    }
                    if let Some(bias) = bias {
                        acc = acc.wrapping_add(bias[oc]);
                    }
                    let v = p.multipliers[oc].apply(acc).wrapping_add(p.output_offset);
                    output[((b * out_h + oy) * out_w + ox) * out_d + oc] =
                        v.clamp(p.act_min, p.act_max) as i8;
                }
            }
        }
    }
    Ok(())
}

/// Conv filter packed for [`conv2d_per_channel`] (done once at preparation).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedConvFilter {
    rows: PackedRows,
    row_sums: Vec<i32>,
    requant: ChannelRequant,
}

impl PackedConvFilter {
    /// Packs an OHWI filter of shape `p.filter_shape`.
    pub fn new(p: &Conv2dParams, filter: &[i8]) -> crate::Result<Self> {
        let [o, kh, kw, fd] = p.filter_shape;
        let rows = PackedRows::pack(filter, o, kh * kw * fd)?;
        let row_sums = rows.row_sums();
        let requant = ChannelRequant::new(&p.multipliers, p.output_offset, p.act_min, p.act_max);
        Ok(Self {
            rows,
            row_sums,
            requant,
        })
    }
}

/// Output positions handled per im2col block.
const POSITIONS_PER_BLOCK: usize = 64;

/// Optimized int8 per-channel convolution: im2col (padding filled with the input zero point,
/// which contributes exactly zero, like the reference's skipped taps) + int8 GEMM + the same
/// requantization. Bit-identical to [`conv2d_per_channel_ref`]; grouped convolutions fall
/// back to it.
pub fn conv2d_per_channel(
    p: &Conv2dParams,
    filter: &PackedConvFilter,
    filter_raw: &[i8],
    input: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
    parallelism: Parallelism,
) -> crate::Result<()> {
    p.check(input, filter_raw.len(), bias, output)?;
    if p.groups() != 1 {
        return conv2d_per_channel_ref(p, input, filter_raw, bias, output);
    }
    let [_, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, _] = p.filter_shape;
    let [batches, out_h, out_w, _] = p.output_shape;
    let depth = fh * fw * in_d;
    if filter.rows.rows() != out_d
        || filter.rows.depth() != depth
        || filter.requant.channels() != out_d
    {
        return invalid("conv: packed filter does not match the prepared shapes");
    }
    let positions = batches * out_h * out_w;
    if positions == 0 || out_d == 0 {
        return Ok(());
    }
    // Per-channel constant: bias + input_offset * Σ filter.
    let constant: Vec<i32> = (0..out_d)
        .map(|oc| {
            let b = bias.map_or(0, |b| b[oc]);
            b.wrapping_add(p.input_offset.wrapping_mul(filter.row_sums[oc]))
        })
        .collect();
    let pad_value = (-p.input_offset) as i16;
    let block = |block_idx: usize, out_block: &mut [i8]| {
        let first = block_idx * POSITIONS_PER_BLOCK;
        let count = out_block.len() / out_d;
        let mut patches = PackedRows::default();
        patches.reset(count, depth);
        for r in 0..count {
            let pos = first + r;
            let b = pos / (out_h * out_w);
            let oy = (pos / out_w) % out_h;
            let ox = pos % out_w;
            let row = patches.row_mut(r);
            let mut d = 0;
            for ky in 0..fh {
                let iy = Conv2dParams::tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h);
                for kx in 0..fw {
                    let ix = Conv2dParams::tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w);
                    let dst = &mut row[d..d + in_d];
                    match (iy, ix) {
                        (Some(iy), Some(ix)) => {
                            let base = ((b * in_h + iy) * in_w + ix) * in_d;
                            for (o, &v) in dst.iter_mut().zip(&input[base..base + in_d]) {
                                *o = v as i16;
                            }
                        }
                        _ => dst.fill(pad_value),
                    }
                    d += in_d;
                }
            }
        }
        let mut acc = vec![0i32; count * out_d];
        gemm_rows_dispatch(&filter.rows, &patches, 0, count, &mut acc);
        // Shapes were checked above, so this cannot fail.
        let _ = filter.requant.rows_i8(&acc, &constant, out_block);
    };
    let chunk = POSITIONS_PER_BLOCK * out_d;
    if parallelism.threads() > 1 && positions > POSITIONS_PER_BLOCK {
        use rayon::prelude::*;
        output
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, o)| block(i, o));
    } else {
        output
            .chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, o)| block(i, o));
    }
    Ok(())
}

/// Bias of a 16x8 convolution: TFLite accepts int64 (the converter's default) or int32.
pub trait Bias16x8: Copy {
    /// Widening conversion.
    fn to_i64(self) -> i64;
}
impl Bias16x8 for i64 {
    fn to_i64(self) -> i64 {
        self
    }
}
impl Bias16x8 for i32 {
    fn to_i64(self) -> i64 {
        self as i64
    }
}

/// `reference_integer_ops::ConvPerChannel` 16-bit-activation overload: int16 input and output
/// (zero points 0), int8 filter, int64/int32 bias, 64-bit accumulator and the `int64`
/// `MultiplyByQuantizedMultiplier`. Prepare with `Conv2dParams::prepare::<i16>`.
pub fn conv2d_per_channel_16x8<B: Bias16x8>(
    p: &Conv2dParams,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[B]>,
    output: &mut [i16],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, fd] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let filters_per_group = out_d / p.groups().max(1);
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for oc in 0..out_d {
                    let group = oc / filters_per_group;
                    let mut acc: i64 = 0;
                    for ky in 0..fh {
                        let Some(iy) =
                            Conv2dParams::tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h)
                        else {
                            continue;
                        };
                        for kx in 0..fw {
                            let Some(ix) =
                                Conv2dParams::tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w)
                            else {
                                continue;
                            };
                            let ibase = ((b * in_h + iy) * in_w + ix) * in_d + group * fd;
                            let fbase = ((oc * fh + ky) * fw + kx) * fd;
                            for ic in 0..fd {
                                let iv = input[ibase + ic] as i64 + p.input_offset as i64;
                                acc = acc.wrapping_add(filter[fbase + ic] as i64 * iv);
                            }
                        }
                    }
                    if let Some(bias) = bias {
                        acc = acc.wrapping_add(bias[oc].to_i64());
                    }
                    let v = p.multipliers[oc]
                        .apply_i64(acc)
                        .wrapping_add(p.output_offset);
                    output[((b * out_h + oy) * out_w + ox) * out_d + oc] =
                        v.clamp(p.act_min, p.act_max) as i16;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quantize(x: f32, q: QParams) -> i8 {
        ((x / q.scale).round() as i32 + q.zero_point).clamp(-128, 127) as i8
    }

    #[test]
    fn float_golden_1x1_and_3x3() {
        // Float conv: input 1x3x3x1 ramp, 3x3 filter of ones, SAME padding -> sums of
        // neighbourhoods. Quantize with exact scales so the integer result is exact.
        let inq = QParams::new(0.5, -1);
        let outq = QParams::new(0.5, 3);
        let xs: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let input: Vec<i8> = xs.iter().map(|&x| quantize(x, inq)).collect();
        let filter = vec![1i8; 9]; // scale 1.0
        let p = Conv2dParams::prepare::<i8>(
            ConvOptions::default(),
            [1, 3, 3, 1],
            [1, 3, 3, 1],
            inq,
            &[1.0],
            outq,
        )
        .unwrap();
        assert_eq!(p.output_shape, [1, 3, 3, 1]);
        let mut out = vec![0i8; 9];
        // Without bias: sums 12,21,16,27,45,33,24,39,28 -> q = sum/0.5 + 3, clamped.
        conv2d_per_channel_ref(&p, &input, &filter, None, &mut out).unwrap();
        let expect: Vec<i8> = [12.0f32, 21., 16., 27., 45., 33., 24., 39., 28.]
            .iter()
            .map(|&s| quantize(s, outq))
            .collect();
        assert_eq!(out, expect);
        let packed = PackedConvFilter::new(&p, &filter).unwrap();
        let mut out2 = vec![0i8; 9];
        conv2d_per_channel(
            &p,
            &packed,
            &filter,
            &input,
            None,
            &mut out2,
            Parallelism::None,
        )
        .unwrap();
        assert_eq!(out, out2);
        // With bias 2.0 (bias scale = 0.5 * 1.0 -> 4) and ReLU6-free.
        let mut out3 = vec![0i8; 9];
        conv2d_per_channel_ref(&p, &input, &filter, Some(&[4]), &mut out3).unwrap();
        assert!(out3
            .iter()
            .zip(&out)
            .all(|(a, b)| *a as i32 == (*b as i32 + 4).min(127)));
    }

    fn arb_case() -> impl Strategy<Value = (Conv2dParams, Vec<i8>, Vec<i8>, Vec<i32>)> {
        (
            (
                1usize..3,
                1usize..9,
                1usize..9,
                1usize..6,
                1usize..7,
                1usize..4,
                1usize..4,
            ),
            (
                1usize..3,
                1usize..3,
                1usize..3,
                any::<bool>(),
                -128i32..128,
                -128i32..128,
            ),
        )
            .prop_flat_map(|((n, h, w, c, o, kh, kw), (sh, sw, d, same, izp, ozp))| {
                let opts = ConvOptions {
                    padding: if same { Padding::Same } else { Padding::Valid },
                    stride_h: sh,
                    stride_w: sw,
                    dilation_h: d,
                    dilation_w: 1,
                    activation: FusedActivation::Relu,
                };
                let scales: Vec<f32> = (0..o).map(|i| 0.01 + 0.003 * i as f32).collect();
                let p = Conv2dParams::prepare::<i8>(
                    opts,
                    [n, h, w, c],
                    [o, kh, kw, c],
                    QParams::new(0.05, izp),
                    &scales,
                    QParams::new(0.07, ozp),
                );
                let p = p.unwrap();
                let ni = n * h * w * c;
                let nf = o * kh * kw * c;
                (
                    Just(p),
                    proptest::collection::vec(any::<i8>(), ni),
                    proptest::collection::vec(-127i8..=127, nf),
                    proptest::collection::vec(-5000i32..5000, o),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn optimized_equals_reference((p, input, filter, bias) in arb_case()) {
            let size = p.output_shape.iter().product();
            let mut r = vec![0i8; size];
            conv2d_per_channel_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let packed = PackedConvFilter::new(&p, &filter).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut o = vec![0i8; size];
                conv2d_per_channel(&p, &packed, &filter, &input, Some(&bias), &mut o, par).unwrap();
                prop_assert_eq!(&r, &o);
            }
        }
    }

    #[test]
    fn length_errors_not_panics() {
        let p = Conv2dParams::prepare::<i8>(
            ConvOptions::default(),
            [1, 4, 4, 2],
            [3, 3, 3, 2],
            QParams::new(0.1, 0),
            &[0.1, 0.1, 0.1],
            QParams::new(0.1, 0),
        )
        .unwrap();
        let mut out = vec![0i8; 48];
        assert!(conv2d_per_channel_ref(&p, &[0; 31], &[0; 54], None, &mut out).is_err());
        assert!(conv2d_per_channel_ref(&p, &[0; 32], &[0; 54], Some(&[1, 2]), &mut out).is_err());
        assert!(Conv2dParams::prepare::<i8>(
            ConvOptions::default(),
            [1, 4, 4, 2],
            [3, 3, 3, 2],
            QParams::new(0.1, 0),
            &[0.1, 0.1],
            QParams::new(0.1, 0),
        )
        .is_err());
    }

    #[test]
    fn conv_16x8_exact() {
        let p = Conv2dParams::prepare::<i16>(
            ConvOptions {
                padding: Padding::Valid,
                ..Default::default()
            },
            [1, 2, 2, 1],
            [1, 2, 2, 1],
            QParams::new(1.0 / 256.0, 0),
            &[1.0 / 64.0],
            QParams::new(1.0 / 128.0, 0),
        )
        .unwrap();
        // real: inputs 1000/256.., filter 64/64=1 -> sum of inputs.
        let input = [1000i16, -2000, 3000, 400];
        let filter = [64i8; 4];
        let mut out = [0i16; 1];
        conv2d_per_channel_16x8::<i64>(&p, &input, &filter, Some(&[0]), &mut out).unwrap();
        // sum = 2400/256 real -> /(1/128) = 1200.
        assert_eq!(out[0], 1200);
    }
}
