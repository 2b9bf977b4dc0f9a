//! 2-D max pooling for training as one differentiable op on burn's `Autodiff<Flex>` backend
//! (NCHW), with burn's semantics: padded positions never win, the first maximum of a window
//! wins (a NaN always wins), and the gradient goes to the winning input.

use crate::prim::{contiguous, flex, prim, slice, Ad, Prim};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::Tensor;
use rayon::prelude::*;
use std::sync::Arc;

/// Planes (one channel of one sample) per parallel task.
const PLANES_PER_TASK: usize = 16;

/// Index of a window without any input (only padding).
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geo {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    k: [usize; 2],
    stride: [usize; 2],
    /// Padding before (top, left).
    pad: [usize; 2],
}

impl Geo {
    fn new(
        x: [usize; 4],
        k: [usize; 2],
        stride: [usize; 2],
        pad: [(usize, usize); 2],
    ) -> Option<Geo> {
        let [n, c, h, w] = x;
        let out = |a: usize, size: usize| -> Option<usize> {
            let padded = size.checked_add(pad[a].0)?.checked_add(pad[a].1)?;
            if stride[a] == 0 || k[a] == 0 || padded < k[a] {
                return None;
            }
            Some((padded - k[a]) / stride[a] + 1)
        };
        let g = Geo {
            planes: n.checked_mul(c)?,
            h,
            w,
            oh: out(0, h)?,
            ow: out(1, w)?,
            k,
            stride,
            pad: [pad[0].0, pad[1].0],
        };
        let u32_ok = h.checked_mul(w).is_some_and(|hw| hw < NONE as usize);
        (g.planes > 0 && h > 0 && w > 0 && u32_ok).then_some(g)
    }

    /// Input range `[lo, hi)` along axis `a` of the window at output position `o`.
    fn window(&self, a: usize, o: usize) -> (usize, usize) {
        let size = [self.h, self.w][a];
        let start = o * self.stride[a];
        let lo = start.max(self.pad[a]) - self.pad[a];
        let hi = (start + self.k[a]).min(size + self.pad[a]) - self.pad[a];
        (lo.min(size), hi.max(lo).min(size))
    }

    /// 2×2 windows, stride 2, no padding (each input in at most one window).
    fn pairs(&self) -> bool {
        self.k == [2, 2] && self.stride == [2, 2] && self.pad == [0, 0]
    }
}

/// The later candidate `(y, j)` replaces `(x, i)` when greater or NaN; branch-free. Applied
/// pairwise (`(a, b)`, `(c, d)`, then the two winners) it gives the sequential rule over
/// `a, b, c, d`: the first maximum wins, the last NaN wins.
#[inline(always)]
fn pick((x, i): (f32, u32), (y, j): (f32, u32)) -> (f32, u32) {
    let take = (y > x) | y.is_nan();
    (if take { y } else { x }, if take { j } else { i })
}

fn forward(g: &Geo, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    if g.pairs() {
        return forward_pairs(g, x);
    }
    per_plane(g, x, |yp, ip, xp| {
        for oy in 0..g.oh {
            let (y0, y1) = g.window(0, oy);
            for ox in 0..g.ow {
                let (x0, x1) = g.window(1, ox);
                let mut best = f32::NEG_INFINITY;
                let mut at = NONE;
                for iy in y0..y1 {
                    for (ix, &v) in xp[iy * g.w..][x0..x1].iter().enumerate() {
                        if at == NONE || v > best || v.is_nan() {
                            best = v;
                            at = (iy * g.w + x0 + ix) as u32;
                        }
                    }
                }
                yp[oy * g.ow + ox] = best;
                ip[oy * g.ow + ox] = at;
            }
        }
    })
}

/// Output values and argmax indices (initially `NONE`) filled by `plane(output plane, index
/// plane, input plane)` for every plane; planes are split over rayon in tasks of
/// [`PLANES_PER_TASK`].
fn per_plane(
    g: &Geo,
    x: &[f32],
    plane: impl Fn(&mut [f32], &mut [u32], &[f32]) + Sync,
) -> (Vec<f32>, Vec<u32>) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut y = vec![0f32; g.planes * ohw];
    let mut idx = vec![NONE; g.planes * ohw];
    y.par_chunks_mut(PLANES_PER_TASK * ohw)
        .zip(idx.par_chunks_mut(PLANES_PER_TASK * ohw))
        .zip(x.par_chunks(PLANES_PER_TASK * hw))
        .for_each(|((yc, ic), xc)| {
            for ((yp, ip), xp) in yc
                .chunks_mut(ohw)
                .zip(ic.chunks_mut(ohw))
                .zip(xc.chunks(hw))
            {
                plane(yp, ip, xp);
            }
        });
    (y, idx)
}

