//! TRANSPOSE_CONV: GEMM of the input with the packed weights, then col2im scatter-add.

use super::activation::{bias_clamp_rows, Clamp};
use super::gemm::matmul;
use crate::error::{check_len, invalid, numel};
use crate::{Parallelism, Result};

/// Geometry of a transposed convolution (TFLite TRANSPOSE_CONV): input pixel `(iy, ix)` adds
/// `input · weights[o, ky, kx, :]` into output pixel `(iy·stride_h − pad_top + ky,
/// ix·stride_w − pad_left + kx)` when that pixel exists. Weights are OHWI
/// `[out_c, KH, KW, in_c]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransposeConvParams {
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
    pub pad_top: usize,
    pub pad_left: usize,
    /// Fused activation applied after the bias.
    pub clamp: Clamp,
}

impl TransposeConvParams {
    /// Number of input elements.
    pub fn input_len(&self) -> Result<usize> {
        numel(&[self.batch, self.in_h, self.in_w, self.in_c])
    }

    /// Number of output elements.
    pub fn output_len(&self) -> Result<usize> {
        numel(&[self.batch, self.out_h, self.out_w, self.out_c])
    }

    /// Number of weight elements.
    pub fn weights_len(&self) -> Result<usize> {
        numel(&[self.out_c, self.kernel_h, self.kernel_w, self.in_c])
    }

    /// Checks that sizes are positive and fit in memory.
    pub fn validate(&self) -> Result<()> {
        let p = self;
        if p.in_c == 0 || p.out_c == 0 || p.kernel_h == 0 || p.kernel_w == 0 {
            return invalid(format!("transpose_conv: empty channels or kernel in {p:?}"));
        }
        if p.stride_h == 0 || p.stride_w == 0 {
            return invalid("transpose_conv: stride must be positive");
        }
        self.input_len()?;
        self.output_len()?;
        self.weights_len()?;
        Ok(())
    }
}

/// Transposed-convolution weights prepared once: a `[in_c, KH·KW·out_c]` row-major matrix,
/// plus the bias.
#[derive(Clone, Debug, PartialEq)]
pub struct TransposeConvWeights {
    in_c: usize,
    cols: usize,
    packed: Vec<f32>,
    bias: Vec<f32>,
}

impl TransposeConvWeights {
    /// Packs OHWI weights and an optional `[out_c]` bias for the geometry `p`.
    pub fn pack(p: &TransposeConvParams, ohwi: &[f32], bias: Option<&[f32]>) -> Result<Self> {
        p.validate()?;
        check_len("transpose_conv weights", ohwi.len(), p.weights_len()?)?;
        if let Some(b) = bias {
            check_len("transpose_conv bias", b.len(), p.out_c)?;
        }
        let taps = p.kernel_h * p.kernel_w;
        let cols = taps * p.out_c;
        let mut packed = vec![0.0; ohwi.len()];
        for o in 0..p.out_c {
            for t in 0..taps {
                for i in 0..p.in_c {
                    packed[i * cols + t * p.out_c + o] = ohwi[(o * taps + t) * p.in_c + i];
                }
            }
        }
        Ok(TransposeConvWeights {
            in_c: p.in_c,
            cols,
            packed,
            bias: bias.map(<[f32]>::to_vec).unwrap_or_default(),
        })
    }
}

/// Transposed convolution (float): `output = clamp(transpose_conv(input, weights) + bias)`.
/// `input` `[batch, in_h, in_w, in_c]`, `output` `[batch, out_h, out_w, out_c]`; `weights`
/// from [`TransposeConvWeights::pack`] for the same `p`.
pub fn transpose_conv(
    p: &TransposeConvParams,
    w: &TransposeConvWeights,
    input: &[f32],
    output: &mut [f32],
    par: Parallelism,
) -> Result<()> {
    p.validate()?;
    if w.in_c != p.in_c || w.cols != p.kernel_h * p.kernel_w * p.out_c {
        return invalid("transpose_conv: weights were packed for another geometry");
    }
    check_len("transpose_conv input", input.len(), p.input_len()?)?;
    check_len("transpose_conv output", output.len(), p.output_len()?)?;
    let in_px = p.in_h * p.in_w;
    let mut cols = vec![0.0; in_px * w.cols];
    output.fill(0.0);
    let img_in = in_px * p.in_c;
    let img_out = p.out_h * p.out_w * p.out_c;
    for b in 0..p.batch {
        let x = &input[b * img_in..(b + 1) * img_in];
        matmul(
            in_px, w.cols, p.in_c, x, p.in_c, &w.packed, w.cols, &mut cols, w.cols, false, par,
        )?;
        let out = &mut output[b * img_out..(b + 1) * img_out];
        for iy in 0..p.in_h {
            for ix in 0..p.in_w {
                let src = &cols[(iy * p.in_w + ix) * w.cols..(iy * p.in_w + ix + 1) * w.cols];
                for ky in 0..p.kernel_h {
                    let oy = (iy * p.stride_h + ky) as isize - p.pad_top as isize;
                    if oy < 0 || oy >= p.out_h as isize {
                        continue;
                    }
                    for kx in 0..p.kernel_w {
                        let ox = (ix * p.stride_w + kx) as isize - p.pad_left as isize;
                        if ox < 0 || ox >= p.out_w as isize {
                            continue;
                        }
                        let d = (oy as usize * p.out_w + ox as usize) * p.out_c;
                        let s = (ky * p.kernel_w + kx) * p.out_c;
                        for (o, &v) in out[d..d + p.out_c].iter_mut().zip(&src[s..s + p.out_c]) {
                            *o += v;
                        }
                    }
                }
            }
        }
    }
    bias_clamp_rows(output, &w.bias, p.clamp);
    Ok(())
}

