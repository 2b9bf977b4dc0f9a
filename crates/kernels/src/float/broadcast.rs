//! NumPy-style broadcasting of two operands against an output shape, compiled into a plan of
//! contiguous inner runs.

use crate::error::{invalid, numel};
use crate::Result;

/// Iteration plan: the output is visited as `outer` rows (a mixed-radix index over the
/// collapsed outer dims) of `inner` contiguous elements; operand offsets advance by the given
/// strides (0 for broadcast dims). Inner steps are 0 or 1.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    dims: Vec<usize>,
    a_strides: Vec<usize>,
    b_strides: Vec<usize>,
    pub inner: usize,
    pub a_step: usize,
    pub b_step: usize,
    pub a_len: usize,
    pub b_len: usize,
    pub out_len: usize,
}

fn padded(shape: &[usize], rank: usize) -> Vec<usize> {
    let mut v = vec![1; rank - shape.len()];
    v.extend_from_slice(shape);
    v
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0; shape.len()];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        s[i] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i];
    }
    s
}

impl Plan {
    /// Plans `out = f(a, b)` where `a_shape` and `b_shape` broadcast to exactly `out_shape`.
    pub fn new(a_shape: &[usize], b_shape: &[usize], out_shape: &[usize]) -> Result<Plan> {
        let rank = out_shape.len();
        if a_shape.len() > rank || b_shape.len() > rank {
            return invalid(format!(
                "broadcast: operands {a_shape:?} and {b_shape:?} have higher rank than output {out_shape:?}"
            ));
        }
        let (a, b) = (padded(a_shape, rank), padded(b_shape, rank));
        for i in 0..rank {
            let o = out_shape[i];
            if (a[i] != o && a[i] != 1) || (b[i] != o && b[i] != 1) || (a[i] != o && b[i] != o) {
                return invalid(format!(
                    "broadcast: {a_shape:?} and {b_shape:?} do not broadcast to {out_shape:?}"
                ));
            }
        }
        let (a_len, b_len, out_len) = (numel(&a)?, numel(&b)?, numel(out_shape)?);
        let (sa, sb) = (strides(&a), strides(&b));
        // Drop unit output dims, then merge neighbours that stay affine for both operands.
        let mut dims: Vec<usize> = Vec::new();
        let mut a_strides: Vec<usize> = Vec::new();
        let mut b_strides: Vec<usize> = Vec::new();
        for i in 0..rank {
            let d = out_shape[i];
            if d == 1 {
                continue;
            }
            if let (Some(&ld), Some(&la), Some(&lb)) =
                (dims.last(), a_strides.last(), b_strides.last())
            {
                if la == sa[i] * d && lb == sb[i] * d {
                    let n = dims.len() - 1;
                    dims[n] = ld * d;
                    a_strides[n] = sa[i];
                    b_strides[n] = sb[i];
                    continue;
                }
            }
            dims.push(d);
            a_strides.push(sa[i]);
            b_strides.push(sb[i]);
        }
        let (inner, a_step, b_step) = match (dims.pop(), a_strides.pop(), b_strides.pop()) {
            (Some(d), Some(x), Some(y)) => (d, x, y),
            _ => (1, 0, 0),
        };
        Ok(Plan {
            dims,
            a_strides,
            b_strides,
            inner,
            a_step,
            b_step,
            a_len,
            b_len,
            out_len,
        })
    }

    /// Calls `f(out_offset, a_offset, b_offset)` for the start of every inner run, in output
    /// order. Nothing is called for an empty output.
    #[inline]
    pub fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        if self.out_len == 0 {
            return;
        }
        let rows = self.out_len / self.inner.max(1);
        if let ([_], [sa], [sb]) = (&self.dims[..], &self.a_strides[..], &self.b_strides[..]) {
            // One outer dim (same-shape, scalar and per-channel broadcasts end up here).
            for r in 0..rows {
                f(r * self.inner, r * sa, r * sb);
            }
            return;
        }
        let mut idx = vec![0usize; self.dims.len()];
        let (mut ao, mut bo) = (0usize, 0usize);
        for r in 0..rows {
            f(r * self.inner, ao, bo);
            // Advance the mixed-radix index.
            for d in (0..self.dims.len()).rev() {
                idx[d] += 1;
                ao += self.a_strides[d];
                bo += self.b_strides[d];
                if idx[d] < self.dims[d] {
                    break;
                }
                ao -= self.a_strides[d] * self.dims[d];
                bo -= self.b_strides[d] * self.dims[d];
                idx[d] = 0;
            }
        }
    }
}

/// Offset into an operand of shape `shape` (right-aligned against `out_shape`) for the output
/// multi-index `idx`, following broadcasting. Used by reference kernels.
pub(crate) fn broadcast_offset(idx: &[usize], shape: &[usize]) -> usize {
    let skip = idx.len() - shape.len();
    let mut off = 0;
    for (i, &d) in shape.iter().enumerate() {
        let v = if d == 1 { 0 } else { idx[skip + i] };
        off = off * d + v;
    }
    off
}

/// Advances a row-major multi-index over `shape`; false after the last index.
pub(crate) fn next_index(idx: &mut [usize], shape: &[usize]) -> bool {
    for d in (0..shape.len()).rev() {
        idx[d] += 1;
        if idx[d] < shape[d] {
            return true;
        }
        idx[d] = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses() {
        let p = Plan::new(&[2, 3, 4], &[2, 3, 4], &[2, 3, 4]).unwrap();
        assert_eq!((p.dims.len(), p.inner, p.a_step, p.b_step), (0, 24, 1, 1));
        let p = Plan::new(&[2, 3, 4], &[4], &[2, 3, 4]).unwrap();
        assert_eq!((p.dims.clone(), p.inner, p.b_step), (vec![6], 4, 1));
        assert_eq!(p.b_strides, vec![0]);
        let p = Plan::new(&[2, 3, 4], &[1], &[2, 3, 4]).unwrap();
        assert_eq!((p.dims.len(), p.inner, p.b_step), (0, 24, 0));
        let p = Plan::new(&[2, 1], &[1, 3], &[2, 3]).unwrap();
        assert_eq!(
            (p.dims.clone(), p.inner, p.a_step, p.b_step),
            (vec![2], 3, 0, 1)
        );
        assert!(Plan::new(&[2, 3], &[3, 3], &[2, 3]).is_err());
        assert!(Plan::new(&[1], &[1], &[2]).is_err());
    }
}
