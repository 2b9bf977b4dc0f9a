//! Data-aware rounding of int8 weights: GPTQ (Frantar et al., "GPTQ: Accurate Post-Training
//! Quantization for Generative Pre-trained Transformers", ICLR 2023, algorithm 1; the "optimal
//! brain quantization" update of Frantar & Alistarh 2022).
//!
//! Rounding every weight to its nearest integer minimizes each weight's own error, not the
//! error of the layer's output. For a layer `y = W x`, the output error on the calibration
//! inputs is `Σ (ΔW x)²`, a quadratic form in each row's weight errors with the matrix
//! `H = Σ x xᵀ` of the layer's inputs. GPTQ rounds one input column at a time and moves the
//! not yet rounded weights of the same row to cancel, as far as `H` allows, the output error of
//! the rounding just made (the update uses the upper Cholesky factor of `H⁻¹`).
//!
//! What stays: every scale, zero point and bias of [`crate::quantize_integer`]'s graph, the
//! narrow int8 range `[-127, 127]` and the file layout (DESIGN.md section 3). Only the weight
//! integers change; each is still within the scale's range. `H` comes from the float model's
//! inputs of the layer on the calibration samples. Layers are CONV_2D, DEPTHWISE_CONV_2D (one
//! `H` per channel, over its kernel taps) and FULLY_CONNECTED with symmetric int8 weights.
//!
//! Inputs that are zero on every calibration sample (a `H` diagonal of 0) keep their nearest
//! rounding and move nothing: the data says nothing about them. `H` gets
//! [`WeightRoundingOptions::damping`] × its mean diagonal added to the diagonal, as in the
//! paper, so that few samples (a FULLY_CONNECTED head sees one input vector per sample) give
//! a well-conditioned system.
//!
//! GPTQ minimizes the error that weight rounding adds to each layer's output with the layer's
//! float inputs; the error of the activations' own rounding is outside its objective. On full
//! int8 models that noise often dominates, and the rounding that suits the calibration data
//! can cost accuracy elsewhere, so the CLI applies it only on request (`quantize --gptq`;
//! measured gains and losses in docs/guide/int8.md).

use crate::calibrate::sample_inputs;
use crate::error::QuantError;
use crate::Quantized;
use edgequant_calib::Sample;
use edgequant_interp::{Interpreter, Parallelism, TensorValue};
use edgequant_ir::{DType, Graph, Op, Padding, TensorId};
use rayon::prelude::*;

/// Options of [`optimize_weight_rounding`].
#[derive(Clone, Debug)]
pub struct WeightRoundingOptions {
    /// Samples used (the first ones of the calibration data).
    pub max_samples: usize,
    /// Diagonal damping of `H`, as a fraction of its mean diagonal (the paper's 1 %).
    pub damping: f64,
    /// Bytes of `H` matrices accumulated in one pass over the samples; layers beyond it wait
    /// for another pass (time: one float run per pass and sample).
    pub memory_budget: usize,
    /// Layers whose `H` would have more columns are left with nearest rounding (the solve
    /// costs columns³).
    pub max_columns: usize,
}

impl Default for WeightRoundingOptions {
    fn default() -> Self {
        WeightRoundingOptions {
            max_samples: 64,
            damping: 0.01,
            memory_budget: 16 << 20,
            max_columns: 4608,
        }
    }
}

/// What [`optimize_weight_rounding`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightRoundingReport {
    /// Layers whose weights were rounded by GPTQ.
    pub layers: usize,
    /// Weights in those layers.
    pub weights: usize,
    /// Weights whose integer differs from nearest rounding.
    pub changed: usize,
    /// Samples used.
    pub samples: usize,
}

#[derive(Clone, Copy)]
enum Geometry {
    /// CONV_2D: weights `[O, KH, KW, I]`; a column is `(kh · KW + kw) · I + i`.
    Conv { window: Window2d, cin: usize },
    /// DEPTHWISE_CONV_2D: weights `[1, KH, KW, C · M]`; one `H` per input channel over taps.
    Depthwise {
        window: Window2d,
        channels: usize,
        multiplier: usize,
    },
    /// FULLY_CONNECTED: weights `[O, K]`, input rows of `K`.
    Dense { k: usize },
}

