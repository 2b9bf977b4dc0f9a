//! CONCATENATION with optional requantization.
//!
//! TFLite's int8 kernel requires every input to share the output's scale and zero point and
//! then copies (`reference_ops::Concatenation`); the uint8 kernel requantizes inputs with other
//! parameters as `reference_ops::ConcatenationWithScaling` does (float `scale` and `bias`,
//! `round`). [`concatenation`] does both: inputs with the output's parameters are copied,
//! others requantized with that formula.

use super::{check_len, invalid, numel, QParams, QuantInt};

/// Concatenates `inputs` (with shapes and quantization) along `axis` into `output`.
pub fn concatenation<T: QuantInt>(
    inputs: &[(&[T], &[usize], QParams)],
    axis: usize,
    output: &mut [T],
    output_q: QParams,
) -> crate::Result<()> {
    let Some(first) = inputs.first() else {
        return invalid("concatenation: no inputs");
    };
    let rank = first.1.len();
    if axis >= rank.max(1) {
        return invalid(format!(
            "concatenation: axis {axis} out of range for rank {rank}"
        ));
    }
    let outer: usize = first.1[..axis.min(rank)].iter().product();
    let inner: usize = if rank == 0 {
        1
    } else {
        first.1[axis + 1..].iter().product()
    };
    let mut total_axis = 0;
    for (data, shape, _) in inputs {
        if shape.len() != rank
            || shape
                .iter()
                .enumerate()
                .any(|(d, &v)| d != axis && v != first.1[d])
        {
            return invalid(format!(
                "concatenation: shape {shape:?} incompatible with {:?}",
                first.1
            ));
        }
        check_len("concatenation input", data.len(), numel(shape)?)?;
        total_axis += if rank == 0 { 1 } else { shape[axis] };
    }
    check_len(
        "concatenation output",
        output.len(),
        outer * total_axis * inner,
    )?;
    let inverse_output_scale = 1.0f32 / output_q.scale;
    let mut out_off = 0;
    for o in 0..outer {
        for (data, shape, q) in inputs {
            let n = if rank == 0 { 1 } else { shape[axis] } * inner;
            let src = &data[o * n..(o + 1) * n];
            let dst = &mut output[out_off..out_off + n];
            if q.zero_point == output_q.zero_point && q.scale == output_q.scale {
                dst.copy_from_slice(src);
            } else {
                let scale = q.scale * inverse_output_scale;
                let bias = -(q.zero_point as f32) * scale;
                for (d, &s) in dst.iter_mut().zip(src) {
                    let v = (s.to_i32() as f32 * scale + bias).round() as i32 + output_q.zero_point;
                    *d = T::saturate(v);
                }
            }
            out_off += n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_requantize() {
        let q = QParams::new(0.1, 0);
        let q2 = QParams::new(0.2, 10);
        let a = [1i8, 2, 3, 4];
        let b = [10i8, 20];
        let mut out = [0i8; 6];
        concatenation(&[(&a, &[2, 2], q), (&b, &[2, 1], q2)], 1, &mut out, q).unwrap();
        // b real = (10-10)*0.2 = 0 -> 0; (20-10)*0.2 = 2 -> 20.
        assert_eq!(out, [1, 2, 0, 3, 4, 20]);
    }
}