/// [`forward`] for [`Geo::pairs`]; indices are still positions within the plane.
fn forward_pairs(g: &Geo, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let w = g.w;
    per_plane(g, x, |yp, ip, xp| {
        for oy in 0..g.oh {
            let top = (2 * oy * w) as u32;
            let (r0, r1) = (&xp[2 * oy * w..][..w], &xp[(2 * oy + 1) * w..][..w]);
            let yr = &mut yp[oy * g.ow..][..g.ow];
            let ir = &mut ip[oy * g.ow..][..g.ow];
            let cells = yr
                .iter_mut()
                .zip(ir.iter_mut())
                .zip(r0.chunks_exact(2).zip(r1.chunks_exact(2)));
            for (ox, ((yv, iv), (a, b))) in cells.enumerate() {
                let c = top + 2 * ox as u32;
                let up = pick((a[0], c), (a[1], c + 1));
                let down = pick((b[0], c + w as u32), (b[1], c + w as u32 + 1));
                (*yv, *iv) = pick(up, down);
            }
        }
    })
}

fn backward(g: &Geo, idx: &[u32], gy: &[f32]) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut dx = vec![0f32; g.planes * hw];
    dx.par_chunks_mut(PLANES_PER_TASK * hw)
        .zip(idx.par_chunks(PLANES_PER_TASK * ohw))
        .zip(gy.par_chunks(PLANES_PER_TASK * ohw))
        .for_each(|((dc, ic), gc)| {
            for ((dp, ip), gp) in dc.chunks_mut(hw).zip(ic.chunks(ohw)).zip(gc.chunks(ohw)) {
                for (&i, &gv) in ip.iter().zip(gp) {
                    if let Some(d) = dp.get_mut(i as usize) {
                        *d += gv;
                    }
                }
            }
        });
    dx
}

#[derive(Clone, Debug)]
struct PoolState {
    geo: Geo,
    x_shape: [usize; 4],
    /// Winning input (index within its plane) of every output.
    idx: Arc<Vec<u32>>,
}

#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    type State = PoolState;

    fn backward(self, ops: Ops<PoolState, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let gy = grads.consume::<Flex>(&ops.node);
        let [Some(node)] = &ops.parents else { return };
        let Some(gy) = contiguous(gy) else { return };
        let geo = ops.state.geo;
        let dx = backward(&geo, &ops.state.idx, slice(&gy));
        grads.register::<Flex>(node.id, flex(dx, &ops.state.x_shape));
    }
}

/// burn's `max_pool2d` (NCHW, dilation 1, floor output size) with padding `(before, after)`
/// per axis, differentiable. Runs this module's kernels for f32 tensors on the Flex backend
/// (plain or autodiff) and falls back to burn's op for anything else.
pub(crate) fn max_pool2d(
    x: Tensor<4>,
    filter: [usize; 2],
    stride: [usize; 2],
    pad: [(usize, usize); 2],
) -> Tensor<4> {
    match try_max_pool2d(&x, filter, stride, pad) {
        Some(y) => y,
        None => burn::tensor::module::max_pool2d(
            x,
            MaxPoolOptions::new(filter)
                .with_stride(stride)
                .with_padding_pairs(pad),
        ),
    }
}

