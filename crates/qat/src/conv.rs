//! 2-D convolution for training as one differentiable op on burn's `Autodiff<Flex>` backend:
//! the forward pass and both gradients are im2col (col2im) plus one GEMM per sample and group
//! (the `gemm` crate), instead of burn_flex's generic 3-D convolution and transposed
//! convolution. Layout NCHW, weights `[O, I/groups, KH, KW]`, as burn's `conv2d`.
//!
//! Work is split over rayon in fixed chunks of samples; the weight and bias gradients are
//! summed per chunk and the chunk sums added in chunk order, so results do not depend on the
//! thread count or scheduling.

use crate::prim::{contiguous, flex, prim, slice, sum, Ad, Prim};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;
use rayon::prelude::*;
use std::sync::Arc;

/// Samples are processed in at most this many chunks (fixed, for thread-count independent
/// summation order of the weight gradient).
const CHUNKS: usize = 16;

/// Geometry of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geo {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    stride: [usize; 2],
    dil: [usize; 2],
    /// Padding before (top, left).
    pad: [usize; 2],
    groups: usize,
}

impl Geo {
    fn new(x: [usize; 4], wt: [usize; 4], opts: &ConvOptions<2>) -> Option<Geo> {
        let [n, c, h, w] = x;
        let [o, cg, kh, kw] = wt;
        let groups = opts.groups;
        if groups == 0 || cg * groups != c || o % groups != 0 {
            return None;
        }
        let out = |a: usize, size: usize, k: usize| -> Option<usize> {
            let (pb, pa) = opts.padding[a];
            let s = opts.stride[a];
            let d = opts.dilation[a];
            let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
            let padded = size.checked_add(pb)?.checked_add(pa)?;
            if s == 0 || padded < span {
                return None;
            }
            Some((padded - span) / s + 1)
        };
        let g = Geo {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            oh: out(0, h, kh)?,
            ow: out(1, w, kw)?,
            stride: opts.stride,
            dil: opts.dilation,
            pad: [opts.padding[0].0, opts.padding[1].0],
            groups,
        };
        let nonzero = [n, c, h, w, o, kh, kw, g.oh, g.ow];
        nonzero.iter().all(|&v| v > 0).then_some(g)
    }

    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn og(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of a group's im2col matrix.
    fn kg(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output pixels per channel.
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1×1, stride-1, unpadded convolution reads its input as the im2col matrix.
    fn pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == [1, 1]
            && self.pad == [0, 0]
            && self.oh == self.h
            && self.ow == self.w
    }
    fn chunk(&self) -> usize {
        self.n.div_ceil(CHUNKS.min(self.n))
    }
    /// Output columns `[lo, hi)` whose input column for kernel column `kx` is inside the image.
    fn valid_cols(&self, kx: usize) -> (usize, usize) {
        let [_, s] = self.stride;
        let off = kx * self.dil[1];
        let lo = self.pad[1].saturating_sub(off).div_ceil(s);
        let hi = (self.w + self.pad[1]).saturating_sub(off).div_ceil(s);
        (lo.min(self.ow), hi.min(self.ow).max(lo.min(self.ow)))
    }
    /// Input row of output row `oy` and kernel row `ky`, if inside the image.
    fn in_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride[0] + ky * self.dil[0])
            .checked_sub(self.pad[0])
            .filter(|&r| r < self.h)
    }
}

/// im2col of group `grp` of one sample `x` (`[C, H, W]`) into `col` (`[kg, p]`).
fn im2col(g: &Geo, x: &[f32], grp: usize, col: &mut [f32]) {
    let (h, w, p, ow) = (g.h, g.w, g.p(), g.ow);
    let sw = g.stride[1];
    for ci in 0..g.cg() {
        let plane = &x[(grp * g.cg() + ci) * h * w..][..h * w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &mut col[((ci * g.kh + ky) * g.kw + kx) * p..][..p];
                let (lo, hi) = g.valid_cols(kx);
                let off = kx * g.dil[1];
                for oy in 0..g.oh {
                    let out = &mut row[oy * ow..][..ow];
                    let Some(iy) = g.in_row(oy, ky) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * w..][..w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if sw == 1 {
                        let s0 = lo + off - g.pad[1];
                        out[lo..hi].copy_from_slice(&src[s0..s0 + hi - lo]);
                    } else {
                        for (ox, v) in out[lo..hi].iter_mut().enumerate() {
                            *v = src[(ox + lo) * sw + off - g.pad[1]];
                        }
                    }
                }
            }
        }
    }
}

