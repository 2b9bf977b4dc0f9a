//! Batch normalization with batch statistics (training) for NCHW values as one differentiable
//! op on burn's `Autodiff<Flex>` backend. It computes what the unfused burn ops of
//! `train.rs` compute: per channel `mean = Σx/M`, `var = Σ(x − mean)²/M` (`M = N·H·W`),
//! `scale = γ / √(var + ε)`, `shift = β − mean·scale`, `y = x·scale + shift`, and the
//! gradients of `x`, `γ` and `β` by the chain rule through that same graph (including the
//! gradients through `mean` and `var`). Only the order of the float sums differs.

use crate::prim::{contiguous, flex, prim, slice, sum, sum_sq_dev, Ad};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::Tensor;
use rayon::prelude::*;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geo {
    n: usize,
    c: usize,
    hw: usize,
}

impl Geo {
    /// Elements per channel.
    fn m(&self) -> usize {
        self.n * self.hw
    }
    /// The `N` planes of channel `ch`.
    fn planes<'a>(&self, x: &'a [f32], ch: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (c, hw) = (self.c, self.hw);
        (0..self.n).map(move |i| &x[(i * c + ch) * hw..][..hw])
    }
}

/// Per-channel batch statistics and the folded scale and shift.
#[derive(Clone, Debug)]
struct Stats {
    mean: Vec<f32>,
    var: Vec<f32>,
    /// `√(var + ε)`.
    sigma: Vec<f32>,
    scale: Vec<f32>,
}

fn stats(g: &Geo, x: &[f32], gamma: &[f32], beta: &[f32], eps: f32) -> (Stats, Vec<f32>) {
    let m = g.m() as f32;
    let per: Vec<(f32, f32)> = (0..g.c)
        .into_par_iter()
        .map(|ch| {
            let total: f32 = g.planes(x, ch).map(sum).sum();
            let mean = total / m;
            let sq: f32 = g.planes(x, ch).map(|p| sum_sq_dev(p, mean)).sum();
            (mean, sq / m)
        })
        .collect();
    let mean: Vec<f32> = per.iter().map(|p| p.0).collect();
    let var: Vec<f32> = per.iter().map(|p| p.1).collect();
    let sigma: Vec<f32> = var.iter().map(|v| (v + eps).sqrt()).collect();
    let scale: Vec<f32> = gamma.iter().zip(&sigma).map(|(g, s)| g / s).collect();
    let shift: Vec<f32> = beta
        .iter()
        .zip(&mean)
        .zip(&scale)
        .map(|((b, mu), sc)| b - mu * sc)
        .collect();
    (
        Stats {
            mean,
            var,
            sigma,
            scale,
        },
        shift,
    )
}

fn apply(g: &Geo, x: &[f32], scale: &[f32], shift: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(g.hw)
        .zip(x.par_chunks(g.hw))
        .enumerate()
        .for_each(|(i, (yp, xp))| {
            let (sc, sh) = (scale[i % g.c], shift[i % g.c]);
            for (yv, &xv) in yp.iter_mut().zip(xp) {
                *yv = xv * sc + sh;
            }
        });
    y
}

/// `[Σg, Σx·g, Σ(x − mu)]` in one pass, 8 interleaved accumulators each (vectorizes; fixed
/// order).
fn sums3(x: &[f32], g: &[f32], mu: f32) -> [f32; 3] {
    let n = x.len().min(g.len());
    let (x, g) = (&x[..n], &g[..n]);
    let mut acc = [[0f32; 8]; 3];
    let full = n / 8 * 8;
    let (xb, gb) = (x[..full].as_chunks::<8>().0, g[..full].as_chunks::<8>().0);
    for (xc, gc) in xb.iter().zip(gb) {
        for j in 0..8 {
            acc[0][j] += gc[j];
            acc[1][j] += xc[j] * gc[j];
            acc[2][j] += xc[j] - mu;
        }
    }
    let mut out = acc.map(|a| ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])));
    let (mut t0, mut t1, mut t2) = (0f32, 0f32, 0f32);
    for (&xv, &gv) in x[full..].iter().zip(&g[full..]) {
        t0 += gv;
        t1 += xv * gv;
        t2 += xv - mu;
    }
    out[0] += t0;
    out[1] += t1;
    out[2] += t2;
    out
}

