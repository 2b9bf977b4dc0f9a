//! Training on burn (Flex CPU backend with autodiff): the model's layers lowered to burn ops
//! (activations NCHW inside burn), Adam, sparse categorical cross-entropy, and
//! quantization-aware training (fake quantization with a straight-through estimator,
//! moving-average min/max observers, batch norm folded with the batch-statistics correction).
//! Convolutions (with a directly following ReLU), max pooling and float-training batch norms
//! run as this crate's own differentiable ops ([`crate::conv`], [`crate::pool`],
//! [`crate::batchnorm`]); the rest are burn's ops.

use crate::batchnorm::batch_norm_train;
use crate::conv::conv2d;
use crate::model::{Act, BatchNorm, Kind, Model, ObsKey};
use crate::pool::max_pool2d;
use crate::QatError;
use burn::optim::{Adam, AdamConfig, AdamState, Optimizer};
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Device, Tensor, TensorData};
use edgequant_calib::Dataset;
use edgequant_ir::Padding;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Quantization-aware training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct QatOptions {
    /// Steps of float training (observers already running) before fake quantization starts.
    pub quant_delay: usize,
    /// Step after which batch norms use their moving statistics (frozen); `None`: never.
    pub freeze_bn: Option<usize>,
    /// Decay of the moving-average min/max observers.
    pub ema_decay: f32,
}

impl Default for QatOptions {
    fn default() -> Self {
        QatOptions {
            quant_delay: 0,
            freeze_bn: None,
            ema_decay: 0.99,
        }
    }
}

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate (Keras default 0.001); the base rate of `lr_schedule`.
    pub learning_rate: f64,
    /// How the learning rate changes over the run.
    pub lr_schedule: crate::LrSchedule,
    /// Seeds the sample order and dropout (weights are seeded when the model is built).
    pub seed: u64,
    /// Stop after this many steps (for quick runs); `None`: all epochs.
    pub max_steps: Option<usize>,
    /// Quantization-aware training; `None` trains in float.
    pub qat: Option<QatOptions>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 1,
            batch_size: 50,
            learning_rate: 1e-3,
            lr_schedule: crate::LrSchedule::Cosine,
            seed: 0,
            max_steps: None,
            qat: None,
        }
    }
}

/// Progress after one training step; `loss` and `accuracy` are running means over the
/// current epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo {
    pub step: usize,
    pub total_steps: usize,
    pub epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
}

/// What training did: the loss of every step and per-epoch means.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainReport {
    pub step_losses: Vec<f32>,
    /// `(mean loss, accuracy)` per epoch.
    pub epochs: Vec<(f32, f32)>,
}

#[derive(Clone)]
enum V {
    /// `[N, F]`.
    R2(Tensor<2>),
    /// `[N, C, H, W]` (an NHWC value of the model, transposed for burn's convolutions).
    R4(Tensor<4>),
}

impl V {
    fn map(
        self,
        f2: impl FnOnce(Tensor<2>) -> Tensor<2>,
        f4: impl FnOnce(Tensor<4>) -> Tensor<4>,
    ) -> V {
        match self {
            V::R2(t) => V::R2(f2(t)),
            V::R4(t) => V::R4(f4(t)),
        }
    }

    fn min_max(&self) -> (f32, f32) {
        match self {
            V::R2(t) => (
                t.clone().inner().min().into_scalar::<f32>(),
                t.clone().inner().max().into_scalar::<f32>(),
            ),
            V::R4(t) => (
                t.clone().inner().min().into_scalar::<f32>(),
                t.clone().inner().max().into_scalar::<f32>(),
            ),
        }
    }

    /// Row-major NHWC data as `[N, numel]`.
    fn flat_nhwc(self) -> Tensor<2> {
        match self {
            V::R2(t) => t,
            V::R4(t) => {
                let [n, c, h, w] = t.dims();
                t.permute([0, 2, 3, 1]).reshape([n, h * w * c])
            }
        }
    }

