//! Test helpers shared by the kernel tests.

use proptest::prelude::*;

/// `n` values in [-2, 2] (a typical activation/weight range).
pub fn vec_strategy(n: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(-2.0f32..2.0, n)
}

/// Asserts `|got - want| <= tol * scale` element-wise, where `scale` is the magnitude of the
/// terms that formed `want` (so cancellation does not make the check meaningless). An empty
/// `scale` means `max(|want|, 1)`.
pub fn assert_close(got: &[f32], want: &[f32], scale: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "length");
    for i in 0..got.len() {
        let s = if scale.is_empty() {
            want[i].abs().max(1.0)
        } else {
            scale[i].max(1e-6)
        };
        assert!(
            (got[i] - want[i]).abs() <= tol * s,
            "element {i}: got {} want {} (scale {s}, tol {tol})",
            got[i],
            want[i]
        );
    }
}