struct Layer {
    node: String,
    weights: TensorId,
    input: TensorId,
    float_w: Vec<f32>,
    scales: Vec<f64>,
    rows: usize,
    geometry: Geometry,
    h: Vec<f64>,
}

impl Layer {
    /// Entries of the accumulated `H` matrices.
    fn h_len(&self) -> usize {
        match self.geometry {
            Geometry::Conv { window, cin } => (window.taps() * cin).pow(2),
            Geometry::Depthwise {
                window, channels, ..
            } => window.taps().pow(2) * channels,
            Geometry::Dense { k } => k * k,
        }
    }

    fn columns(&self) -> usize {
        match self.geometry {
            Geometry::Conv { window, cin } => window.taps() * cin,
            Geometry::Depthwise { window, .. } => window.taps(),
            Geometry::Dense { k } => k,
        }
    }
}

fn layers(float: &Graph, q: &Quantized, opts: &WeightRoundingOptions) -> Vec<Layer> {
    let g = &q.graph;
    let source = q.float_sources();
    let producers = float.producers();
    let consumers = g.consumers();
    let mut out = Vec::new();
    for n in &g.nodes {
        let (Some(Some(wq)), Some(&yq)) = (n.inputs.get(1), n.outputs.first()) else {
            continue;
        };
        let wt = g.tensor(*wq);
        let Some(p) = wt.quant.as_ref() else { continue };
        if wt.dtype != DType::I8
            || !wt.is_const()
            || consumers[wq.0].len() != 1
            || p.zero_point.iter().any(|&z| z != 0)
        {
            continue;
        }
        let Some(fnode) = source[yq.0].and_then(|yf| producers[yf.0]) else {
            continue;
        };
        let fnode = &float.nodes[fnode.0];
        let (Some(Some(xf)), Some(Some(wf))) = (fnode.inputs.first(), fnode.inputs.get(1)) else {
            continue;
        };
        let (xt, wft) = (float.tensor(*xf), float.tensor(*wf));
        if xt.dtype != DType::F32 || wft.dtype != DType::F32 || wft.shape != wt.shape {
            continue;
        }
        let Ok(float_w) = wft.float_data() else {
            continue;
        };
        let geometry = match (&n.op, &fnode.op) {
            (Op::Conv2d(o), Op::Conv2d(_)) => {
                let [_, kh, kw, cin] = wt.shape[..] else {
                    continue;
                };
                if xt.shape.len() != 4 || xt.shape[3] != cin {
                    continue;
                }
                Geometry::Conv {
                    window: Window2d {
                        kernel: [kh, kw],
                        stride: o.stride,
                        dilation: o.dilation,
                        padding: o.padding,
                    },
                    cin,
                }
            }
            (Op::DepthwiseConv2d(o), Op::DepthwiseConv2d(_)) => {
                let [1, kh, kw, oc] = wt.shape[..] else {
                    continue;
                };
                if xt.shape.len() != 4 || xt.shape[3] * o.depth_multiplier != oc {
                    continue;
                }
                Geometry::Depthwise {
                    window: Window2d {
                        kernel: [kh, kw],
                        stride: o.stride,
                        dilation: o.dilation,
                        padding: o.padding,
                    },
                    channels: xt.shape[3],
                    multiplier: o.depth_multiplier,
                }
            }
            (Op::FullyConnected(_), Op::FullyConnected(_)) => {
                let [_, k] = wt.shape[..] else { continue };
                if k == 0 || xt.numel() % k != 0 {
                    continue;
                }
                Geometry::Dense { k }
            }
            _ => continue,
        };
        let (rows, axis_len) = match geometry {
            Geometry::Depthwise { .. } => (wt.shape[3], wt.shape[3]),
            _ => (wt.shape[0], wt.shape[0]),
        };
        let scales: Vec<f64> = if p.scale.len() == 1 {
            vec![p.scale[0] as f64; rows]
        } else if p.scale.len() == axis_len {
            p.scale.iter().map(|&s| s as f64).collect()
        } else {
            continue;
        };
        if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            continue;
        }
        let layer = Layer {
            node: n.name.clone(),
            weights: *wq,
            input: *xf,
            float_w,
            scales,
            rows,
            geometry,
            h: Vec::new(),
        };
        if layer.columns() <= opts.max_columns && matches_nearest(&layer, wt) {
            out.push(layer);
        }
    }
    out
}

