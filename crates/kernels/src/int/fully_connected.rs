//! FULLY_CONNECTED, int8 (per-tensor and per-channel weights) and 16x8.
//!
//! Reproduces `reference_integer_ops::FullyConnected` / `FullyConnectedPerChannel` with the
//! parameters of `fully_connected.cc: Prepare`:
//! * per-tensor: `GetQuantizedConvolutionMultipler`, i.e. the input × filter scale product is
//!   computed in **float** before the division in double;
//! * per-channel: `(double)input_scale * (double)filter_scale[c] / (double)output_scale`.
//!
//! LiteRT's reference kernel (what `OpResolverType.BUILTIN_REF` runs in LiteRT 2.3, per
//! `fully_connected.cc: FullyConnectedInt8<kReference>` and the per-channel / int16 variants)
//! rescales with a `double` effective scale and `round()` instead of the quantized
//! multiplier: `acc_scaled = (int32)round((double)acc * in_s * w_s / out_s)`. That is the
//! default ([`FcRescale::DoubleScale`]); the golden tests confirm it byte for byte (the
//! multiplier path differs from LiteRT's reference on a few outputs in a thousand).
//! [`FcRescale::QuantizedMultiplier`] reproduces TFLite's optimized kernels and TFLite Micro
//! (at most 1 LSB away).

use super::conv::Bias16x8;
use super::gemm::{gemm_rows_dispatch, PackedRows};
use super::quant_util::QuantizedMultiplier;
use super::{activation_range, check_len, invalid, FusedActivation, QParams, QuantInt};
use crate::Parallelism;

/// How the int32 accumulator is rescaled to the output scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FcRescale {
    /// `MultiplyByQuantizedMultiplier` (double rounding) — TFLite's optimized kernels (ruy),
    /// TFLite Micro, and the reference kernel of older TFLite.
    QuantizedMultiplier,
    /// `(int32)round((double)acc * effective_scale)` — LiteRT's reference kernel (default).
    #[default]
    DoubleScale,
}

/// Prepared fully connected layer.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedParams {
    /// Rows of the input (`batches`).
    pub batches: usize,
    /// Input depth (`accum_depth`).
    pub accum_depth: usize,
    /// Output units.
    pub output_depth: usize,
    /// `-input_zero_point`.
    pub input_offset: i32,
    /// `-filter_zero_point` (0 for the int8 spec; legacy per-tensor weights may differ).
    pub filter_offset: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    /// One multiplier (per-tensor) or one per output unit (per-channel).
    pub multipliers: Vec<QuantizedMultiplier>,
    /// Effective scales used by [`FcRescale::DoubleScale`], same length as `multipliers`.
    pub effective_scales: Vec<f64>,
    /// Rescaling mode.
    pub rescale: FcRescale,
    /// Quantized activation clamp.
    pub act_min: i32,
    /// Quantized activation clamp.
    pub act_max: i32,
}

