//! Channel-vectorized twins of [`pooling::max_pool`](super::pooling::max_pool) and
//! [`pooling::average_pool`](super::pooling::average_pool): for each output pixel the window's
//! input pixels are combined a whole channel row at a time (element-wise max / `i32` sums,
//! which the compiler vectorizes) instead of one channel at a time through an iterator. Same
//! window bounds, same rounding (half away from zero over the valid taps), same clamp:
//! identical results (property test below).

use super::pooling::PoolParams;
use super::{check_len, invalid, numel, QuantInt};

/// Valid window `[start, end)` along one axis (TFLite's `filter_*_start/end`).
#[inline]
fn window(o: usize, stride: usize, pad: usize, filter: usize, size: usize) -> (usize, usize) {
    let origin = (o * stride) as isize - pad as isize;
    let start = (-origin).max(0) as usize;
    let end = (filter as isize).min(size as isize - origin).max(0) as usize;
    (start, end.max(start))
}

fn check<T>(p: &PoolParams, input: &[T], output: &[T]) -> crate::Result<()> {
    check_len("pool input", input.len(), numel(&p.input_shape)?)?;
    check_len("pool output", output.len(), numel(&p.output_shape)?)?;
    if p.input_shape[0] != p.output_shape[0] || p.input_shape[3] != p.output_shape[3] {
        return invalid("pool: inconsistent prepared shapes");
    }
    Ok(())
}

/// Calls `f(out_pixel, taps)` for every output pixel with the input pixel rows of its valid
/// window.
fn for_each_pixel<T: Copy>(
    p: &PoolParams,
    input: &[T],
    output: &mut [T],
    mut f: impl FnMut(&mut [T], &mut dyn Iterator<Item = &[T]>) -> crate::Result<()>,
) -> crate::Result<()> {
    let [batches, in_h, in_w, depth] = p.input_shape;
    let [_, out_h, out_w, _] = p.output_shape;
    if depth == 0 {
        return Ok(());
    }
    let mut pixels = output.chunks_exact_mut(depth);
    for b in 0..batches {
        for oy in 0..out_h {
            let (ys, ye) = window(oy, p.stride.0, p.pad.0, p.filter.0, in_h);
            let iy0 = (oy * p.stride.0) as isize - p.pad.0 as isize;
            for ox in 0..out_w {
                let (xs, xe) = window(ox, p.stride.1, p.pad.1, p.filter.1, in_w);
                let ix0 = (ox * p.stride.1) as isize - p.pad.1 as isize;
                let Some(out) = pixels.next() else {
                    return invalid("pool: output too short");
                };
                let mut taps = (ys..ye).flat_map(|fy| {
                    let iy = (iy0 + fy as isize) as usize;
                    (xs..xe).map(move |fx| {
                        let ix = (ix0 + fx as isize) as usize;
                        let base = ((b * in_h + iy) * in_w + ix) * depth;
                        &input[base..base + depth]
                    })
                });
                f(out, &mut taps)?;
            }
        }
    }
    Ok(())
}

/// Vectorized `reference_integer_ops::MaxPool`.
pub fn max_pool_fast<T: QuantInt + Ord>(
    p: &PoolParams,
    input: &[T],
    output: &mut [T],
) -> crate::Result<()> {
    check(p, input, output)?;
    let (lo, hi) = (T::saturate(p.act_min), T::saturate(p.act_max));
    for_each_pixel(p, input, output, |out, taps| {
        match taps.next() {
            Some(first) => out.copy_from_slice(first),
            None => out.fill(T::from_i32(T::MIN)),
        }
        for t in taps {
            for (o, &v) in out.iter_mut().zip(t) {
                *o = (*o).max(v);
            }
        }
        for o in out.iter_mut() {
            *o = (*o).max(lo).min(hi);
        }
        Ok(())
    })
}

/// Vectorized `reference_integer_ops::AveragePool` (fails on a window without valid taps,
/// like the reference).
pub fn average_pool_fast<T: QuantInt>(
    p: &PoolParams,
    input: &[T],
    output: &mut [T],
) -> crate::Result<()> {
    check(p, input, output)?;
    let mut acc = vec![0i32; p.input_shape[3]];
    for_each_pixel(p, input, output, |out, taps| {
        acc.fill(0);
        let mut count = 0i32;
        for t in taps {
            for (a, &v) in acc.iter_mut().zip(t) {
                *a += v.to_i32();
            }
            count += 1;
        }
        if count == 0 {
            return invalid("pool: empty window");
        }
        for (o, &a) in out.iter_mut().zip(&acc) {
            // C++ integer division truncates toward zero, as does Rust's.
            let avg = if a > 0 {
                (a + count / 2) / count
            } else {
                (a - count / 2) / count
            };
            *o = T::from_i32(avg.clamp(p.act_min, p.act_max));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::pooling::{average_pool, max_pool, PoolOptions};
    use super::super::{FusedActivation, Padding, QParams};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
        #[test]
        fn fast_equals_reference(
            (n, h, w, c, fh, fw, s) in (1usize..3, 1usize..9, 1usize..9, 1usize..20, 1usize..4, 1usize..4, 1usize..3),
            (same, relu6, zp, seed) in (any::<bool>(), any::<bool>(), -128i32..128, any::<u64>()),
        ) {
            let opts = PoolOptions {
                padding: if same { Padding::Same } else { Padding::Valid },
                stride_h: s, stride_w: s, filter_h: fh, filter_w: fw,
                activation: if relu6 { FusedActivation::Relu6 } else { FusedActivation::None },
            };
            let Ok(p) = PoolParams::prepare::<i8>(opts, [n, h, w, c], QParams::new(0.05, zp)) else {
                return Ok(());
            };
            let mut st = seed;
            let input: Vec<i8> = (0..n * h * w * c).map(|_| {
                st = st.wrapping_mul(6364136223846793005).wrapping_add(1);
                (st >> 56) as i8
            }).collect();
            let len = p.output_shape.iter().product();
            let (mut r, mut f) = (vec![0i8; len], vec![0i8; len]);
            max_pool(&p, &input, &mut r).unwrap();
            max_pool_fast(&p, &input, &mut f).unwrap();
            prop_assert_eq!(&r, &f);
            let ra = average_pool(&p, &input, &mut r);
            let fa = average_pool_fast(&p, &input, &mut f);
            prop_assert_eq!(ra.is_ok(), fa.is_ok());
            if ra.is_ok() {
                prop_assert_eq!(&r, &f);
            }
        }
    }
}
