//! CONCATENATION for any element type.

use super::broadcast::next_index;
use crate::error::{check_len, invalid, numel};
use crate::Result;

fn out_shape(shapes: &[&[usize]], axis: usize) -> Result<Vec<usize>> {
    let Some(first) = shapes.first() else {
        return invalid("concatenation: no inputs");
    };
    if axis >= first.len() {
        return invalid(format!(
            "concatenation: axis {axis} outside rank {}",
            first.len()
        ));
    }
    let mut out = first.to_vec();
    out[axis] = 0;
    for s in shapes {
        let same = s.len() == first.len()
            && s.iter()
                .zip(first.iter())
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return invalid(format!(
                "concatenation: {s:?} does not match {first:?} outside axis {axis}"
            ));
        }
        out[axis] += s[axis];
    }
    Ok(out)
}

/// Concatenates `inputs` (shapes `shapes`, equal outside `axis`) along `axis` into `output`,
/// copying one contiguous block per input per outer index.
pub fn concatenation<T: Copy>(
    inputs: &[&[T]],
    shapes: &[&[usize]],
    axis: usize,
    output: &mut [T],
) -> Result<()> {
    if inputs.len() != shapes.len() {
        return invalid("concatenation: inputs and shapes differ in count");
    }
    let oshape = out_shape(shapes, axis)?;
    for (x, s) in inputs.iter().zip(shapes) {
        check_len("concatenation input", x.len(), numel(s)?)?;
    }
    check_len("concatenation output", output.len(), numel(&oshape)?)?;
    let outer: usize = oshape[..axis].iter().product();
    let inner: usize = oshape[axis + 1..].iter().product();
    let mut pos = 0;
    for o in 0..outer {
        for (x, s) in inputs.iter().zip(shapes) {
            let n = s[axis] * inner;
            output[pos..pos + n].copy_from_slice(&x[o * n..(o + 1) * n]);
            pos += n;
        }
    }
    Ok(())
}

/// Reference twin of [`concatenation`]: one output element at a time.
pub fn concatenation_ref<T: Copy>(
    inputs: &[&[T]],
    shapes: &[&[usize]],
    axis: usize,
    output: &mut [T],
) -> Result<()> {
    if inputs.len() != shapes.len() {
        return invalid("concatenation: inputs and shapes differ in count");
    }
    let oshape = out_shape(shapes, axis)?;
    for (x, s) in inputs.iter().zip(shapes) {
        check_len("concatenation input", x.len(), numel(s)?)?;
    }
    check_len("concatenation output", output.len(), numel(&oshape)?)?;
    let mut idx = vec![0; oshape.len()];
    for o in output.iter_mut() {
        let mut a = idx[axis];
        let mut which = 0;
        while a >= shapes[which][axis] {
            a -= shapes[which][axis];
            which += 1;
        }
        let s = shapes[which];
        let mut off = 0;
        for d in 0..s.len() {
            off = off * s[d] + if d == axis { a } else { idx[d] };
        }
        *o = inputs[which][off];
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
        concatenation(
            &[&[1, 2][..], &[3, 4, 5, 6]],
            &[&[2, 1][..], &[2, 2]],
            1,
            &mut o,
        )
        .unwrap();
        assert_eq!(o, [1, 3, 4, 2, 5, 6]);
        assert!(concatenation(&[&[1, 2][..]], &[&[2][..]], 1, &mut o[..2]).is_err());
    }

    proptest! {
        // Exact: pure data movement.
        #[test]
        fn matches_reference((base, axis, sizes) in (proptest::collection::vec(1usize..4, 1..5), any::<usize>(), proptest::collection::vec(0usize..4, 1..4))) {
            let axis = axis % base.len();
            let shapes: Vec<Vec<usize>> = sizes.iter().map(|&s| { let mut v = base.clone(); v[axis] = s; v }).collect();
            let mut start = 0u32;
            let inputs: Vec<Vec<u32>> = shapes.iter().map(|s| {
                let n: usize = s.iter().product();
                let v = (start..start + n as u32).collect();
                start += n as u32;
                v
            }).collect();
            let ins: Vec<&[u32]> = inputs.iter().map(|v| v.as_slice()).collect();
            let shs: Vec<&[usize]> = shapes.iter().map(|v| v.as_slice()).collect();
            let n = start as usize;
            let mut got = vec![0; n];
            let mut want = vec![0; n];
            concatenation(&ins, &shs, axis, &mut got).unwrap();
            concatenation_ref(&ins, &shs, axis, &mut want).unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
