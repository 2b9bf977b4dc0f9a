//! Matrix multiplication on row-major slices through the `gemm` crate.

use crate::error::invalid;
use crate::{Parallelism, Result};

/// Minimal slice length of a row-major `rows × cols` matrix with row stride `ld`.
fn span(rows: usize, cols: usize, ld: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1).checked_mul(ld)?.checked_add(cols)
}

fn check(what: &str, len: usize, rows: usize, cols: usize, ld: usize) -> Result<()> {
    if ld < cols && rows > 1 {
        return invalid(format!("{what}: row stride {ld} < {cols} columns"));
    }
    match span(rows, cols, ld) {
        Some(need) if need <= len => Ok(()),
        _ => invalid(format!(
            "{what}: {rows}x{cols} matrix with row stride {ld} needs more than {len} elements"
        )),
    }
}

/// `c = a · b` (or `c += a · b` when `accumulate`), with `a` an `m × k` matrix, `b` `k × n` and
/// `c` `m × n`, all row-major with row strides `lda`, `ldb`, `ldc` (elements). Columns are
/// contiguous. `c` must not overlap `a` or `b` (guaranteed by the borrow rules).
///
/// `Parallelism::Rayon` lets `gemm` split large products over rayon's pool (it stays
/// single-threaded below its own work threshold). Errors when a slice is too short for its
/// matrix.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
    par: Parallelism,
) -> Result<()> {
    check("matmul lhs", a.len(), m, k, lda)?;
    check("matmul rhs", b.len(), k, n, ldb)?;
    check("matmul dst", c.len(), m, n, ldc)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(0.0);
            }
        }
        return Ok(());
    }
    let (Ok(lda), Ok(ldb), Ok(ldc)) = (
        isize::try_from(lda),
        isize::try_from(ldb),
        isize::try_from(ldc),
    ) else {
        return invalid("matmul: stride overflows isize");
    };
    let parallelism = match par {
        Parallelism::None => gemm::Parallelism::None,
        Parallelism::Rayon => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the checks above guarantee that every element addressed by the (m, n, k) shapes
    // and the strides lies inside the three slices; `c` is a unique borrow so it cannot alias
    // `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc,
            accumulate,
            a.as_ptr(),
            1,
            lda,
            b.as_ptr(),
            1,
            ldb,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

/// Reference twin of [`matmul`]: the textbook triple loop, accumulating in `k` order.
#[allow(clippy::too_many_arguments)]
pub fn matmul_ref(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) -> Result<()> {
    check("matmul lhs", a.len(), m, k, lda)?;
    check("matmul rhs", b.len(), k, n, ldb)?;
    check("matmul dst", c.len(), m, n, ldc)?;
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a[i * lda + p] * b[p * ldb + j];
            }
            let d = &mut c[i * ldc + j];
            *d = if accumulate { *d + acc } else { acc };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::testutil::{assert_close, vec_strategy};
    use proptest::prelude::*;

    #[test]
    fn small_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // 3x2
        let mut c = [0.0; 4];
        matmul(2, 2, 3, &a, 3, &b, 2, &mut c, 2, false, Parallelism::None).unwrap();
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        matmul(2, 2, 3, &a, 3, &b, 2, &mut c, 2, true, Parallelism::None).unwrap();
        assert_eq!(c, [8.0, 10.0, 20.0, 22.0]);
    }

    #[test]
    fn short_slice_is_an_error() {
        let mut c = [0.0; 4];
        assert!(matmul(
            2,
            2,
            3,
            &[0.0; 5],
            3,
            &[0.0; 6],
            2,
            &mut c,
            2,
            false,
            Parallelism::None
        )
        .is_err());
    }

    proptest! {
        // Tolerance: gemm reorders and fuses the k-sum (blocked, FMA); each term's rounding
        // differs by ≤ 1 ulp, so the error is bounded by ~k·eps·Σ|a·b|. We check 1e-5 relative
        // to Σ|a||b| per element.
        #[test]
        fn matches_reference((m, n, k, a, b) in (1usize..40, 1usize..40, 1usize..70)
            .prop_flat_map(|(m, n, k)| (Just(m), Just(n), Just(k), vec_strategy(m * k), vec_strategy(k * n))),
            par in any::<bool>())
        {
            let mut c = vec![0.0; m * n];
            let mut r = vec![0.0; m * n];
            let p = if par { Parallelism::Rayon } else { Parallelism::None };
            matmul(m, n, k, &a, k, &b, n, &mut c, n, false, p).unwrap();
            matmul_ref(m, n, k, &a, k, &b, n, &mut r, n, false).unwrap();
            let mut scale = vec![0.0; m * n];
            let aa: Vec<f32> = a.iter().map(|v| v.abs()).collect();
            let bb: Vec<f32> = b.iter().map(|v| v.abs()).collect();
            matmul_ref(m, n, k, &aa, k, &bb, n, &mut scale, n, false).unwrap();
            assert_close(&c, &r, &scale, 1e-5);
        }
    }
}
