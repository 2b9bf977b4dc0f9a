//! GATHER (slices along one axis at given indices) for any element type.

use crate::error::{check_len, invalid, numel};
use crate::Result;

/// Gathers slices of `params` (shape `shape`) along `axis` at `indices` into `output`
/// (`shape[..axis] + [indices.len()] + shape[axis + 1..]` elements, row-major). Indices must
/// lie in `0..shape[axis]`; others are an error.
pub fn gather<T: Copy>(
    params: &[T],
    shape: &[usize],
    axis: usize,
    indices: &[i64],
    output: &mut [T],
) -> Result<()> {
    if axis >= shape.len() {
        return invalid(format!(
            "gather: axis {axis} out of range for rank {}",
            shape.len()
        ));
    }
    check_len("gather params", params.len(), numel(shape)?)?;
    let dim = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    check_len("gather output", output.len(), outer * indices.len() * inner)?;
    if let Some(bad) = indices.iter().find(|&&i| i < 0 || i as u64 >= dim as u64) {
        return invalid(format!(
            "gather: index {bad} out of range for axis {axis} of size {dim}"
        ));
    }
    let mut pos = 0;
    for o in 0..outer {
        for &i in indices {
            let src = (o * dim + i as usize) * inner;
            output[pos..pos + inner].copy_from_slice(&params[src..src + inner]);
            pos += inner;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let p = [1, 2, 3, 4, 5, 6]; // [3, 2]
        let mut o = [0; 4];
        gather(&p, &[3, 2], 0, &[2, 0], &mut o).unwrap();
        assert_eq!(o, [5, 6, 1, 2]);
        let mut o = [0; 3];
        gather(&p, &[3, 2], 1, &[1], &mut o).unwrap();
        assert_eq!(o, [2, 4, 6]);
        assert!(gather(&p, &[3, 2], 0, &[3], &mut [0; 2]).is_err());
        assert!(gather(&p, &[3, 2], 0, &[-1], &mut [0; 2]).is_err());
    }
}
