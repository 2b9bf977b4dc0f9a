//! TRANSPOSE_CONV, int8 (per-channel) and 16x8.
//!
//! Reproduces TFLite's `reference_integer_ops::TransposeConv`: every input element, offset by
//! the input zero point, is scattered through the filter into an integer accumulator per
//! output element (int32 for int8 activations; int64 for int16 activations, whose zero point
//! is 0); then the bias is added, the per-channel multiplier of
//! `PopulateConvolutionQuantizationParams` applied (the `int64` overload of
//! `MultiplyByQuantizedMultiplier` for 16x8), the output zero point added (int8 only) and the
//! fused activation's range clamped. Integer addition is exact (wrapping like TFLite's builds),
//! so the order of the scatter does not change the result.

use super::quant_util::QuantizedMultiplier;
use super::{
    activation_range, check_len, invalid, numel, per_channel_multipliers, FusedActivation, QParams,
    QuantInt,
};

/// Prepared transposed convolution: shapes, padding, per-channel multipliers and clamp range.
#[derive(Clone, Debug, PartialEq)]
pub struct TransposeConvParams {
    /// Input shape `[N, H, W, C]`.
    pub input_shape: [usize; 4],
    /// Filter shape `[O, KH, KW, C]`.
    pub filter_shape: [usize; 4],
    /// Output shape `[N, OH, OW, O]` (given by the op's output-shape operand).
    pub output_shape: [usize; 4],
    /// Stride `(h, w)`.
    pub stride: (usize, usize),
    /// Leading (top, left) padding, resolved against the output size as TFLite does.
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

impl TransposeConvParams {
    /// Prepares the op (`transpose_conv.cc` Prepare) for activations of type `T` (`i8`, or
    /// `i16` for 16x8). `filter_scales` has one entry per output channel (or one, broadcast).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare<T: QuantInt>(
        input_shape: [usize; 4],
        filter_shape: [usize; 4],
        output_shape: [usize; 4],
        stride: (usize, usize),
        pad: (usize, usize),
        input: QParams,
        filter_scales: &[f32],
        output: QParams,
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        input.check::<T>("transpose conv input")?;
        output.check::<T>("transpose conv output")?;
        let [n, _, _, c] = input_shape;
        let [o, kh, kw, fc] = filter_shape;
        let [on, _, _, oc] = output_shape;
        if fc != c || oc != o || on != n {
            return invalid(format!(
                "transpose conv: input {input_shape:?}, filter {filter_shape:?} and output \
                 {output_shape:?} do not match"
            ));
        }
        if stride.0 == 0 || stride.1 == 0 || kh == 0 || kw == 0 {
            return invalid("transpose conv: stride and filter size must be positive");
        }
        let (act_min, act_max) = activation_range::<T>(activation, output)?;
        Ok(Self {
            input_shape,
            filter_shape,
            output_shape,
            stride,
            pad,
            input_offset: -input.zero_point,
            output_offset: output.zero_point,
            multipliers: per_channel_multipliers(input, filter_scales, output, o)?,
            act_min,
            act_max,
        })
    }

    fn check<I, B, O>(
        &self,
        input: &[I],
        filter_len: usize,
        bias: Option<&[B]>,
        output: &[O],
    ) -> crate::Result<()> {
        check_len(
            "transpose conv input",
            input.len(),
            numel(&self.input_shape)?,
        )?;
        check_len(
            "transpose conv filter",
            filter_len,
            numel(&self.filter_shape)?,
        )?;
        check_len(
            "transpose conv output",
            output.len(),
            numel(&self.output_shape)?,
        )?;
        check_len(
            "transpose conv multipliers",
            self.multipliers.len(),
            self.filter_shape[0],
        )?;
        if let Some(b) = bias {
            check_len("transpose conv bias", b.len(), self.filter_shape[0])?;
        }
        Ok(())
    }

