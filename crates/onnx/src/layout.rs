//! Dimension permutations ("layouts").
//!
//! Every activation value of the ONNX graph is held as an IR tensor plus a layout `perm`:
//! physical (IR) dim `i` holds ONNX (logical) dim `perm[i]`. NCHW activations stored NHWC have
//! the layout `[0, 2, 3, 1]`; the identity layout is "plain".

/// The NHWC layout of a rank-4 NCHW tensor.
pub(crate) const NHWC: [usize; 4] = [0, 2, 3, 1];

/// The identity permutation of rank `n`.
pub(crate) fn identity(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// True for the identity permutation.
pub(crate) fn is_identity(p: &[usize]) -> bool {
    p.iter().enumerate().all(|(i, &v)| i == v)
}

/// The inverse permutation: `inverse(p)[p[i]] == i`.
pub(crate) fn inverse(p: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; p.len()];
    for (i, &v) in p.iter().enumerate() {
        inv[v] = i;
    }
    inv
}

/// Physical shape of a tensor with logical shape `logical` in layout `perm`.
pub(crate) fn physical_shape(logical: &[usize], perm: &[usize]) -> Vec<usize> {
    perm.iter().map(|&p| logical[p]).collect()
}

/// Logical shape of a tensor with physical shape `physical` in layout `perm`.
pub(crate) fn logical_shape(physical: &[usize], perm: &[usize]) -> Vec<usize> {
    let mut s = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        s[p] = physical[i];
    }
    s
}

/// The physical transpose that turns data in layout `from` into layout `to`: output dim `i`
/// is input dim `result[i]`.
pub(crate) fn transition(from: &[usize], to: &[usize]) -> Vec<usize> {
    let inv = inverse(from);
    to.iter().map(|&l| inv[l]).collect()
}

/// True when transposing `shape` by `perm` leaves the element order unchanged (only size-1
/// dims move), so a reshape does the job.
pub(crate) fn is_trivial_transpose(shape: &[usize], perm: &[usize]) -> bool {
    let moved: Vec<usize> = perm.iter().copied().filter(|&p| shape[p] != 1).collect();
    moved.windows(2).all(|w| w[0] < w[1])
}

#[cfg(test)]
/// For each output element of `shape` transposed by `perm` (output dim `i` = input dim
/// `perm[i]`), the flat index of the input element.
pub(crate) fn transpose_index(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let rank = shape.len();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(off);
        for d in (0..rank).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < out_shape[d] {
                break;
            }
            off -= strides[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    out
}

/// `data` (row-major, `shape`) transposed by `perm` (output dim `i` = input dim `perm[i]`),
/// without materializing an index table.
pub(crate) fn transpose_data<T: Copy>(data: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let rank = shape.len();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    // The innermost output dim is copied in a tight loop.
    let (inner, inner_stride) = match rank {
        0 => (1, 0),
        _ => (out_shape[rank - 1], strides[rank - 1]),
    };
    let outer = n / inner.max(1);
    for _ in 0..outer {
        for k in 0..inner {
            out.push(data[off + k * inner_stride]);
        }
        for d in (0..rank.saturating_sub(1)).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < out_shape[d] {
                break;
            }
            off -= strides[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    out
}

/// The layout of a tensor after the logical dims `removed` are dropped from a tensor in
/// layout `perm` (the remaining physical dims keep their order).
pub(crate) fn after_removing(perm: &[usize], removed: &[usize]) -> Vec<usize> {
    let kept: Vec<usize> = perm
        .iter()
        .copied()
        .filter(|p| !removed.contains(p))
        .collect();
    let mut sorted = kept.clone();
    sorted.sort_unstable();
    kept.iter()
        .map(|k| sorted.iter().position(|s| s == k).unwrap_or(0))
        .collect()
}

/// Physical position of logical dim `axis` in layout `perm`.
pub(crate) fn phys_axis(perm: &[usize], axis: usize) -> usize {
    perm.iter().position(|&p| p == axis).unwrap_or(axis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        assert_eq!(transition(&[0, 1, 2, 3], &NHWC), vec![0, 2, 3, 1]);
        assert_eq!(transition(&NHWC, &[0, 1, 2, 3]), vec![0, 3, 1, 2]);
        assert_eq!(physical_shape(&[1, 3, 4, 5], &NHWC), vec![1, 4, 5, 3]);
        assert_eq!(logical_shape(&[1, 4, 5, 3], &NHWC), vec![1, 3, 4, 5]);
        assert!(is_trivial_transpose(&[2, 1, 1, 3], &[0, 3, 1, 2]));
        assert!(!is_trivial_transpose(&[2, 2, 1, 3], &[0, 3, 1, 2]));
        assert_eq!(after_removing(&NHWC, &[2, 3]), vec![0, 1]);
        assert_eq!(after_removing(&NHWC, &[0]), vec![1, 2, 0]);
        assert_eq!(transpose_index(&[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
        let v: Vec<usize> = (0..24).collect();
        for p in [[0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 3, 2]] {
            let want: Vec<usize> = transpose_index(&[2, 3, 1, 4], &p);
            assert_eq!(transpose_data(&v, &[2, 3, 1, 4], &p), want);
        }
        assert_eq!(transpose_data(&[7], &[], &[]), vec![7]);
    }
}
