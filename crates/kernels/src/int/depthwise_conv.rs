//! DEPTHWISE_CONV_2D, int8 per-channel (and 16x8).
//!
//! Reproduces `reference_integer_ops::DepthwiseConvPerChannel` with the parameters of
//! `depthwise_conv.cc: Prepare` (per-channel multipliers on the filter's last dimension).
//! [`depthwise_conv_per_channel`] is a channel-innermost loop (vectorizable, same integer sums)
//! checked against the literal [`depthwise_conv_per_channel_ref`].

use super::conv::Bias16x8;
use super::quant_util::QuantizedMultiplier;
use super::requant::ChannelRequant;
use super::{
    activation_range, check_len, compute_out_size_and_padding, invalid, numel,
    per_channel_multipliers, FusedActivation, Padding, QParams, QuantInt,
};

/// Builtin options of a depthwise convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseOptions {
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
    /// Output channels per input channel.
    pub depth_multiplier: usize,
    /// Fused activation.
    pub activation: FusedActivation,
}

impl Default for DepthwiseOptions {
    fn default() -> Self {
        Self {
            padding: Padding::Same,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            depth_multiplier: 1,
            activation: FusedActivation::None,
        }
    }
}

/// Prepared depthwise convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseParams {
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

impl DepthwiseParams {
    /// Prepares a depthwise convolution with output type `T` (`i8`, or `i16` for 16x8).
    pub fn prepare<T: QuantInt>(
        options: DepthwiseOptions,
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        input: QParams,
        filter_scales: &[f32],
        output: QParams,
    ) -> crate::Result<Self> {
        input.check::<T>("depthwise input")?;
        output.check::<T>("depthwise output")?;
        let [n, h, w, c] = input_shape;
        let [one, kh, kw, oc] = filter_shape;
        let m = options.depth_multiplier;
        if one != 1 || m == 0 || oc != c * m {
            return invalid(format!(
                "depthwise: filter {filter_shape:?} does not match input depth {c} × multiplier {m}"
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
        Ok(Self {
            input_shape,
            filter_shape,
            output_shape: [n, oh, ow, oc],
            stride: (options.stride_h, options.stride_w),
            dilation: (options.dilation_h, options.dilation_w),
            pad: (pad_h, pad_w),
            depth_multiplier: m,
            input_offset: -input.zero_point,
            output_offset: output.zero_point,
            multipliers: per_channel_multipliers(input, filter_scales, output, oc)?,
            act_min: activation_range::<T>(options.activation, output)?.0,
            act_max: activation_range::<T>(options.activation, output)?.1,
        })
    }

    fn check<I, B, O>(
        &self,
        input: &[I],
        filter: &[i8],
        bias: Option<&[B]>,
        output: &[O],
    ) -> crate::Result<()> {
        check_len("depthwise input", input.len(), numel(&self.input_shape)?)?;
        check_len("depthwise filter", filter.len(), numel(&self.filter_shape)?)?;
        check_len("depthwise output", output.len(), numel(&self.output_shape)?)?;
        let oc = self.filter_shape[3];
        check_len("depthwise multipliers", self.multipliers.len(), oc)?;
        if let Some(b) = bias {
            check_len("depthwise bias", b.len(), oc)?;
        }
        if self.output_shape[3] != oc
            || oc != self.input_shape[3] * self.depth_multiplier
            || self.output_shape[0] != self.input_shape[0]
        {
            return invalid("depthwise: inconsistent prepared shapes");
        }
        Ok(())
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
}

/// `reference_integer_ops::DepthwiseConvPerChannel` (int8), literal loop order.
pub fn depthwise_conv_per_channel_ref(
    p: &DepthwiseParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    p.check(input, filter, bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, out_d] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let m = p.depth_multiplier;
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ic in 0..in_d {
                    for mm in 0..m {
                        let oc = mm + ic * m;
                        let mut acc: i32 = 0;
                        for ky in 0..fh {
                            for kx in 0..fw {
                                let (Some(iy), Some(ix)) = (
                                    DepthwiseParams::tap(
                                        oy,
                                        p.stride.0,
                                        p.pad.0,
                                        p.dilation.0,
                                        ky,
                                        in_h,
                                    ),
                                    DepthwiseParams::tap(
                                        ox,
                                        p.stride.1,
                                        p.pad.1,
                                        p.dilation.1,
                                        kx,
                                        in_w,
                                    ),
                                ) else {
                                    continue;
                                };
                                let iv = input[((b * in_h + iy) * in_w + ix) * in_d + ic] as i32;
                                let fv = filter[(ky * fw + kx) * out_d + oc] as i32;
                                acc = acc.wrapping_add(fv.wrapping_mul(iv + p.input_offset));
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
    }
    Ok(())
}

/// Optimized int8 depthwise convolution: for each output pixel, accumulates all output
/// channels at once (channel-innermost, vectorizable). Same integer sums as
/// [`depthwise_conv_per_channel_ref`], hence identical output.
pub fn depthwise_conv_per_channel(
    p: &DepthwiseParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    p.check(input, filter, bias, output)?;
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is available; the body only indexes within the checked shapes.
            return unsafe { depthwise_avx2(p, input, filter, bias, output) };
        }
    }
    depthwise_body(p, input, filter, bias, output)
}

/// The vectorizable body compiled with AVX2 enabled (auto-vectorized 8 lanes wide).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn depthwise_avx2(
    p: &DepthwiseParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    depthwise_body(p, input, filter, bias, output)
}

#[inline(always)]
fn depthwise_body(
    p: &DepthwiseParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, out_d] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let m = p.depth_multiplier;
    let mut acc = vec![0i32; out_d];
    let mut shifted = vec![0i32; out_d];
    let requant = ChannelRequant::new(&p.multipliers, p.output_offset, p.act_min, p.act_max);
    let zeros = vec![0i32; out_d];
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                match bias {
                    Some(bias) => acc.copy_from_slice(bias),
                    None => acc.fill(0),
                }
                for ky in 0..fh {
                    let Some(iy) =
                        DepthwiseParams::tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h)
                    else {
                        continue;
                    };
                    for kx in 0..fw {
                        let Some(ix) =
                            DepthwiseParams::tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w)
                        else {
                            continue;
                        };
                        let ibase = ((b * in_h + iy) * in_w + ix) * in_d;
                        let irow = &input[ibase..ibase + in_d];
                        let fbase = (ky * fw + kx) * out_d;
                        let frow = &filter[fbase..fbase + out_d];
                        if m == 1 {
                            for ((a, &f), &x) in acc.iter_mut().zip(frow).zip(irow) {
                                *a = a.wrapping_add(
                                    (f as i32).wrapping_mul(x as i32 + p.input_offset),
                                );
                            }
                        } else {
                            for (s, &x) in shifted.chunks_exact_mut(m).zip(irow) {
                                s.fill(x as i32 + p.input_offset);
                            }
                            for ((a, &f), &x) in acc.iter_mut().zip(frow).zip(&shifted) {
                                *a = a.wrapping_add((f as i32).wrapping_mul(x));
                            }
                        }
                    }
                }
                let obase = ((b * out_h + oy) * out_w + ox) * out_d;
                requant.rows_i8(&acc, &zeros, &mut output[obase..obase + out_d])?;
            }
        }
    }
    Ok(())
}

