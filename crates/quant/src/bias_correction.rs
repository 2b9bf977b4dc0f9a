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
//! from that channel's integer bias. Positions where the integer output sits at its type's
//! limit are left out of the average: that error is clipping, which a bias cannot undo. Only
//! the bias integers change: every scale, zero point and weight stays as
//! [`crate::quantize_integer`] chose it (DESIGN.md section 3).
//!
//! A channel is corrected only where its mean error is clearly not noise: where Student's t
//! test on the per-sample means rejects a zero mean at [`BiasCorrectionOptions::level`]. With
//! few samples and few positions (a FULLY_CONNECTED head) a mean error is poorly known, and
//! correcting it anyway fits the calibration samples instead of the data.

use crate::calibrate::sample_inputs;
use crate::error::QuantError;
use crate::Quantized;
use edgequant_calib::Sample;
use edgequant_interp::{Interpreter, Parallelism, StagedRun, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, Op, TensorId};
use rayon::prelude::*;
use std::collections::HashMap;

/// Options of [`correct_biases`].
#[derive(Clone, Debug)]
pub struct BiasCorrectionOptions {
    /// Samples used (the first ones of the calibration data): time and memory grow linearly
    /// with it (see [`correct_biases`]).
    pub max_samples: usize,
    /// Two-sided significance level of the per-channel test: a channel is corrected when its
    /// mean error differs from 0 at this level by Student's t test on the per-sample mean
    /// errors (`|mean| > t(1 − level/2, n − 1) × standard error`; at least 2 samples).
    pub level: f64,
    /// Bytes that the samples' staged runs may hold at once, estimated from the float and
    /// integer graphs' peak activation memory per sample ([`Interpreter::memory_plan`]). When
    /// `max_samples` samples would need more, fewer are used (at least 2), and
    /// [`BiasCorrectionReport::memory_limited`] says so.
    pub memory_budget: usize,
}

