//! PAD / PADV2 on any element type (quantized tensors pad with the output zero point, or the
//! PADV2 constant, as `pad.cc` does). Reproduces `reference_ops::Pad`.

use super::{check_len, invalid, numel};

/// Pads `input` of shape `shape` with `paddings[d] = (before, after)` per dimension.
pub fn pad<T: Copy>(
    input: &[T],
    shape: &[usize],
    paddings: &[(usize, usize)],
    pad_value: T,
    output: &mut [T],
) -> crate::Result<()> {
    if paddings.len() != shape.len() {
        return invalid(format!(
            "pad: {} paddings for rank {}",
            paddings.len(),
            shape.len()
        ));
    }
    check_len("pad input", input.len(), numel(shape)?)?;
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(paddings)
        .map(|(&d, &(b, a))| d + b + a)
        .collect();
    check_len("pad output", output.len(), numel(&out_shape)?)?;
    output.fill(pad_value);
    if input.is_empty() {
        return Ok(());
    }
    let rank = shape.len();
    if rank == 0 {
        output[0] = input[0];
        return Ok(());
    }
    let inner = shape[rank - 1];
    let mut out_strides = vec![1usize; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        out_strides[d] = out_strides[d + 1] * out_shape[d + 1];
    }
    let outer: usize = shape[..rank - 1].iter().product();
    let mut idx = vec![0usize; rank.saturating_sub(1)];
    for row in 0..outer {
        let mut off = paddings[rank - 1].0;
        for d in 0..rank - 1 {
            off += (idx[d] + paddings[d].0) * out_strides[d];
        }
        output[off..off + inner].copy_from_slice(&input[row * inner..(row + 1) * inner]);
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_with_zero_point() {
        let mut out = vec![0i8; 12];
        pad(&[1i8, 2, 3, 4], &[2, 2], &[(1, 0), (0, 2)], -5, &mut out).unwrap();
        assert_eq!(out, vec![-5, -5, -5, -5, 1, 2, -5, -5, 3, 4, -5, -5]);
    }
}
