//! RESIZE_NEAREST_NEIGHBOR with TFLite's coordinate rules, for any element type.

use super::resize_bilinear::ResizeParams;
use crate::Result;

/// TFLite `GetNearestNeighbor`: `align_corners` rounds half away from zero, otherwise floors;
/// clamped to the input.
#[inline]
fn nearest(value: usize, p: &ResizeParams, input: usize, output: usize) -> usize {
    let scale = p.scale(input, output);
    let offset = if p.half_pixel_centers { 0.5 } else { 0.0 };
    let v = (value as f32 + offset) * scale;
    let idx = if p.align_corners {
        v.round()
    } else {
        v.floor()
    } as i64;
    idx.clamp(0, input as i64 - 1) as usize
}

/// Nearest-neighbour resize (TFLite RESIZE_NEAREST_NEIGHBOR): copies one input pixel (all
/// channels) per output pixel; the source columns are computed once.
pub fn resize_nearest_neighbor<T: Copy>(
    p: &ResizeParams,
    input: &[T],
    output: &mut [T],
) -> Result<()> {
    p.check(input, output)?;
    let c = p.channels;
    if c == 0 || p.batch == 0 {
        return Ok(());
    }
    let xs: Vec<usize> = (0..p.out_w)
        .map(|x| nearest(x, p, p.in_w, p.out_w))
        .collect();
    let img = p.in_h * p.in_w * c;
    let mut out_px = output.chunks_exact_mut(c);
    for b in 0..p.batch {
        for y in 0..p.out_h {
            let iy = nearest(y, p, p.in_h, p.out_h);
            for &ix in &xs {
                let s = b * img + (iy * p.in_w + ix) * c;
                if let Some(o) = out_px.next() {
                    o.copy_from_slice(&input[s..s + c]);
                }
            }
        }
    }
    Ok(())
}

/// Reference twin of [`resize_nearest_neighbor`]: coordinates recomputed per element.
pub fn resize_nearest_neighbor_ref<T: Copy>(
    p: &ResizeParams,
    input: &[T],
    output: &mut [T],
) -> Result<()> {
    p.check(input, output)?;
    for b in 0..p.batch {
        for y in 0..p.out_h {
            for x in 0..p.out_w {
                for ch in 0..p.channels {
                    let (iy, ix) = (
                        nearest(y, p, p.in_h, p.out_h),
                        nearest(x, p, p.in_w, p.out_w),
                    );
                    output[((b * p.out_h + y) * p.out_w + x) * p.channels + ch] =
                        input[((b * p.in_h + iy) * p.in_w + ix) * p.channels + ch];
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
    fn hand_computed() {
        let p = |ac, hp| ResizeParams {
            batch: 1,
            in_h: 1,
            in_w: 3,
            channels: 1,
            out_h: 1,
            out_w: 5,
            align_corners: ac,
            half_pixel_centers: hp,
        };
        let x = [10, 20, 30];
        let mut o = [0; 5];
        // floor(x·0.6) = 0, 0, 1, 1, 2
        resize_nearest_neighbor(&p(false, false), &x, &mut o).unwrap();
        assert_eq!(o, [10, 10, 20, 20, 30]);
        // round(x·0.5) = 0, 1 (0.5 away from zero), 1, 2 (1.5), 2
        resize_nearest_neighbor(&p(true, false), &x, &mut o).unwrap();
        assert_eq!(o, [10, 20, 20, 30, 30]);
        // floor((x + .5)·0.6) = 0, 0, 1, 2, 2
        resize_nearest_neighbor(&p(false, true), &x, &mut o).unwrap();
        assert_eq!(o, [10, 10, 20, 30, 30]);
    }

    proptest! {
        // Exact: pure data movement with identical coordinates.
        #[test]
        fn matches_reference((p, x) in crate::float::resize_bilinear::tests::case()) {
            let mut got = vec![0.0; p.output_len().unwrap()];
            let mut want = got.clone();
            resize_nearest_neighbor(&p, &x, &mut got).unwrap();
            resize_nearest_neighbor_ref(&p, &x, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
