//! PAD / PADV2 with a constant value, for any element type.

use super::broadcast::next_index;
use crate::error::{check_len, invalid, numel};
use crate::Result;

fn out_shape(shape: &[usize], pads: &[(usize, usize)]) -> Result<Vec<usize>> {
    if pads.len() != shape.len() {
        return invalid(format!(
            "pad: {} padding pairs for rank {}",
            pads.len(),
            shape.len()
        ));
    }
    shape
        .iter()
        .zip(pads)
        .map(|(&d, &(a, b))| d.checked_add(a).and_then(|v| v.checked_add(b)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| crate::KernelError::Invalid("pad: padded shape overflows".into()))
}

/// Pads `input` (shape `shape`) with `pads[d] = (before, after)` elements of `value` per dim.
/// Copies whole innermost rows; rows entirely in the padding are filled.
pub fn pad<T: Copy>(
    input: &[T],
    shape: &[usize],
    pads: &[(usize, usize)],
    value: T,
    output: &mut [T],
) -> Result<()> {
    let oshape = out_shape(shape, pads)?;
    check_len("pad input", input.len(), numel(shape)?)?;
    check_len("pad output", output.len(), numel(&oshape)?)?;
    if output.is_empty() {
        return Ok(());
    }
    let Some((&last, outer)) = oshape.split_last() else {
        output[0] = input[0];
        return Ok(());
    };
    let r = shape.len() - 1;
    let (before, in_last) = (pads[r].0, shape[r]);
    let mut idx = vec![0; outer.len()];
    for row in output.chunks_exact_mut(last) {
        // Is this output row inside the input?
        let mut src = Some(0usize);
        for (d, &i) in idx.iter().enumerate() {
            src = src.and_then(|s| {
                let (b, n) = (pads[d].0, shape[d]);
                (i >= b && i < b + n).then(|| s * n + (i - b))
            });
        }
        match src {
            Some(s) if in_last > 0 => {
                row[..before].fill(value);
                row[before..before + in_last]
                    .copy_from_slice(&input[s * in_last..(s + 1) * in_last]);
                row[before + in_last..].fill(value);
            }
            _ => row.fill(value),
        }
        next_index(&mut idx, outer);
    }
    Ok(())
}

/// Reference twin of [`pad`]: one output element at a time.
pub fn pad_ref<T: Copy>(
    input: &[T],
    shape: &[usize],
    pads: &[(usize, usize)],
    value: T,
    output: &mut [T],
) -> Result<()> {
    let oshape = out_shape(shape, pads)?;
    check_len("pad input", input.len(), numel(shape)?)?;
    check_len("pad output", output.len(), numel(&oshape)?)?;
    let mut idx = vec![0; oshape.len()];
    for o in output.iter_mut() {
        let mut src = Some(0usize);
        for (d, &i) in idx.iter().enumerate() {
            let (b, n) = (pads[d].0, shape[d]);
            src = src.and_then(|s| (i >= b && i < b + n).then(|| s * n + (i - b)));
        }
        *o = src.map_or(value, |s| input[s]);
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
        let mut o = [0; 12];
        pad(&[1, 2, 3, 4], &[2, 2], &[(1, 0), (1, 1)], 9, &mut o).unwrap();
        assert_eq!(o, [9, 9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9]);
        // Channel padding as in iris_landmark: [1, 1, 1, 2] → [1, 1, 1, 4].
        let mut o = [0.0f32; 4];
        pad(
            &[1.0, 2.0],
            &[1, 1, 1, 2],
            &[(0, 0), (0, 0), (0, 0), (0, 2)],
            0.0,
            &mut o,
        )
        .unwrap();
        assert_eq!(o, [1.0, 2.0, 0.0, 0.0]);
    }

    proptest! {
        // Exact: pure data movement.
        #[test]
        fn matches_reference((shape, pads) in proptest::collection::vec((0usize..4, 0usize..3, 0usize..3), 0..5)
            .prop_map(|v| (v.iter().map(|t| t.0).collect::<Vec<_>>(), v.iter().map(|t| (t.1, t.2)).collect::<Vec<_>>())))
        {
            let n: usize = shape.iter().product();
            let input: Vec<i32> = (0..n as i32).collect();
            let on: usize = shape.iter().zip(&pads).map(|(d, p)| d + p.0 + p.1).product();
            let mut got = vec![0; on];
            let mut want = vec![0; on];
            pad(&input, &shape, &pads, -1, &mut got).unwrap();
            pad_ref(&input, &shape, &pads, -1, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