/// Adds `col` (`[kg, p]`) back into group `grp` of one sample `dx` (`[C, H, W]`): the
/// transpose of [`im2col`].
fn col2im(g: &Geo, col: &[f32], grp: usize, dx: &mut [f32]) {
    let (h, w, p, ow) = (g.h, g.w, g.p(), g.ow);
    let sw = g.stride[1];
    for ci in 0..g.cg() {
        let plane = &mut dx[(grp * g.cg() + ci) * h * w..][..h * w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &col[((ci * g.kh + ky) * g.kw + kx) * p..][..p];
                let (lo, hi) = g.valid_cols(kx);
                let off = kx * g.dil[1];
                for oy in 0..g.oh {
                    let Some(iy) = g.in_row(oy, ky) else { continue };
                    let src = &row[oy * ow..][lo..hi];
                    let dst = &mut plane[iy * w..][..w];
                    if sw == 1 {
                        let d0 = lo + off - g.pad[1];
                        for (d, s) in dst[d0..d0 + hi - lo].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (ox, s) in src.iter().enumerate() {
                            dst[(ox + lo) * sw + off - g.pad[1]] += s;
                        }
                    }
                }
            }
        }
    }
}

/// A strided matrix operand: element `(r, c)` at `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl Mat<'_> {
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst = a · b` (`accumulate`: `dst += a · b`), `a` `m × k`, `b` `k × n`, `dst` `m × n`
/// row-major with row stride `ld`, single-threaded.
fn gemm([m, n, k]: [usize; 3], a: Mat, b: Mat, dst: &mut [f32], ld: usize, acc: bool) {
    assert!(a.fits(m, k) && b.fits(k, n) && (m == 0 || n == 0 || (m - 1) * ld + n <= dst.len()));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !acc {
            for r in 0..m {
                dst[r * ld..r * ld + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the assertion above keeps every addressed element of the three operands inside
    // their slices; `dst` is a unique borrow, so it aliases neither `a` nor `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ld as isize,
            acc,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Forward: `y = conv(x, w) + b`, NCHW; with `relu`, `y = relu(conv(x, w) + b)` (burn's
/// ReLU: NaN passes) and the returned mask marks the outputs whose gradient passes (burn's
/// `relu_backward`: output NaN or > 0).
fn forward(g: &Geo, x: &[f32], w: &[f32], b: Option<&[f32]>, relu: bool) -> (Vec<f32>, Vec<u8>) {
    let (p, og, kg) = (g.p(), g.og(), g.kg());
    let xs = g.c * g.h * g.w;
    let ys = g.o * p;
    let mut y = vec![0f32; g.n * ys];
    // Without ReLU the mask is a placeholder byte per sample.
    let ms = if relu { ys } else { 1 };
    let mut mask = vec![0u8; g.n * ms];
    let chunk = g.chunk();
    y.par_chunks_mut(chunk * ys)
        .zip(x.par_chunks(chunk * xs))
        .zip(mask.par_chunks_mut(chunk * ms))
        .for_each(|((yc, xc), mc)| {
            let mut col = if g.pointwise() {
                Vec::new()
            } else {
                vec![0f32; kg * p]
            };
            for (yn, xn) in yc.chunks_mut(ys).zip(xc.chunks(xs)) {
                if let Some(b) = b {
                    for (row, &bv) in yn.chunks_mut(p).zip(b) {
                        row.fill(bv);
                    }
                }
                for grp in 0..g.groups {
                    let cols: &[f32] = if g.pointwise() {
                        &xn[grp * kg * p..][..kg * p]
                    } else {
                        im2col(g, xn, grp, &mut col);
                        &col
                    };
                    gemm(
                        [og, p, kg],
                        Mat {
                            data: &w[grp * og * kg..][..og * kg],
                            rs: kg,
                            cs: 1,
                        },
                        Mat {
                            data: cols,
                            rs: p,
                            cs: 1,
                        },
                        &mut yn[grp * og * p..][..og * p],
                        p,
                        b.is_some(),
                    );
                }
            }
            if relu {
                for (v, m) in yc.iter_mut().zip(mc.iter_mut()) {
                    // Branch-free (`|`, select): the signs are unpredictable.
                    let keep = v.is_nan() | (*v > 0.0);
                    *m = u8::from(keep);
                    *v = if keep { *v } else { 0.0 };
                }
            }
        });
    if !relu {
        mask.clear();
    }
    (y, mask)
}

/// Per-chunk partial sums of the weight and bias gradients.
type Part = (Vec<f32>, Vec<f32>);

/// Gradients of `x`, `w` and `b` (each only when asked for) from the output gradient `gy`.
type Grads3 = (Option<Vec<f32>>, Option<Vec<f32>>, Option<Vec<f32>>);

/// With `mask` (fused ReLU), `gy` is first zeroed where the mask is 0.
fn backward(
    g: &Geo,
    x: &[f32],
    w: &[f32],
    gy: &[f32],
    mask: Option<&[u8]>,
    need: [bool; 3],
) -> Grads3 {
    let [need_x, need_w, need_b] = need;
    let (p, og, kg) = (g.p(), g.og(), g.kg());
    let xs = g.c * g.h * g.w;
    let ys = g.o * p;
    let chunk = g.chunk();
    let mut dx = if need_x {
        vec![0f32; g.n * xs]
    } else {
        Vec::new()
    };
    let work = |first: usize, dxc: Option<&mut [f32]>, xc: &[f32], gyc: &[f32]| -> Part {
        let mut dw = if need_w {
            vec![0f32; g.o * kg]
        } else {
            Vec::new()
        };
        let mut db = if need_b { vec![0f32; g.o] } else { Vec::new() };
        let mut col = vec![0f32; if g.pointwise() { 0 } else { kg * p }];
        let mut dcol = vec![0f32; if need_x { kg * p } else { 0 }];
        let mut dxc = dxc;
        let mut masked = vec![0f32; if mask.is_some() { ys } else { 0 }];
        for (i, (xn, gyn)) in xc.chunks(xs).zip(gyc.chunks(ys)).enumerate() {
            let gyn: &[f32] = match mask {
                Some(m) => {
                    let mn = &m[(first + i) * ys..][..ys];
                    // Branch-free select of `gv` or +0.0 (all-ones or zero bit mask).
                    for ((d, &gv), &k) in masked.iter_mut().zip(gyn).zip(mn) {
                        *d = f32::from_bits(gv.to_bits() & 0u32.wrapping_sub(u32::from(k)));
                    }
                    &masked
                }
                None => gyn,
            };
            if need_b {
                for (d, row) in db.iter_mut().zip(gyn.chunks(p)) {
                    *d += sum(row);
                }
            }
            for grp in 0..g.groups {
                let gyg = Mat {
                    data: &gyn[grp * og * p..][..og * p],
                    rs: p,
                    cs: 1,
                };
                if need_w {
                    let cols: &[f32] = if g.pointwise() {
                        &xn[grp * kg * p..][..kg * p]
                    } else {
                        im2col(g, xn, grp, &mut col);
                        &col
                    };
                    // dW_g += dY_g · colᵀ
                    gemm(
                        [og, kg, p],
                        gyg,
                        Mat {
                            data: cols,
                            rs: 1,
                            cs: p,
                        },
                        &mut dw[grp * og * kg..][..og * kg],
                        kg,
                        i > 0,
                    );
                }
                if let Some(dxc) = dxc.as_deref_mut() {
                    let dxn = &mut dxc[i * xs..][..xs];
                    let wt = Mat {
                        data: &w[grp * og * kg..][..og * kg],
                        rs: 1,
                        cs: kg,
                    };
                    if g.pointwise() {
                        // dX_g += W_gᵀ · dY_g directly.
                        gemm(
                            [kg, p, og],
                            wt,
                            gyg,
                            &mut dxn[grp * kg * p..][..kg * p],
                            p,
                            true,
                        );
                    } else {
                        gemm([kg, p, og], wt, gyg, &mut dcol, p, false);
                        col2im(g, &dcol, grp, dxn);
                    }
                }
            }
        }
        (dw, db)
    };
    let parts: Vec<Part> = if need_x {
        dx.par_chunks_mut(chunk * xs)
            .zip(x.par_chunks(chunk * xs))
            .zip(gy.par_chunks(chunk * ys))
            .enumerate()
            .map(|(ci, ((dxc, xc), gyc))| work(ci * chunk, Some(dxc), xc, gyc))
            .collect()
    } else {
        x.par_chunks(chunk * xs)
            .zip(gy.par_chunks(chunk * ys))
            .enumerate()
            .map(|(ci, (xc, gyc))| work(ci * chunk, None, xc, gyc))
            .collect()
    };
    let sum = |pick: fn(&Part) -> &Vec<f32>| -> Vec<f32> {
        let mut it = parts.iter();
        let mut acc = it.next().map(|pt| pick(pt).clone()).unwrap_or_default();
        for pt in it {
            for (a, v) in acc.iter_mut().zip(pick(pt)) {
                *a += v;
            }
        }
        acc
    };
    (
        need_x.then_some(dx),
        need_w.then(|| sum(|pt| &pt.0)),
        need_b.then(|| sum(|pt| &pt.1)),
    )
}

/// State kept for the backward pass: the (contiguous) input and weights.
#[derive(Clone, Debug)]
struct ConvState {
    geo: Geo,
    x: FlexTensor,
    w: FlexTensor,
    /// Fused ReLU: 1 where the output gradient passes.
    mask: Option<Arc<Vec<u8>>>,
}

/// Backward step with `N` parents: `x`, `w` and (`N == 3`) the bias.
#[derive(Debug)]
struct ConvBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for ConvBackward<N> {
    type State = ConvState;

    fn backward(self, ops: Ops<ConvState, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let gy = grads.consume::<Flex>(&ops.node);
        let ConvState { geo, x, w, mask } = ops.state;
        let Some(gy) = contiguous(gy) else { return };
        let need: [bool; 3] =
            std::array::from_fn(|i| ops.parents.get(i).is_some_and(Option::is_some));
        let mask = mask.as_deref().map(Vec::as_slice);
        let (dx, dw, db) = backward(&geo, slice(&x), slice(&w), slice(&gy), mask, need);
        let shapes = [
            vec![geo.n, geo.c, geo.h, geo.w],
            vec![geo.o, geo.cg(), geo.kh, geo.kw],
            vec![geo.o],
        ];
        for ((parent, grad), shape) in ops.parents.iter().zip([dx, dw, db]).zip(shapes) {
            if let (Some(node), Some(grad)) = (parent, grad) {
                grads.register::<Flex>(node.id, flex(grad, &shape));
            }
        }
    }
}

/// `conv2d(x, w, b, opts)` with burn's semantics (NCHW; weights `[O, I/groups, KH, KW]`;
/// padding `(before, after)` per axis), followed by burn's `relu` when `relu` is set,
/// differentiable in all three operands. Runs the im2col + GEMM kernels of this module for
/// f32 tensors on the Flex backend (plain or autodiff) and falls back to burn's ops for
/// anything else.
pub(crate) fn conv2d(
    x: Tensor<4>,
    w: Tensor<4>,
    b: Option<Tensor<1>>,
    opts: ConvOptions<2>,
    relu: bool,
) -> Tensor<4> {
    match try_conv2d(&x, &w, b.as_ref(), &opts, relu) {
        Some(y) => y,
        None => {
            let y = burn::tensor::module::conv2d(x, w, b, opts);
            if relu {
                burn::tensor::activation::relu(y)
            } else {
                y
            }
        }
    }
}

fn try_conv2d(
    x: &Tensor<4>,
    w: &Tensor<4>,
    b: Option<&Tensor<1>>,
    opts: &ConvOptions<2>,
    relu: bool,
) -> Option<Tensor<4>> {
    let geo = Geo::new(x.dims(), w.dims(), opts)?;
    if b.is_some_and(|b| b.dims() != [geo.o]) {
        return None;
    }
    let (px, pw) = (prim(x)?, prim(w)?);
    let pb = match b {
        Some(b) => Some(prim(b)?),
        None => None,
    };
    let yshape = [geo.n, geo.o, geo.oh, geo.ow];
    let any_tracked = [Some(&px), Some(&pw), pb.as_ref()]
        .into_iter()
        .flatten()
        .any(|p| matches!(p, Prim::Tracked(_)));
    if !any_tracked {
        let plain = |p: Prim| match p {
            Prim::Plain(f) => contiguous(f),
            Prim::Tracked(_) => None,
        };
        let (xf, wf) = (plain(px)?, plain(pw)?);
        let bf = match pb {
            Some(p) => Some(plain(p)?),
            None => None,
        };
        let (y, _) = forward(&geo, slice(&xf), slice(&wf), bf.as_ref().map(slice), relu);
        return Some(Tensor::from_primitive::<Flex>(flex(y, &yshape)));
    }
    let (xp, xg) = px.tracked().into_parts();
    let (wp, wg) = pw.tracked().into_parts();
    let (xf, wf) = (contiguous(xp)?, contiguous(wp)?);
    let (bf, bguard) = match pb {
        Some(pb) => {
            let (bp, bg) = pb.tracked().into_parts();
            (Some(contiguous(bp)?), Some(bg))
        }
        None => (None, None),
    };
    let run = || {
        let (y, mask) = forward(&geo, slice(&xf), slice(&wf), bf.as_ref().map(slice), relu);
        (flex(y, &yshape), relu.then(|| Arc::new(mask)))
    };
    let state = |mask| ConvState {
        geo,
        x: xf.clone(),
        w: wf.clone(),
        mask,
    };
    let y = match bguard {
        Some(bg) => match ConvBackward::<3>
            .prepare::<NoCheckpointing>([xg, wg, bg])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, mask) = run();
                prep.finish(state(mask), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(run().0),
        },
        None => match ConvBackward::<2>
            .prepare::<NoCheckpointing>([xg, wg])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, mask) = run();
                prep.finish(state(mask), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(run().0),
        },
    };
    Some(Tensor::from_primitive::<Ad>(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    struct Case {
        n: usize,
        c: usize,
        hw: [usize; 2],
        o: usize,
        k: [usize; 2],
        stride: [usize; 2],
        pad: [(usize, usize); 2],
        dil: [usize; 2],
        groups: usize,
        bias: bool,
        /// Fused ReLU.
        relu: bool,
        /// Whether the input is tracked (false: only weights and bias, as the first layer).
        x_grad: bool,
    }

    struct Out {
        y: Vec<f32>,
        dx: Option<Vec<f32>>,
        dw: Vec<f32>,
        db: Option<Vec<f32>>,
    }

    fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32 data")
    }

    /// Runs a convolution (ours or burn's) under autodiff with output gradient `gy`.
    /// `relu`: apply the case's ReLU (off for the absolute-value bound runs).
    fn run(case: &Case, ours: bool, relu: bool, data: [&[f32]; 4]) -> Out {
        let [x, w, b, gy] = data;
        let dev = Device::flex();
        let [h, wd] = case.hw;
        // The input arrives as NHWC data permuted to NCHW (not contiguous), as in training.
        let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [case.n, h, wd, case.c]), &dev)
            .permute([0, 3, 1, 2]);
        let xt = if case.x_grad {
            xt.autodiff().require_grad()
        } else {
            xt
        };
        let cg = case.c / case.groups;
        let wshape = [case.o, cg, case.k[0], case.k[1]];
        let wt = Tensor::<4>::from_data(TensorData::new(w.to_vec(), wshape), &dev)
            .autodiff()
            .require_grad();
        let bt = case.bias.then(|| {
            Tensor::<1>::from_data(TensorData::new(b.to_vec(), [case.o]), &dev)
                .autodiff()
                .require_grad()
        });
        let opts = ConvOptions::new_with_padding(case.stride, case.pad, case.dil, case.groups);
        let y = if ours {
            let y = try_conv2d(&xt, &wt, bt.as_ref(), &opts, relu);
            assert!(y.is_some(), "the im2col path must handle this case");
            y.expect("checked")
        } else {
            let y = burn::tensor::module::conv2d(xt.clone(), wt.clone(), bt.clone(), opts);
            if relu {
                burn::tensor::activation::relu(y)
            } else {
                y
            }
        };
        let gyt = Tensor::<4>::from_data(TensorData::new(gy.to_vec(), y.dims()), &dev);
        let grads = (y.clone() * gyt).sum().backward();
        Out {
            y: vec_of(y.inner()),
            dx: if case.x_grad {
                xt.grad(&grads).map(vec_of)
            } else {
                None
            },
            dw: vec_of(wt.grad(&grads).expect("weight gradient")),
            db: bt.and_then(|b| b.grad(&grads)).map(vec_of),
        }
    }

    /// `|a − b| ≤ 2·terms·ε·abs_sum` elementwise: both results are float32 sums of at most
    /// `terms` products in different orders, and the error of such a sum is at most
    /// `γ(terms)·Σ|products|` (γ(n) ≈ n·u, u = ε/2); `abs_sum` is that Σ (the same computation
    /// on absolute values), and the factor 2 (4·terms·u in total) covers both results plus the
    /// rounding of `abs_sum` itself.
    fn close(what: &str, a: &[f32], b: &[f32], abs_sum: &[f32], terms: usize) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        assert_eq!(a.len(), abs_sum.len(), "{what}: lengths");
        for (i, ((x, y), s)) in a.iter().zip(b).zip(abs_sum).enumerate() {
            let tol = 2.0 * terms as f32 * f32::EPSILON * s;
            assert!(
                (x - y).abs() <= tol,
                "{what}[{i}]: ours {x}, burn {y}, |diff| {} > {tol}",
                (x - y).abs()
            );
        }
    }

    fn check(case: &Case, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rand =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let [h, w] = case.hw;
        let cg = case.c / case.groups;
        let x = rand(case.n * h * w * case.c);
        let wv = rand(case.o * cg * case.k[0] * case.k[1]);
        let b = rand(case.o);
        let opts = ConvOptions::new_with_padding(case.stride, case.pad, case.dil, case.groups);
        let geo = Geo::new(
            [case.n, case.c, h, w],
            [case.o, cg, case.k[0], case.k[1]],
            &opts,
        )
        .expect("valid geometry");
        let gy = rand(case.n * case.o * geo.p());
        let ours = run(case, true, case.relu, [&x, &wv, &b, &gy]);
        let burn = run(case, false, case.relu, [&x, &wv, &b, &gy]);
        // ReLU is 1-Lipschitz and its mask only drops products, so the sums without it bound
        // the errors with it.
        let abs = |v: &[f32]| v.iter().map(|a| a.abs()).collect::<Vec<_>>();
        let sums = run(
            case,
            false,
            false,
            [&abs(&x), &abs(&wv), &abs(&b), &abs(&gy)],
        );
        let kk = case.k[0] * case.k[1];
        close("y", &ours.y, &burn.y, &sums.y, geo.kg() + 1);
        close("dw", &ours.dw, &burn.dw, &sums.dw, case.n * geo.p());
        match (&ours.dx, &burn.dx, &sums.dx) {
            (Some(a), Some(b), Some(s)) => close("dx", a, b, s, geo.og() * kk),
            (None, None, _) if !case.x_grad => {}
            _ => panic!("input gradient present in one result only"),
        }
        match (&ours.db, &burn.db, &sums.db) {
            (Some(a), Some(b), Some(s)) => close("db", a, b, s, case.n * geo.p()),
            (None, None, _) if !case.bias => {}
            _ => panic!("bias gradient present in one result only"),
        }
        // Without autodiff (inference) the same kernels give the same values.
        let dev = Device::flex();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), [case.n, h, w, case.c]), &dev)
            .permute([0, 3, 1, 2]);
        let wt = Tensor::<4>::from_data(
            TensorData::new(wv.clone(), [case.o, cg, case.k[0], case.k[1]]),
            &dev,
        );
        let bt = case
            .bias
            .then(|| Tensor::<1>::from_data(TensorData::new(b.clone(), [case.o]), &dev));
        let plain = vec_of(conv2d(xt, wt, bt, opts, case.relu));
        assert_eq!(
            plain, ours.y,
            "inference forward differs from the training forward"
        );
    }

    fn case(n: usize, c: usize, hw: [usize; 2], o: usize, k: [usize; 2]) -> Case {
        Case {
            n,
            c,
            hw,
            o,
            k,
            stride: [1, 1],
            pad: [(0, 0); 2],
            dil: [1, 1],
            groups: 1,
            bias: true,
            relu: false,
            x_grad: true,
        }
    }

    #[test]
    fn matches_burn_conv2d_forward_and_gradients() {
        let cases = [
            // Conv2D kernel 3 padding same, with and without ReLU (the tutorial CNN's layers).
            Case {
                pad: [(1, 1); 2],
                ..case(3, 2, [7, 6], 4, [3, 3])
            },
            Case {
                pad: [(1, 1); 2],
                relu: true,
                ..case(3, 4, [7, 6], 5, [3, 3])
            },
            // First layer: one channel, input not tracked.
            Case {
                pad: [(1, 1); 2],
                relu: true,
                x_grad: false,
                ..case(4, 1, [10, 10], 8, [3, 3])
            },
            // More samples than chunks.
            Case {
                pad: [(1, 1); 2],
                relu: true,
                ..case(37, 3, [5, 4], 5, [3, 3])
            },
            // Stride 2 with padding same on even sizes: asymmetric padding; no bias.
            Case {
                stride: [2, 2],
                pad: [(0, 1), (0, 1)],
                bias: false,
                ..case(2, 3, [8, 10], 5, [3, 3])
            },
            // Padding valid, non-square kernel, dilation 2.
            Case {
                dil: [2, 2],
                ..case(2, 2, [9, 9], 3, [3, 2])
            },
            // Stride 2, kernel 5, padding same on odd sizes.
            Case {
                stride: [2, 2],
                pad: [(2, 2), (1, 2)],
                ..case(2, 3, [9, 8], 4, [5, 4])
            },
            // DepthwiseConv2D, multiplier 2, padding same.
            Case {
                pad: [(1, 1); 2],
                groups: 4,
                ..case(2, 4, [6, 7], 8, [3, 3])
            },
            // DepthwiseConv2D, stride 2, asymmetric padding.
            Case {
                stride: [2, 2],
                pad: [(0, 1), (0, 1)],
                groups: 3,
                ..case(3, 3, [8, 8], 3, [3, 3])
            },
            // Pointwise (1×1) and grouped pointwise convolutions.
            case(2, 5, [4, 5], 6, [1, 1]),
            Case {
                groups: 2,
                ..case(2, 4, [3, 5], 6, [1, 1])
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            check(c, 100 + i as u64);
        }
    }
}
