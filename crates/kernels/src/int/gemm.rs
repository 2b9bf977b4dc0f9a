//! Int8 × int8 → int32 matrix products, the fast path of convolution and fully connected.
//!
//! Both operands are "row" matrices sharing the depth dimension `K` (weights `[M, K]`, input
//! patches `[N, K]`), and the product is `c[n][m] = Σ_k a[m][k] · b[n][k]` — which is what
//! NHWC convolution (channels innermost) and TFLite's fully connected need.
//!
//! Operands are packed once into [`PackedRows`]: values sign-extended to `i16` and each row
//! zero-padded to a multiple of 16, so the AVX2 kernel can use `_mm256_madd_epi16` (exact: the
//! pairwise sums of two `i8 × i8` products never overflow `i32`, unlike `maddubs`). The
//! portable fallback uses the same packing. [`gemm_i8_ref`] is the naive reference twin; all
//! three give identical results (integer sums wrap modulo 2³², so summation order is
//! irrelevant).

use super::{check_len, invalid};
use crate::Parallelism;

/// Depth padding granularity (elements).
pub const K_ALIGN: usize = 16;

/// Rows of an int8 matrix, sign-extended to `i16`, each padded with zeros to a multiple of
/// [`K_ALIGN`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedRows {
    rows: usize,
    depth: usize,
    stride: usize,
    data: Vec<i16>,
}

impl PackedRows {
    /// Packs `src` (`rows × depth`, row-major).
    pub fn pack(src: &[i8], rows: usize, depth: usize) -> crate::Result<Self> {
        let expected = rows
            .checked_mul(depth)
            .ok_or_else(|| crate::KernelError::Invalid("matrix size overflows".into()))?;
        check_len("packed matrix", src.len(), expected)?;
        let mut p = Self::default();
        p.reset(rows, depth);
        if depth > 0 {
            for (r, row) in src.chunks_exact(depth).enumerate() {
                let dst = p.row_mut(r);
                for (d, &s) in dst.iter_mut().zip(row) {
                    *d = s as i16;
                }
            }
        }
        Ok(p)
    }

    /// Resizes to `rows × depth` and zero-fills (reusing the allocation).
    pub fn reset(&mut self, rows: usize, depth: usize) {
        self.rows = rows;
        self.depth = depth;
        self.stride = depth.div_ceil(K_ALIGN) * K_ALIGN;
        self.data.clear();
        self.data.resize(rows * self.stride, 0);
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Logical depth (unpadded).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Padded row length.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Row `r` including its zero padding (`stride` elements).
    pub fn row(&self, r: usize) -> &[i16] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }

    /// Mutable row `r` (`stride` elements; write only the first `depth`, keep the rest 0).
    pub fn row_mut(&mut self, r: usize) -> &mut [i16] {
        let s = self.stride;
        &mut self.data[r * s..(r + 1) * s]
    }

    /// Sum of each row (used for zero-point corrections).
    pub fn row_sums(&self) -> Vec<i32> {
        (0..self.rows)
            .map(|r| {
                self.row(r)
                    .iter()
                    .fold(0i32, |a, &v| a.wrapping_add(v as i32))
            })
            .collect()
    }
}

/// Naive reference: `c[n * m + i] = Σ_k a[i * k + kk] · b[n * k + kk]` (wrapping `i32`).
pub fn gemm_i8_ref(
    a: &[i8],
    b: &[i8],
    m: usize,
    n: usize,
    k: usize,
    c: &mut [i32],
) -> crate::Result<()> {
    check_len("gemm lhs", a.len(), m * k)?;
    check_len("gemm rhs", b.len(), n * k)?;
    check_len("gemm output", c.len(), m * n)?;
    for j in 0..n {
        for i in 0..m {
            let mut acc = 0i32;
            for kk in 0..k {
                acc = acc.wrapping_add(a[i * k + kk] as i32 * b[j * k + kk] as i32);
            }
            c[j * m + i] = acc;
        }
    }
    Ok(())
}

/// Which implementation [`gemm_i8`] dispatches to on this machine.
pub fn selected_kernel() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    "portable"
}

fn check_operands(a: &PackedRows, b: &PackedRows, c: &[i32]) -> crate::Result<()> {
    if a.depth != b.depth {
        return invalid(format!("gemm depth mismatch: {} vs {}", a.depth, b.depth));
    }
    check_len("gemm output", c.len(), a.rows * b.rows)
}

