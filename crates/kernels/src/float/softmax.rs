//! SOFTMAX over the last axis.

use crate::error::{check_len, invalid};
use crate::Result;

fn check(input: &[f32], output: &[f32], depth: usize) -> Result<()> {
    check_len("softmax output", output.len(), input.len())?;
    if depth == 0 || !input.len().is_multiple_of(depth) {
        return invalid(format!(
            "softmax: {} elements are not rows of {depth}",
            input.len()
        ));
    }
    Ok(())
}

/// Softmax over rows of `depth` elements:
/// `y = exp(β(x − max)) / Σ exp(β(x − max))` (TFLite SOFTMAX, float).
/// The exponentials are computed once and normalized with one reciprocal per row.
pub fn softmax(input: &[f32], output: &mut [f32], depth: usize, beta: f32) -> Result<()> {
    check(input, output, depth)?;
    for (x, y) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0f32;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = ((v - max) * beta).exp();
            sum += *o;
        }
        let inv = 1.0 / sum;
        for o in y.iter_mut() {
            *o *= inv;
        }
    }
    Ok(())
}

/// Reference twin of [`softmax`]: TFLite's reference (two exponentials per element, one
/// division per element).
pub fn softmax_ref(input: &[f32], output: &mut [f32], depth: usize, beta: f32) -> Result<()> {
    check(input, output, depth)?;
    for (x, y) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = x.iter().map(|&v| ((v - max) * beta).exp()).sum();
        for (o, &v) in y.iter_mut().zip(x) {
            *o = ((v - max) * beta).exp() / sum;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        let mut y = [0.0; 4];
        softmax(&[0.0, 0.0, 1.0, 1.0], &mut y, 2, 1.0).unwrap();
        assert_eq!(y, [0.5; 4]);
        softmax(&[0.0, 2.0_f32.ln()], &mut y[..2], 2, 1.0).unwrap();
        assert!((y[0] - 1.0 / 3.0).abs() < 1e-7 && (y[1] - 2.0 / 3.0).abs() < 1e-7);
        assert!(softmax(&[0.0; 3], &mut [0.0; 3], 2, 1.0).is_err());
    }

    proptest! {
        // Tolerance: multiplying by 1/sum instead of dividing adds ≤ 1 ulp per element:
        // 2 ulp relative (2.4e-7) → checked at 1e-6 relative.
        #[test]
        fn matches_reference((d, x) in (1usize..40).prop_flat_map(|d| (Just(d), proptest::collection::vec(-20.0f32..20.0, d * 3))), beta in 0.1f32..2.0) {
            let mut got = vec![0.0; x.len()];
            let mut want = vec![0.0; x.len()];
            softmax(&x, &mut got, d, beta).unwrap();
            softmax_ref(&x, &mut want, d, beta).unwrap();
            crate::float::testutil::assert_close(&got, &want, &want, 1e-6);
        }
    }
}