/// Gradients of `x`, `γ`, `β` (in that order) from the output gradient `gy`.
fn backward(g: &Geo, x: &[f32], gamma: &[f32], st: &Stats, gy: &[f32]) -> [Vec<f32>; 3] {
    let m = g.m() as f32;
    // Per channel: Σgy (= dβ = d shift), Σgy·x (d scale from y = x·scale), Σ(x − mean).
    let sums: Vec<[f32; 3]> = (0..g.c)
        .into_par_iter()
        .map(|ch| {
            let mu = st.mean[ch];
            let mut s = [0f32; 3];
            for (xp, gp) in g.planes(x, ch).zip(g.planes(gy, ch)) {
                let t = sums3(xp, gp, mu);
                for (a, b) in s.iter_mut().zip(t) {
                    *a += b;
                }
            }
            s
        })
        .collect();
    let mut dgamma = vec![0f32; g.c];
    let mut dbeta = vec![0f32; g.c];
    // dx = gy·scale + dvar·2(x − mean)/M + dmean/M, per channel coefficients.
    let mut a_dev = vec![0f32; g.c];
    let mut a_const = vec![0f32; g.c];
    for ch in 0..g.c {
        let [sg, sgx, sdev] = sums[ch];
        let (mu, sigma, scale) = (st.mean[ch], st.sigma[ch], st.scale[ch]);
        // shift = β − mean·scale
        let dshift = sg;
        dbeta[ch] = dshift;
        let dscale = sgx - mu * dshift;
        let mut dmean = -scale * dshift;
        // scale = γ / σ
        dgamma[ch] = dscale / sigma;
        let dsigma = -dscale * gamma[ch] / (sigma * sigma);
        // σ = √(var + ε)
        let dvar = dsigma / (2.0 * sigma);
        // var = Σ(x − mean)²/M
        a_dev[ch] = dvar * 2.0 / m;
        dmean += -a_dev[ch] * sdev;
        // mean = Σx/M
        a_const[ch] = dmean / m;
    }
    let mut dx = vec![0f32; x.len()];
    dx.par_chunks_mut(g.hw)
        .zip(x.par_chunks(g.hw))
        .zip(gy.par_chunks(g.hw))
        .enumerate()
        .for_each(|(i, ((dp, xp), gp))| {
            let ch = i % g.c;
            let (sc, mu, ad, ac) = (st.scale[ch], st.mean[ch], a_dev[ch], a_const[ch]);
            for ((d, &xv), &gv) in dp.iter_mut().zip(xp).zip(gp) {
                *d = gv * sc + ad * (xv - mu) + ac;
            }
        });
    [dx, dgamma, dbeta]
}

#[derive(Clone, Debug)]
struct BnState {
    geo: Geo,
    shape: [usize; 4],
    x: FlexTensor,
    gamma: Vec<f32>,
    stats: Arc<Stats>,
}

#[derive(Debug)]
struct BnBackward;

impl Backward<Flex, 3> for BnBackward {
    type State = BnState;

    fn backward(self, ops: Ops<BnState, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let gy = grads.consume::<Flex>(&ops.node);
        let Some(gy) = contiguous(gy) else { return };
        let st = &ops.state;
        let g = st.geo;
        let grads3 = backward(&g, slice(&st.x), &st.gamma, &st.stats, slice(&gy));
        let shapes = [st.shape.to_vec(), vec![g.c], vec![g.c]];
        for ((parent, grad), shape) in ops.parents.iter().zip(grads3).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, flex(grad, &shape));
            }
        }
    }
}

