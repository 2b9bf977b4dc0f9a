//! BATCH_MATMUL: batched matrix products with NumPy broadcasting of the batch dims.

use super::gemm::matmul;
use crate::error::{check_len, invalid, numel};
use crate::{Parallelism, Result};

/// Shapes of a batch matmul resolved once: batch offsets of both operands per output batch.
struct Plan {
    m: usize,
    k: usize,
    n: usize,
    x_offsets: Vec<usize>,
    y_offsets: Vec<usize>,
}

fn plan(
    x_shape: &[usize],
    y_shape: &[usize],
    adj_x: bool,
    adj_y: bool,
    x_len: usize,
    y_len: usize,
    out_len: usize,
) -> Result<Plan> {
    if x_shape.len() < 2 || y_shape.len() < 2 {
        return invalid(format!(
            "batch_matmul: operands must have rank >= 2, got {x_shape:?} and {y_shape:?}"
        ));
    }
    let (xr, yr) = (x_shape.len(), y_shape.len());
    let (m, k) = if adj_x {
        (x_shape[xr - 1], x_shape[xr - 2])
    } else {
        (x_shape[xr - 2], x_shape[xr - 1])
    };
    let (k2, n) = if adj_y {
        (y_shape[yr - 1], y_shape[yr - 2])
    } else {
        (y_shape[yr - 2], y_shape[yr - 1])
    };
    if k != k2 {
        return invalid(format!(
            "batch_matmul: inner dims differ for {x_shape:?} and {y_shape:?}"
        ));
    }
    check_len("batch_matmul x", x_len, numel(x_shape)?)?;
    check_len("batch_matmul y", y_len, numel(y_shape)?)?;
    let (xb, yb) = (&x_shape[..xr - 2], &y_shape[..yr - 2]);
    let rank = xb.len().max(yb.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (xb, yb) = (pad(xb), pad(yb));
    let mut batch = Vec::with_capacity(rank);
    for (&a, &b) in xb.iter().zip(&yb) {
        batch.push(match (a, b) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return invalid(format!(
                    "batch_matmul: batch dims of {x_shape:?} and {y_shape:?} do not broadcast"
                ))
            }
        });
    }
    let count = numel(&batch)?;
    check_len("batch_matmul output", out_len, count * m * n)?;
    let strides = |s: &[usize], mat: usize| -> Vec<usize> {
        let mut st = vec![0; rank];
        let mut acc = mat;
        for d in (0..rank).rev() {
            st[d] = if s[d] == 1 { 0 } else { acc };
            acc *= s[d];
        }
        st
    };
    let (xs, ys) = (strides(&xb, m * k), strides(&yb, k * n));
    let mut x_offsets = Vec::with_capacity(count);
    let mut y_offsets = Vec::with_capacity(count);
    for b in 0..count {
        let (mut rem, mut xo, mut yo) = (b, 0, 0);
        for d in (0..rank).rev() {
            let i = rem % batch[d];
            rem /= batch[d];
            xo += i * xs[d];
            yo += i * ys[d];
        }
        x_offsets.push(xo);
        y_offsets.push(yo);
    }
    Ok(Plan {
        m,
        k,
        n,
        x_offsets,
        y_offsets,
    })
}

/// A `rows × cols` row-major matrix transposed.
fn transposed(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; a.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

/// `out[b] = x'[b] · y'[b]` for every broadcast batch `b`, where `x'` is the last-two-dims
/// transpose of `x` when `adj_x` (likewise `y'`). Uses the GEMM kernel per batch.
#[allow(clippy::too_many_arguments)]
pub fn batch_matmul(
    x: &[f32],
    x_shape: &[usize],
    y: &[f32],
    y_shape: &[usize],
    adj_x: bool,
    adj_y: bool,
    out: &mut [f32],
    par: Parallelism,
) -> Result<()> {
    let p = plan(x_shape, y_shape, adj_x, adj_y, x.len(), y.len(), out.len())?;
    let (m, k, n) = (p.m, p.k, p.n);
    for (b, (&xo, &yo)) in p.x_offsets.iter().zip(&p.y_offsets).enumerate() {
        let xa = &x[xo..xo + m * k];
        let yb = &y[yo..yo + k * n];
        let xt;
        let a = if adj_x {
            xt = transposed(xa, k, m);
            &xt[..]
        } else {
            xa
        };
        let yt;
        let bm = if adj_y {
            yt = transposed(yb, n, k);
            &yt[..]
        } else {
            yb
        };
        matmul(
            m,
            n,
            k,
            a,
            k,
            bm,
            n,
            &mut out[b * m * n..(b + 1) * m * n],
            n,
            false,
            par,
        )?;
    }
    Ok(())
}

/// Reference twin of [`batch_matmul`]: plain loops.
pub fn batch_matmul_ref(
    x: &[f32],
    x_shape: &[usize],
    y: &[f32],
    y_shape: &[usize],
    adj_x: bool,
    adj_y: bool,
    out: &mut [f32],
) -> Result<()> {
    let p = plan(x_shape, y_shape, adj_x, adj_y, x.len(), y.len(), out.len())?;
    let (m, k, n) = (p.m, p.k, p.n);
    for (b, (&xo, &yo)) in p.x_offsets.iter().zip(&p.y_offsets).enumerate() {
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for kk in 0..k {
                    let a = if adj_x {
                        x[xo + kk * m + i]
                    } else {
                        x[xo + i * k + kk]
                    };
                    let c = if adj_y {
                        y[yo + j * k + kk]
                    } else {
                        y[yo + kk * n + j]
                    };
                    acc += a * c;
                }
                out[b * m * n + i * n + j] = acc;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_with_broadcast_and_adjoints() {
        let x: Vec<f32> = (0..2 * 3 * 4).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = (0..4 * 5).map(|i| (i as f32 * 0.11).cos()).collect();
        for (adj_x, adj_y) in [(false, false), (true, false), (false, true), (true, true)] {
            let xs = if adj_x { [2, 4, 3] } else { [2, 3, 4] };
            let ys = if adj_y { [1, 5, 4] } else { [1, 4, 5] };
            let mut a = vec![0.0; 2 * 3 * 5];
            let mut b = vec![0.0; 2 * 3 * 5];
            batch_matmul(&x, &xs, &y, &ys, adj_x, adj_y, &mut a, Parallelism::None).unwrap();
            batch_matmul_ref(&x, &xs, &y, &ys, adj_x, adj_y, &mut b).unwrap();
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() < 1e-5, "{p} vs {q}");
            }
        }
        // [[1,2],[3,4]] · [[5],[6]] = [[17],[39]]
        let mut o = [0.0; 2];
        batch_matmul_ref(
            &[1.0, 2.0, 3.0, 4.0],
            &[2, 2],
            &[5.0, 6.0],
            &[2, 1],
            false,
            false,
            &mut o,
        )
        .unwrap();
        assert_eq!(o, [17.0, 39.0]);
        assert!(batch_matmul_ref(
            &[0.0; 6],
            &[2, 3],
            &[0.0; 4],
            &[2, 2],
            false,
            false,
            &mut [0.0; 4]
        )
        .is_err());
    }
}
