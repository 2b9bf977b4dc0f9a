//! MEAN over a set of axes.

use super::broadcast::next_index;
use crate::error::{check_len, invalid, numel};
use crate::Result;

fn check(input: &[f32], shape: &[usize], axes: &[usize], output: &[f32]) -> Result<usize> {
    check_len("mean input", input.len(), numel(shape)?)?;
    if axes.iter().any(|&a| a >= shape.len()) || axes.windows(2).any(|w| w[0] >= w[1]) {
        return invalid(format!(
            "mean: axes {axes:?} must be sorted, unique and inside rank {}",
            shape.len()
        ));
    }
    let kept: Vec<usize> = (0..shape.len())
        .filter(|d| !axes.contains(d))
        .map(|d| shape[d])
        .collect();
    check_len("mean output", output.len(), numel(&kept)?)?;
    numel(&axes.iter().map(|&a| shape[a]).collect::<Vec<_>>())
}

/// Mean of `input` (shape `shape`) over `axes` (sorted, unique). `output` holds the kept dims
/// in order (with or without `keep_dims`, the data is the same). Sums in float in input order
/// and divides once by the element count (TFLite MEAN, float). A contiguous block of axes
/// (e.g. H, W of NHWC) runs as a vectorized `[outer, reduced, inner]` sum.
pub fn mean(input: &[f32], shape: &[usize], axes: &[usize], output: &mut [f32]) -> Result<()> {
    let count = check(input, shape, axes, output)?;
    let contiguous = axes.windows(2).all(|w| w[1] == w[0] + 1);
    if !contiguous || axes.is_empty() {
        return mean_ref(input, shape, axes, output);
    }
    let (first, last) = (axes[0], axes[axes.len() - 1]);
    let inner: usize = shape[last + 1..].iter().product();
    let outer: usize = shape[..first].iter().product();
    let red = count;
    if inner == 0 || outer == 0 {
        return Ok(());
    }
    for o in 0..outer {
        let acc = &mut output[o * inner..(o + 1) * inner];
        acc.fill(0.0);
        for r in 0..red {
            let x = &input[(o * red + r) * inner..(o * red + r + 1) * inner];
            for (a, &v) in acc.iter_mut().zip(x) {
                *a += v;
            }
        }
        for a in acc.iter_mut() {
            *a /= count as f32;
        }
    }
    Ok(())
}

/// Reference twin of [`mean`]: one pass over the input in row-major order accumulating into
/// the output element of each index, then one division.
pub fn mean_ref(input: &[f32], shape: &[usize], axes: &[usize], output: &mut [f32]) -> Result<()> {
    let count = check(input, shape, axes, output)?;
    output.fill(0.0);
    if input.is_empty() {
        return Ok(());
    }
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let mut idx = vec![0; shape.len()];
    for &v in input {
        let mut o = 0;
        for &d in &kept {
            o = o * shape[d] + idx[d];
        }
        output[o] += v;
        next_index(&mut idx, shape);
    }
    for v in output.iter_mut() {
        *v /= count as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::testutil::vec_strategy;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        // [1, 2, 2, 2] over H, W → per channel mean.
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let mut o = [0.0; 2];
        mean(&x, &[1, 2, 2, 2], &[1, 2], &mut o).unwrap();
        assert_eq!(o, [2.5, 25.0]);
        // Non-contiguous axes 0 and 2 of [2, 1, 2].
        let mut o = [0.0; 1];
        mean(&[1.0, 2.0, 3.0, 6.0], &[2, 1, 2], &[0, 2], &mut o).unwrap();
        assert_eq!(o, [3.0]);
        assert!(mean(&x, &[1, 2, 2, 2], &[2, 1], &mut [0.0; 2]).is_err());
    }

    proptest! {
        // Exact: both add each output's terms in the same (row-major) order.
        #[test]
        fn matches_reference((shape, axes, x) in (proptest::collection::vec(1usize..5, 1..5), any::<u8>())
            .prop_flat_map(|(s, mask)| {
                let axes: Vec<usize> = (0..s.len()).filter(|i| mask >> i & 1 == 1).collect();
                let n = s.iter().product();
                (Just(s), Just(axes), vec_strategy(n))
            }))
        {
            let n: usize = (0..shape.len()).filter(|d| !axes.contains(d)).map(|d| shape[d]).product();
            let mut got = vec![0.0; n];
            let mut want = vec![0.0; n];
            mean(&x, &shape, &axes, &mut got).unwrap();
            mean_ref(&x, &shape, &axes, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