    fn from_flat_nhwc(t: Tensor<2>, shape: &[usize]) -> Result<V, QatError> {
        let n = t.dims()[0];
        match shape {
            [_] => Ok(V::R2(t)),
            [h, w, c] => Ok(V::R4(t.reshape([n, *h, *w, *c]).permute([0, 3, 1, 2]))),
            other => Err(QatError::Unsupported(format!(
                "values of per-sample shape {other:?} are not trainable (rank 1 or 3 only)"
            ))),
        }
    }
}

/// Per-forward switches.
#[derive(Clone, Copy)]
struct Mode {
    train: bool,
    /// Observe activation ranges (QAT, training only).
    observe: bool,
    /// Apply fake quantization.
    quant: bool,
    /// Batch norms use moving statistics.
    frozen: bool,
}

/// Fake quantization of activations with parameters from a range (TFLite int8, asymmetric).
fn act_params(range: (f32, f32)) -> Option<(f32, i32)> {
    edgequant_calib::params::int8_activation_params(range.0, range.1)
        .ok()
        .map(|p| (p.scale[0], p.zero_point[0]))
}

fn fq_with<const D: usize>(x: Tensor<D>, scale: f32, zp: i32) -> Tensor<D> {
    let xd = x.clone().inner();
    let q = xd
        .clone()
        .div_scalar(scale)
        .round()
        .add_scalar(zp as f32)
        .clamp(-128.0, 127.0)
        .sub_scalar(zp as f32)
        .mul_scalar(scale);
    // Straight-through estimator: forward value q, gradient of the identity.
    x + (q - xd)
}

/// Per-channel (dim 0) symmetric narrow-range int8 fake quantization of weights.
fn fq_weights<const D: usize>(w: Tensor<D>) -> Tensor<D> {
    let dims = w.dims();
    let o = dims[0];
    let k = dims.iter().skip(1).product::<usize>().max(1);
    let w2 = w.clone().reshape([o, k]);
    let wd = w2.clone().inner();
    let scale = wd
        .clone()
        .abs()
        .max_dim(1)
        .clamp_min(1e-12)
        .div_scalar(127.0);
    let q = wd
        .clone()
        .div(scale.clone())
        .round()
        .clamp(-127.0, 127.0)
        .mul(scale);
    (w2 + (q - wd)).reshape(dims)
}

fn pads(
    p: Padding,
    hw: [usize; 2],
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
) -> Result<[(usize, usize); 2], QatError> {
    let mut out = [(0, 0); 2];
    for a in 0..2 {
        let w = p
            .window(a, hw[a], k[a], s[a], d[a])
            .map_err(QatError::Unsupported)?;
        out[a] = (w.pad_before, w.pad_after);
    }
    Ok(out)
}

struct Engine<'m> {
    model: &'m mut Model,
    device: Device,
    params: Vec<Tensor<1>>,
    rng: ChaCha8Rng,
    ema: f32,
}