/// `c[n][m] = Σ_k a[m][k] · b[n][k]` with runtime CPU dispatch (AVX2 or portable), optionally
/// split over rayon by rows of `b`.
pub fn gemm_i8(
    a: &PackedRows,
    b: &PackedRows,
    c: &mut [i32],
    parallelism: Parallelism,
) -> crate::Result<()> {
    check_operands(a, b, c)?;
    let m = a.rows;
    let n = b.rows;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let work = m * n * a.stride.max(1);
    let threads = parallelism.threads();
    if threads > 1 && work >= (1 << 20) && n >= 4 {
        use rayon::prelude::*;
        let rows_per = n.div_ceil(threads * 4).max(2);
        c.par_chunks_mut(rows_per * m)
            .enumerate()
            .for_each(|(chunk, cc)| {
                let n0 = chunk * rows_per;
                let rows = cc.len() / m;
                gemm_rows_dispatch(a, b, n0, rows, cc);
            });
    } else {
        gemm_rows_dispatch(a, b, 0, n, c);
    }
    Ok(())
}

/// Portable (auto-vectorized) implementation, exposed for tests and benchmarks.
pub fn gemm_i8_portable(a: &PackedRows, b: &PackedRows, c: &mut [i32]) -> crate::Result<()> {
    check_operands(a, b, c)?;
    gemm_rows_portable(a, b, 0, b.rows, c);
    Ok(())
}

/// Computes rows `n0 .. n0 + rows` of `b` into `c` (`rows × a.rows`).
pub(crate) fn gemm_rows_dispatch(
    a: &PackedRows,
    b: &PackedRows,
    n0: usize,
    rows: usize,
    c: &mut [i32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 support was just checked; bounds are guaranteed by the callers
            // (c.len() == rows * a.rows, n0 + rows <= b.rows, equal strides).
            unsafe { avx2::gemm_rows(a, b, n0, rows, c) };
            return;
        }
    }
    gemm_rows_portable(a, b, n0, rows, c);
}

#[inline]
fn dot_i16(x: &[i16], y: &[i16]) -> i32 {
    x.iter()
        .zip(y)
        .fold(0i32, |acc, (&p, &q)| acc.wrapping_add(p as i32 * q as i32))
}

