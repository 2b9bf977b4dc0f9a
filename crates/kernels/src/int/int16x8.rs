//! Optimized 16x8 CONV_2D and FULLY_CONNECTED (int16 activations, int8 weights, 64-bit
//! accumulators), twins of the reference loops
//! [`conv2d_per_channel_16x8`](super::conv::conv2d_per_channel_16x8) and
//! [`fully_connected_16x8`](super::fully_connected::fully_connected_16x8).
//!
//! The reference accumulates `Σ (x + input_offset)·(w + filter_offset)` in `i64`. With the
//! offsets at 0 (TFLite requires zero points 0 for int16 activations and for 16x8 weights)
//! every product has magnitude ≤ 2¹⁵·2⁷ = 2²², so sums of up to [`CHUNK`] = 256 products
//! stay below 2³⁰ in any order: the dot products are computed in `i32` over chunks of 256
//! (vectorized: the loops compile to `vpmaddwd` with AVX2 / AVX-512BW) and the chunk sums
//! are added in `i64`. The integer sums are therefore exactly the reference's and so are the
//! outputs (property tests below). Nonzero offsets fall back to the reference loops.
//! Convolutions gather each output position's patch into an `i16` buffer (padding taps are 0,
//! which the reference skips).

use super::conv::{conv2d_per_channel_16x8, Bias16x8, Conv2dParams};
use super::fully_connected::{fully_connected_16x8, FullyConnectedParams};
use super::{check_len, numel};

/// Products summed in `i32` before widening (see the module documentation).
pub const CHUNK: usize = 256;

/// Weights of a 16x8 convolution or fully connected layer, widened to `i16` once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights16x8 {
    rows: usize,
    depth: usize,
    w: Vec<i16>,
}

impl Weights16x8 {
    /// Widens `rows × depth` int8 weights (OHWI conv filter or `[out, in]` FC weights).
    pub fn new(filter: &[i8], rows: usize, depth: usize) -> crate::Result<Self> {
        check_len("16x8 weights", filter.len(), rows * depth)?;
        Ok(Self {
            rows,
            depth,
            w: filter.iter().map(|&v| v as i16).collect(),
        })
    }
}

/// `Σ a[i]·b[i]`, exact, for `|a[i]·b[i]| ≤ 2²²`.
#[inline(always)]
fn dot(a: &[i16], b: &[i16]) -> i64 {
    let mut total = 0i64;
    for (ca, cb) in a.chunks(CHUNK).zip(b.chunks(CHUNK)) {
        let mut s = 0i32;
        for (&x, &y) in ca.iter().zip(cb) {
            s = s.wrapping_add(x as i32 * y as i32);
        }
        total += s as i64;
    }
    total
}

