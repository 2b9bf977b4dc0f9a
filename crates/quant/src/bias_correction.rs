//! Empirical bias correction of an integer graph (after Nagel et al., "Data-Free Quantization
//! Through Weight Equalization and Bias Correction", 2019, section 4.2, with measured rather
//! than modelled errors).
//!
//! Quantization shifts the mean of a layer's output: weight rounding, activation rounding and
//! clipping all add errors whose average over the data is not zero, and the shifts add up
//! along the network. For every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with an integer
//! output, in execution order, the pass measures on the calibration samples the mean error of
//! each output channel (dequantized integer output minus the float model's output, averaged
//! over samples and positions) with all earlier layers already corrected, and subtracts it
//! from that channel's integer bias. Only the bias integers change: every scale, zero point
//! and weight stays as [`crate::quantize_integer`] chose it (DESIGN.md section 3).
//!
//! A channel is corrected only where its mean error is clearly not noise: larger than
//! [`BiasCorrectionOptions::min_t`] standard errors of the per-sample means. With few samples
//! and few positions (a FULLY_CONNECTED head) a mean error is poorly known, and correcting it
//! anyway fits the calibration samples instead of the data.

use crate::error::QuantError;
use crate::Quantized;
use edgequant_calib::params::quantize_value;
use edgequant_calib::Sample;
use edgequant_interp::{Interpreter, Parallelism, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, Op, TensorId};
use rayon::prelude::*;

/// Options of [`correct_biases`].
#[derive(Clone, Debug)]
pub struct BiasCorrectionOptions {
    /// Samples used (the first ones of the calibration data): the pass runs the integer graph
    /// once per layer on each, so its time grows with layers × samples.
    pub max_samples: usize,
    /// A channel is corrected when `|mean error| > min_t × standard error`, the standard error
    /// being that of the mean of the per-sample mean errors (at least 2 samples are needed).
    pub min_t: f64,
}

impl Default for BiasCorrectionOptions {
    fn default() -> Self {
        BiasCorrectionOptions {
            max_samples: 64,
            min_t: 2.0,
        }
    }
}

/// What [`correct_biases`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BiasCorrectionReport {
    /// Layers examined (integer CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED with a constant
    /// bias and a float counterpart).
    pub layers: usize,
    /// Output channels of those layers.
    pub channels: usize,
    /// Channels whose bias changed.
    pub corrected: usize,
    /// Samples used.
    pub samples: usize,
}

/// One layer to correct: its bias tensor in the integer graph, its output in both graphs.
struct Target {
    bias: TensorId,
    out_q: TensorId,
    out_f: TensorId,
    channels: usize,
}

fn targets(float: &Graph, q: &Quantized) -> Vec<Target> {
    let g = &q.graph;
    let mut source = vec![None; g.tensors.len()];
    for (f, m) in q.tensor_map.iter().enumerate() {
        if let Some(t) = m {
            source[t.0] = Some(TensorId(f));
        }
    }
    let consumers = g.consumers();
    let Ok(order) = g.topo_order() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in order {
        let n = &g.nodes[id.0];
        if !matches!(
            n.op,
            Op::Conv2d(_) | Op::DepthwiseConv2d(_) | Op::FullyConnected(_)
        ) {
            continue;
        }
        let (Some(Some(bias)), Some(&out_q)) = (n.inputs.get(2), n.outputs.first()) else {
            continue;
        };
        let (bt, ot) = (g.tensor(*bias), g.tensor(out_q));
        let Some(channels) = ot.shape.last().copied() else {
            continue;
        };
        let integer_out = matches!(ot.dtype, DType::I8 | DType::I16)
            && ot.quant.as_ref().is_some_and(|p| p.scale.len() == 1);
        let bias_ok = bt.is_const()
            && matches!(bt.dtype, DType::I32 | DType::I64)
            && bt.numel() == channels
            && bt
                .quant
                .as_ref()
                .is_some_and(|p| p.scale.len() == 1 || p.scale.len() == channels)
            && consumers[bias.0].len() == 1;
        let Some(out_f) = source[out_q.0] else {
            continue;
        };
        let ft = float.tensor(out_f);
        if integer_out && bias_ok && ft.dtype == DType::F32 && ft.shape == ot.shape && channels > 0
        {
            out.push(Target {
                bias: *bias,
                out_q,
                out_f,
                channels,
            });
        }
    }
    out
}

