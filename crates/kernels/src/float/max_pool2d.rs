//! MAX_POOL_2D.

use super::pool::Pool2dParams;
use crate::Result;

/// Max pooling (TFLite MAX_POOL_2D, float): the maximum over the clipped window, then the
/// fused clamp. A window entirely in the padding yields `f32::MIN` before clamping (as
/// TFLite's `lowest()` initial value). Vectorized over channels.
pub fn max_pool2d(p: &Pool2dParams, input: &[f32], output: &mut [f32]) -> Result<()> {
    p.check(input, output)?;
    let c = p.channels;
    if c == 0 {
        return Ok(());
    }
    let img = p.in_h * p.in_w * c;
    for (i, acc) in output.chunks_exact_mut(c).enumerate() {
        let (b, rem) = (i / (p.out_h * p.out_w), i % (p.out_h * p.out_w));
        let (oy, ox) = (rem / p.out_w, rem % p.out_w);
        let (y0, y1) = Pool2dParams::range(oy, p.stride_h, p.pad_top, p.filter_h, p.in_h);
        let (x0, x1) = Pool2dParams::range(ox, p.stride_w, p.pad_left, p.filter_w, p.in_w);
        acc.fill(f32::MIN);
        for iy in y0..y1 {
            for ix in x0..x1 {
                let o = b * img + (iy * p.in_w + ix) * c;
                for (a, &x) in acc.iter_mut().zip(&input[o..o + c]) {
                    *a = if x > *a { x } else { *a };
                }
            }
        }
        for a in acc.iter_mut() {
            *a = p.clamp.apply(*a);
        }
    }
    Ok(())
}

/// Reference twin of [`max_pool2d`]: TFLite's reference loop nest (channel outermost within a
/// pixel).
pub fn max_pool2d_ref(p: &Pool2dParams, input: &[f32], output: &mut [f32]) -> Result<()> {
    p.check(input, output)?;
    for b in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                let (y0, y1) = Pool2dParams::range(oy, p.stride_h, p.pad_top, p.filter_h, p.in_h);
                let (x0, x1) = Pool2dParams::range(ox, p.stride_w, p.pad_left, p.filter_w, p.in_w);
                for ch in 0..p.channels {
                    let mut m = f32::MIN;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            m = m.max(input[((b * p.in_h + iy) * p.in_w + ix) * p.channels + ch]);
                        }
                    }
                    output[((b * p.out_h + oy) * p.out_w + ox) * p.channels + ch] =
                        p.clamp.apply(m);
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
    use crate::float::Clamp;
    use proptest::prelude::*;

    pub(crate) fn pool_case() -> impl Strategy<Value = (Pool2dParams, Vec<f32>)> {
        (
            1usize..3,
            1usize..9,
            1usize..9,
            1usize..11,
            1usize..4,
            1usize..4,
            1usize..3,
            1usize..3,
            0usize..2,
            0usize..2,
        )
            .prop_flat_map(|(b, h, w, c, fh, fw, sh, sw, pt, pl)| {
                let p = Pool2dParams {
                    batch: b,
                    in_h: h,
                    in_w: w,
                    channels: c,
                    out_h: (h + 2 * pt).saturating_sub(fh) / sh + 1,
                    out_w: (w + 2 * pl).saturating_sub(fw) / sw + 1,
                    filter_h: fh,
                    filter_w: fw,
                    stride_h: sh,
                    stride_w: sw,
                    pad_top: pt.min(fh - 1),
                    pad_left: pl.min(fw - 1),
                    clamp: Clamp::new(-1.0, 1.5),
                };
                (Just(p), vec_strategy(p.input_len().unwrap()))
            })
    }

    #[test]
    fn hand_computed_same_padding() {
        // 1x3x3x1 input 1..9, 2x2 filter, stride 2, SAME (pad 0 before): windows
        // {1,2,4,5} {3,6} {7,8} {9}.
        let p = Pool2dParams {
            batch: 1,
            in_h: 3,
            in_w: 3,
            channels: 1,
            out_h: 2,
            out_w: 2,
            filter_h: 2,
            filter_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_top: 0,
            pad_left: 0,
            clamp: Clamp::NONE,
        };
        let input: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = [0.0; 4];
        max_pool2d(&p, &input, &mut out).unwrap();
        assert_eq!(out, [5.0, 6.0, 8.0, 9.0]);
    }

    proptest! {
        // Exact: max is order-independent.
        #[test]
        fn matches_reference((p, input) in pool_case()) {
            let mut got = vec![0.0; p.output_len().unwrap()];
            let mut want = got.clone();
            max_pool2d(&p, &input, &mut got).unwrap();
            max_pool2d_ref(&p, &input, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
