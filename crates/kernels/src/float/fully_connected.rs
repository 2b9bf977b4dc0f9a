//! FULLY_CONNECTED: `y = x · Wᵀ + b` through GEMM with pre-transposed weights.

use super::activation::{bias_clamp_rows, Clamp};
use super::gemm::matmul;
#[cfg(target_arch = "x86_64")]
use super::simd::Fused;
use super::simd::{has_avx2_fma, Arith, Plain};
use crate::error::{check_len, invalid};
use crate::{Parallelism, Result};

/// Fully-connected weights prepared once: `[in_features, out_features]` row-major (the
/// transpose of the model's `[O, I]`), plus the bias.
#[derive(Clone, Debug, PartialEq)]
pub struct FullyConnectedWeights {
    in_features: usize,
    out_features: usize,
    packed: Vec<f32>,
    bias: Vec<f32>,
}

impl FullyConnectedWeights {
    /// Packs `[out_features, in_features]` weights and an optional `[out_features]` bias.
    pub fn pack(
        weights_oi: &[f32],
        out_features: usize,
        in_features: usize,
        bias: Option<&[f32]>,
    ) -> Result<Self> {
        if out_features == 0 || in_features == 0 {
            return invalid("fully_connected: empty weights");
        }
        let n = out_features
            .checked_mul(in_features)
            .ok_or_else(|| crate::KernelError::Invalid("fully_connected: size overflows".into()))?;
        check_len("fully_connected weights", weights_oi.len(), n)?;
        if let Some(b) = bias {
            check_len("fully_connected bias", b.len(), out_features)?;
        }
        let mut packed = vec![0.0; n];
        for o in 0..out_features {
            for i in 0..in_features {
                packed[i * out_features + o] = weights_oi[o * in_features + i];
            }
        }
        Ok(FullyConnectedWeights {
            in_features,
            out_features,
            packed,
            bias: bias.map(<[f32]>::to_vec).unwrap_or_default(),
        })
    }