impl<'m> Engine<'m> {
    fn new(model: &'m mut Model, seed: u64, ema: f32) -> Self {
        let device = Device::flex();
        let params = model
            .params
            .iter()
            .map(|p| {
                Tensor::<1>::from_data(TensorData::new(p.data.clone(), [p.data.len()]), &device)
            })
            .collect();
        Engine {
            model,
            device,
            params,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_7a11),
            ema,
        }
    }

    fn write_back(&mut self) {
        for (p, t) in self.model.params.iter_mut().zip(&self.params) {
            if let Ok(v) = t.clone().into_data().try_to_vec::<f32>() {
                p.data = v;
            }
        }
    }

    fn input(&self, samples: &[&[f32]]) -> Result<V, QatError> {
        let n = samples.len();
        let shape = self.model.input_shape.clone();
        let numel: usize = shape.iter().product();
        let mut buf = Vec::with_capacity(n * numel);
        for s in samples {
            buf.extend_from_slice(s);
        }
        let t = Tensor::<2>::from_data(TensorData::new(buf, [n, numel]), &self.device);
        V::from_flat_nhwc(t, &shape)
    }

    fn observe(&mut self, key: ObsKey, v: &V, mode: Mode) {
        if !mode.observe {
            return;
        }
        let (lo, hi) = v.min_max();
        if !(lo.is_finite() && hi.is_finite()) {
            return;
        }
        let d = self.ema;
        let r = self.model.ranges.entry(key).or_insert((lo, hi));
        r.0 = r.0 * d + lo * (1.0 - d);
        r.1 = r.1 * d + hi * (1.0 - d);
    }

    fn fq(&self, key: ObsKey, v: V, mode: Mode) -> V {
        if !mode.quant {
            return v;
        }
        match self.model.ranges.get(&key).copied().and_then(act_params) {
            Some((s, z)) => v.map(|t| fq_with(t, s, z), |t| fq_with(t, s, z)),
            None => v,
        }
    }

    fn observe_fq(&mut self, key: ObsKey, v: V, mode: Mode) -> V {
        self.observe(key, &v, mode);
        self.fq(key, v, mode)
    }

    fn leaf(&self, leaves: &[Tensor<1>], i: usize) -> Tensor<1> {
        leaves[i].clone()
    }

    /// Channel-broadcast shape of a per-channel vector for value `v`.
    fn per_channel(v: &V, t: Tensor<1>) -> V {
        let c = t.dims()[0];
        match v {
            V::R2(_) => V::R2(t.reshape([1, c])),
            V::R4(_) => V::R4(t.reshape([1, c, 1, 1])),
        }
    }

    fn binary(
        a: V,
        b: V,
        f2: fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
        f4: fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
    ) -> Result<V, QatError> {
        match (a, b) {
            (V::R2(a), V::R2(b)) => Ok(V::R2(f2(a, b))),
            (V::R4(a), V::R4(b)) => Ok(V::R4(f4(a, b))),
            _ => Err(QatError::Unsupported("operands of different ranks".into())),
        }
    }

    fn batch_stats(v: &V) -> (V, V) {
        match v {
            V::R2(t) => {
                let mean = t.clone().mean_dim(0);
                let var = (t.clone() - mean.clone()).powi_scalar(2).mean_dim(0);
                (V::R2(mean), V::R2(var))
            }
            V::R4(t) => {
                let mean = t.clone().mean_dims(&[0, 2, 3]);
                let var = (t.clone() - mean.clone())
                    .powi_scalar(2)
                    .mean_dims(&[0, 2, 3]);
                (V::R4(mean), V::R4(var))
            }
        }
    }

    fn flat(v: V) -> Tensor<1> {
        match v {
            V::R2(t) => {
                let n: usize = t.dims().iter().product();
                t.reshape([n])
            }
            V::R4(t) => {
                let n: usize = t.dims().iter().product();
                t.reshape([n])
            }
        }
    }

    fn update_moving(bn: &mut BatchNorm, mean: &Tensor<1>, var: &Tensor<1>) {
        let m = mean
            .clone()
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let v = var
            .clone()
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        Self::update_moving_vec(bn, &m, &v);
    }

    fn update_moving_vec(bn: &mut BatchNorm, m: &[f32], v: &[f32]) {
        if m.len() != bn.moving_mean.len() || v.len() != bn.moving_var.len() {
            return;
        }
        let k = if bn.stats_seen { bn.momentum } else { 0.0 };
        bn.stats_seen = true;
        for (a, b) in bn.moving_mean.iter_mut().zip(m) {
            *a = *a * k + b * (1.0 - k);
        }
        for (a, b) in bn.moving_var.iter_mut().zip(v) {
            *a = *a * k + b * (1.0 - k);
        }
    }

    fn vec1(&self, v: &[f32]) -> Tensor<1> {
        Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &self.device)
    }

    /// Runs the model; returns the value the loss reads (logits) and the model output.
    fn forward(&mut self, x: V, leaves: &[Tensor<1>], mode: Mode) -> Result<(V, V), QatError> {
        let logits_v = self.model.logits_value();
        let x = self.observe_fq(ObsKey::Value(0), x, mode);
        let mut values: Vec<Option<V>> = vec![Some(x)];
        let consumers = self.model.consumers();
        let mut remaining: Vec<usize> = consumers.iter().map(Vec::len).collect();
        let nn = self.model.nodes.len();
        for k in 0..nn {
            let v = k + 1;
            let node = self.model.nodes[k].clone();
            let take = |i: usize| -> Result<V, QatError> {
                let val = values[i].clone().ok_or_else(|| {
                    QatError::Unsupported(format!("value {i} used after release"))
                })?;
                Ok(val)
            };
            let ins: Vec<V> = node
                .inputs
                .iter()
                .map(|&i| take(i))
                .collect::<Result<_, _>>()?;
            for &i in &node.inputs {
                remaining[i] = remaining[i].saturating_sub(1);
                if remaining[i] == 0 && i != logits_v && i != nn {
                    values[i] = None;
                }
            }
            let mut it = ins.into_iter();
            let x0 = it
                .next()
                .ok_or_else(|| QatError::Unsupported("node without input".into()))?;
            let out = match &node.kind {
                Kind::Conv {
                    weight,
                    bias,
                    stride,
                    dilation,
                    padding,
                    groups,
                    bn,
                    act,
                    ..
                } => {
                    let V::R4(x) = x0 else {
                        return Err(QatError::Unsupported(format!(
                            "layer '{}': convolution input is not an image",
                            node.name
                        )));
                    };
                    let [_, _, h, w] = x.dims();
                    let wshape = self.model.params[*weight].shape.clone();
                    let wt: [usize; 4] = wshape
                        .as_slice()
                        .try_into()
                        .map_err(|_| QatError::Unsupported("bad conv weights".into()))?;
                    let o = wt[0];
                    let opts = ConvOptions::new_with_padding(
                        *stride,
                        pads(*padding, [h, w], [wt[2], wt[3]], *stride, *dilation)?,
                        *dilation,
                        *groups,
                    );
                    let wl = self.leaf(leaves, *weight).reshape(wt);
                    let bl = bias.map(|b| self.leaf(leaves, b));
                    // Without batch norm a ReLU runs inside the convolution op.
                    let fused_relu = bn.is_none() && *act == Act::Relu;
                    let y = match bn {
                        None => {
                            let wq = if mode.quant { fq_weights(wl) } else { wl };
                            conv2d(x, wq, bl, opts, fused_relu)
                        }
                        Some(b) => {
                            let gamma = self.leaf(leaves, b.gamma);
                            let beta = self.leaf(leaves, b.beta);
                            let eps = b.epsilon;
                            let bias_v =
                                bl.unwrap_or_else(|| Tensor::<1>::zeros([o], &self.device));
                            if mode.train && !mode.frozen {
                                let y0 = conv2d(
                                    x.clone(),
                                    wl.clone(),
                                    Some(bias_v.clone()),
                                    opts.clone(),
                                    false,
                                );
                                let mu = y0.clone().mean_dims(&[0, 2, 3]);
                                let var = (y0.clone() - mu.clone())
                                    .powi_scalar(2)
                                    .mean_dims(&[0, 2, 3]);
                                let mu1 = mu.reshape([o]);
                                let var1 = var.reshape([o]);
                                if let Kind::Conv { bn: Some(bm), .. } =
                                    &mut self.model.nodes[k].kind
                                {
                                    Self::update_moving(bm, &mu1, &var1);
                                }
                                let sigma_b = var1.add_scalar(eps).sqrt();
                                if mode.quant {
                                    let mv = match &self.model.nodes[k].kind {
                                        Kind::Conv { bn: Some(bm), .. } => bm.moving_var.clone(),
                                        _ => vec![1.0; o],
                                    };
                                    let sigma_m = self.vec1(&mv).add_scalar(eps).sqrt();
                                    let sb_const = sigma_b.clone().inner();
                                    let w_fold = wl
                                        * (gamma.clone() / sigma_b.clone()).reshape([o, 1, 1, 1])
                                        * (sb_const.clone() / sigma_m.clone())
                                            .reshape([o, 1, 1, 1]);
                                    let yq = conv2d(x, fq_weights(w_fold), None, opts, false);
                                    let shift = beta + gamma * (bias_v - mu1) / sigma_b;
                                    yq * (sigma_m / sb_const).reshape([1, o, 1, 1])
                                        + shift.reshape([1, o, 1, 1])
                                } else {
                                    let scale = gamma / sigma_b;
                                    (y0 - mu1.reshape([1, o, 1, 1])) * scale.reshape([1, o, 1, 1])
                                        + beta.reshape([1, o, 1, 1])
                                }
                            } else {
                                let sigma_m = self.vec1(&b.moving_var).add_scalar(eps).sqrt();
                                let mm = self.vec1(&b.moving_mean);
                                let scale = gamma / sigma_m;
                                let w_fold = wl * scale.clone().reshape([o, 1, 1, 1]);
                                let wq = if mode.quant {
                                    fq_weights(w_fold)
                                } else {
                                    w_fold
                                };
                                let shift = beta + scale * (bias_v - mm);
                                conv2d(x, wq, Some(shift), opts, false)
                            }
                        }
                    };
                    let y = if fused_relu { y } else { apply_act4(y, *act) };
                    self.observe_fq(ObsKey::Value(v), V::R4(y), mode)
                }
                Kind::Dense { weight, bias, act } => {
                    let x = x0.flat_nhwc();
                    let shape = &self.model.params[*weight].shape;
                    let (o, i) = (shape[0], shape[1]);
                    let wl = self.leaf(leaves, *weight).reshape([o, i]);
                    let wq = if mode.quant { fq_weights(wl) } else { wl };
                    let mut y = x.matmul(wq.transpose());
                    if let Some(b) = bias {
                        y = y + self.leaf(leaves, *b).reshape([1, o]);
                    }
                    let y = match act {
                        Act::None => y,
                        Act::Relu => relu(y),
                        Act::Relu6 => y.clamp(0.0, 6.0),
                    };
                    self.observe_fq(ObsKey::Value(v), V::R2(y), mode)
                }
                Kind::BatchNorm(b) => {
                    let gamma = self.leaf(leaves, b.gamma);
                    let beta = self.leaf(leaves, b.beta);
                    let fused = mode.train && !mode.frozen && !mode.observe && !mode.quant;
                    if let (true, V::R4(x)) = (fused, &x0) {
                        if let Some(out) = batch_norm_train(x, &gamma, &beta, b.epsilon) {
                            if let Kind::BatchNorm(bm) = &mut self.model.nodes[k].kind {
                                Self::update_moving_vec(bm, &out.mean, &out.var);
                            }
                            values.push(Some(V::R4(out.y)));
                            continue;
                        }
                    }
                    let (scale, shift) = if mode.train && !mode.frozen {
                        let (mean, var) = Self::batch_stats(&x0);
                        let mean = Self::flat(mean);
                        let var = Self::flat(var);
                        if let Kind::BatchNorm(bm) = &mut self.model.nodes[k].kind {
                            Self::update_moving(bm, &mean, &var);
                        }
                        let scale = gamma / var.add_scalar(b.epsilon).sqrt();
                        let shift = beta - mean * scale.clone();
                        (scale, shift)
                    } else {
                        let sigma = self.vec1(&b.moving_var).add_scalar(b.epsilon).sqrt();
                        let scale = gamma / sigma;
                        let shift = beta - self.vec1(&b.moving_mean) * scale.clone();
                        (scale, shift)
                    };
                    let sc = Self::per_channel(&x0, scale);
                    let sh = Self::per_channel(&x0, shift);
                    let y = Self::binary(x0, sc, |a, b| a * b, |a, b| a * b)?;
                    let y = self.observe_fq(ObsKey::BnMul(k), y, mode);
                    let y = Self::binary(y, sh, |a, b| a + b, |a, b| a + b)?;
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::Relu => {
                    let y = x0.map(relu, relu);
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::Relu6 => {
                    let y = x0.map(|t| t.clamp(0.0, 6.0), |t| t.clamp(0.0, 6.0));
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::MaxPool {
                    filter,
                    stride,
                    padding,
                }
                | Kind::AvgPool {
                    filter,
                    stride,
                    padding,
                } => {
                    let V::R4(x) = x0 else {
                        return Err(QatError::Unsupported(format!(
                            "layer '{}': pooling input is not an image",
                            node.name
                        )));
                    };
                    let [_, _, h, w] = x.dims();
                    let p = pads(*padding, [h, w], *filter, *stride, [1, 1])?;
                    if matches!(node.kind, Kind::MaxPool { .. }) {
                        V::R4(max_pool2d(x, *filter, *stride, p))
                    } else {
                        let mut o = AvgPoolOptions::new(*filter);
                        o.stride = *stride;
                        o.padding = p;
                        o.count_include_pad = false;
                        let y = V::R4(avg_pool2d(x, o));
                        let src = self.model.range_source(v);
                        self.fq(ObsKey::Value(src), y, mode)
                    }
                }
                Kind::Mean { keep_dims } => {
                    let V::R4(x) = x0 else {
                        return Err(QatError::Unsupported(format!(
                            "layer '{}': mean input is not an image",
                            node.name
                        )));
                    };
                    let [n, c, _, _] = x.dims();
                    let y = x.mean_dims(&[2, 3]);
                    let y = if *keep_dims {
                        V::R4(y)
                    } else {
                        V::R2(y.reshape([n, c]))
                    };
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::Reshape => V::from_flat_nhwc(x0.flat_nhwc(), &node.shape)?,
                Kind::Transpose { perm } => {
                    let V::R4(x) = x0 else {
                        return Err(QatError::Unsupported(format!(
                            "layer '{}': only rank-3 values can be transposed",
                            node.name
                        )));
                    };
                    let nhwc = x.permute([0, 2, 3, 1]);
                    let p: [usize; 4] = [0, perm[0] + 1, perm[1] + 1, perm[2] + 1];
                    let t = nhwc.permute(p);
                    V::R4(t.permute([0, 3, 1, 2]))
                }
                Kind::Dropout { rate } => {
                    if mode.train && *rate > 0.0 {
                        let keep = 1.0 - *rate;
                        match x0 {
                            V::R2(t) => {
                                let dims = t.dims();
                                let mask = self.mask(dims.iter().product(), keep);
                                V::R2(
                                    t * Tensor::<2>::from_data(
                                        TensorData::new(mask, dims),
                                        &self.device,
                                    ),
                                )
                            }
                            V::R4(t) => {
                                let dims = t.dims();
                                let mask = self.mask(dims.iter().product(), keep);
                                V::R4(
                                    t * Tensor::<4>::from_data(
                                        TensorData::new(mask, dims),
                                        &self.device,
                                    ),
                                )
                            }
                        }
                    } else {
                        x0
                    }
                }
                Kind::Add { act } | Kind::Mul { act } => {
                    let x1 = it
                        .next()
                        .ok_or_else(|| QatError::Unsupported("binary op with one input".into()))?;
                    let y = if matches!(node.kind, Kind::Add { .. }) {
                        Self::binary(x0, x1, |a, b| a + b, |a, b| a + b)?
                    } else {
                        Self::binary(x0, x1, |a, b| a * b, |a, b| a * b)?
                    };
                    let y = apply_act(y, *act);
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::AddConst { param, act, .. } | Kind::MulConst { param, act, .. } => {
                    let c = Self::per_channel(&x0, self.leaf(leaves, *param));
                    let y = if matches!(node.kind, Kind::AddConst { .. }) {
                        Self::binary(x0, c, |a, b| a + b, |a, b| a + b)?
                    } else {
                        Self::binary(x0, c, |a, b| a * b, |a, b| a * b)?
                    };
                    let y = apply_act(y, *act);
                    self.observe_fq(ObsKey::Value(v), y, mode)
                }
                Kind::Softmax { beta } => {
                    let V::R2(x) = x0 else {
                        return Err(QatError::Unsupported(format!(
                            "layer '{}': softmax needs a flat input",
                            node.name
                        )));
                    };
                    let y = softmax(x.mul_scalar(*beta), 1);
                    if v != nn && mode.quant {
                        V::R2(fq_with(y, 1.0 / 256.0, -128))
                    } else {
                        V::R2(y)
                    }
                }
            };
            values.push(Some(out));
        }
        let logits = values[logits_v]
            .clone()
            .ok_or_else(|| QatError::Unsupported("logits released".into()))?;
        let output = values[nn]
            .clone()
            .ok_or_else(|| QatError::Unsupported("output released".into()))?;
        Ok((logits, output))
    }

    fn mask(&mut self, n: usize, keep: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                if self.rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect()
    }
}

fn apply_act4(y: Tensor<4>, act: Act) -> Tensor<4> {
    match act {
        Act::None => y,
        Act::Relu => relu(y),
        Act::Relu6 => y.clamp(0.0, 6.0),
    }
}

fn apply_act(y: V, act: Act) -> V {
    match act {
        Act::None => y,
        Act::Relu => y.map(relu, relu),
        Act::Relu6 => y.map(|t| t.clamp(0.0, 6.0), |t| t.clamp(0.0, 6.0)),
    }
}

fn logits2(v: V) -> Result<Tensor<2>, QatError> {
    match v {
        V::R2(t) => Ok(t),
        V::R4(_) => Err(QatError::Unsupported(
            "the model output must be flat [N, classes] for classification training".into(),
        )),
    }
}

/// Checks data and labels against the model: per-sample element count, one label per sample,
/// labels below the class count.
pub fn check_data(model: &Model, data: &Dataset, labels: &[u32]) -> Result<(), QatError> {
    let want: usize = model.input_shape.iter().product();
    if data.inputs().len() != 1 {
        return Err(QatError::Data(format!(
            "'{}' has {} inputs, the model has one",
            data.source().display(),
            data.inputs().len()
        )));
    }
    let got: usize = data.inputs()[0].shape.iter().product();
    if got != want {
        return Err(QatError::Data(format!(
            "'{}': samples have shape {:?} ({} values), model input '{}' needs {:?} ({} values)",
            data.source().display(),
            data.inputs()[0].shape,
            got,
            model.input_name,
            model.input_shape,
            want
        )));
    }
    if data.is_empty() {
        return Err(QatError::Data(format!(
            "'{}' holds no samples",
            data.source().display()
        )));
    }
    if labels.len() != data.len() {
        return Err(QatError::Data(format!(
            "{} labels for {} samples in '{}'",
            labels.len(),
            data.len(),
            data.source().display()
        )));
    }
    let classes = model.num_classes();
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(QatError::Data(format!(
            "label {l} of sample {i} is out of range: the model has {classes} classes (labels 0..{})",
            classes.saturating_sub(1)
        )));
    }
    Ok(())
}

/// Trains `model` in place (float, or quantization-aware with `opts.qat`): Adam (Keras
/// defaults: β₁ 0.9, β₂ 0.999, ε 1e-7), sparse categorical cross-entropy on the logits (the
/// input of a final softmax), shuffled mini-batches (the last one may be smaller). With the
/// same seed, data and thread count the result is reproducible. `progress` is called after
/// every step.
pub fn train(
    model: &mut Model,
    data: &Dataset,
    labels: &[u32],
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&StepInfo),
) -> Result<TrainReport, QatError> {
    check_data(model, data, labels)?;
    if opts.batch_size == 0 || opts.epochs == 0 {
        return Err(QatError::Options(
            "epochs and batch size must be at least 1".into(),
        ));
    }
    if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
        return Err(QatError::Options(format!(
            "learning rate {} must be a positive number",
            opts.learning_rate
        )));
    }
    let classes = model.num_classes();
    let n = data.len();
    let steps_per_epoch = n.div_ceil(opts.batch_size);
    let mut total = steps_per_epoch * opts.epochs;
    if let Some(m) = opts.max_steps {
        total = total.min(m);
    }
    let qat = opts.qat.clone();
    let ema = qat.as_ref().map_or(0.99, |q| q.ema_decay);
    let adam: Adam = AdamConfig::new().with_epsilon(1e-7).build();
    let mut states: Vec<Option<AdamState<1>>> = vec![None; model.params.len()];
    let mut eng = Engine::new(model, opts.seed, ema);
    let mut order: Vec<usize> = (0..n).collect();
    let mut report = TrainReport::default();
    let mut step = 0usize;
    'epochs: for epoch in 0..opts.epochs {
        order.shuffle(&mut eng.rng);
        let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
        for chunk in order.chunks(opts.batch_size) {
            if step >= total {
                break 'epochs;
            }
            let mode = Mode {
                train: true,
                observe: qat.is_some(),
                quant: qat.as_ref().is_some_and(|q| step >= q.quant_delay),
                frozen: qat
                    .as_ref()
                    .and_then(|q| q.freeze_bn)
                    .is_some_and(|f| step >= f),
            };
            let samples: Vec<&[f32]> = chunk
                .iter()
                .map(|&i| data.samples()[i][0].as_slice())
                .collect();
            let x = eng.input(&samples)?;
            let b = chunk.len();
            let mut onehot = vec![0f32; b * classes];
            for (r, &i) in chunk.iter().enumerate() {
                onehot[r * classes + labels[i] as usize] = 1.0;
            }
            let onehot = Tensor::<2>::from_data(TensorData::new(onehot, [b, classes]), &eng.device);
            let leaves: Vec<Tensor<1>> = eng
                .params
                .iter()
                .map(|p| p.clone().autodiff().require_grad())
                .collect();
            let (logits, _) = eng.forward(x, &leaves, mode)?;
            let logits = logits2(logits)?;
            let pred = logits.clone().inner().argmax(1);
            let loss = (log_softmax(logits, 1) * onehot)
                .sum()
                .div_scalar(-(b as f32));
            let grads = loss.backward();
            let loss_v = loss.inner().into_scalar::<f32>();
            if !loss_v.is_finite() {
                return Err(QatError::Diverged { step, loss: loss_v });
            }
            for (i, leaf) in leaves.iter().enumerate() {
                if let Some(g) = leaf.grad(&grads) {
                    let (t, s) = adam.step(
                        opts.lr_schedule.rate(opts.learning_rate, step, total),
                        eng.params[i].clone(),
                        g,
                        states[i].take(),
                    );
                    eng.params[i] = t;
                    states[i] = s;
                }
            }
            let pred: Vec<i64> = pred
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap_or_default();
            correct += chunk
                .iter()
                .zip(&pred)
                .filter(|(&i, &p)| p == labels[i] as i64)
                .count();
            seen += b;
            loss_sum += loss_v as f64 * b as f64;
            report.step_losses.push(loss_v);
            step += 1;
            progress(&StepInfo {
                step,
                total_steps: total,
                epoch: epoch + 1,
                loss: (loss_sum / seen as f64) as f32,
                accuracy: correct as f32 / seen as f32,
            });
        }
        if seen > 0 {
            report.epochs.push((
                (loss_sum / seen as f64) as f32,
                correct as f32 / seen as f32,
            ));
        }
    }
    eng.write_back();
    Ok(report)
}