impl FullyConnectedParams {
    /// Prepares a fully connected layer with `T` activations (`i8`, `u8`, or `i16` for 16x8).
    /// `filter_scales` of length 1 selects the per-tensor path, `output_depth` the per-channel
    /// path.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare<T: QuantInt>(
        batches: usize,
        accum_depth: usize,
        output_depth: usize,
        input: QParams,
        filter_scales: &[f32],
        filter_zero_point: i32,
        output: QParams,
        activation: FusedActivation,
    ) -> crate::Result<Self> {
        input.check::<T>("fully connected input")?;
        output.check::<T>("fully connected output")?;
        let per_channel = filter_scales.len() > 1;
        if per_channel && filter_scales.len() != output_depth {
            return invalid(format!(
                "fully connected: {} filter scales for {output_depth} units",
                filter_scales.len()
            ));
        }
        if filter_scales.is_empty() {
            return invalid("fully connected: missing filter scale");
        }
        let mut multipliers = Vec::with_capacity(filter_scales.len());
        let mut effective_scales = Vec::with_capacity(filter_scales.len());
        for &fs in filter_scales {
            if !(fs.is_finite() && fs >= 0.0) {
                return invalid(format!("fully connected: invalid filter scale {fs}"));
            }
            let real = if per_channel {
                input.scale as f64 * fs as f64 / output.scale as f64
            } else {
                (input.scale * fs) as f64 / output.scale as f64
            };
            multipliers.push(QuantizedMultiplier::new(real)?);
            effective_scales.push(input.scale as f64 * fs as f64 / output.scale as f64);
        }
        let (act_min, act_max) = activation_range::<T>(activation, output)?;
        Ok(Self {
            batches,
            accum_depth,
            output_depth,
            input_offset: -input.zero_point,
            filter_offset: if per_channel { 0 } else { -filter_zero_point },
            output_offset: output.zero_point,
            multipliers,
            effective_scales,
            rescale: FcRescale::default(),
            act_min,
            act_max,
        })
    }

    /// Returns a copy using `rescale`.
    pub fn with_rescale(mut self, rescale: FcRescale) -> Self {
        self.rescale = rescale;
        self
    }

    fn check<I, B, O>(
        &self,
        input: &[I],
        filter_len: usize,
        bias: Option<&[B]>,
        output: &[O],
    ) -> crate::Result<()> {
        check_len(
            "fully connected input",
            input.len(),
            self.batches * self.accum_depth,
        )?;
        check_len(
            "fully connected filter",
            filter_len,
            self.output_depth * self.accum_depth,
        )?;
        check_len(
            "fully connected output",
            output.len(),
            self.batches * self.output_depth,
        )?;
        if let Some(b) = bias {
            check_len("fully connected bias", b.len(), self.output_depth)?;
        }
        if self.multipliers.len() != 1 && self.multipliers.len() != self.output_depth
            || self.effective_scales.len() != self.multipliers.len()
        {
            return invalid("fully connected: inconsistent multipliers");
        }
        Ok(())
    }

    #[inline]
    fn channel(&self, c: usize) -> usize {
        if self.multipliers.len() == 1 {
            0
        } else {
            c
        }
    }

    #[inline]
    fn scale_acc_i32(&self, acc: i32, c: usize) -> i32 {
        let ch = self.channel(c);
        match self.rescale {
            FcRescale::QuantizedMultiplier => self.multipliers[ch].apply(acc),
            FcRescale::DoubleScale => (acc as f64 * self.effective_scales[ch]).round() as i32,
        }
    }

    #[inline]
    pub(crate) fn scale_acc_i64(&self, acc: i64, c: usize) -> i32 {
        let ch = self.channel(c);
        match self.rescale {
            FcRescale::QuantizedMultiplier => self.multipliers[ch].apply_i64(acc),
            FcRescale::DoubleScale => (acc as f64 * self.effective_scales[ch]).round() as i32,
        }
    }
}

/// `reference_integer_ops::FullyConnected{,PerChannel}` for 8-bit activations (`i8`, or `u8`
/// with `u8` weights via [`fully_connected_ref_u8`]): literal reference loop.
pub fn fully_connected_ref(
    p: &FullyConnectedParams,
    input: &[i8],
    filter: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> crate::Result<()> {
    fc_ref_generic(p, input, filter, bias, output)
}

/// Legacy uint8 fully connected (`reference_ops::FullyConnected`, uint8 weights with a zero
/// point), same arithmetic.
pub fn fully_connected_ref_u8(
    p: &FullyConnectedParams,
    input: &[u8],
    filter: &[u8],
    bias: Option<&[i32]>,
    output: &mut [u8],
) -> crate::Result<()> {
    fc_ref_generic(p, input, filter, bias, output)
}

fn fc_ref_generic<T: QuantInt, W: QuantInt>(
    p: &FullyConnectedParams,
    input: &[T],
    filter: &[W],
    bias: Option<&[i32]>,
    output: &mut [T],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    let d = p.accum_depth;
    for b in 0..p.batches {
        for oc in 0..p.output_depth {
            let mut acc: i32 = 0;
            for k in 0..d {
                let iv = input[b * d + k].to_i32();
                let fv = filter[oc * d + k].to_i32();
                acc = acc.wrapping_add((fv + p.filter_offset).wrapping_mul(iv + p.input_offset));
            }
            if let Some(bias) = bias {
                acc = acc.wrapping_add(bias[oc]);
            }
            let v = p.scale_acc_i32(acc, oc).wrapping_add(p.output_offset);
            output[b * p.output_depth + oc] = T::from_i32(v.clamp(p.act_min, p.act_max));
        }
    }
    Ok(())
}

/// Weights packed for [`fully_connected`] (done once at preparation).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedFcWeights {
    rows: PackedRows,
    row_sums: Vec<i32>,
}