/// Whether the stored integers are the nearest rounding of the float weights (up to ties), so
/// that the float and integer weights are the same tensor in the same layout.
fn matches_nearest(l: &Layer, wt: &edgequant_ir::Tensor) -> bool {
    let Ok(stored) = wt.int_data() else {
        return false;
    };
    let per_row = l.float_w.len() / l.rows.max(1);
    let mut bad = 0usize;
    for (i, (&w, &q)) in l.float_w.iter().zip(&stored).enumerate() {
        let r = match l.geometry {
            Geometry::Depthwise { .. } => i % l.rows,
            _ => i / per_row.max(1),
        };
        if ((w as f64 / l.scales[r]) - q as f64).abs() > 0.5 + 1e-3 {
            bad += 1;
        }
    }
    stored.len() == l.float_w.len() && bad == 0
}

/// Adds one sample's layer input to the layer's `H` (upper triangle).
fn accumulate(l: &mut Layer, value: &TensorValue) -> Result<(), String> {
    let Some(x) = value.as_f32() else {
        return Err("layer input is not float32".into());
    };
    let k = l.columns();
    let h = &mut l.h;
    match l.geometry {
        Geometry::Dense { k } => {
            let mut v = vec![0f64; k];
            for row in x.chunks_exact(k) {
                v.iter_mut().zip(row).for_each(|(d, &s)| *d = s as f64);
                add_outer(h, &v, k);
            }
        }
        Geometry::Conv { window, cin } => {
            for_each_patch(value, x, cin, window, |patch| add_outer(h, patch, k))?;
        }
        Geometry::Depthwise {
            window,
            channels: c,
            ..
        } => {
            let taps = window.taps();
            // H layout: [(t1 · taps + t2) · C + channel], upper triangle t2 ≥ t1.
            for_each_patch(value, x, c, window, |patch| {
                for t1 in 0..taps {
                    let a = &patch[t1 * c..(t1 + 1) * c];
                    for t2 in t1..taps {
                        let b = &patch[t2 * c..(t2 + 1) * c];
                        let dst = &mut h[(t1 * taps + t2) * c..(t1 * taps + t2 + 1) * c];
                        for ((d, &u), &v) in dst.iter_mut().zip(a).zip(b) {
                            *d += u * v;
                        }
                    }
                }
            })?;
        }
    }
    Ok(())
}

/// A convolution's sliding window.
#[derive(Clone, Copy)]
struct Window2d {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: Padding,
}

impl Window2d {
    /// Kernel positions, `KH · KW`.
    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }
}

/// Calls `f` with the input patch of every output position of the NHWC `value` (data `x`,
/// `c` channels) in batch, row, column order: `patch[(ky · KW + kx) · c + channel]`, zero where
/// the window reaches into the padding (TFLite's CONV_2D weight layout, without the output axis).
fn for_each_patch(
    value: &TensorValue,
    x: &[f32],
    c: usize,
    w: Window2d,
    mut f: impl FnMut(&[f64]),
) -> Result<(), String> {
    let [n, hh, ww, cc] = value.shape[..] else {
        return Err(format!(
            "layer input has shape {:?}, expected NHWC",
            value.shape
        ));
    };
    if cc != c || n * hh * ww * c != x.len() {
        return Err(format!(
            "layer input has shape {:?}, expected {c} channels",
            value.shape
        ));
    }
    let wy = w
        .padding
        .window(0, hh, w.kernel[0], w.stride[0], w.dilation[0])?;
    let wx = w
        .padding
        .window(1, ww, w.kernel[1], w.stride[1], w.dilation[1])?;
    let mut patch = vec![0f64; w.taps() * c];
    for b in 0..n {
        for oy in 0..wy.out {
            for ox in 0..wx.out {
                patch.iter_mut().for_each(|v| *v = 0.0);
                for ky in 0..w.kernel[0] {
                    let iy =
                        (oy * w.stride[0] + ky * w.dilation[0]) as isize - wy.pad_before as isize;
                    if iy < 0 || iy as usize >= hh {
                        continue;
                    }
                    for kx in 0..w.kernel[1] {
                        let ix = (ox * w.stride[1] + kx * w.dilation[1]) as isize
                            - wx.pad_before as isize;
                        if ix < 0 || ix as usize >= ww {
                            continue;
                        }
                        let src = ((b * hh + iy as usize) * ww + ix as usize) * c;
                        let dst = (ky * w.kernel[1] + kx) * c;
                        for (d, &v) in patch[dst..dst + c].iter_mut().zip(&x[src..src + c]) {
                            *d = v as f64;
                        }
                    }
                }
                f(&patch);
            }
        }
    }
    Ok(())
}