/// Runs the model in inference mode (moving batch-norm statistics, no dropout) on `samples`
/// in batches; with `fake_quant`, activations and weights are fake-quantized with the learned
/// ranges. Returns the model output (after a final softmax) per sample.
pub fn predict(
    model: &Model,
    samples: &[&[f32]],
    batch: usize,
    fake_quant: bool,
) -> Result<Vec<Vec<f32>>, QatError> {
    let mut m = model.clone();
    let mut eng = Engine::new(&mut m, 0, 0.99);
    let leaves = eng.params.clone();
    let mode = Mode {
        train: false,
        observe: false,
        quant: fake_quant,
        frozen: true,
    };
    let mut out = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(batch.max(1)) {
        let x = eng.input(chunk)?;
        let (_, y) = eng.forward(x, &leaves, mode)?;
        let y = y.flat_nhwc();
        let k = y.dims()[1];
        let v = y
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| QatError::Unsupported(format!("cannot read the output: {e:?}")))?;
        out.extend(v.chunks(k).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Top-1 accuracy of [`predict`] against `labels`.
pub fn evaluate(
    model: &Model,
    data: &Dataset,
    labels: &[u32],
    fake_quant: bool,
) -> Result<f32, QatError> {
    check_data(model, data, labels)?;
    let samples: Vec<&[f32]> = data.samples().iter().map(|s| s[0].as_slice()).collect();
    let out = predict(model, &samples, 250, fake_quant)?;
    let correct = out
        .iter()
        .zip(labels)
        .filter(|(o, &l)| argmax(o) == l as usize)
        .count();
    Ok(correct as f32 / labels.len() as f32)
}

/// Index of the largest value (first on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