impl PackedFcWeights {
    /// Packs `[output_depth, accum_depth]` int8 weights.
    pub fn new(p: &FullyConnectedParams, filter: &[i8]) -> crate::Result<Self> {
        let rows = PackedRows::pack(filter, p.output_depth, p.accum_depth)?;
        let row_sums = rows.row_sums();
        Ok(Self { rows, row_sums })
    }
}

/// Optimized int8 fully connected (int8 GEMM + zero-point correction), bit-identical to
/// [`fully_connected_ref`].
pub fn fully_connected(
    p: &FullyConnectedParams,
    weights: &PackedFcWeights,
    filter_raw_len: usize,
    input: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
    parallelism: Parallelism,
) -> crate::Result<()> {
    p.check(input, filter_raw_len, bias, output)?;
    if weights.rows.rows() != p.output_depth || weights.rows.depth() != p.accum_depth {
        return invalid("fully connected: packed weights do not match the prepared shapes");
    }
    let (m, d) = (p.output_depth, p.accum_depth);
    if m == 0 || p.batches == 0 {
        return Ok(());
    }
    // Σ (w + fo)(x + io) = Σ w·x + io·Σw + fo·Σx + d·fo·io.
    let constant: Vec<i32> = (0..m)
        .map(|oc| {
            bias.map_or(0, |b| b[oc])
                .wrapping_add(p.input_offset.wrapping_mul(weights.row_sums[oc]))
                .wrapping_add(
                    (d as i32)
                        .wrapping_mul(p.filter_offset)
                        .wrapping_mul(p.input_offset),
                )
        })
        .collect();
    const ROWS_PER_BLOCK: usize = 32;
    let block = |bi: usize, out: &mut [i8]| {
        let first = bi * ROWS_PER_BLOCK;
        let rows = out.len() / m;
        let src = &input[first * d..(first + rows) * d];
        // `src` has rows * d elements by construction, so packing cannot fail.
        let Ok(packed) = PackedRows::pack(src, rows, d) else {
            return;
        };
        let mut acc = vec![0i32; rows * m];
        gemm_rows_dispatch(&weights.rows, &packed, 0, rows, &mut acc);
        for r in 0..rows {
            let xsum = if p.filter_offset != 0 {
                src[r * d..(r + 1) * d]
                    .iter()
                    .fold(0i32, |a, &v| a.wrapping_add(v as i32))
                    .wrapping_mul(p.filter_offset)
            } else {
                0
            };
            for oc in 0..m {
                let a = acc[r * m + oc]
                    .wrapping_add(constant[oc])
                    .wrapping_add(xsum);
                let v = p.scale_acc_i32(a, oc).wrapping_add(p.output_offset);
                out[r * m + oc] = v.clamp(p.act_min, p.act_max) as i8;
            }
        }
    };
    let chunk = ROWS_PER_BLOCK * m;
    if parallelism.threads() > 1 && p.batches > ROWS_PER_BLOCK {
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

/// 16x8 fully connected: int16 activations, int8 weights, int64/int32 bias, 64-bit
/// accumulator (`reference_integer_ops::FullyConnected` with `int16_t` input).
pub fn fully_connected_16x8<B: Bias16x8>(
    p: &FullyConnectedParams,
    input: &[i16],
    filter: &[i8],
    bias: Option<&[B]>,
    output: &mut [i16],
) -> crate::Result<()> {
    p.check(input, filter.len(), bias, output)?;
    let d = p.accum_depth;
    for b in 0..p.batches {
        for oc in 0..p.output_depth {
            let mut acc: i64 = 0;
            for k in 0..d {
                let iv = input[b * d + k] as i64 + p.input_offset as i64;
                let fv = filter[oc * d + k] as i64 + p.filter_offset as i64;
                acc = acc.wrapping_add(fv * iv);
            }
            if let Some(bias) = bias {
                acc = acc.wrapping_add(bias[oc].to_i64());
            }
            let v = p.scale_acc_i64(acc, oc).wrapping_add(p.output_offset);
            output[b * p.output_depth + oc] = v.clamp(p.act_min, p.act_max) as i16;
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
        // y = W x + b with x = [1, 2, 3], W = [[1, 0, -1], [2, 2, 2]], b = [0.5, -1].
        // Scales: input 0.5 (zp 1), weights 1.0, output 0.25 (zp -3).
        let input = [3i8, 5, 7]; // (q - 1) * 0.5 = 1, 2, 3
        let filter = [1i8, 0, -1, 2, 2, 2];
        let bias = [1i32, -2]; // bias scale 0.5
        let p = FullyConnectedParams::prepare::<i8>(
            1,
            3,
            2,
            QParams::new(0.5, 1),
            &[1.0],
            0,
            QParams::new(0.25, -3),
            FusedActivation::None,
        )
        .unwrap();
        let mut out = [0i8; 2];
        fully_connected_ref(&p, &input, &filter, Some(&bias), &mut out).unwrap();
        // y = [-2 + 0.5, 12 - 1] = [-1.5, 11] -> q = y / 0.25 - 3 = [-9, 41].
        assert_eq!(out, [-9, 41]);
        let w = PackedFcWeights::new(&p, &filter).unwrap();
        let mut out2 = [0i8; 2];
        fully_connected(&p, &w, 6, &input, Some(&bias), &mut out2, Parallelism::None).unwrap();
        assert_eq!(out, out2);
        let pd = p.clone().with_rescale(FcRescale::DoubleScale);
        fully_connected_ref(&pd, &input, &filter, Some(&bias), &mut out2).unwrap();
        assert_eq!(out, out2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn optimized_equals_reference(
            (b, d, o, per_channel, izp, ozp, fzp, seed) in
            (1usize..70, 0usize..50, 1usize..20, any::<bool>(), -128i32..128, -128i32..128,
             -3i32..3, any::<u64>())
        ) {
            let scales: Vec<f32> = if per_channel {
                (0..o).map(|i| 0.01 + 0.001 * i as f32).collect()
            } else { vec![0.013] };
            let p = FullyConnectedParams::prepare::<i8>(
                b, d, o, QParams::new(0.07, izp), &scales, fzp, QParams::new(0.3, ozp),
                FusedActivation::Relu,
            ).unwrap();
            let mut st = seed;
            let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1); (st >> 56) as i8 };
            let input: Vec<i8> = (0..b * d).map(|_| rnd()).collect();
            let filter: Vec<i8> = (0..o * d).map(|_| rnd().max(-127)).collect();
            let bias: Vec<i32> = (0..o).map(|i| i as i32 * 101 - 500).collect();
            let mut r = vec![0i8; b * o];
            fully_connected_ref(&p, &input, &filter, Some(&bias), &mut r).unwrap();
            let w = PackedFcWeights::new(&p, &filter).unwrap();
            for par in [Parallelism::None, Parallelism::Rayon] {
                let mut x = vec![0i8; b * o];
                fully_connected(&p, &w, filter.len(), &input, Some(&bias), &mut x, par).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }
    }
}