/// `reference_integer_ops::DepthwiseConvPerChannel` 16-bit overload (int16 activations with
/// zero point 0, int8 filter, int64/int32 bias, 64-bit accumulator).
pub fn depthwise_conv_per_channel_16x8<B: Bias16x8>(
    p: &DepthwiseParams,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[B]>,
    output: &mut [i16],
) -> crate::Result<()> {
    p.check(input, filter, bias, output)?;
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [_, fh, fw, out_d] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    let m = p.depth_multiplier;
    for b in 0..batches {
        for oy in 0..out_h {
            for ox in 0..out_w {
                for ic in 0..in_d {
                    for mm in 0..m {
                        let oc = mm + ic * m;
                        let mut acc: i64 = 0;
                        for ky in 0..fh {
                            for kx in 0..fw {
                                let (Some(iy), Some(ix)) = (
                                    DepthwiseParams::tap(
                                        oy,
                                        p.stride.0,
                                        p.pad.0,
                                        p.dilation.0,
                                        ky,
                                        in_h,
                                    ),
                                    DepthwiseParams::tap(
                                        ox,
                                        p.stride.1,
                                        p.pad.1,
                                        p.dilation.1,
                                        kx,
                                        in_w,
                                    ),
                                ) else {
                                    continue;
                                };
                                let iv = input[((b * in_h + iy) * in_w + ix) * in_d + ic] as i64;
                                let fv = filter[(ky * fw + kx) * out_d + oc] as i64;
                                acc = acc.wrapping_add(fv * iv);
                            }
                        }
                        if let Some(bias) = bias {
                            acc = acc.wrapping_add(bias[oc].to_i64());
                        }
                        let v = p.multipliers[oc].apply_i64(acc);
                        output[((b * out_h + oy) * out_w + ox) * out_d + oc] =
                            v.clamp(p.act_min, p.act_max) as i16;
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
    use proptest::prelude::*;

    #[test]
    fn float_golden() {
        // 1x2x2x2 input, 2x2 filter, VALID: channel 0 filter ones, channel 1 filter twos.
        let inq = QParams::new(0.25, 0);
        let outq = QParams::new(0.25, -10);
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]; // NHWC
        let input: Vec<i8> = x.iter().map(|v| (v / 0.25) as i8).collect();
        let filter = [1i8, 2, 1, 2, 1, 2, 1, 2]; // scale 1
        let p = DepthwiseParams::prepare::<i8>(
            DepthwiseOptions {
                padding: Padding::Valid,
                ..Default::default()
            },
            [1, 2, 2, 2],
            [1, 2, 2, 2],
            inq,
            &[1.0, 1.0],
            outq,
        )
        .unwrap();
        let mut out = [0i8; 2];
        depthwise_conv_per_channel_ref(&p, &input, &filter, None, &mut out).unwrap();
        // ch0: 1+3+5+7 = 16 -> 64 - 10 = 54; ch1: 2*(2+4+6+8) = 40 -> 160 - 10 = 150 -> 127.
        assert_eq!(out, [54, 127]);
        let mut out2 = [0i8; 2];
        depthwise_conv_per_channel(&p, &input, &filter, None, &mut out2).unwrap();
        assert_eq!(out, out2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn optimized_equals_reference(
            ((n, h, w, c, m, kh, kw), (s, d, same, izp, ozp, seed)) in
            ((1usize..3, 1usize..8, 1usize..8, 1usize..6, 1usize..4, 1usize..4, 1usize..4),
             (1usize..3, 1usize..3, any::<bool>(), -128i32..128, -128i32..128, any::<u64>()))
        ) {
            let oc = c * m;
            let scales: Vec<f32> = (0..oc).map(|i| 0.002 + 0.001 * i as f32).collect();
            let p = DepthwiseParams::prepare::<i8>(
                DepthwiseOptions {
                    padding: if same { Padding::Same } else { Padding::Valid },
                    stride_h: s, stride_w: 1, dilation_h: 1, dilation_w: d,
                    depth_multiplier: m, activation: FusedActivation::Relu6,
                },
                [n, h, w, c], [1, kh, kw, oc],
                QParams::new(0.1, izp), &scales, QParams::new(0.02, ozp),
            ).unwrap();
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1); (st >> 56) as i8 };
            let input: Vec<i8> = (0..n * h * w * c).map(|_| rnd()).collect();
            let filter: Vec<i8> = (0..kh * kw * oc).map(|_| rnd().max(-127)).collect();
            let bias: Vec<i32> = (0..oc).map(|i| i as i32 * 37 - 100).collect();
            let size: usize = p.output_shape.iter().product();
            let mut r = vec![0i8; size];
            let mut o = vec![0i8; size];
            depthwise_conv_per_channel_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            depthwise_conv_per_channel(&p, &input, &filter, Some(&bias), &mut o).unwrap();
            prop_assert_eq!(r, o);
        }
    }
}
