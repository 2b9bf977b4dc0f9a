//! RESIZE_BILINEAR with TFLite's coordinate rules.

use crate::error::{check_len, invalid, numel};
use crate::Result;

/// Geometry and coordinate mode of a spatial resize of NHWC data.
///
/// Scale per axis is `in / out`, or `(in − 1) / (out − 1)` with `align_corners` (when
/// `out > 1`); `half_pixel_centers` samples at `(o + 0.5)·scale − 0.5`. Both flags together
/// are rejected (TFLite forbids it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResizeParams {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub align_corners: bool,
    pub half_pixel_centers: bool,
}

impl ResizeParams {
    /// Number of input elements.
    pub fn input_len(&self) -> Result<usize> {
        numel(&[self.batch, self.in_h, self.in_w, self.channels])
    }

    /// Number of output elements.
    pub fn output_len(&self) -> Result<usize> {
        numel(&[self.batch, self.out_h, self.out_w, self.channels])
    }

    pub(crate) fn check<T>(&self, input: &[T], output: &[T]) -> Result<()> {
        if self.align_corners && self.half_pixel_centers {
            return invalid("resize: align_corners and half_pixel_centers are exclusive");
        }
        if self.in_h == 0 || self.in_w == 0 || self.out_h == 0 || self.out_w == 0 {
            return invalid(format!("resize: empty spatial size in {self:?}"));
        }
        check_len("resize input", input.len(), self.input_len()?)?;
        check_len("resize output", output.len(), self.output_len()?)?;
        Ok(())
    }

    /// TFLite's scale for one axis.
    pub(crate) fn scale(&self, input: usize, output: usize) -> f32 {
        if self.align_corners && output > 1 {
            (input - 1) as f32 / (output - 1) as f32
        } else {
            input as f32 / output as f32
        }
    }
}

/// TFLite `ComputeInterpolationValues`: the source coordinate and its clamped floor/ceil.
#[inline]
fn interp(value: usize, scale: f32, half_pixel: bool, size: usize) -> (f32, usize, usize) {
    let v = value as f32;
    let scaled = if half_pixel {
        (v + 0.5) * scale - 0.5
    } else {
        v * scale
    };
    let lo = (scaled.floor() as i64).max(0) as usize;
    let hi = (scaled.ceil() as i64).min(size as i64 - 1).max(0) as usize;
    (scaled, lo.min(size - 1), hi)
}

/// Bilinear resize (TFLite RESIZE_BILINEAR, float), bit-identical to the reference formula
/// `v00·(1−dy)·(1−dx) + v10·dy·(1−dx) + v01·(1−dy)·dx + v11·dy·dx`; the per-column
/// coordinates are computed once and the channel loop is contiguous.
pub fn resize_bilinear(p: &ResizeParams, input: &[f32], output: &mut [f32]) -> Result<()> {
    p.check(input, output)?;
    let c = p.channels;
    if c == 0 || p.batch == 0 {
        return Ok(());
    }
    let (sy, sx) = (p.scale(p.in_h, p.out_h), p.scale(p.in_w, p.out_w));
    let xs: Vec<(f32, usize, usize)> = (0..p.out_w)
        .map(|x| interp(x, sx, p.half_pixel_centers, p.in_w))
        .collect();
    let img = p.in_h * p.in_w * c;
    let mut out_px = output.chunks_exact_mut(c);
    for b in 0..p.batch {
        let src = &input[b * img..(b + 1) * img];
        for y in 0..p.out_h {
            let (iy, y0, y1) = interp(y, sy, p.half_pixel_centers, p.in_h);
            let dy = iy - y0 as f32;
            for &(ix, x0, x1) in &xs {
                let dx = ix - x0 as f32;
                let Some(o) = out_px.next() else {
                    return Ok(());
                };
                let px =
                    |yy: usize, xx: usize| &src[(yy * p.in_w + xx) * c..(yy * p.in_w + xx + 1) * c];
                let (a, bb, cc, d) = (px(y0, x0), px(y1, x0), px(y0, x1), px(y1, x1));
                for i in 0..c {
                    o[i] = a[i] * (1.0 - dy) * (1.0 - dx)
                        + bb[i] * dy * (1.0 - dx)
                        + cc[i] * (1.0 - dy) * dx
                        + d[i] * dy * dx;
                }
            }
        }
    }
    Ok(())
}