/// `h += v vᵀ` on the upper triangle of the `k × k` row-major `h`.
fn add_outer(h: &mut [f64], v: &[f64], k: usize) {
    for (i, &a) in v.iter().enumerate() {
        if a == 0.0 {
            continue;
        }
        let row = &mut h[i * k + i..(i + 1) * k];
        for (d, &b) in row.iter_mut().zip(&v[i..]) {
            *d += a * b;
        }
    }
}

/// In-place lower Cholesky factor of the symmetric positive definite `k × k` row-major `a`
/// (lower triangle read and written, upper left as is); `false` if `a` is not positive definite.
fn cholesky(a: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut d = a[j * k + j];
        for p in 0..j {
            d -= a[j * k + p] * a[j * k + p];
        }
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = s / d;
        }
    }
    true
}

/// The upper-triangular `U` with `H⁻¹ = Uᵀ U`, for the symmetric `k × k` `h` given by its upper
/// triangle: with `J` the reversal permutation and `J H J = L Lᵀ`, `H = V Vᵀ` for the upper
/// `V = J L J`, so `H⁻¹ = V⁻ᵀ V⁻¹` and `U = V⁻¹`. `None` if `h` is not positive definite.
fn inverse_upper_factor(h: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut r = vec![0f64; k * k];
    for i in 0..k {
        for j in 0..=i {
            // (J H J)[i][j] = H[k-1-i][k-1-j]; read from the upper triangle.
            let (a, b) = (k - 1 - i, k - 1 - j);
            r[i * k + j] = h[a.min(b) * k + a.max(b)];
        }
    }
    if !cholesky(&mut r, k) {
        return None;
    }
    // V[i][j] = L[k-1-i][k-1-j] (upper); U = V⁻¹ by back substitution, column by column.
    let v = |i: usize, j: usize| r[(k - 1 - i) * k + (k - 1 - j)];
    let mut u = vec![0f64; k * k];
    for col in 0..k {
        for i in (0..=col).rev() {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for p in i + 1..=col {
                s -= v(i, p) * u[p * k + col];
            }
            u[i * k + col] = s / v(i, i);
        }
    }
    Some(u)
}

/// GPTQ on rows sharing one `H` (upper triangle, `k × k`): `rows` float weight rows of length
/// `k` with their scales; returns the integers, or `None` when `H` cannot be factored (the
/// caller keeps nearest rounding).
fn solve(h: &[f64], k: usize, rows: &[(Vec<f64>, f64)], damping: f64) -> Option<Vec<Vec<i8>>> {
    let mut hd = h.to_vec();
    let mut dead = vec![false; k];
    let mean_diag = (0..k).map(|i| hd[i * k + i]).sum::<f64>() / k.max(1) as f64;
    if !(mean_diag > 0.0 && mean_diag.is_finite()) {
        return None;
    }
    for (i, d) in dead.iter_mut().enumerate() {
        if hd[i * k + i] == 0.0 {
            *d = true;
            hd[i * k + i] = mean_diag;
        }
        hd[i * k + i] += damping * mean_diag;
    }
    let u = inverse_upper_factor(&hd, k)?;
    Some(
        rows.par_iter()
            .map(|(w, s)| {
                let mut w = w.clone();
                let mut q = vec![0i8; k];
                for i in 0..k {
                    let r = (w[i] / s).round().clamp(-127.0, 127.0);
                    q[i] = r as i8;
                    if dead[i] {
                        continue;
                    }
                    let e = (w[i] - r * s) / u[i * k + i];
                    for (wj, &uij) in w[i + 1..].iter_mut().zip(&u[i * k + i + 1..(i + 1) * k]) {
                        *wj -= e * uij;
                    }
                }
                q
            })
            .collect(),
    )
}

