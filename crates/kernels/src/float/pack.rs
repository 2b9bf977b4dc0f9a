//! PACK (stack along a new axis) for any element type.

use crate::error::{check_len, invalid, numel};
use crate::Result;

/// Stacks `inputs` (all of shape `shape`) along a new axis `axis` (`0..=rank`):
/// the output has shape `shape[..axis] + [inputs.len()] + shape[axis..]`.
pub fn pack<T: Copy>(
    inputs: &[&[T]],
    shape: &[usize],
    axis: usize,
    output: &mut [T],
) -> Result<()> {
    if axis > shape.len() {
        return invalid(format!("pack: axis {axis} outside 0..={}", shape.len()));
    }
    let n = numel(shape)?;
    for x in inputs {
        check_len("pack input", x.len(), n)?;
    }
    check_len("pack output", output.len(), n * inputs.len())?;
    let inner: usize = shape[axis..].iter().product();
    if inner == 0 {
        return Ok(());
    }
    let outer = n / inner;
    let mut pos = 0;
    for o in 0..outer {
        for x in inputs {
            output[pos..pos + inner].copy_from_slice(&x[o * inner..(o + 1) * inner]);
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
        let mut o = [0; 4];
        pack(&[&[1, 2][..], &[3, 4]], &[2], 0, &mut o).unwrap();
        assert_eq!(o, [1, 2, 3, 4]);
        pack(&[&[1, 2][..], &[3, 4]], &[2], 1, &mut o).unwrap();
        assert_eq!(o, [1, 3, 2, 4]);
        assert!(pack(&[&[1, 2][..]], &[2], 2, &mut o[..2]).is_err());
    }
}