/// Rows of outputs: for each `r`, `out[r·R + o] = epilogue(o, Σ x_r · w_o + bias[o])`.
#[inline(always)]
fn rows_body<B: Bias16x8>(
    w: &Weights16x8,
    x_row: &[i16],
    bias: Option<&[B]>,
    out: &mut [i16],
    epilogue: &dyn Fn(usize, i64) -> i16,
) {
    for (o, (y, wr)) in out.iter_mut().zip(w.w.chunks_exact(w.depth)).enumerate() {
        let acc = dot(x_row, wr).wrapping_add(bias.map_or(0, |b| b[o].to_i64()));
        *y = epilogue(o, acc);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn rows_avx512<B: Bias16x8>(
    w: &Weights16x8,
    x_row: &[i16],
    bias: Option<&[B]>,
    out: &mut [i16],
    epilogue: &dyn Fn(usize, i64) -> i16,
) {
    rows_body(w, x_row, bias, out, epilogue)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rows_avx2<B: Bias16x8>(
    w: &Weights16x8,
    x_row: &[i16],
    bias: Option<&[B]>,
    out: &mut [i16],
    epilogue: &dyn Fn(usize, i64) -> i16,
) {
    rows_body(w, x_row, bias, out, epilogue)
}

/// One output row with the best kernel for this CPU.
fn rows<B: Bias16x8>(
    w: &Weights16x8,
    x_row: &[i16],
    bias: Option<&[B]>,
    out: &mut [i16],
    epilogue: &dyn Fn(usize, i64) -> i16,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the features were just checked.
            return unsafe { rows_avx512(w, x_row, bias, out, epilogue) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the feature was just checked.
            return unsafe { rows_avx2(w, x_row, bias, out, epilogue) };
        }
    }
    rows_body(w, x_row, bias, out, epilogue)
}

/// Optimized 16x8 convolution, identical to
/// [`conv2d_per_channel_16x8`](super::conv::conv2d_per_channel_16x8) (which it calls for
/// grouped convolutions and nonzero input offsets).
pub fn conv2d_per_channel_16x8_fast<B: Bias16x8>(
    p: &Conv2dParams,
    w: &Weights16x8,
    filter: &[i8],
    input: &[i16],
    bias: Option<&[B]>,
    output: &mut [i16],
) -> crate::Result<()> {
    let [batches, in_h, in_w, in_d] = p.input_shape;
    let [out_d, fh, fw, fd] = p.filter_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    if fd != in_d || p.input_offset != 0 || w.rows != out_d || w.depth != fh * fw * fd {
        return conv2d_per_channel_16x8(p, input, filter, bias, output);
    }
    check_len("conv input", input.len(), numel(&p.input_shape)?)?;
    check_len("conv filter", filter.len(), numel(&p.filter_shape)?)?;
    check_len("conv output", output.len(), numel(&p.output_shape)?)?;
    check_len("conv multipliers", p.multipliers.len(), out_d)?;
    if let Some(b) = bias {
        check_len("conv bias", b.len(), out_d)?;
    }
    if out_d == 0 {
        return Ok(());
    }
    let epilogue = |o: usize, acc: i64| {
        p.multipliers[o]
            .apply_i64(acc)
            .wrapping_add(p.output_offset)
            .clamp(p.act_min, p.act_max) as i16
    };
    let mut patch = vec![0i16; w.depth];
    let tap = |o: usize, s: usize, pad: usize, d: usize, f: usize, size: usize| {
        (o * s + f * d).checked_sub(pad).filter(|&v| v < size)
    };
    for (pos, out_px) in output.chunks_exact_mut(out_d).enumerate() {
        let b = pos / (out_h * out_w);
        let oy = (pos / out_w) % out_h;
        let ox = pos % out_w;
        for ky in 0..fh {
            let iy = tap(oy, p.stride.0, p.pad.0, p.dilation.0, ky, in_h);
            for kx in 0..fw {
                let ix = tap(ox, p.stride.1, p.pad.1, p.dilation.1, kx, in_w);
                let dst = &mut patch[(ky * fw + kx) * in_d..(ky * fw + kx + 1) * in_d];
                match (iy, ix) {
                    (Some(iy), Some(ix)) => {
                        let at = ((b * in_h + iy) * in_w + ix) * in_d;
                        dst.copy_from_slice(&input[at..at + in_d]);
                    }
                    _ => dst.fill(0),
                }
            }
        }
        rows(w, &patch, bias, out_px, &epilogue);
    }
    let _ = batches;
    Ok(())
}

/// Optimized 16x8 fully connected layer, identical to
/// [`fully_connected_16x8`](super::fully_connected::fully_connected_16x8) (which it calls for
/// nonzero input or filter offsets).
pub fn fully_connected_16x8_fast<B: Bias16x8>(
    p: &FullyConnectedParams,
    w: &Weights16x8,
    filter: &[i8],
    input: &[i16],
    bias: Option<&[B]>,
    output: &mut [i16],
) -> crate::Result<()> {
    let d = p.accum_depth;
    if p.input_offset != 0 || p.filter_offset != 0 || w.rows != p.output_depth || w.depth != d {
        return fully_connected_16x8(p, input, filter, bias, output);
    }
    check_len("fully connected input", input.len(), p.batches * d)?;
    check_len("fully connected filter", filter.len(), p.output_depth * d)?;
    check_len(
        "fully connected output",
        output.len(),
        p.batches * p.output_depth,
    )?;
    if let Some(b) = bias {
        check_len("fully connected bias", b.len(), p.output_depth)?;
    }
    if p.output_depth == 0 || d == 0 {
        return fully_connected_16x8(p, input, filter, bias, output);
    }
    let epilogue = |o: usize, acc: i64| {
        p.scale_acc_i64(acc, o)
            .wrapping_add(p.output_offset)
            .clamp(p.act_min, p.act_max) as i16
    };
    for (x, y) in input
        .chunks_exact(d)
        .zip(output.chunks_exact_mut(p.output_depth))
    {
        rows(w, x, bias, y, &epilogue);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::conv::ConvOptions;
    use super::super::{FusedActivation, Padding, QParams};
    use super::*;
    use proptest::prelude::*;

    fn lcg(st: &mut u64) -> u64 {
        *st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *st >> 16
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]
        #[test]
        fn conv_fast_equals_reference(
            (n, h, w, c, o, kh, kw) in (1usize..3, 1usize..8, 1usize..8, 1usize..40, 1usize..20, 1usize..4, 1usize..4),
            (s, d, same, seed, extreme, relu) in (1usize..3, 1usize..3, any::<bool>(), any::<u64>(), any::<bool>(), any::<bool>()),
        ) {
            let opts = ConvOptions {
                padding: if same { Padding::Same } else { Padding::Valid },
                stride_h: s, stride_w: 3 - s, dilation_h: d, dilation_w: 1,
                activation: if relu { FusedActivation::Relu } else { FusedActivation::None },
            };
            let scales: Vec<f32> = (0..o).map(|i| 0.001 + 0.0003 * i as f32).collect();
            let Ok(p) = Conv2dParams::prepare::<i16>(opts, [n, h, w, c], [o, kh, kw, c],
                QParams::new(0.01, 0), &scales, QParams::new(0.02, 0)) else { return Ok(()); };
            let mut st = seed;
            // Extreme inputs (±32768 / -128 weights) check the chunked i32 sums cannot overflow.
            let input: Vec<i16> = (0..n * h * w * c).map(|_| if extreme { -32768 } else { lcg(&mut st) as i16 }).collect();
            let filter: Vec<i8> = (0..o * kh * kw * c).map(|_| if extreme { -128 } else { lcg(&mut st) as i8 }).collect();
            let bias: Vec<i64> = (0..o).map(|_| (lcg(&mut st) as i64 % 2_000_000) - 1_000_000).collect();
            let len: usize = p.output_shape.iter().product();
            let wt = Weights16x8::new(&filter, o, kh * kw * c).unwrap();
            for b in [None, Some(&bias[..])] {
                let mut r = vec![0i16; len];
                conv2d_per_channel_16x8(&p, &input, &filter, b, &mut r).unwrap();
                let mut x = vec![0i16; len];
                conv2d_per_channel_16x8_fast(&p, &wt, &filter, &input, b, &mut x).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }

        #[test]
        fn fc_fast_equals_reference(
            (batches, depth, outs, seed, extreme) in (1usize..4, 1usize..1200, 1usize..24, any::<u64>(), any::<bool>()),
        ) {
            let p = FullyConnectedParams::prepare::<i16>(
                batches, depth, outs, QParams::new(0.01, 0), &[0.003], 0,
                QParams::new(0.05, 0), FusedActivation::None,
            ).unwrap();
            let mut st = seed;
            let input: Vec<i16> = (0..batches * depth).map(|_| if extreme { -32768 } else { lcg(&mut st) as i16 }).collect();
            let filter: Vec<i8> = (0..outs * depth).map(|_| if extreme { -128 } else { lcg(&mut st) as i8 }).collect();
            let bias: Vec<i32> = (0..outs).map(|_| lcg(&mut st) as i32 % 100_000).collect();
            let wt = Weights16x8::new(&filter, outs, depth).unwrap();
            for b in [None, Some(&bias[..])] {
                let mut r = vec![0i16; batches * outs];
                fully_connected_16x8(&p, &input, &filter, b, &mut r).unwrap();
                let mut x = vec![0i16; batches * outs];
                fully_connected_16x8_fast(&p, &wt, &filter, &input, b, &mut x).unwrap();
                prop_assert_eq!(&r, &x);
            }
        }
    }
}