/// A graph input value for `sample`'s values: float as is, integer inputs quantized with the
/// input's parameters.
fn feed(g: &Graph, id: TensorId, values: &[f32]) -> Result<TensorValue, QuantError> {
    let t = g.tensor(id);
    let shape = t.shape.clone();
    let q = |lo: i32, hi: i32| -> Vec<i32> {
        let (s, z) = t
            .quant
            .as_ref()
            .map_or((1.0, 0), |p| (p.scale[0], p.zero_point[0]));
        values
            .iter()
            .map(|&v| quantize_value(v, s, z, lo, hi))
            .collect()
    };
    let data = match t.dtype {
        DType::I8 => TensorData::I8(q(-128, 127).into_iter().map(|v| v as i8).collect()),
        DType::U8 => TensorData::U8(q(0, 255).into_iter().map(|v| v as u8).collect()),
        DType::I16 => TensorData::I16(q(-32768, 32767).into_iter().map(|v| v as i16).collect()),
        _ => TensorData::F32(values.to_vec()),
    };
    Ok(TensorValue::new(shape, data)?)
}

/// Per-channel mean over all positions of a value (last axis = channel), dequantized with
/// `(scale, zero_point)` when integer.
fn channel_means(v: &TensorValue, channels: usize, qp: Option<(f32, i32)>) -> Vec<f64> {
    let mut sum = vec![0f64; channels];
    let mut add = |i: usize, x: f64| sum[i % channels] += x;
    let (s, z) = qp.map_or((1.0f64, 0f64), |(s, z)| (s as f64, z as f64));
    match &v.data {
        TensorData::F32(d) => d.iter().enumerate().for_each(|(i, &x)| add(i, x as f64)),
        TensorData::I8(d) => d
            .iter()
            .enumerate()
            .for_each(|(i, &x)| add(i, (x as f64 - z) * s)),
        TensorData::I16(d) => d
            .iter()
            .enumerate()
            .for_each(|(i, &x)| add(i, (x as f64 - z) * s)),
        _ => {}
    }
    let positions = (v.data.len() / channels.max(1)).max(1) as f64;
    sum.into_iter().map(|x| x / positions).collect()
}

/// `graph` reduced to the nodes that `out` depends on, with `out` as its only output (tensor
/// ids unchanged).
fn prefix(graph: &Graph, out: TensorId) -> Graph {
    let producers = graph.producers();
    let mut live = vec![false; graph.nodes.len()];
    let mut seen = vec![false; graph.tensors.len()];
    let mut stack = vec![out];
    while let Some(t) = stack.pop() {
        if std::mem::replace(&mut seen[t.0], true) {
            continue;
        }
        if let Some(n) = producers[t.0] {
            if !std::mem::replace(&mut live[n.0], true) {
                stack.extend(graph.nodes[n.0].inputs.iter().flatten().copied());
            }
        }
    }
    let mut g = graph.clone();
    let mut i = 0;
    g.nodes.retain(|_| {
        i += 1;
        live[i - 1]
    });
    g.outputs = vec![out];
    g
}

