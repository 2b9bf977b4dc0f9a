//! TRANSPOSE for any element type.

use super::broadcast::next_index;
use crate::error::{check_len, invalid, numel};
use crate::Result;

fn check_perm(shape: &[usize], perm: &[usize]) -> Result<Vec<usize>> {
    let mut seen = vec![false; shape.len()];
    if perm.len() != shape.len() {
        return invalid(format!("transpose: perm {perm:?} for rank {}", shape.len()));
    }
    for &p in perm {
        if p >= shape.len() || seen[p] {
            return invalid(format!("transpose: {perm:?} is not a permutation"));
        }
        seen[p] = true;
    }
    Ok(perm.iter().map(|&p| shape[p]).collect())
}

/// `output` (shape `shape[perm[i]]`) is `input` (shape `shape`) with dims permuted: output dim
/// `i` is input dim `perm[i]`. Input dims that stay adjacent and in order are merged first, so
/// e.g. NHWC → NCHW becomes a 2-D transpose per batch.
pub fn transpose<T: Copy>(
    input: &[T],
    shape: &[usize],
    perm: &[usize],
    output: &mut [T],
) -> Result<()> {
    check_perm(shape, perm)?;
    let n = numel(shape)?;
    check_len("transpose input", input.len(), n)?;
    check_len("transpose output", output.len(), n)?;
    if n == 0 {
        return Ok(());
    }
    // Merge runs of consecutive input dims (skipping unit dims).
    let kept: Vec<usize> = perm.iter().copied().filter(|&p| shape[p] != 1).collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &p in &kept {
        match groups.last_mut() {
            Some(g)
                if g.last().is_some_and(|&l| {
                    // next non-unit input dim after l
                    (l + 1..shape.len()).find(|&d| shape[d] != 1) == Some(p)
                }) =>
            {
                g.push(p)
            }
            _ => groups.push(vec![p]),
        }
    }
    // Input order of the groups gives the collapsed input shape.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| groups[g][0]);
    let gsize: Vec<usize> = groups
        .iter()
        .map(|g| g.iter().map(|&d| shape[d]).product())
        .collect();
    let mut in_stride = vec![0; groups.len()];
    let mut acc = 1;
    for &g in order.iter().rev() {
        in_stride[g] = acc;
        acc *= gsize[g];
    }
    // Walk the output in order; the last output group is the inner loop.
    let Some((&inner, outer_dims)) = gsize.split_last() else {
        output[0] = input[0];
        return Ok(());
    };
    let inner_stride = in_stride[groups.len() - 1];
    let mut idx = vec![0; outer_dims.len()];
    for row in output.chunks_exact_mut(inner) {
        let base: usize = idx.iter().zip(&in_stride).map(|(i, s)| i * s).sum();
        if inner_stride == 1 {
            row.copy_from_slice(&input[base..base + inner]);
        } else {
            for (j, o) in row.iter_mut().enumerate() {
                *o = input[base + j * inner_stride];
            }
        }
        next_index(&mut idx, outer_dims);
    }
    Ok(())
}

/// Reference twin of [`transpose`]: one output element at a time.
pub fn transpose_ref<T: Copy>(
    input: &[T],
    shape: &[usize],
    perm: &[usize],
    output: &mut [T],
) -> Result<()> {
    let oshape = check_perm(shape, perm)?;
    let n = numel(shape)?;
    check_len("transpose input", input.len(), n)?;
    check_len("transpose output", output.len(), n)?;
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut idx = vec![0; shape.len()];
    for o in output.iter_mut() {
        let src: usize = idx
            .iter()
            .enumerate()
            .map(|(i, &v)| v * strides[perm[i]])
            .sum();
        *o = input[src];
        next_index(&mut idx, &oshape);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        let mut o = [0; 6];
        transpose(&[1, 2, 3, 4, 5, 6], &[2, 3], &[1, 0], &mut o).unwrap();
        assert_eq!(o, [1, 4, 2, 5, 3, 6]);
        assert!(transpose(&[1, 2], &[2], &[1], &mut [0; 2]).is_err());
    }

    proptest! {
        // Exact: pure data movement.
        #[test]
        fn matches_reference((shape, perm) in proptest::collection::vec(1usize..4, 0..6)
            .prop_flat_map(|s| { let n = s.len(); (Just(s), Just((0..n).collect::<Vec<_>>()).prop_shuffle()) }))
        {
            let n: usize = shape.iter().product();
            let input: Vec<u16> = (0..n as u16).collect();
            let mut got = vec![0; n];
            let mut want = vec![0; n];
            transpose(&input, &shape, &perm, &mut got).unwrap();
            transpose_ref(&input, &shape, &perm, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