/// Reference twin of [`resize_bilinear`]: TFLite's reference loop nest, coordinates recomputed
/// per element.
pub fn resize_bilinear_ref(p: &ResizeParams, input: &[f32], output: &mut [f32]) -> Result<()> {
    p.check(input, output)?;
    let (sy, sx) = (p.scale(p.in_h, p.out_h), p.scale(p.in_w, p.out_w));
    let at = |b: usize, y: usize, x: usize, ch: usize| {
        input[((b * p.in_h + y) * p.in_w + x) * p.channels + ch]
    };
    for b in 0..p.batch {
        for y in 0..p.out_h {
            for x in 0..p.out_w {
                for ch in 0..p.channels {
                    let (iy, y0, y1) = interp(y, sy, p.half_pixel_centers, p.in_h);
                    let (ix, x0, x1) = interp(x, sx, p.half_pixel_centers, p.in_w);
                    let (dy, dx) = (iy - y0 as f32, ix - x0 as f32);
                    output[((b * p.out_h + y) * p.out_w + x) * p.channels + ch] =
                        at(b, y0, x0, ch) * (1.0 - dy) * (1.0 - dx)
                            + at(b, y1, x0, ch) * dy * (1.0 - dx)
                            + at(b, y0, x1, ch) * (1.0 - dy) * dx
                            + at(b, y1, x1, ch) * dy * dx;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::float::testutil::vec_strategy;
    use proptest::prelude::*;

    fn p(in_hw: (usize, usize), out_hw: (usize, usize), ac: bool, hp: bool) -> ResizeParams {
        ResizeParams {
            batch: 1,
            in_h: in_hw.0,
            in_w: in_hw.1,
            channels: 1,
            out_h: out_hw.0,
            out_w: out_hw.1,
            align_corners: ac,
            half_pixel_centers: hp,
        }
    }

    #[test]
    fn hand_computed() {
        // 1x1x2 [0, 4] → 1x1x4.
        let mut o = [0.0; 4];
        // Default: x·0.5 → 0, 0.5, 1(clamped hi), 1.5 → [0, 2, 4, 4].
        resize_bilinear(&p((1, 2), (1, 4), false, false), &[0.0, 4.0], &mut o).unwrap();
        assert_eq!(o, [0.0, 2.0, 4.0, 4.0]);
        // align_corners: scale 1/3 → [0, 4/3, 8/3, 4].
        resize_bilinear(&p((1, 2), (1, 4), true, false), &[0.0, 4.0], &mut o).unwrap();
        assert!((o[1] - 4.0 / 3.0).abs() < 1e-6 && (o[2] - 8.0 / 3.0).abs() < 1e-6 && o[3] == 4.0);
        // half_pixel_centers: (x + .5)·.5 − .5 → −.25, .25, .75, 1.25 → [0, 1, 3, 4].
        resize_bilinear(&p((1, 2), (1, 4), false, true), &[0.0, 4.0], &mut o).unwrap();
        assert_eq!(o, [0.0, 1.0, 3.0, 4.0]);
        assert!(resize_bilinear(&p((1, 2), (1, 4), true, true), &[0.0, 4.0], &mut o).is_err());
    }

    pub(crate) fn case() -> impl Strategy<Value = (ResizeParams, Vec<f32>)> {
        (
            1usize..3,
            1usize..7,
            1usize..7,
            1usize..5,
            1usize..12,
            1usize..12,
            0u8..3,
        )
            .prop_flat_map(|(b, ih, iw, c, oh, ow, mode)| {
                let p = ResizeParams {
                    batch: b,
                    in_h: ih,
                    in_w: iw,
                    channels: c,
                    out_h: oh,
                    out_w: ow,
                    align_corners: mode == 1,
                    half_pixel_centers: mode == 2,
                };
                (Just(p), vec_strategy(p.input_len().unwrap()))
            })
    }

    proptest! {
        // Exact: the same expression in the same order per element.
        #[test]
        fn matches_reference((p, x) in case()) {
            let mut got = vec![0.0; p.output_len().unwrap()];
            let mut want = got.clone();
            resize_bilinear(&p, &x, &mut got).unwrap();
            resize_bilinear_ref(&p, &x, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