fn try_max_pool2d(
    x: &Tensor<4>,
    filter: [usize; 2],
    stride: [usize; 2],
    pad: [(usize, usize); 2],
) -> Option<Tensor<4>> {
    let [n, c, h, w] = x.dims();
    let geo = Geo::new([n, c, h, w], filter, stride, pad)?;
    let yshape = [n, c, geo.oh, geo.ow];
    match prim(x)? {
        Prim::Plain(f) => {
            let f = contiguous(f)?;
            let (y, _) = forward(&geo, slice(&f));
            Some(Tensor::from_primitive::<Flex>(flex(y, &yshape)))
        }
        Prim::Tracked(t) => {
            let (xp, xg) = t.into_parts();
            let xf = contiguous(xp)?;
            let y = match PoolBackward
                .prepare::<NoCheckpointing>([xg])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (y, idx) = forward(&geo, slice(&xf));
                    let state = PoolState {
                        geo,
                        x_shape: [n, c, h, w],
                        idx: Arc::new(idx),
                    };
                    prep.finish(state, flex(y, &yshape))
                }
                OpsKind::UnTracked(prep) => prep.finish(flex(forward(&geo, slice(&xf)).0, &yshape)),
            };
            Some(Tensor::from_primitive::<Ad>(y))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn vec_of(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32 data")
    }

    /// Output and input gradient of max pooling (ours or burn's) under autodiff.
    fn run(
        ours: bool,
        shape: [usize; 4],
        k: [usize; 2],
        s: [usize; 2],
        pad: [(usize, usize); 2],
        x: &[f32],
        gy: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let dev = Device::flex();
        let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), shape), &dev)
            .autodiff()
            .require_grad();
        let y = if ours {
            try_max_pool2d(&xt, k, s, pad).expect("handled by this module")
        } else {
            burn::tensor::module::max_pool2d(
                xt.clone(),
                MaxPoolOptions::new(k)
                    .with_stride(s)
                    .with_padding_pairs(pad),
            )
        };
        let gyt = Tensor::<4>::from_data(TensorData::new(gy.to_vec(), y.dims()), &dev);
        let grads = (y.clone() * gyt).sum().backward();
        (
            vec_of(y.inner()),
            vec_of(xt.grad(&grads).expect("input gradient")),
        )
    }

    #[test]
    fn matches_burn_max_pool2d_forward_and_gradient() {
        /// Input shape, window, stride, padding.
        type PoolCase = ([usize; 4], [usize; 2], [usize; 2], [(usize, usize); 2]);
        let cases: [PoolCase; 5] = [
            // MaxPool2D pool=2 (the tutorial CNN), even and odd sizes.
            ([3, 4, 8, 6], [2, 2], [2, 2], [(0, 0); 2]),
            ([2, 3, 7, 5], [2, 2], [2, 2], [(0, 0); 2]),
            // Padding same with stride 2 on even sizes (asymmetric), overlapping windows.
            ([2, 3, 8, 8], [3, 3], [2, 2], [(0, 1), (0, 1)]),
            // Stride 1, padding same: every input in up to 9 windows.
            ([2, 2, 5, 6], [3, 3], [1, 1], [(1, 1), (1, 1)]),
            // More planes than one task takes.
            ([5, 7, 4, 4], [2, 2], [2, 2], [(0, 0); 2]),
        ];
        for (ci, (shape, k, s, pad)) in cases.into_iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(7 + ci as u64);
            // Values on a coarse grid (many ties, to check that the first maximum wins),
            // all negative in one plane (padding must never win).
            let numel: usize = shape.iter().product();
            let plane = shape[2] * shape[3];
            let x: Vec<f32> = (0..numel)
                .map(|i| {
                    let v = (rng.random_range(-2.0f32..2.0) * 2.0).round() / 2.0;
                    if i < plane {
                        -v.abs() - 1.0
                    } else {
                        v
                    }
                })
                .collect();
            let geo = Geo::new(shape, k, s, pad).expect("valid geometry");
            let gy: Vec<f32> = (0..geo.planes * geo.oh * geo.ow)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            let (y, dx) = run(true, shape, k, s, pad, &x, &gy);
            let (yb, dxb) = run(false, shape, k, s, pad, &x, &gy);
            // The maximum and the winning index are exact.
            assert_eq!(y, yb, "case {ci}: output");
            // Each input gradient sums the gradients of the windows it won, in output order
            // in both implementations when windows do not overlap (exact); with overlap the
            // order may differ: at most 9 terms here, error ≤ 2·9·ε·Σ|terms|.
            let abs: Vec<f32> = gy.iter().map(|v| v.abs()).collect();
            let (_, bound) = run(false, shape, k, s, pad, &x, &abs);
            for (i, ((a, b), t)) in dx.iter().zip(&dxb).zip(&bound).enumerate() {
                let tol = if s == k {
                    0.0
                } else {
                    2.0 * 9.0 * f32::EPSILON * t
                };
                assert!(
                    (a - b).abs() <= tol,
                    "case {ci}: dx[{i}] ours {a}, burn {b}"
                );
            }
            // Inference (no autodiff) gives the same output.
            let dev = Device::flex();
            let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &dev);
            assert_eq!(vec_of(max_pool2d(xt, k, s, pad)), y, "case {ci}: inference");
        }
    }
}