/// Reference twin of [`transpose_conv`]: TFLite's reference scatter loop on OHWI weights.
pub fn transpose_conv_ref(
    p: &TransposeConvParams,
    ohwi: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    p.validate()?;
    check_len("transpose_conv weights", ohwi.len(), p.weights_len()?)?;
    check_len("transpose_conv input", input.len(), p.input_len()?)?;
    check_len("transpose_conv output", output.len(), p.output_len()?)?;
    if let Some(b) = bias {
        check_len("transpose_conv bias", b.len(), p.out_c)?;
    }
    output.fill(0.0);
    for b in 0..p.batch {
        for iy in 0..p.in_h {
            for ix in 0..p.in_w {
                for ic in 0..p.in_c {
                    let x = input[((b * p.in_h + iy) * p.in_w + ix) * p.in_c + ic];
                    for ky in 0..p.kernel_h {
                        for kx in 0..p.kernel_w {
                            let oy = (iy * p.stride_h + ky) as isize - p.pad_top as isize;
                            let ox = (ix * p.stride_w + kx) as isize - p.pad_left as isize;
                            if oy < 0 || ox < 0 || oy >= p.out_h as isize || ox >= p.out_w as isize
                            {
                                continue;
                            }
                            for oc in 0..p.out_c {
                                let wv =
                                    ohwi[((oc * p.kernel_h + ky) * p.kernel_w + kx) * p.in_c + ic];
                                output[((b * p.out_h + oy as usize) * p.out_w + ox as usize)
                                    * p.out_c
                                    + oc] += x * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    for px in output.chunks_exact_mut(p.out_c) {
        for (oc, v) in px.iter_mut().enumerate() {
            *v = p.clamp.apply(*v + bias.map_or(0.0, |b| b[oc]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::testutil::{assert_close, vec_strategy};
    use proptest::prelude::*;

    #[test]
    fn hand_computed_stride2() {
        // 1x2x1x1 input [1, 2], 2x1 kernel [1, 10], stride 2, no padding: output rows
        // [1, 10, 2, 20], plus bias 0.5.
        let p = TransposeConvParams {
            batch: 1,
            in_h: 2,
            in_w: 1,
            in_c: 1,
            out_h: 4,
            out_w: 1,
            out_c: 1,
            kernel_h: 2,
            kernel_w: 1,
            stride_h: 2,
            stride_w: 1,
            pad_top: 0,
            pad_left: 0,
            clamp: Clamp::NONE,
        };
        let w = TransposeConvWeights::pack(&p, &[1.0, 10.0], Some(&[0.5])).unwrap();
        let mut out = [0.0; 4];
        transpose_conv(&p, &w, &[1.0, 2.0], &mut out, Parallelism::None).unwrap();
        assert_eq!(out, [1.5, 10.5, 2.5, 20.5]);
    }

    proptest! {
        // Tolerance: each output sums ≤ KH·KW·I products in a different order (GEMM blocking
        // and FMA), terms ≤ 4; 1e-6 relative to 4·KH·KW·I + 2.
        #[test]
        fn matches_reference(
            (p, input, w, bias) in ((1usize..3, 1usize..6, 1usize..6, 1usize..5), 1usize..5,
                (1usize..4, 1usize..4), (1usize..3, 1usize..3), (0usize..2, 0usize..2))
                .prop_flat_map(|((b, h, wd, ic), oc, (kh, kw), (sh, sw), (pt, pl))| {
                    let p = TransposeConvParams {
                        batch: b, in_h: h, in_w: wd, in_c: ic,
                        out_h: (h - 1) * sh + kh - pt, out_w: (wd - 1) * sw + kw - pl,
                        out_c: oc, kernel_h: kh, kernel_w: kw, stride_h: sh, stride_w: sw,
                        pad_top: pt.min(kh - 1), pad_left: pl.min(kw - 1),
                        clamp: Clamp::new(-2.0, 2.0),
                    };
                    (Just(p), vec_strategy(p.input_len().unwrap()),
                     vec_strategy(p.weights_len().unwrap()), vec_strategy(oc))
                })
        ) {
            let packed = TransposeConvWeights::pack(&p, &w, Some(&bias)).unwrap();
            let mut got = vec![0.0; p.output_len().unwrap()];
            transpose_conv(&p, &packed, &input, &mut got, Parallelism::None).unwrap();
            let mut want = vec![0.0; got.len()];
            transpose_conv_ref(&p, &w, Some(&bias), &input, &mut want).unwrap();
            let scale = vec![(4 * p.kernel_h * p.kernel_w * p.in_c + 2) as f32; got.len()];
            assert_close(&got, &want, &scale, 1e-6);
        }
    }
}