impl Default for BiasCorrectionOptions {
    fn default() -> Self {
        BiasCorrectionOptions {
            max_samples: 64,
            level: 0.05,
            memory_budget: 3 << 30,
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
    /// Whether fewer samples than available were used to stay within
    /// [`BiasCorrectionOptions::memory_budget`].
    pub memory_limited: bool,
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
    let source = q.float_sources();
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

/// Per-channel mean of `dequantize(q) − f` over the positions (last axis = channel) where the
/// integer output is not saturated at its type's limits; `None` for a channel without such
/// positions. Saturated outputs are clipping error, which moving the bias cannot undo (and
/// counting it drags the correction of the unsaturated values).
fn channel_errors(
    q: &TensorValue,
    f: &TensorValue,
    channels: usize,
    (scale, zero_point): (f32, i32),
) -> Vec<Option<f64>> {
    let mut sum = vec![0f64; channels];
    let mut count = vec![0usize; channels];
    let Some(f) = f.as_f32() else {
        return vec![None; channels];
    };
    let (s, z) = (scale as f64, zero_point as f64);
    let mut add = |i: usize, qv: i32, lo: i32, hi: i32| {
        if qv > lo && qv < hi {
            if let Some(&fv) = f.get(i) {
                sum[i % channels] += (qv as f64 - z) * s - fv as f64;
                count[i % channels] += 1;
            }
        }
    };
    match &q.data {
        TensorData::I8(d) => d
            .iter()
            .enumerate()
            .for_each(|(i, &v)| add(i, v as i32, -128, 127)),
        TensorData::I16(d) => d
            .iter()
            .enumerate()
            .for_each(|(i, &v)| add(i, v as i32, -32768, 32767)),
        _ => {}
    }
    sum.into_iter()
        .zip(count)
        .map(|(s, c)| (c > 0).then(|| s / c as f64))
        .collect()
}

/// Quantile `p` (0.5 < p < 1) of Student's t distribution with `dof` degrees of freedom:
/// the normal quantile (Acklam's rational approximation, relative error < 1.2e-9) corrected
/// for `dof` by the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5; at the 97.5 % point
/// within 1 % of the exact value for `dof` = 3 and 0.3 % for `dof` ≥ 4).
fn student_t_quantile(p: f64, dof: f64) -> f64 {
    let z = normal_quantile(p);
    let (z2, v) = (z * z, dof.max(1.0));
    z + z * (z2 + 1.0) / (4.0 * v)
        + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * v * v)
        + z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / (384.0 * v * v * v)
}

/// Quantile of the standard normal distribution for 0.5 ≤ `p` < 1 (Acklam's algorithm).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p > 0.975_25 {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// One sample's two staged runs, and the float values of targets computed ahead of their turn.
struct SampleRuns {
    float: StagedRun,
    int: StagedRun,
    ahead: HashMap<TensorId, TensorValue>,
}

/// Corrects the integer biases of `q` (see the module documentation) so that on `samples`
/// every corrected layer's per-channel mean output (unsaturated positions) matches `float`'s,
/// the float graph `q` was quantized from (same inputs). `progress()` is called once per
/// examined layer.
///
/// Time: about one run of the float and of the integer graph per sample, plus one extra run
/// of each examined layer and one preparation of the integer graph per changed layer. Every
/// sample's float and integer runs advance together, layer by layer ([`StagedRun`]), so
/// memory holds the live activations of both graphs for every sample at once (about
/// `samples ×` the two graphs' peak activation memory at most, kept within
/// [`BiasCorrectionOptions::memory_budget`] by using fewer samples). Samples run in parallel;
/// the result is deterministic (per-sample means are combined in sample order and kernels
/// do not depend on the thread count). Errors name the node whose run failed.
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
        memory_limited: false,
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

    let fi = Interpreter::new_unfused(float)?.with_parallelism(Parallelism::None);
    let mut qi = Interpreter::new_unfused(&q.graph)?.with_parallelism(Parallelism::None);
    let per_sample =
        fi.memory_plan().peak_activation_bytes + qi.memory_plan().peak_activation_bytes;
    let fit = (opts.memory_budget / per_sample.max(1)).max(2);
    let samples = if samples.len() > fit {
        report.samples = fit;
        report.memory_limited = true;
        &samples[..fit]
    } else {
        samples
    };
    let mut wanted = vec![0usize; float.tensors.len()];
    for t in &list {
        wanted[t.out_f.0] += 1;
    }
    let mut runs: Vec<SampleRuns> = samples
        .iter()
        .map(|s| -> Result<SampleRuns, QuantError> {
            Ok(SampleRuns {
                float: fi.start(sample_inputs(float, s)?)?,
                int: qi.start(sample_inputs(&q.graph, s)?)?,
                ahead: HashMap::new(),
            })
        })
        .collect::<Result<_, _>>()?;

    for t in &list {
        let (Some(step_f), Some(step_q)) = (fi.step_computing(t.out_f), qi.step_computing(t.out_q))
        else {
            wanted[t.out_f.0] -= 1;
            progress();
            continue;
        };
        let qp = q
            .graph
            .tensor(t.out_q)
            .quant
            .as_ref()
            .map_or((1.0, 0), |p| (p.scale[0], p.zero_point[0]));
        let last_use = wanted[t.out_f.0] == 1;
        let (fi, qi_ref, wanted_ref) = (&fi, &qi, &wanted);
        let errs: Vec<Vec<Option<f64>>> = runs
            .par_iter_mut()
            .map(|r| -> Result<Vec<Option<f64>>, QuantError> {
                let SampleRuns { float, int, ahead } = r;
                fi.run_steps(float, step_f + 1, &mut |id, v| {
                    if wanted_ref.get(id.0).is_some_and(|&n| n > 0) && !ahead.contains_key(&id) {
                        ahead.insert(id, v.clone());
                    }
                })?;
                qi_ref.run_steps(int, step_q, &mut |_, _| {})?;
                let outs = qi_ref.peek_step(int, step_q)?;
                let f = if last_use {
                    ahead.remove(&t.out_f)
                } else {
                    ahead.get(&t.out_f).cloned()
                };
                let v = outs.into_iter().find(|(id, _)| *id == t.out_q);
                Ok(match (f, v) {
                    (Some(f), Some((_, v))) => channel_errors(&v, &f, t.channels, qp),
                    _ => vec![None; t.channels],
                })
            })
            .collect::<Result<_, _>>()?;
        wanted[t.out_f.0] -= 1;
        let bt = q.graph.tensor(t.bias);
        let Some(bp) = bt.quant.clone() else {
            progress();
            continue;
        };
        let mut bias = bt.int_data()?;
        let (lo, hi) = if bt.dtype == DType::I64 {
            (i64::MIN, i64::MAX)
        } else {
            (i32::MIN as i64, i32::MAX as i64)
        };
        let mut changed = false;
        for c in 0..t.channels {
            let e: Vec<f64> = errs.iter().filter_map(|e| e[c]).collect();
            if e.len() < 2 {
                continue;
            }
            let n = e.len() as f64;
            let mean = e.iter().sum::<f64>() / n;
            let var = e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            let min_t = student_t_quantile(1.0 - opts.level / 2.0, n - 1.0);
            let clear = mean.is_finite() && se.is_finite() && mean.abs() > min_t * se;
            if !clear {
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
            qi = Interpreter::new_unfused(&q.graph)?.with_parallelism(Parallelism::None);
        }
        progress();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{calibrate, quantize_integer, IntegerOptions};
    use edgequant_calib::CalibratorKind;
    use edgequant_ir::ops::FullyConnected;
    use edgequant_ir::Tensor;

    /// `y = x · Wᵀ + b` with x [1, 8], W [4, 8], b [4]; deterministic weights and samples.
    fn fc_graph() -> (Graph, Vec<Sample>) {
        let mut g = Graph::default();
        let x = g.add_tensor(Tensor::new("x", DType::F32, vec![1, 8]));
        let w: Vec<f32> = (0..32)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 10.0)
            .collect();
        let w = g.add_tensor(Tensor::from_f32("w", vec![4, 8], &w).expect("w"));
        let b = g.add_tensor(Tensor::from_f32("b", vec![4], &[0.3, -0.2, 0.1, 0.0]).expect("b"));
        let y = g.add_tensor(Tensor::new("y", DType::F32, vec![1, 4]));
        g.add_node(
            "fc",
            Op::FullyConnected(FullyConnected::default()),
            vec![Some(x), Some(w), Some(b)],
            vec![y],
        );
        g.inputs = vec![x];
        g.outputs = vec![y];
        let samples = (0..24)
            .map(|s| {
                vec![(0..8)
                    .map(|i| (((s * 13 + i * 7) % 23) as f32 - 11.0) / 8.0)
                    .collect()]
            })
            .collect();
        (g, samples)
    }

    fn quantized(g: &Graph, samples: &[Sample]) -> Quantized {
        let ranges = calibrate(g, samples, CalibratorKind::MinMax, &|| {}).expect("calibrate");
        quantize_integer(g, &ranges, &IntegerOptions::default()).expect("quantize")
    }

    fn fc_bias(q: &Quantized) -> (TensorId, Vec<i64>) {
        let n = q.graph.nodes.iter().find(|n| n.name == "fc").expect("fc");
        let b = n.inputs[2].expect("bias");
        (b, q.graph.tensor(b).int_data().expect("bias data"))
    }

    fn set_bias(q: &mut Quantized, b: TensorId, v: &[i64]) {
        let v32: Vec<i32> = v.iter().map(|&x| x as i32).collect();
        q.graph.tensor_mut(b).data = Some(bytemuck::cast_slice(&v32).to_vec().into());
    }

    #[test]
    fn a_shifted_bias_is_put_back_and_nothing_else_changes() {
        let (g, samples) = fc_graph();
        let mut q = quantized(&g, &samples);
        let (b, original) = fc_bias(&q);
        let mut shifted = original.clone();
        shifted[0] += 4000;
        shifted[2] -= 2500;
        set_bias(&mut q, b, &shifted);
        let before = q.graph.clone();
        let r = correct_biases(
            &g,
            &mut q,
            &samples,
            &BiasCorrectionOptions::default(),
            &|| {},
        )
        .expect("correct");
        assert_eq!((r.layers, r.channels, r.samples), (1, 4, 24));
        let (_, after) = fc_bias(&q);
        // A shift of thousands of bias steps (tens of output steps) is a clear mean error:
        // put back to within the few steps that the original rounding itself leaves.
        let scale = q.graph.tensor(b).quant.as_ref().expect("bias params").scale[0] as f64;
        let out_scale = q.graph.nodes[0]
            .outputs
            .first()
            .and_then(|&t| q.graph.tensor(t).quant.clone())
            .map_or(1.0, |p| p.scale[0] as f64);
        let tolerance = (out_scale / scale).ceil() as i64;
        for c in [0, 2] {
            assert!(
                (after[c] - original[c]).abs() <= tolerance,
                "channel {c}: original {} shifted {} corrected {} (tolerance {tolerance})",
                original[c],
                shifted[c],
                after[c]
            );
        }
        for (t0, t1) in before.tensors.iter().zip(&q.graph.tensors) {
            assert_eq!(t0.quant, t1.quant, "{}", t0.name);
            if t0.name != before.tensor(b).name {
                assert_eq!(t0.data, t1.data, "{}", t0.name);
            }
        }
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let (g, samples) = fc_graph();
        let run = |threads: usize| {
            let mut q = quantized(&g, &samples);
            let (b, mut v) = fc_bias(&q);
            v[1] += 3000;
            set_bias(&mut q, b, &v);
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| {
                    correct_biases(
                        &g,
                        &mut q,
                        &samples,
                        &BiasCorrectionOptions::default(),
                        &|| {},
                    )
                })
                .expect("correct");
            fc_bias(&q).1
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 5 % critical values (97.5 % quantiles), Student's t tables.
        for (dof, want, tol) in [
            (3.0, 3.182, 0.01),
            (4.0, 2.776, 0.003),
            (7.0, 2.365, 0.003),
            (31.0, 2.040, 0.003),
            (63.0, 1.998, 0.003),
            (1e9, 1.960, 0.003),
        ] {
            let got = student_t_quantile(0.975, dof);
            assert!(
                (got - want).abs() / want < tol,
                "dof {dof}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn one_sample_changes_nothing() {
        let (g, samples) = fc_graph();
        let mut q = quantized(&g, &samples);
        let (b, mut v) = fc_bias(&q);
        v[0] += 4000;
        set_bias(&mut q, b, &v);
        let r = correct_biases(
            &g,
            &mut q,
            &samples[..1],
            &BiasCorrectionOptions::default(),
            &|| {},
        )
        .expect("correct");
        assert_eq!(r.corrected, 0);
        assert_eq!(fc_bias(&q).1, v);
    }

    #[test]
    fn a_small_memory_budget_uses_fewer_samples() {
        let (g, samples) = fc_graph();
        let shifted = |q: &mut Quantized| {
            let (b, mut v) = fc_bias(q);
            v[3] += 4000;
            set_bias(q, b, &v);
        };
        let mut limited = quantized(&g, &samples);
        shifted(&mut limited);
        let opts = BiasCorrectionOptions {
            memory_budget: 0,
            ..BiasCorrectionOptions::default()
        };
        let r = correct_biases(&g, &mut limited, &samples, &opts, &|| {}).expect("correct");
        assert!(r.memory_limited);
        assert_eq!(r.samples, 2);

        let mut two = quantized(&g, &samples);
        shifted(&mut two);
        let r = correct_biases(&g, &mut two, &samples[..2], &Default::default(), &|| {})
            .expect("correct");
        assert!(!r.memory_limited);
        assert_eq!(fc_bias(&limited).1, fc_bias(&two).1);
    }

    /// Two FULLY_CONNECTED layers in a row: the second is measured after the first's
    /// correction, so shifting only the first bias leaves the second one alone.
    #[test]
    fn later_layers_are_measured_after_earlier_corrections() {
        let (mut g, samples) = fc_graph();
        let y = g.outputs[0];
        let w2: Vec<f32> = (0..16).map(|i| ((i * 5 % 7) as f32 - 3.0) / 4.0).collect();
        let w2 = g.add_tensor(Tensor::from_f32("w2", vec![4, 4], &w2).expect("w2"));
        let b2 = g.add_tensor(Tensor::from_f32("b2", vec![4], &[0.0; 4]).expect("b2"));
        let z = g.add_tensor(Tensor::new("z", DType::F32, vec![1, 4]));
        g.add_node(
            "fc2",
            Op::FullyConnected(FullyConnected::default()),
            vec![Some(y), Some(w2), Some(b2)],
            vec![z],
        );
        g.outputs = vec![z];
        let bias_of = |q: &Quantized, name: &str| {
            let n = q.graph.nodes.iter().find(|n| n.name == name).expect("node");
            let b = n.inputs[2].expect("bias");
            (b, q.graph.tensor(b).int_data().expect("bias data"))
        };
        let mut reference = quantized(&g, &samples);
        correct_biases(&g, &mut reference, &samples, &Default::default(), &|| {}).expect("correct");
        let mut q = quantized(&g, &samples);
        let (b1, mut v1) = bias_of(&q, "fc");
        v1[1] += 5000;
        set_bias(&mut q, b1, &v1);
        let r = correct_biases(&g, &mut q, &samples, &Default::default(), &|| {}).expect("correct");
        assert_eq!((r.layers, r.channels), (2, 8));
        let out_scale = |q: &Quantized, name: &str| {
            let n = q.graph.nodes.iter().find(|n| n.name == name).expect("node");
            let (bs, os) = (
                q.graph.tensor(n.inputs[2].expect("bias")).quant.clone(),
                q.graph.tensor(n.outputs[0]).quant.clone(),
            );
            (os.expect("out").scale[0] / bs.expect("bias").scale[0]).ceil() as i64
        };
        let tolerance = out_scale(&q, "fc");
        let (got1, want1) = (bias_of(&q, "fc").1, bias_of(&reference, "fc").1);
        assert!(
            (got1[1] - want1[1]).abs() <= tolerance,
            "fc channel 1: {} vs {} (tolerance {tolerance})",
            got1[1],
            want1[1]
        );
        let tolerance = out_scale(&q, "fc2");
        for (c, (a, b)) in bias_of(&q, "fc2")
            .1
            .iter()
            .zip(bias_of(&reference, "fc2").1)
            .enumerate()
        {
            assert!((a - b).abs() <= tolerance, "fc2 channel {c}: {a} vs {b}");
        }
    }
}
