//! AVERAGE_POOL_2D.

use super::pool::Pool2dParams;
use crate::Result;

/// Average pooling (TFLite AVERAGE_POOL_2D, float): the sum over the clipped window divided by
/// the number of input elements in it (padding excluded), then the fused clamp. An empty
/// window yields 0. Vectorized over channels.
pub fn average_pool2d(p: &Pool2dParams, input: &[f32], output: &mut [f32]) -> Result<()> {
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
        acc.fill(0.0);
        for iy in y0..y1 {
            for ix in x0..x1 {
                let o = b * img + (iy * p.in_w + ix) * c;
                for (a, &x) in acc.iter_mut().zip(&input[o..o + c]) {
                    *a += x;
                }
            }
        }
        let count = ((y1 - y0) * (x1 - x0)) as f32;
        for a in acc.iter_mut() {
            let avg = if count > 0.0 { *a / count } else { 0.0 };
            *a = p.clamp.apply(avg);
        }
    }
    Ok(())
}

/// Reference twin of [`average_pool2d`]: TFLite's reference loop nest.
pub fn average_pool2d_ref(p: &Pool2dParams, input: &[f32], output: &mut [f32]) -> Result<()> {
    p.check(input, output)?;
    for b in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                let (y0, y1) = Pool2dParams::range(oy, p.stride_h, p.pad_top, p.filter_h, p.in_h);
                let (x0, x1) = Pool2dParams::range(ox, p.stride_w, p.pad_left, p.filter_w, p.in_w);
                for ch in 0..p.channels {
                    let mut total = 0.0f32;
                    let mut count = 0usize;
                    for iy in y0..y1 {
                        for ix in x0..x1 {
                            total += input[((b * p.in_h + iy) * p.in_w + ix) * p.channels + ch];
                            count += 1;
                        }
                    }
                    let avg = if count == 0 {
                        0.0
                    } else {
                        total / count as f32
                    };
                    output[((b * p.out_h + oy) * p.out_w + ox) * p.channels + ch] =
                        p.clamp.apply(avg);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::Clamp;
    use proptest::prelude::*;

    #[test]
    fn padding_is_excluded() {
        // 1x2x2x1 input [1, 2, 3, 4], 3x3 filter, stride 1, pad 1 (SAME): every window holds
        // the whole input → average 2.5 everywhere (not 10/9).
        let p = Pool2dParams {
            batch: 1,
            in_h: 2,
            in_w: 2,
            channels: 1,
            out_h: 2,
            out_w: 2,
            filter_h: 3,
            filter_w: 3,
            stride_h: 1,
            stride_w: 1,
            pad_top: 1,
            pad_left: 1,
            clamp: Clamp::NONE,
        };
        let mut out = [0.0; 4];
        average_pool2d(&p, &[1.0, 2.0, 3.0, 4.0], &mut out).unwrap();
        assert_eq!(out, [2.5; 4]);
    }

    proptest! {
        // Exact: both sum the window in the same (row-major) order and divide once.
        #[test]
        fn matches_reference((p, input) in crate::float::max_pool2d::tests::pool_case()) {
            let mut got = vec![0.0; p.output_len().unwrap()];
            let mut want = got.clone();
            average_pool2d(&p, &input, &mut got).unwrap();
            average_pool2d_ref(&p, &input, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