/// Output of [`batch_norm_train`]: the normalized value and the batch statistics.
pub(crate) struct BnOut {
    pub y: Tensor<4>,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Batch normalization of the NCHW value `x` with its batch statistics (see the module doc);
/// `None` when the operands are not f32 Flex tensors of matching shapes (the caller then
/// uses burn's ops).
pub(crate) fn batch_norm_train(
    x: &Tensor<4>,
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    eps: f32,
) -> Option<BnOut> {
    let [n, c, h, w] = x.dims();
    let geo = Geo { n, c, hw: h * w };
    if geo.m() == 0 || gamma.dims() != [c] || beta.dims() != [c] {
        return None;
    }
    let (xp, xg) = prim(x)?.tracked().into_parts();
    let (gp, gg) = prim(gamma)?.tracked().into_parts();
    let (bp, bg) = prim(beta)?.tracked().into_parts();
    let (xf, gf, bf) = (contiguous(xp)?, contiguous(gp)?, contiguous(bp)?);
    let (st, shift) = stats(&geo, slice(&xf), slice(&gf), slice(&bf), eps);
    let y = flex(apply(&geo, slice(&xf), &st.scale, &shift), &[n, c, h, w]);
    let (mean, var) = (st.mean.clone(), st.var.clone());
    let y = match BnBackward
        .prepare::<NoCheckpointing>([xg, gg, bg])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = BnState {
                geo,
                shape: [n, c, h, w],
                gamma: slice(&gf).to_vec(),
                x: xf,
                stats: Arc::new(st),
            };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(BnOut {
        y: Tensor::from_primitive::<Ad>(y),
        mean,
        var,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32 data")
    }

    /// `|a − b| ≤ 1e-4·max|b|`: every value comes from per-channel sums of M = 100 terms
    /// (float32 error ≤ M·u ≈ 6e-6 of the sum of magnitudes, which the data keep within a
    /// small factor of the result) followed by a handful of per-element products and sums.
    fn close(what: &str, a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * scale,
                "{what}[{i}]: ours {x}, burn ops {y} (scale {scale})"
            );
        }
    }

    #[test]
    fn matches_the_burn_ops_of_train_rs() {
        let (n, c, h, w) = (4, 3, 5, 5);
        let eps = 1e-3;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut rand = |len: usize, lo: f32, hi: f32| -> Vec<f32> {
            (0..len).map(|_| rng.random_range(lo..hi)).collect()
        };
        // Channels with different offsets and spreads.
        let x: Vec<f32> = rand(n * c * h * w, -1.0, 1.0)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ch = (i / (h * w)) % c;
                v * (1.0 + ch as f32) + 0.5 * ch as f32
            })
            .collect();
        let gamma = rand(c, 0.5, 1.5);
        let beta = rand(c, -0.5, 0.5);
        let gy = rand(n * c * h * w, -1.0, 1.0);
        let dev = Device::flex();
        let leaf4 = |v: &[f32]| {
            Tensor::<4>::from_data(TensorData::new(v.to_vec(), [n, c, h, w]), &dev)
                .autodiff()
                .require_grad()
        };
        let leaf1 = |v: &[f32]| {
            Tensor::<1>::from_data(TensorData::new(v.to_vec(), [c]), &dev)
                .autodiff()
                .require_grad()
        };
        let gyt = Tensor::<4>::from_data(TensorData::new(gy.clone(), [n, c, h, w]), &dev);

        let (xt, gt, bt) = (leaf4(&x), leaf1(&gamma), leaf1(&beta));
        let out = batch_norm_train(&xt, &gt, &bt, eps).expect("handled by this module");
        let grads = (out.y.clone() * gyt.clone()).sum().backward();
        let ours = [
            vec_of(out.y.inner()),
            vec_of(xt.grad(&grads).expect("dx")),
            vec_of(gt.grad(&grads).expect("dgamma")),
            vec_of(bt.grad(&grads).expect("dbeta")),
        ];

        // The unfused ops of `train.rs`.
        let (xt, gt, bt) = (leaf4(&x), leaf1(&gamma), leaf1(&beta));
        let mean = xt.clone().mean_dims(&[0, 2, 3]);
        let var = (xt.clone() - mean.clone())
            .powi_scalar(2)
            .mean_dims(&[0, 2, 3]);
        let (mean, var) = (mean.reshape([c]), var.reshape([c]));
        let scale = gt.clone() / var.clone().add_scalar(eps).sqrt();
        let shift = bt.clone() - mean.clone() * scale.clone();
        let y = xt.clone() * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1]);
        let grads = (y.clone() * gyt).sum().backward();
        let burn = [
            vec_of(y.inner()),
            vec_of(xt.grad(&grads).expect("dx")),
            vec_of(gt.grad(&grads).expect("dgamma")),
            vec_of(bt.grad(&grads).expect("dbeta")),
        ];
        for (name, (a, b)) in ["y", "dx", "dgamma", "dbeta"]
            .iter()
            .zip(ours.iter().zip(&burn))
        {
            close(name, a, b);
        }
        close("mean", &out.mean, &vec_of(mean.inner()));
        close("var", &out.var, &vec_of(var.inner()));
    }
}