/// Corrects the integer biases of `q` (see the module documentation) so that on `samples`
/// every corrected layer's per-channel mean output matches `float`'s, the float graph `q` was
/// quantized from (same inputs). `progress()` is called once per examined layer.
///
/// Deterministic: per-sample means are computed independently and summed in sample order, so
/// the result does not depend on the thread count. Errors name the node whose run failed.
pub fn correct_biases(
    float: &Graph,
    q: &mut Quantized,
    samples: &[Sample],
    opts: &BiasCorrectionOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<BiasCorrectionReport, QuantError> {
    let samples = &samples[..samples.len().min(opts.max_samples)];
    let list = targets(float, q);
    let mut report = BiasCorrectionReport {
        layers: list.len(),
        channels: list.iter().map(|t| t.channels).sum(),
        corrected: 0,
        samples: samples.len(),
    };
    if list.is_empty() || samples.len() < 2 {
        return Ok(report);
    }
    if float.inputs.len() != q.graph.inputs.len() {
        return Err(QuantError::Operand {
            node: "<graph inputs>".into(),
            op: "bias correction".into(),
            reason: "the float and integer graphs have different inputs".into(),
        });
    }

    // Float per-channel means of every target, per sample.
    let fi = Interpreter::new_unfused(float)?.with_parallelism(Parallelism::None);
    let mut slot = vec![usize::MAX; float.tensors.len()];
    for (k, t) in list.iter().enumerate() {
        slot[t.out_f.0] = k;
    }
    let float_means: Vec<Vec<Vec<f64>>> = samples
        .par_iter()
        .map(|s| -> Result<Vec<Vec<f64>>, QuantError> {
            let inputs = float
                .inputs
                .iter()
                .zip(s)
                .map(|(&id, v)| TensorValue::from_f32(float.tensor(id).shape.clone(), v.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            let mut means = vec![Vec::new(); list.len()];
            fi.run_with_hook(inputs, &mut |id, v| {
                if let Some(&k) = slot.get(id.0).filter(|&&k| k != usize::MAX) {
                    means[k] = channel_means(v, list[k].channels, None);
                }
            })?;
            Ok(means)
        })
        .collect::<Result<_, _>>()?;

    let n = samples.len() as f64;
    for (k, t) in list.iter().enumerate() {
        let sub = prefix(&q.graph, t.out_q);
        let qi = Interpreter::new_unfused(&sub)?.with_parallelism(Parallelism::None);
        let qp = q
            .graph
            .tensor(t.out_q)
            .quant
            .as_ref()
            .map(|p| (p.scale[0], p.zero_point[0]));
        let errs: Vec<Vec<f64>> = samples
            .par_iter()
            .zip(&float_means)
            .map(|(s, fm)| -> Result<Vec<f64>, QuantError> {
                let inputs = q
                    .graph
                    .inputs
                    .iter()
                    .zip(s)
                    .map(|(&id, v)| feed(&q.graph, id, v))
                    .collect::<Result<Vec<_>, _>>()?;
                let out = qi.run(inputs)?;
                let Some(v) = out.first() else {
                    return Ok(vec![0.0; t.channels]);
                };
                let qm = channel_means(v, t.channels, qp);
                Ok(qm.iter().zip(&fm[k]).map(|(a, b)| a - b).collect())
            })
            .collect::<Result<_, _>>()?;
        let bt = q.graph.tensor(t.bias);
        let Some(bp) = bt.quant.clone() else { continue };
        let mut bias = bt.int_data()?;
        let (lo, hi) = if bt.dtype == DType::I64 {
            (i64::MIN, i64::MAX)
        } else {
            (i32::MIN as i64, i32::MAX as i64)
        };
        let mut changed = false;
        for c in 0..t.channels {
            let mean = errs.iter().map(|e| e[c]).sum::<f64>() / n;
            let var = errs.iter().map(|e| (e[c] - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            if !(mean.abs() > opts.min_t * se) || !mean.is_finite() {
                continue;
            }
            let scale = bp.scale[if bp.scale.len() == 1 { 0 } else { c }] as f64;
            let step = (mean / scale).round();
            if step == 0.0 || !step.is_finite() {
                continue;
            }
            let new = (bias[c] as f64 - step).clamp(lo as f64, hi as f64) as i64;
            if new != bias[c] {
                bias[c] = new;
                report.corrected += 1;
                changed = true;
            }
        }
        if changed {
            let bytes: Vec<u8> = if bt.dtype == DType::I64 {
                bytemuck::cast_slice(&bias).to_vec()
            } else {
                let b32: Vec<i32> = bias.iter().map(|&v| v as i32).collect();
                bytemuck::cast_slice(&b32).to_vec()
            };
            q.graph.tensor_mut(t.bias).data = Some(bytes.into());
        }
        progress();
    }
    Ok(report)
}
