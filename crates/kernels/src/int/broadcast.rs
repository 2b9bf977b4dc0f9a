//! NumPy-style broadcasting for element-wise integer kernels (TFLite's
//! `BroadcastBinaryFunction6DSlow` / `BroadcastBinaryOpSimple` iteration: row-major over the
//! output, inputs indexed with stride 0 on broadcast dimensions).

use super::{check_len, invalid, numel};

/// Broadcast output shape of `a` and `b` (right-aligned; each pair equal or one of them 1).
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> crate::Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return invalid(format!("shapes {a:?} and {b:?} are not broadcastable"));
        };
    }
    Ok(out)
}

fn strides_for(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let rank = out.len();
    let off = rank - shape.len();
    let mut strides = vec![0; rank];
    let mut s = 1;
    for i in (0..rank).rev() {
        let d = if i < off { 1 } else { shape[i - off] };
        strides[i] = if d == 1 && out[i] != 1 { 0 } else { s };
        s *= d;
    }
    strides
}

/// Applies `f` element-wise with broadcasting: `out[i] = f(a[ia], b[ib])`.
pub fn binary<A: Copy, B: Copy, O>(
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    out: &mut [O],
    mut f: impl FnMut(A, B) -> O,
) -> crate::Result<()> {
    check_len("broadcast lhs", a.len(), numel(a_shape)?)?;
    check_len("broadcast rhs", b.len(), numel(b_shape)?)?;
    let out_shape = broadcast_shape(a_shape, b_shape)?;
    check_len("broadcast output", out.len(), numel(&out_shape)?)?;
    if a_shape == b_shape {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = f(x, y);
        }
        return Ok(());
    }
    if b.len() == 1 {
        for (o, &x) in out.iter_mut().zip(a) {
            *o = f(x, b[0]);
        }
        return Ok(());
    }
    if a.len() == 1 {
        for (o, &y) in out.iter_mut().zip(b) {
            *o = f(a[0], y);
        }
        return Ok(());
    }
    let sa = strides_for(a_shape, &out_shape);
    let sb = strides_for(b_shape, &out_shape);
    let rank = out_shape.len();
    let mut idx = vec![0usize; rank];
    let (mut ia, mut ib) = (0usize, 0usize);
    for o in out.iter_mut() {
        *o = f(a[ia], b[ib]);
        // Increment the multi-index (row-major), updating offsets incrementally.
        for d in (0..rank).rev() {
            idx[d] += 1;
            ia += sa[d];
            ib += sb[d];
            if idx[d] < out_shape[d] {
                break;
            }
            ia -= sa[d] * out_shape[d];
            ib -= sb[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Whether an operand of shape `s` equals the trailing dimensions of `out` (after dropping its
/// leading 1s), i.e. it repeats every `numel(s)` output elements.
pub fn repeats_trailing(s: &[usize], out: &[usize]) -> bool {
    let first = s.iter().position(|&d| d != 1).unwrap_or(s.len());
    let core = &s[first..];
    core.len() <= out.len() && out[out.len() - core.len()..] == *core
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_iteration() {
        assert_eq!(broadcast_shape(&[2, 1, 3], &[4, 1]).unwrap(), vec![2, 4, 3]);
        assert!(broadcast_shape(&[2, 3], &[4]).is_err());
        let a: Vec<i32> = (0..6).collect(); // [2, 1, 3]
        let b = [100, 200, 300, 400]; // [4, 1]
        let mut out = vec![0; 24];
        binary(&a, &[2, 1, 3], &b, &[4, 1], &mut out, |x, y| x + y).unwrap();
        assert_eq!(&out[..6], &[100, 101, 102, 200, 201, 202]);
        assert_eq!(&out[12..15], &[103, 104, 105]);
        assert_eq!(out[23], 405);
    }
}
