//! STRIDED_SLICE (resolved form) for any element type.

use super::broadcast::next_index;
use crate::error::{check_len, invalid, numel};
use crate::Result;

/// One input axis of a resolved strided slice: take `count` elements starting at `start`,
/// stepping by `stride` (may be negative). Produced by the IR's `StridedSlice::resolve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceAxis {
    pub start: i64,
    pub stride: i64,
    pub count: usize,
}

/// Checks every axis stays inside `shape`; returns the output element count.
fn check(shape: &[usize], axes: &[SliceAxis]) -> Result<usize> {
    if axes.len() != shape.len() {
        return invalid(format!(
            "strided_slice: {} axes for rank {}",
            axes.len(),
            shape.len()
        ));
    }
    for (d, (a, &n)) in axes.iter().zip(shape).enumerate() {
        if a.count == 0 {
            continue;
        }
        let last = (a.count as i64 - 1)
            .checked_mul(a.stride)
            .and_then(|v| v.checked_add(a.start));
        let inside = |v: i64| v >= 0 && (v as u64) < n as u64;
        if !inside(a.start) || !last.is_some_and(inside) {
            return invalid(format!("strided_slice: axis {d} {a:?} leaves size {n}"));
        }
    }
    numel(&axes.iter().map(|a| a.count).collect::<Vec<_>>())
}

/// Gathers the slice of `input` (shape `shape`) described by `axes` into `output` (row-major,
/// `count` per axis; shrunk axes simply have count 1). Unit-stride innermost runs are copied
/// as blocks.
pub fn strided_slice<T: Copy>(
    input: &[T],
    shape: &[usize],
    axes: &[SliceAxis],
    output: &mut [T],
) -> Result<()> {
    let n = check(shape, axes)?;
    check_len("strided_slice input", input.len(), numel(shape)?)?;
    check_len("strided_slice output", output.len(), n)?;
    if n == 0 {
        return Ok(());
    }
    let Some((last, outer)) = axes.split_last() else {
        output[0] = input[0];
        return Ok(());
    };
    let mut strides = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1] as i64;
    }
    let counts: Vec<usize> = outer.iter().map(|a| a.count).collect();
    let mut idx = vec![0; outer.len()];
    for row in output.chunks_exact_mut(last.count) {
        let base: i64 = outer
            .iter()
            .zip(&idx)
            .zip(&strides)
            .map(|((a, &i), s)| (a.start + i as i64 * a.stride) * s)
            .sum::<i64>()
            + last.start;
        let base = base as usize;
        if last.stride == 1 {
            row.copy_from_slice(&input[base..base + last.count]);
        } else {
            for (j, o) in row.iter_mut().enumerate() {
                *o = input[(base as i64 + j as i64 * last.stride) as usize];
            }
        }
        next_index(&mut idx, &counts);
    }
    Ok(())
}

/// Reference twin of [`strided_slice`]: one output element at a time.
pub fn strided_slice_ref<T: Copy>(
    input: &[T],
    shape: &[usize],
    axes: &[SliceAxis],
    output: &mut [T],
) -> Result<()> {
    let n = check(shape, axes)?;
    check_len("strided_slice input", input.len(), numel(shape)?)?;
    check_len("strided_slice output", output.len(), n)?;
    let counts: Vec<usize> = axes.iter().map(|a| a.count).collect();
    let mut idx = vec![0; axes.len()];
    for o in output.iter_mut() {
        let mut off = 0i64;
        for (d, a) in axes.iter().enumerate() {
            off = off * shape[d] as i64 + a.start + idx[d] as i64 * a.stride;
        }
        *o = input[off as usize];
        next_index(&mut idx, &counts);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        // [3, 4] rows 1.., columns reversed with stride -2.
        let x: Vec<i32> = (0..12).collect();
        let axes = [
            SliceAxis {
                start: 1,
                stride: 1,
                count: 2,
            },
            SliceAxis {
                start: 3,
                stride: -2,
                count: 2,
            },
        ];
        let mut o = [0; 4];
        strided_slice(&x, &[3, 4], &axes, &mut o).unwrap();
        assert_eq!(o, [7, 5, 11, 9]);
        let bad = [
            SliceAxis {
                start: 2,
                stride: 1,
                count: 2,
            },
            axes[1],
        ];
        assert!(strided_slice(&x, &[3, 4], &bad, &mut o).is_err());
    }

    proptest! {
        // Exact: pure data movement.
        #[test]
        fn matches_reference((shape, axes) in proptest::collection::vec(1usize..6, 0..5)
            .prop_flat_map(|s| {
                let axes: Vec<_> = s.iter().map(|&d| (0..d, prop_oneof![Just(1i64), Just(2), Just(-1), Just(-3)])
                    .prop_map(move |(start, stride)| {
                        let start = start as i64;
                        let count = if stride > 0 { (d as i64 - start + stride - 1) / stride } else { (start - stride) / -stride };
                        SliceAxis { start, stride, count: count as usize }
                    })).collect();
                (Just(s), axes)
            }))
        {
            let n: usize = shape.iter().product();
            let input: Vec<u32> = (0..n as u32).collect();
            let on: usize = axes.iter().map(|a| a.count).product();
            let mut got = vec![0; on];
            let mut want = vec![0; on];
            strided_slice(&input, &shape, &axes, &mut got).unwrap();
            strided_slice_ref(&input, &shape, &axes, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