fn gemm_rows_portable(a: &PackedRows, b: &PackedRows, n0: usize, rows: usize, c: &mut [i32]) {
    let m = a.rows;
    for (j, crow) in c.chunks_exact_mut(m).take(rows).enumerate() {
        let brow = b.row(n0 + j);
        for (i, out) in crow.iter_mut().enumerate() {
            *out = dot_i16(a.row(i), brow);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::PackedRows;
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hsum4(a0: __m256i, a1: __m256i, a2: __m256i, a3: __m256i) -> __m128i {
        let s01 = _mm256_hadd_epi32(a0, a1);
        let s23 = _mm256_hadd_epi32(a2, a3);
        let s = _mm256_hadd_epi32(s01, s23);
        _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn dot1(a: *const i16, b: *const i16, stride: usize) -> i32 {
        let mut acc = _mm256_setzero_si256();
        let mut k = 0;
        while k < stride {
            let va = _mm256_loadu_si256(a.add(k) as *const __m256i);
            let vb = _mm256_loadu_si256(b.add(k) as *const __m256i);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
            k += 16;
        }
        let lo = _mm256_castsi256_si128(acc);
        let hi = _mm256_extracti128_si256::<1>(acc);
        let s = _mm_add_epi32(lo, hi);
        let s = _mm_hadd_epi32(s, s);
        let s = _mm_hadd_epi32(s, s);
        _mm_cvtsi128_si32(s)
    }

    /// # Safety
    /// Requires AVX2; `c.len() >= rows * a.rows()`, `n0 + rows <= b.rows()`,
    /// `a.stride() == b.stride()` (a multiple of 16).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gemm_rows(
        a: &PackedRows,
        b: &PackedRows,
        n0: usize,
        rows: usize,
        c: &mut [i32],
    ) {
        let m = a.rows();
        let stride = a.stride();
        let ap = a.data.as_ptr();
        let bp = b.data.as_ptr();
        let cp = c.as_mut_ptr();
        let mut j = 0;
        while j + 2 <= rows {
            let b0 = bp.add((n0 + j) * stride);
            let b1 = bp.add((n0 + j + 1) * stride);
            let mut i = 0;
            while i + 4 <= m {
                let a0 = ap.add(i * stride);
                let a1 = ap.add((i + 1) * stride);
                let a2 = ap.add((i + 2) * stride);
                let a3 = ap.add((i + 3) * stride);
                let mut c00 = _mm256_setzero_si256();
                let mut c01 = _mm256_setzero_si256();
                let mut c02 = _mm256_setzero_si256();
                let mut c03 = _mm256_setzero_si256();
                let mut c10 = _mm256_setzero_si256();
                let mut c11 = _mm256_setzero_si256();
                let mut c12 = _mm256_setzero_si256();
                let mut c13 = _mm256_setzero_si256();
                let mut k = 0;
                while k < stride {
                    let vb0 = _mm256_loadu_si256(b0.add(k) as *const __m256i);
                    let vb1 = _mm256_loadu_si256(b1.add(k) as *const __m256i);
                    let va = _mm256_loadu_si256(a0.add(k) as *const __m256i);
                    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(va, vb0));
                    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(va, vb1));
                    let va = _mm256_loadu_si256(a1.add(k) as *const __m256i);
                    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(va, vb0));
                    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(va, vb1));
                    let va = _mm256_loadu_si256(a2.add(k) as *const __m256i);
                    c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(va, vb0));
                    c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(va, vb1));
                    let va = _mm256_loadu_si256(a3.add(k) as *const __m256i);
                    c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(va, vb0));
                    c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(va, vb1));
                    k += 16;
                }
                _mm_storeu_si128(cp.add(j * m + i) as *mut __m128i, hsum4(c00, c01, c02, c03));
                _mm_storeu_si128(
                    cp.add((j + 1) * m + i) as *mut __m128i,
                    hsum4(c10, c11, c12, c13),
                );
                i += 4;
            }
            while i < m {
                let ar = ap.add(i * stride);
                *cp.add(j * m + i) = dot1(ar, b0, stride);
                *cp.add((j + 1) * m + i) = dot1(ar, b1, stride);
                i += 1;
            }
            j += 2;
        }
        while j < rows {
            let b0 = bp.add((n0 + j) * stride);
            for i in 0..m {
                *cp.add(j * m + i) = dot1(ap.add(i * stride), b0, stride);
            }
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run_all(
        a: &[i8],
        b: &[i8],
        m: usize,
        n: usize,
        k: usize,
    ) -> (Vec<i32>, Vec<i32>, Vec<i32>, Vec<i32>) {
        let mut r = vec![0; m * n];
        gemm_i8_ref(a, b, m, n, k, &mut r).unwrap();
        let pa = PackedRows::pack(a, m, k).unwrap();
        let pb = PackedRows::pack(b, n, k).unwrap();
        let mut p = vec![0; m * n];
        gemm_i8_portable(&pa, &pb, &mut p).unwrap();
        let mut d = vec![0; m * n];
        gemm_i8(&pa, &pb, &mut d, Parallelism::None).unwrap();
        let mut t = vec![0; m * n];
        gemm_i8(&pa, &pb, &mut t, Parallelism::Rayon).unwrap();
        (r, p, d, t)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn optimized_equals_reference(
            (m, n, k, a, b) in (1usize..13, 1usize..9, 0usize..70).prop_flat_map(|(m, n, k)| (
                Just(m), Just(n), Just(k),
                proptest::collection::vec(any::<i8>(), m * k),
                proptest::collection::vec(any::<i8>(), n * k),
            ))
        ) {
            let (r, p, d, t) = run_all(&a, &b, m, n, k);
            prop_assert_eq!(&r, &p);
            prop_assert_eq!(&r, &d);
            prop_assert_eq!(&r, &t);
        }
    }

    #[test]
    fn extremes_and_large() {
        // All -128: every product is 16384; madd pairs reach 32768 without overflow.
        let (m, n, k) = (37, 300, 1000);
        let a = vec![-128i8; m * k];
        let b = vec![-128i8; n * k];
        let (r, p, d, t) = run_all(&a, &b, m, n, k);
        assert!(r.iter().all(|&v| v == 16384 * 1000));
        assert_eq!(r, p);
        assert_eq!(r, d);
        assert_eq!(r, t);
        let mut seed = 7u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 24) as i8
        };
        let a: Vec<i8> = (0..m * k).map(|_| rnd()).collect();
        let b: Vec<i8> = (0..n * k).map(|_| rnd()).collect();
        let (r, p, d, t) = run_all(&a, &b, m, n, k);
        assert_eq!(r, p);
        assert_eq!(r, d);
        assert_eq!(r, t);
    }
}