/// Rounds the int8 weights of `q`'s CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layers by
/// GPTQ (see the module documentation) with `H` from the float graph `float` (`q`'s source) on
/// `samples`. `progress()` is called once per pass over the samples. Deterministic: each `H` is
/// summed in sample and position order, rows are solved independently. Layers that cannot be
/// handled (a weight layout other than the spec's, a singular `H`) keep nearest rounding.
pub fn optimize_weight_rounding(
    float: &Graph,
    q: &mut Quantized,
    samples: &[Sample],
    opts: &WeightRoundingOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<WeightRoundingReport, QuantError> {
    let samples = &samples[..samples.len().min(opts.max_samples)];
    let mut report = WeightRoundingReport {
        samples: samples.len(),
        ..Default::default()
    };
    if samples.is_empty() {
        return Ok(report);
    }
    let mut all = layers(float, q, opts);
    if all.is_empty() {
        return Ok(report);
    }
    let interp = Interpreter::new_unfused(float)?.with_parallelism(Parallelism::None);
    let mut start = 0;
    while start < all.len() {
        let mut end = start;
        let mut bytes = 0usize;
        while end < all.len()
            && (end == start || bytes + all[end].h_len() * 8 <= opts.memory_budget)
        {
            bytes += all[end].h_len() * 8;
            end += 1;
        }
        let batch = &mut all[start..end];
        fill(float, &interp, batch, samples)?;
        let results: Vec<Option<Vec<i8>>> = batch
            .par_iter()
            .map(|l| round_layer(l, opts.damping))
            .collect();
        for (l, r) in batch.iter_mut().zip(results) {
            l.h = Vec::new();
            let Some(ints) = r else { continue };
            let t = q.graph.tensor_mut(l.weights);
            let Ok(old) = t.int_data() else { continue };
            report.layers += 1;
            report.weights += ints.len();
            report.changed += old
                .iter()
                .zip(&ints)
                .filter(|(a, b)| **a != **b as i64)
                .count();
            let bytes: Vec<u8> = ints.iter().map(|&v| v as u8).collect();
            t.data = Some(bytes.into());
        }
        progress();
        start = end;
    }
    Ok(report)
}

/// Sets every layer's `H` to the sum over `samples` of its input's outer products.
fn fill(
    float: &Graph,
    interp: &Interpreter,
    batch: &mut [Layer],
    samples: &[Sample],
) -> Result<(), QuantError> {
    for l in batch.iter_mut() {
        l.h = vec![0f64; l.h_len()];
    }
    let wanted: Vec<TensorId> = batch.iter().map(|l| l.input).collect();
    for s in samples {
        let mut seen: Vec<Option<TensorValue>> = vec![None; wanted.len()];
        interp.run_with_hook(sample_inputs(float, s)?, &mut |id, v| {
            for (k, w) in wanted.iter().enumerate() {
                if *w == id && seen[k].is_none() {
                    seen[k] = Some(v.clone());
                }
            }
        })?;
        batch
            .par_iter_mut()
            .zip(seen.par_iter())
            .try_for_each(|(l, v)| match v {
                Some(v) => accumulate(l, v).map_err(|reason| QuantError::Operand {
                    node: l.node.clone(),
                    op: "weight rounding".into(),
                    reason,
                }),
                None => Ok(()),
            })?;
    }
    Ok(())
}

/// The layer's GPTQ integers in the weight tensor's layout, `None` to keep nearest rounding.
fn round_layer(l: &Layer, damping: f64) -> Option<Vec<i8>> {
    match l.geometry {
        Geometry::Conv { .. } | Geometry::Dense { .. } => {
            let k = l.columns();
            let rows: Vec<(Vec<f64>, f64)> = l
                .float_w
                .chunks_exact(k)
                .zip(&l.scales)
                .map(|(w, &s)| (w.iter().map(|&v| v as f64).collect(), s))
                .collect();
            Some(solve(&l.h, k, &rows, damping)?.concat())
        }
        Geometry::Depthwise {
            window,
            channels,
            multiplier,
        } => {
            let taps = window.taps();
            let oc = l.rows;
            let mut out: Vec<i8> = l
                .float_w
                .iter()
                .zip(0..)
                .map(|(&w, i)| (w as f64 / l.scales[i % oc]).round().clamp(-127.0, 127.0) as i8)
                .collect();
            for o in 0..oc {
                let c = o / multiplier.max(1);
                if c >= channels {
                    continue;
                }
                let mut h = vec![0f64; taps * taps];
                for t1 in 0..taps {
                    for t2 in t1..taps {
                        h[t1 * taps + t2] = l.h[(t1 * taps + t2) * channels + c];
                    }
                }
                let w: Vec<f64> = (0..taps).map(|t| l.float_w[t * oc + o] as f64).collect();
                if let Some(r) = solve(&h, taps, &[(w, l.scales[o])], damping) {
                    for (t, &v) in r[0].iter().enumerate() {
                        out[t * oc + o] = v;
                    }
                }
            }
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{calibrate, quantize_integer, IntegerOptions};
    use edgequant_calib::CalibratorKind;
    use edgequant_ir::ops::{Activation, Conv2d, DepthwiseConv2d, FullyConnected};
    use edgequant_ir::Tensor;

    /// Deterministic values in [-1, 1).
    fn noise(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// One-layer graph `name` with weights of `w_shape`, input `x_shape`, and 16 samples of
    /// spatially smooth inputs (neighbouring taps correlated, as in images).
    fn graph(
        op: Op,
        x_shape: Vec<usize>,
        w_shape: Vec<usize>,
        y_shape: Vec<usize>,
    ) -> (Graph, Vec<Sample>) {
        let mut g = Graph::default();
        let x = g.add_tensor(Tensor::new("x", DType::F32, x_shape.clone()));
        let wn: usize = w_shape.iter().product();
        let w = g.add_tensor(Tensor::from_f32("w", w_shape.clone(), &noise(7, wn)).expect("w"));
        let oc = match op {
            Op::DepthwiseConv2d(_) => w_shape[3],
            _ => w_shape[0],
        };
        let b = g.add_tensor(Tensor::from_f32("b", vec![oc], &noise(9, oc)).expect("b"));
        let y = g.add_tensor(Tensor::new("y", DType::F32, y_shape));
        g.add_node("layer", op, vec![Some(x), Some(w), Some(b)], vec![y]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        let n: usize = x_shape.iter().product();
        let samples = (0..16u64)
            .map(|s| {
                let base = noise(100 + s, n);
                let fine = noise(200 + s, n);
                let c = *x_shape.last().unwrap_or(&1);
                vec![(0..n)
                    .map(|i| {
                        let p = i / c;
                        base[(p / 2) * c + i % c] * 2.0 + 0.2 * fine[i]
                    })
                    .collect()]
            })
            .collect();
        (g, samples)
    }

    fn conv() -> (Graph, Vec<Sample>) {
        let op = Op::Conv2d(Conv2d {
            stride: [2, 1],
            dilation: [1, 1],
            padding: Padding::Same,
            activation: Activation::None,
        });
        graph(op, vec![1, 7, 6, 3], vec![5, 3, 3, 3], vec![1, 4, 6, 5])
    }

    fn depthwise() -> (Graph, Vec<Sample>) {
        let op = Op::DepthwiseConv2d(DepthwiseConv2d {
            stride: [1, 2],
            dilation: [1, 1],
            padding: Padding::Valid,
            depth_multiplier: 2,
            activation: Activation::None,
        });
        graph(op, vec![1, 6, 7, 3], vec![1, 3, 3, 6], vec![1, 4, 3, 6])
    }

    fn dense() -> (Graph, Vec<Sample>) {
        let op = Op::FullyConnected(FullyConnected::default());
        graph(op, vec![2, 12], vec![4, 12], vec![2, 4])
    }

    fn quantized(g: &Graph, samples: &[Sample]) -> Quantized {
        let ranges = calibrate(g, samples, CalibratorKind::MinMax, &|| {}).expect("calibrate");
        quantize_integer(g, &ranges, &IntegerOptions::default()).expect("quantize")
    }

    fn weights(q: &Quantized) -> (Vec<i64>, edgequant_ir::QuantParams) {
        let n = q
            .graph
            .nodes
            .iter()
            .find(|n| n.name == "layer")
            .expect("layer");
        let t = q.graph.tensor(n.inputs[1].expect("weights"));
        (
            t.int_data().expect("ints"),
            t.quant.clone().expect("params"),
        )
    }

    /// Σ (float layer output with the dequantized integer weights − float output)² over the
    /// samples: the error the weight rounding alone adds to the layer.
    fn weight_error(
        g: &Graph,
        samples: &[Sample],
        ints: &[i64],
        p: &edgequant_ir::QuantParams,
    ) -> f64 {
        let mut h = g.clone();
        let wid = h.nodes[0].inputs[1].expect("w");
        let shape = h.tensor(wid).shape.clone();
        let axis_len = shape[p.axis.unwrap_or(0)];
        let inner: usize = shape[p.axis.unwrap_or(0) + 1..].iter().product();
        let deq: Vec<f32> = ints
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = if p.scale.len() == 1 {
                    0
                } else {
                    (i / inner) % axis_len
                };
                v as f32 * p.scale[c]
            })
            .collect();
        *h.tensor_mut(wid) = Tensor::from_f32("w", shape, &deq).expect("w");
        let (fi, hi) = (
            Interpreter::new(g).expect("float"),
            Interpreter::new(&h).expect("deq"),
        );
        let mut e = 0f64;
        for s in samples {
            let a = fi.run(sample_inputs(g, s).expect("in")).expect("run");
            let b = hi.run(sample_inputs(&h, s).expect("in")).expect("run");
            let (a, b) = (a[0].as_f32().expect("f32"), b[0].as_f32().expect("f32"));
            e += a
                .iter()
                .zip(b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum::<f64>();
        }
        e
    }

    #[test]
    fn gptq_lowers_each_layers_weight_error_and_changes_only_weight_integers() {
        for (name, (g, samples)) in [
            ("conv", conv()),
            ("depthwise", depthwise()),
            ("dense", dense()),
        ] {
            let mut q = quantized(&g, &samples);
            let before = q.graph.clone();
            let (nearest, params) = weights(&q);
            let r = optimize_weight_rounding(
                &g,
                &mut q,
                &samples,
                &WeightRoundingOptions::default(),
                &|| {},
            )
            .expect("gptq");
            let (rounded, after) = weights(&q);
            assert_eq!(
                (r.layers, r.weights, r.samples),
                (1, nearest.len(), 16),
                "{name}"
            );
            assert!(r.changed > 0, "{name}: nothing changed");
            assert_eq!(params, after, "{name}: weight parameters changed");
            assert!(
                rounded.iter().all(|v| (-127..=127).contains(v)),
                "{name}: out of range"
            );
            let wid = q
                .graph
                .nodes
                .iter()
                .find(|n| n.name == "layer")
                .and_then(|n| n.inputs[1]);
            for (i, (t0, t1)) in before.tensors.iter().zip(&q.graph.tensors).enumerate() {
                assert_eq!(t0.quant, t1.quant, "{name}: {}", t0.name);
                if Some(TensorId(i)) != wid {
                    assert_eq!(t0.data, t1.data, "{name}: {}", t0.name);
                }
            }
            let (en, eg) = (
                weight_error(&g, &samples, &nearest, &params),
                weight_error(&g, &samples, &rounded, &params),
            );
            assert!(
                eg < en,
                "{name}: GPTQ error {eg} not below nearest rounding's {en}"
            );
        }
    }

    /// The accumulated `H` is the layer's input geometry: `Σ_rows Δwᵀ H Δw` for nearest
    /// rounding's weight errors `Δw` equals the output error the interpreter measures.
    #[test]
    fn h_gives_the_interpreters_output_error() {
        for (name, (g, samples)) in [
            ("conv", conv()),
            ("depthwise", depthwise()),
            ("dense", dense()),
        ] {
            let q = quantized(&g, &samples);
            let (nearest, params) = weights(&q);
            let opts = WeightRoundingOptions::default();
            let mut ls = layers(&g, &q, &opts);
            assert_eq!(ls.len(), 1, "{name}");
            let interp = Interpreter::new_unfused(&g).expect("interp");
            fill(&g, &interp, &mut ls, &samples).expect("fill");
            let l = &ls[0];
            let dw: Vec<f64> = l
                .float_w
                .iter()
                .zip(&nearest)
                .enumerate()
                .map(|(i, (&w, &n))| {
                    let r = match l.geometry {
                        Geometry::Depthwise { .. } => i % l.rows,
                        _ => i / (l.float_w.len() / l.rows),
                    };
                    n as f64 * l.scales[r] - w as f64
                })
                .collect();
            let form = |h: &dyn Fn(usize, usize) -> f64, v: &[f64]| -> f64 {
                (0..v.len())
                    .map(|i| (0..v.len()).map(|j| v[i] * h(i, j) * v[j]).sum::<f64>())
                    .sum()
            };
            let quad: f64 = match l.geometry {
                Geometry::Depthwise {
                    window,
                    channels,
                    multiplier,
                } => {
                    let taps = window.taps();
                    (0..l.rows)
                        .map(|o| {
                            let c = o / multiplier;
                            let h = |i: usize, j: usize| {
                                l.h[(i.min(j) * taps + i.max(j)) * channels + c]
                            };
                            let v: Vec<f64> = (0..taps).map(|t| dw[t * l.rows + o]).collect();
                            form(&h, &v)
                        })
                        .sum()
                }
                _ => {
                    let k = l.columns();
                    let h = |i: usize, j: usize| l.h[i.min(j) * k + i.max(j)];
                    dw.chunks_exact(k).map(|v| form(&h, v)).sum()
                }
            };
            let measured = weight_error(&g, &samples, &nearest, &params);
            assert!(
                (quad - measured).abs() <= 1e-4 * measured,
                "{name}: Δwᵀ H Δw = {quad}, interpreter {measured}"
            );
        }
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let (g, samples) = conv();
        let run = |threads: usize| {
            let mut q = quantized(&g, &samples);
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| {
                    optimize_weight_rounding(
                        &g,
                        &mut q,
                        &samples,
                        &WeightRoundingOptions::default(),
                        &|| {},
                    )
                })
                .expect("gptq");
            weights(&q).0
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn the_inverse_factor_satisfies_its_definition() {
        let k = 7;
        let a = noise(3, k * k);
        let mut h = vec![0f64; k * k];
        for i in 0..k {
            for j in i..k {
                h[i * k + j] = (0..k)
                    .map(|p| a[i * k + p] as f64 * a[j * k + p] as f64)
                    .sum::<f64>()
                    + if i == j { 0.5 } else { 0.0 };
            }
        }
        let u = inverse_upper_factor(&h, k).expect("positive definite");
        let full = |i: usize, j: usize| h[i.min(j) * k + i.max(j)];
        for i in 0..k {
            for j in 0..k {
                assert!(i <= j || u[i * k + j] == 0.0, "U is not upper triangular");
                // (Uᵀ U H)[i][j] = δ_ij
                let v: f64 = (0..k)
                    .map(|m| (0..k).map(|p| u[p * k + i] * u[p * k + m]).sum::<f64>() * full(m, j))
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-9, "(UᵀUH)[{i}][{j}] = {v}");
            }
        }
    }

    #[test]
    fn no_samples_change_nothing() {
        let (g, samples) = dense();
        let mut q = quantized(&g, &samples);
        let before = q.graph.clone();
        let r =
            optimize_weight_rounding(&g, &mut q, &[], &WeightRoundingOptions::default(), &|| {})
                .expect("gptq");
        assert_eq!(r, WeightRoundingReport::default());
        assert_eq!(before.tensors.len(), q.graph.tensors.len());
        for (a, b) in before.tensors.iter().zip(&q.graph.tensors) {
            assert_eq!(a.data, b.data);
        }
    }
}