    /// Input features per row.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output features per row.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

/// Below this many multiply-adds the product runs on one thread.
const PAR_MIN_MACS: usize = 1 << 22;

/// Up to this many rows the product runs as matrix-vector products ([`gemv_rows`]).
const GEMV_MAX_ROWS: usize = 4;

/// Row-by-row matrix-vector product in XNNPACK's accumulation order: each output starts at its
/// bias and accumulates the `in_features` products in index order with one multiply-add each
/// (fused when `A` is [`Fused`]). Activations are applied by the caller.
#[inline(always)]
fn gemv_rows<A: Arith>(w: &FullyConnectedWeights, input: &[f32], output: &mut [f32]) {
    let n = w.out_features;
    for (x, y) in input
        .chunks_exact(w.in_features)
        .zip(output.chunks_exact_mut(n))
    {
        if w.bias.is_empty() {
            y.fill(0.0);
        } else {
            y.copy_from_slice(&w.bias);
        }
        for (&xp, row) in x.iter().zip(w.packed.chunks_exact(n)) {
            for (acc, &wv) in y.iter_mut().zip(row) {
                *acc = A::madd(xp, wv, *acc);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gemv_rows_fma(w: &FullyConnectedWeights, input: &[f32], output: &mut [f32]) {
    gemv_rows::<Fused>(w, input, output);
}

fn gemv(w: &FullyConnectedWeights, input: &[f32], output: &mut [f32], clamp: Clamp) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
        unsafe { gemv_rows_fma(w, input, output) };
        output.iter_mut().for_each(|v| *v = clamp.apply(*v));
        return;
    }
    gemv_rows::<Plain>(w, input, output);
    output.iter_mut().for_each(|v| *v = clamp.apply(*v));
}

/// Fully connected (TFLite FULLY_CONNECTED, float): `input` is `rows × in_features`,
/// `output` `rows × out_features`; `output = clamp(input · Wᵀ + bias)`.
pub fn fully_connected(
    w: &FullyConnectedWeights,
    input: &[f32],
    output: &mut [f32],
    clamp: Clamp,
    par: Parallelism,
) -> Result<()> {
    if !input.len().is_multiple_of(w.in_features) {
        return invalid(format!(
            "fully_connected: input of {} elements is not a multiple of {}",
            input.len(),
            w.in_features
        ));
    }
    let rows = input.len() / w.in_features;
    check_len(
        "fully_connected output",
        output.len(),
        rows * w.out_features,
    )?;
    if rows <= GEMV_MAX_ROWS {
        gemv(w, input, output, clamp);
        return Ok(());
    }
    let macs = output.len().saturating_mul(w.in_features);
    let par = if macs >= PAR_MIN_MACS {
        par
    } else {
        Parallelism::None
    };
    matmul(
        rows,
        w.out_features,
        w.in_features,
        input,
        w.in_features,
        &w.packed,
        w.out_features,
        output,
        w.out_features,
        false,
        par,
    )?;
    bias_clamp_rows(output, &w.bias, clamp);
    Ok(())
}

/// Reference twin of [`fully_connected`] on the model's `[out, in]` weights.
pub fn fully_connected_ref(
    weights_oi: &[f32],
    bias: Option<&[f32]>,
    out_features: usize,
    input: &[f32],
    output: &mut [f32],
    clamp: Clamp,
) -> Result<()> {
    if out_features == 0 || !weights_oi.len().is_multiple_of(out_features) {
        return invalid("fully_connected: weights are not [out, in]");
    }
    let inf = weights_oi.len() / out_features;
    if inf == 0 || !input.len().is_multiple_of(inf) {
        return invalid("fully_connected: input is not a multiple of in_features");
    }
    let rows = input.len() / inf;
    check_len("fully_connected output", output.len(), rows * out_features)?;
    for r in 0..rows {
        for o in 0..out_features {
            let mut acc = 0.0f32;
            for i in 0..inf {
                acc += input[r * inf + i] * weights_oi[o * inf + i];
            }
            output[r * out_features + o] = clamp.apply(acc + bias.map_or(0.0, |b| b[o]));
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
    fn hand_computed() {
        // W = [[1, 2], [3, 4], [-1, 0]], b = [0, 1, 0], x = [1, 1] → [3, 8, -1] → relu.
        let w = FullyConnectedWeights::pack(
            &[1.0, 2.0, 3.0, 4.0, -1.0, 0.0],
            3,
            2,
            Some(&[0.0, 1.0, 0.0]),
        )
        .unwrap();
        let mut out = [0.0; 3];
        fully_connected(&w, &[1.0, 1.0], &mut out, Clamp::RELU, Parallelism::None).unwrap();
        assert_eq!(out, [3.0, 8.0, 0.0]);
        assert!(fully_connected(&w, &[1.0; 3], &mut out, Clamp::NONE, Parallelism::None).is_err());
    }

    proptest! {
        // Tolerance: the I-term dot products are summed in another order (FMA, blocking);
        // terms ≤ 4, so 1e-6 relative to 4·I + 2.
        #[test]
        fn matches_reference((rows, o, i, x, w, b) in (1usize..9, 1usize..70, 1usize..90)
            .prop_flat_map(|(r, o, i)| (Just(r), Just(o), Just(i), vec_strategy(r * i),
                vec_strategy(o * i), vec_strategy(o))))
        {
            let packed = FullyConnectedWeights::pack(&w, o, i, Some(&b)).unwrap();
            let mut got = vec![0.0; rows * o];
            fully_connected(&packed, &x, &mut got, Clamp::NONE, Parallelism::Rayon).unwrap();
            let mut want = vec![0.0; rows * o];
            fully_connected_ref(&w, Some(&b), o, &x, &mut want, Clamp::NONE).unwrap();
            assert_close(&got, &want, &vec![(4 * i + 2) as f32; got.len()], 1e-6);
        }
    }
}