    /// Scatters `(input + input_offset) × filter` into `acc` (one accumulator per output
    /// element, zeroed by the caller).
    fn scatter<I: QuantInt, A>(&self, input: &[I], filter: &[i8], acc: &mut [A])
    where
        A: Copy + WrappingMulAdd,
    {
        let [batches, in_h, in_w, in_d] = self.input_shape;
        let [out_d, fh, fw, _] = self.filter_shape;
        let [_, out_h, out_w, _] = self.output_shape;
        for b in 0..batches {
            for iy in 0..in_h {
                for ix in 0..in_w {
                    let ibase = ((b * in_h + iy) * in_w + ix) * in_d;
                    for ky in 0..fh {
                        let Some(oy) = (iy * self.stride.0 + ky)
                            .checked_sub(self.pad.0)
                            .filter(|&v| v < out_h)
                        else {
                            continue;
                        };
                        for kx in 0..fw {
                            let Some(ox) = (ix * self.stride.1 + kx)
                                .checked_sub(self.pad.1)
                                .filter(|&v| v < out_w)
                            else {
                                continue;
                            };
                            let obase = ((b * out_h + oy) * out_w + ox) * out_d;
                            for oc in 0..out_d {
                                let fbase = ((oc * fh + ky) * fw + kx) * in_d;
                                let a = &mut acc[obase + oc];
                                for ic in 0..in_d {
                                    let x =
                                        input[ibase + ic].to_i32().wrapping_add(self.input_offset);
                                    *a = a.mul_add(x, filter[fbase + ic] as i32);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Accumulator arithmetic of the two overloads (wrapping, as TFLite's builds behave).
trait WrappingMulAdd: Sized {
    fn mul_add(self, x: i32, w: i32) -> Self;
}

impl WrappingMulAdd for i32 {
    #[inline]
    fn mul_add(self, x: i32, w: i32) -> i32 {
        self.wrapping_add(x.wrapping_mul(w))
    }
}

impl WrappingMulAdd for i64 {
    #[inline]
    fn mul_add(self, x: i32, w: i32) -> i64 {
        self.wrapping_add(x as i64 * w as i64)
    }
}

impl TransposeConvParams {
    /// Checks the slices, scatters into zeroed accumulators of type `A` and writes
    /// `finish(accumulator, output channel)` to every output element.
    fn run<I: QuantInt, A, B, O>(
        &self,
        input: &[I],
        filter: &[i8],
        bias: Option<&[B]>,
        output: &mut [O],
        finish: impl Fn(A, usize) -> O,
    ) -> crate::Result<()>
    where
        A: Copy + Default + WrappingMulAdd,
    {
        self.check(input, filter.len(), bias, output)?;
        let mut acc = vec![A::default(); output.len()];
        self.scatter(input, filter, &mut acc);
        let out_d = self.filter_shape[0];
        for (i, (o, &a)) in output.iter_mut().zip(&acc).enumerate() {
            *o = finish(a, i % out_d);
        }
        Ok(())
    }
}

/// `reference_integer_ops::TransposeConv` for int8 activations, int8 per-channel weights and
/// an optional int32 bias.
pub fn transpose_conv_per_channel(
    p: &TransposeConvParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    p.run(input, filter, bias, output, |a: i32, oc| {
        let a = bias.map_or(a, |b| a.wrapping_add(b[oc]));
        let v = p.multipliers[oc].apply(a).wrapping_add(p.output_offset);
        v.clamp(p.act_min, p.act_max) as i8
    })
}

/// The 16x8 overload: int16 activations (zero points 0), int8 per-channel weights, an optional
/// int64 bias, int64 accumulators and the `int64` `MultiplyByQuantizedMultiplier`.
pub fn transpose_conv_16x8(
    p: &TransposeConvParams,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> crate::Result<()> {
    p.run(input, filter, bias, output, |a: i64, oc| {
        let a = bias.map_or(a, |b| a.wrapping_add(b[oc]));
        p.multipliers[oc].apply_i64(a).clamp(p.act_min, p.act_max) as i16
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Float transposed convolution with the geometry of `p` (batch 1).
    fn float_reference(x: &[f32], w: &[f32], b: &[f32], p: &TransposeConvParams) -> Vec<f32> {
        let (ish, fsh, osh) = (p.input_shape, p.filter_shape, p.output_shape);
        let mut out = vec![0f32; osh.iter().product()];
        for iy in 0..ish[1] {
            for ix in 0..ish[2] {
                for ky in 0..fsh[1] {
                    for kx in 0..fsh[2] {
                        let oy = (iy * p.stride.0 + ky) as isize - p.pad.0 as isize;
                        let ox = (ix * p.stride.1 + kx) as isize - p.pad.1 as isize;
                        if oy < 0 || ox < 0 || oy as usize >= osh[1] || ox as usize >= osh[2] {
                            continue;
                        }
                        for oc in 0..fsh[0] {
                            for ic in 0..ish[3] {
                                out[(oy as usize * osh[2] + ox as usize) * osh[3] + oc] += x
                                    [(iy * ish[2] + ix) * ish[3] + ic]
                                    * w[((oc * fsh[1] + ky) * fsh[2] + kx) * fsh[3] + ic];
                            }
                        }
                    }
                }
            }
        }
        for (i, v) in out.iter_mut().enumerate() {
            *v += b[i % osh[3]];
        }
        out
    }

    #[test]
    fn exact_integers_match_the_float_definition() {
        // Input scale 0.5 with zero point 3, weights at scale 1 (channel 0) and 0.5
        // (channel 1), output scale 0.25 zero point -10: every product is a multiple of the
        // output step, so the requantization is exact and the result must equal the float op.
        let (ish, fsh, osh) = ([1, 3, 3, 2], [2, 3, 3, 2], [1, 6, 6, 2]);
        let (stride, pad) = ((2, 2), (1, 1));
        let xq: Vec<i8> = (0..18).map(|i| ((i * 7) % 11) as i8 - 2).collect();
        let wq: Vec<i8> = (0..36).map(|i| ((i * 5) % 7) as i8 - 3).collect();
        let (xs, xz, ys, yz) = (0.5f32, 3, 0.25f32, -10);
        let ws = [1.0f32, 0.5];
        let bq = vec![8i32, -6];
        let p = TransposeConvParams::prepare::<i8>(
            ish,
            fsh,
            osh,
            stride,
            pad,
            QParams::new(xs, xz),
            &ws,
            QParams::new(ys, yz),
            FusedActivation::None,
        )
        .expect("prepare");
        let mut out = vec![0i8; 72];
        transpose_conv_per_channel(&p, &xq, &wq, Some(&bq), &mut out).expect("run");
        let xf: Vec<f32> = xq.iter().map(|&v| (v as i32 - xz) as f32 * xs).collect();
        let wf: Vec<f32> = wq
            .iter()
            .enumerate()
            .map(|(i, &v)| v as f32 * ws[i / 18])
            .collect();
        let bf: Vec<f32> = (0..2).map(|c| bq[c] as f32 * xs * ws[c]).collect();
        let want = float_reference(&xf, &wf, &bf, &p);
        for (i, (&o, &f)) in out.iter().zip(&want).enumerate() {
            let expect = ((f / ys).round() as i32 + yz).clamp(-128, 127);
            assert_eq!(o as i32, expect, "element {i}: float {f}");
        }
    }

    #[test]
    fn relu_clamps_and_16x8_uses_zero_points_0() {
        let (ish, fsh, osh) = ([1, 2, 2, 1], [1, 2, 2, 1], [1, 4, 4, 1]);
        let p8 = TransposeConvParams::prepare::<i8>(
            ish,
            fsh,
            osh,
            (2, 2),
            (0, 0),
            QParams::new(1.0, 0),
            &[1.0],
            QParams::new(1.0, 0),
            FusedActivation::Relu,
        )
        .expect("prepare");
        let mut out = vec![0i8; 16];
        transpose_conv_per_channel(&p8, &[1, -1, 2, -2], &[1, 2, 3, 4], None, &mut out)
            .expect("run");
        // Stride 2 with a 2x2 filter: each input element fills its own 2x2 block.
        assert_eq!(out, [1, 2, 0, 0, 3, 4, 0, 0, 2, 4, 0, 0, 6, 8, 0, 0]);
        let p16 = TransposeConvParams::prepare::<i16>(
            ish,
            fsh,
            osh,
            (2, 2),
            (0, 0),
            QParams::new(1.0, 0),
            &[1.0],
            QParams::new(0.5, 0),
            FusedActivation::None,
        )
        .expect("prepare");
        let mut out = vec![0i16; 16];
        transpose_conv_16x8(
            &p16,
            &[1000, -1, 2, -2],
            &[1, 2, 3, 4],
            Some(&[7]),
            &mut out,
        )
        .expect("run");
        assert_eq!(out[0], 2 * (1000 + 7));
        assert_eq!(out[2], 2 * (-1 + 7));
        assert_eq!(out[15], 2 * (-8 + 7));
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let r = TransposeConvParams::prepare::<i8>(
            [1, 2, 2, 3],
            [1, 2, 2, 2],
            [1, 4, 4, 1],
            (2, 2),
            (0, 0),
            QParams::new(1.0, 0),
            &[1.0],
            QParams::new(1.0, 0),
            FusedActivation::None,
        );
        assert!(r.is_err());
    }
}
