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
use edgequant_ir::passes::DeadCode;
use edgequant_ir::{run_passes, DType, Graph, Op, TensorId};

/// Options of [`correct_biases`].
#[derive(Clone, Debug)]
pub struct BiasCorrectionOptions {
    /// Samples used (the first ones of the calibration data); time grows linearly with them,
    /// and so does the memory of staged runs (see [`correct_biases`]).
    pub max_samples: usize,
    /// Two-sided significance level of the per-channel test: a channel is corrected when its
    /// mean error differs from 0 at this level by Student's t test on the per-sample mean
    /// errors (`|mean| > t(1 − level/2, n − 1) × standard error`; at least 2 samples).
    pub level: f64,
    /// Bytes that all samples' parked staged runs may hold at once (see [`correct_biases`]);
    /// `None`: one float run's peak activation memory ([`Interpreter::memory_plan`]), so
    /// that the parked values add at most that much to a prefix run's memory.
    pub memory_budget: Option<usize>,
}

impl Default for BiasCorrectionOptions {
    fn default() -> Self {
        BiasCorrectionOptions {
            max_samples: 64,
            level: 0.05,
            memory_budget: None,
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
    /// Layers measured on staged runs rather than on prefix graphs.
    pub staged: usize,
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

/// `graph` reduced to the nodes that `out` depends on, with `out` as its only output (the
/// dead-code pass; tensor ids are renumbered, inputs keep their order).
fn prefix(graph: &Graph, out: TensorId) -> Result<Graph, QuantError> {
    let mut g = graph.clone();
    g.outputs = vec![out];
    run_passes(&mut g, &[&DeadCode])?;
    Ok(g)
}

/// Per-sample channel errors of `t`, each sample's float and integer graphs run from the
/// inputs up to the layer (prefix graphs).
fn prefix_errors(
    float: &Graph,
    q: &Graph,
    t: &Target,
    samples: &[Sample],
    qp: (f32, i32),
) -> Result<Vec<Vec<Option<f64>>>, QuantError> {
    let fsub = prefix(float, t.out_f)?;
    let fi = Interpreter::new_unfused(&fsub)?.with_parallelism(Parallelism::None);
    let qsub = prefix(q, t.out_q)?;
    let qi = Interpreter::new_unfused(&qsub)?.with_parallelism(Parallelism::None);
    samples
        .iter()
        .map(|s| -> Result<Vec<Option<f64>>, QuantError> {
            let (fo, qo) = (
                fi.run(sample_inputs(float, s)?)?,
                qi.run(sample_inputs(q, s)?)?,
            );
            Ok(match (fo.first(), qo.first()) {
                (Some(f), Some(v)) => channel_errors(v, f, t.channels, qp),
                _ => vec![None; t.channels],
            })
        })
        .collect()
}

/// Where a layer's outputs are computed in the full float and integer graphs' step order:
/// the float step, and the integer step.
type Steps = (usize, usize);

/// Which layers are measured on staged runs ([`StagedRun`]) and at which steps: `Some` where
/// the float and integer steps come after the previous staged layer's (so the runs only move
/// forward) and all samples' parked values fit in `budget` bytes (`None`: one float run's peak
/// activation memory); `None` where the layer is measured on prefix graphs.
fn staged_plan(
    float: &Graph,
    q: &Graph,
    list: &[Target],
    samples: usize,
    budget: Option<usize>,
) -> Result<Vec<Option<Steps>>, QuantError> {
    let fi = Interpreter::new_unfused(float)?;
    let qi = Interpreter::new_unfused(q)?;
    let budget = budget.unwrap_or_else(|| fi.memory_plan().peak_activation_bytes);
    let (parked_f, parked_q) = (fi.parked_bytes(), qi.parked_bytes());
    let mut last: Option<Steps> = None;
    Ok(list
        .iter()
        .map(|t| {
            let steps = fi
                .step_computing(t.out_f)
                .zip(qi.step_computing(t.out_q))
                .filter(|&(sf, sq)| {
                    let forward = last.is_none_or(|(lf, lq)| sf > lf && sq > lq);
                    let held = parked_f.get(sf + 1).copied().unwrap_or(usize::MAX)
                        + parked_q.get(sq).copied().unwrap_or(usize::MAX);
                    forward && held.saturating_mul(samples) <= budget
                });
            last = steps;
            steps
        })
        .collect())
}

/// Every sample's float and integer runs, parked between steps.
struct Staged {
    fi: Interpreter,
    qi: Interpreter,
    runs: Vec<(StagedRun, StagedRun)>,
}

impl Staged {
    fn start(float: &Graph, q: &Graph, samples: &[Sample]) -> Result<Staged, QuantError> {
        let fi = Interpreter::new_unfused(float)?.with_parallelism(Parallelism::None);
        let qi = Interpreter::new_unfused(q)?.with_parallelism(Parallelism::None);
        let runs = samples
            .iter()
            .map(|s| -> Result<_, QuantError> {
                Ok((
                    fi.start(sample_inputs(float, s)?)?,
                    qi.start(sample_inputs(q, s)?)?,
                ))
            })
            .collect::<Result<_, _>>()?;
        Ok(Staged { fi, qi, runs })
    }

    /// Per-sample channel errors of `t`: each float run advances past step `sf` (which
    /// computes `t`'s float output), each integer run up to step `sq`, whose output is computed
    /// without running it, so that a corrected bias is used when the run goes on.
    fn errors(
        &mut self,
        t: &Target,
        (sf, sq): Steps,
        qp: (f32, i32),
    ) -> Result<Vec<Vec<Option<f64>>>, QuantError> {
        let Staged { fi, qi, runs } = self;
        runs.iter_mut()
            .map(|(fr, qr)| -> Result<Vec<Option<f64>>, QuantError> {
                let mut f = None;
                fi.run_steps(fr, sf + 1, &mut |id, v| {
                    if id == t.out_f {
                        f = Some(v.clone());
                    }
                })?;
                qi.run_steps(qr, sq, &mut |_, _| {})?;
                let v = qi
                    .peek_step(qr, sq)?
                    .into_iter()
                    .find(|(id, _)| *id == t.out_q);
                Ok(match (f, v) {
                    (Some(f), Some((_, v))) => channel_errors(&v, &f, t.channels, qp),
                    _ => vec![None; t.channels],
                })
            })
            .collect()
    }
}

/// Corrects the integer biases of `q` (see the module documentation) so that on `samples`
/// every corrected layer's per-channel mean output (unsaturated positions) matches `float`'s,
/// the float graph `q` was quantized from (same inputs). `progress()` is called once per
/// examined layer.
///
/// Each layer is measured one of two ways, with the same result: on staged runs, where every
/// sample's float and integer runs are parked between steps and advance layer by layer (about
/// one run of each graph per sample in all), when all samples' parked values fit in
/// [`BiasCorrectionOptions::memory_budget`]; otherwise by running each sample's float and
/// integer graphs from the inputs up to the layer (time grows with layers² × samples).
/// Samples run one after the other on the calling thread, so that beyond the parked values
/// memory holds one sample's activations at a time (per-thread allocator arenas made parallel
/// runs cost tens of MiB of peak memory on hand_landmark_lite). Deterministic: per-sample
/// means are summed in sample order and the kernels' results do not depend on the thread
/// count. Errors name the node whose run failed.
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
        staged: 0,
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
    let plan = staged_plan(float, &q.graph, &list, samples.len(), opts.memory_budget)?;
    report.staged = plan.iter().flatten().count();

    let mut staged: Option<Staged> = None;
    let mut stale = false;
    for (t, steps) in list.iter().zip(&plan) {
        let qp = q
            .graph
            .tensor(t.out_q)
            .quant
            .as_ref()
            .map_or((1.0, 0), |p| (p.scale[0], p.zero_point[0]));
        let errs = match *steps {
            Some(steps) => {
                let s = match staged.take() {
                    Some(mut s) => {
                        if stale {
                            s.qi = Interpreter::new_unfused(&q.graph)?
                                .with_parallelism(Parallelism::None);
                        }
                        staged.insert(s)
                    }
                    None => staged.insert(Staged::start(float, &q.graph, samples)?),
                };
                stale = false;
                s.errors(t, steps, qp)?
            }
            None => {
                staged = None;
                prefix_errors(float, &q.graph, t, samples, qp)?
            }
        };
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
            stale = true;
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

    fn bias_of(q: &Quantized, name: &str) -> (TensorId, Vec<i64>) {
        let n = q.graph.nodes.iter().find(|n| n.name == name).expect("node");
        let b = n.inputs[2].expect("bias");
        (b, q.graph.tensor(b).int_data().expect("bias data"))
    }

    fn fc_bias(q: &Quantized) -> (TensorId, Vec<i64>) {
        bias_of(q, "fc")
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

    /// Two FULLY_CONNECTED layers in a row, `fc` then `fc2`.
    fn two_fc_graph() -> (Graph, Vec<Sample>) {
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
        (g, samples)
    }

    /// Shifting the first layer's bias and correcting gives (within one output step) the
    /// biases that correcting the unshifted model gives: the second layer is measured after
    /// the first one's correction. Holds for both ways of measuring, which agree exactly.
    #[test]
    fn later_layers_are_measured_after_earlier_corrections_staged_or_not() {
        let (g, samples) = two_fc_graph();
        let mut reference = quantized(&g, &samples);
        correct_biases(&g, &mut reference, &samples, &Default::default(), &|| {}).expect("correct");
        let mut results = Vec::new();
        for (budget, staged) in [(Some(0), 0), (Some(usize::MAX), 2)] {
            let mut q = quantized(&g, &samples);
            let (b1, mut v1) = bias_of(&q, "fc");
            v1[1] += 5000;
            set_bias(&mut q, b1, &v1);
            let opts = BiasCorrectionOptions {
                memory_budget: budget,
                ..Default::default()
            };
            let r = correct_biases(&g, &mut q, &samples, &opts, &|| {}).expect("correct");
            assert_eq!((r.layers, r.channels, r.staged), (2, 8, staged));
            for name in ["fc", "fc2"] {
                let n = q.graph.nodes.iter().find(|n| n.name == name).expect("node");
                let (bs, os) = (
                    q.graph.tensor(n.inputs[2].expect("bias")).quant.clone(),
                    q.graph.tensor(n.outputs[0]).quant.clone(),
                );
                let step = (os.expect("out").scale[0] / bs.expect("bias").scale[0]).ceil() as i64;
                for (c, (a, b)) in bias_of(&q, name)
                    .1
                    .iter()
                    .zip(bias_of(&reference, name).1)
                    .enumerate()
                {
                    assert!(
                        (a - b).abs() <= step,
                        "{name} channel {c}: {a} vs {b} (budget {budget:?})"
                    );
                }
            }
            results.push((bias_of(&q, "fc").1, bias_of(&q, "fc2").1));
        }
        assert_eq!(
            results[0], results[1],
            "staged and prefix measurements differ"
        );
    }
}
