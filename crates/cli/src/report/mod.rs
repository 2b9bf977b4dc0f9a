//! Per-tensor comparison of a float model and its quantized version (`edgequant compare`),
//! and the self-contained HTML report drawn from it ([`html`]).
//!
//! Both graphs run on the same samples; every tensor the interpreter computes is observed
//! through [`Interpreter::run_with_hook`]. Tensors are matched by name (quantization keeps
//! the float tensor names; at a float model boundary the integer tensor inside is
//! `NAME_quantized`), then, for what is left, by graph structure (the n-th compute node of
//! one graph against the n-th of the other when both graphs have the same sequence of
//! compute ops, QUANTIZE/DEQUANTIZE ignored). Integer values are dequantized with their
//! tensor's scale and zero point before any statistic is computed.

pub mod html;

use crate::evaluate::sample_inputs;
use anyhow::{Context, Result};
use edgequant_calib::Sample;
use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, Op, TensorId};
use serde::Serialize;
use std::collections::HashMap;

/// How a float tensor was paired with a tensor of the quantized model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Same tensor name, or `NAME_quantized` for an integer copy of a float boundary tensor.
    Name,
    /// Same position in the sequence of compute nodes (names differ).
    Structure,
}

/// Quantization of a tensor in the quantized model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantInfo {
    /// Element type (`int8`, `uint8`, `int16`, `int32`).
    pub dtype: String,
    pub scale: f32,
    pub zero_point: i32,
    /// Smallest and largest float value the integer type can represent:
    /// `(qmin - zero_point) * scale`, `(qmax - zero_point) * scale`.
    pub representable: (f32, f32),
}

/// Error statistics of one matched tensor over all compared samples.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorStats {
    /// Tensor name in the float model.
    pub name: String,
    /// Tensor name in the quantized model.
    pub quant_name: String,
    /// Node of the float model that produces the tensor (`None` for model inputs); this is
    /// the name `--keep-float` takes.
    pub node: Option<String>,
    /// Op type of that node (e.g. `CONV_2D`).
    pub op: Option<String>,
    pub shape: Vec<usize>,
    pub matched_by: MatchKind,
    /// `None` when the tensor is float in the quantized model too.
    pub quant: Option<QuantInfo>,
    /// Signal-to-quantization-noise ratio, `10 log10(Σx² / Σ(x−y)²)` in dB (x float, y
    /// dequantized); `None` when the two tensors are identical (infinite SQNR).
    pub sqnr_db: Option<f64>,
    /// SQNR of the noise this node adds itself, in dB: with n_out = 10^(−SQNR_out/10) and
    /// n_in the same for the noisiest matched activation input (0 for a model input),
    /// `−10 log10(n_out − n_in)`, i.e. the output SQNR the node would have on exact inputs if
    /// relative noise passed through unchanged. `None` when the node adds no noise
    /// (n_out ≤ n_in). Low values mark the layers that hurt most by themselves.
    pub own_sqnr_db: Option<f64>,
    /// Mean of (y − x)².
    pub mse: f64,
    /// Largest |y − x|.
    pub max_abs_error: f64,
    /// Mean of (y − x) (bias of the quantized tensor).
    pub mean_error: f64,
    /// Smallest and largest value of the float tensor over all samples.
    pub float_range: (f32, f32),
    /// Fraction of float values that fall outside the representable range by more than half
    /// a step (and so saturate at qmin or qmax); 0 for float tensors.
    pub clipped_fraction: f64,
    /// Number of elements compared (elements × samples).
    pub count: u64,
}

/// SQNR values above this many dB are drawn at this height in plots (int16 activations reach
/// about 90 dB; identical tensors are infinite).
pub const SQNR_CAP_DB: f64 = 120.0;

/// The result of [`compare`]: one entry per matched tensor, in the float model's execution
/// order, plus the float tensors that found no partner.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub samples: usize,
    pub tensors: Vec<TensorStats>,
    /// Indices into `tensors` of the float model's outputs, in output order.
    pub outputs: Vec<usize>,
    /// Float tensors computed at run time that have no counterpart in the quantized model.
    pub unmatched: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct Acc {
    sig2: f64,
    err2: f64,
    err_sum: f64,
    max_abs: f64,
    count: u64,
    clipped: u64,
    lo: f32,
    hi: f32,
}

/// A tensor's elements as float32, integers dequantized with the tensor's (per-tensor)
/// scale and zero point of `graph`. `None` for types without a float meaning.
fn dequantized(graph: &Graph, id: TensorId, v: &TensorValue) -> Option<Vec<f32>> {
    let q = graph
        .tensor(id)
        .quant
        .as_ref()
        .and_then(|q| Some((*q.scale.first()?, *q.zero_point.first()?)));
    let deq = |x: i64| -> Option<f32> {
        let (s, z) = q?;
        Some(((x - z as i64) as f64 * s as f64) as f32)
    };
    match &v.data {
        TensorData::F32(x) => Some(x.clone()),
        TensorData::F16(x) => Some(x.iter().map(|h| h.to_f32()).collect()),
        TensorData::I8(x) => x.iter().map(|&a| deq(a as i64)).collect(),
        TensorData::U8(x) => x.iter().map(|&a| deq(a as i64)).collect(),
        TensorData::I16(x) => x.iter().map(|&a| deq(a as i64)).collect(),
        TensorData::I32(x) => x.iter().map(|&a| deq(a as i64)).collect(),
        TensorData::I64(_) | TensorData::Bool(_) => None,
    }
}

fn quant_info(graph: &Graph, id: TensorId) -> Option<QuantInfo> {
    let t = graph.tensor(id);
    let q = t.quant.as_ref()?;
    let (qmin, qmax) = match t.dtype {
        DType::I8 | DType::U8 | DType::I16 | DType::I32 => t.dtype.int_range()?,
        _ => return None,
    };
    let (s, z) = (*q.scale.first()?, *q.zero_point.first()?);
    Some(QuantInfo {
        dtype: t.dtype.to_string(),
        scale: s,
        zero_point: z,
        representable: (
            ((qmin - z as i64) as f64 * s as f64) as f32,
            ((qmax - z as i64) as f64 * s as f64) as f32,
        ),
    })
}

fn is_compute(g: &Graph, n: &edgequant_ir::Node) -> bool {
    !matches!(n.op, Op::Quantize(_) | Op::Dequantize(_))
        && n.inputs.iter().flatten().any(|&t| !g.tensor(t).is_const())
}

fn compute_nodes(g: &Graph) -> Result<Vec<usize>> {
    Ok(g.topo_order()?
        .into_iter()
        .map(|n| n.0)
        .filter(|&n| is_compute(g, &g.nodes[n]))
        .collect())
}

/// Pairs float tensors (non-constant float32) with tensors of the quantized graph.
fn match_tensors(float: &Graph, quant: &Graph) -> Result<Vec<(TensorId, TensorId, MatchKind)>> {
    let by_name: HashMap<&str, TensorId> = quant
        .tensors
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| (t.name.as_str(), TensorId(i)))
        .collect();
    let is_int = |id: TensorId| {
        quant.tensor(id).quant.is_some() && quant.tensor(id).dtype.int_range().is_some()
    };
    let mut pairs: HashMap<TensorId, (TensorId, MatchKind)> = HashMap::new();
    for (i, t) in float.tensors.iter().enumerate() {
        if t.is_const() || t.dtype != DType::F32 {
            continue;
        }
        let same = by_name.get(t.name.as_str()).copied();
        let inner = by_name
            .get(format!("{}_quantized", t.name).as_str())
            .copied();
        let chosen = match (same, inner) {
            (Some(s), _) if is_int(s) => Some(s),
            (_, Some(q)) if is_int(q) => Some(q),
            (Some(s), _) if !quant.tensor(s).is_const() => Some(s),
            _ => None,
        };
        if let Some(q) = chosen {
            pairs.insert(TensorId(i), (q, MatchKind::Name));
        }
    }
    let (fc, qc) = (compute_nodes(float)?, compute_nodes(quant)?);
    let same_ops = fc.len() == qc.len()
        && fc
            .iter()
            .zip(&qc)
            .all(|(&a, &b)| float.nodes[a].op.name() == quant.nodes[b].op.name());
    if same_ops {
        for (&a, &b) in fc.iter().zip(&qc) {
            for (&fo, &qo) in float.nodes[a].outputs.iter().zip(&quant.nodes[b].outputs) {
                if float.tensor(fo).dtype == DType::F32 {
                    pairs.entry(fo).or_insert((qo, MatchKind::Structure));
                }
            }
        }
        // Model inputs: the integer copy made by the first QUANTIZE, else the input itself.
        for (&fi, &qi) in float.inputs.iter().zip(&quant.inputs) {
            if pairs.contains_key(&fi) {
                continue;
            }
            let q = quant
                .nodes
                .iter()
                .find(|n| matches!(n.op, Op::Quantize(_)) && n.inputs.first() == Some(&Some(qi)))
                .map_or(qi, |n| n.outputs[0]);
            pairs.insert(fi, (q, MatchKind::Structure));
        }
    }
    let mut v: Vec<_> = pairs.into_iter().map(|(f, (q, k))| (f, q, k)).collect();
    v.sort_by_key(|p| p.0);
    Ok(v)
}

/// Runs `float` and `quant` on every sample (float inputs; integer model inputs are quantized
/// with their scale and zero point) and returns per-tensor error statistics.
///
/// Errors: a graph the interpreter cannot run, samples that do not fit the models, or two
/// models without any matching tensor.
pub fn compare(float: &Graph, quant: &Graph, samples: &[Sample]) -> Result<Comparison> {
    let fi = Interpreter::new_unfused(float).context("cannot prepare the float model")?;
    let qi = Interpreter::new_unfused(quant).context("cannot prepare the quantized model")?;
    let pairs = match_tensors(float, quant)?;
    let quant_of: HashMap<TensorId, usize> =
        pairs.iter().enumerate().map(|(k, p)| (p.1, k)).collect();
    let float_of: HashMap<TensorId, usize> =
        pairs.iter().enumerate().map(|(k, p)| (p.0, k)).collect();
    let infos: Vec<Option<QuantInfo>> = pairs.iter().map(|p| quant_info(quant, p.1)).collect();
    let mut acc = vec![
        Acc {
            lo: f32::INFINITY,
            hi: f32::NEG_INFINITY,
            ..Acc::default()
        };
        pairs.len()
    ];
    let mut seen_f = vec![false; pairs.len()];
    let mut seen_q = vec![false; pairs.len()];
    for (si, sample) in samples.iter().enumerate() {
        let mut fvals: Vec<Option<Vec<f32>>> = vec![None; pairs.len()];
        fi.run_with_hook(sample_inputs(float, sample)?, &mut |id, v| {
            if let Some(&k) = float_of.get(&id) {
                fvals[k] = v.as_f32().map(|x| x.to_vec());
            }
        })
        .with_context(|| format!("float model failed on sample {si}"))?;
        let mut failure = None;
        qi.run_with_hook(sample_inputs(quant, sample)?, &mut |id, v| {
            let Some(&k) = quant_of.get(&id) else { return };
            let (Some(x), Some(y)) = (fvals[k].as_ref(), dequantized(quant, id, v)) else {
                return;
            };
            if x.len() != y.len() {
                failure.get_or_insert(format!(
                    "tensor '{}' has {} elements in the float model but {} in the quantized model",
                    float.tensor(pairs[k].0).name,
                    x.len(),
                    y.len()
                ));
                return;
            }
            seen_q[k] = true;
            let a = &mut acc[k];
            let clip = infos[k].as_ref().map(|q| {
                let half = q.scale as f64 / 2.0;
                (
                    q.representable.0 as f64 - half,
                    q.representable.1 as f64 + half,
                )
            });
            for (&xf, &yq) in x.iter().zip(&y) {
                let (xd, e) = (xf as f64, yq as f64 - xf as f64);
                a.sig2 += xd * xd;
                a.err2 += e * e;
                a.err_sum += e;
                a.max_abs = a.max_abs.max(e.abs());
                a.lo = a.lo.min(xf);
                a.hi = a.hi.max(xf);
                if let Some((lo, hi)) = clip {
                    if xd < lo || xd > hi {
                        a.clipped += 1;
                    }
                }
            }
            a.count += x.len() as u64;
        })
        .with_context(|| format!("quantized model failed on sample {si}"))?;
        if let Some(f) = failure {
            anyhow::bail!("{f}");
        }
        for (k, v) in fvals.iter().enumerate() {
            seen_f[k] |= v.is_some();
        }
    }
    let producers = float.producers();
    let mut tensors = Vec::new();
    let mut index_of: HashMap<TensorId, usize> = HashMap::new();
    let mut unmatched = Vec::new();
    for (k, &(f, q, kind)) in pairs.iter().enumerate() {
        if !(seen_f[k] && seen_q[k]) {
            continue;
        }
        let a = &acc[k];
        let n = a.count.max(1) as f64;
        let node = producers[f.0].map(|p| &float.nodes[p.0]);
        index_of.insert(f, tensors.len());
        tensors.push(TensorStats {
            name: float.tensor(f).name.clone(),
            quant_name: quant.tensor(q).name.clone(),
            node: node.map(|n| n.name.clone()),
            op: node.map(|n| n.op.name().to_string()),
            shape: float.tensor(f).shape.clone(),
            matched_by: kind,
            quant: infos[k].clone(),
            sqnr_db: (a.err2 > 0.0).then(|| 10.0 * (a.sig2 / a.err2).log10()),
            own_sqnr_db: None,
            mse: a.err2 / n,
            max_abs_error: a.max_abs,
            mean_error: a.err_sum / n,
            float_range: (a.lo, a.hi),
            clipped_fraction: a.clipped as f64 / n,
            count: a.count,
        });
    }
    let activations = float
        .tensors
        .iter()
        .filter(|t| !t.is_const() && t.dtype == DType::F32)
        .count();
    if tensors.len() * 2 < activations {
        anyhow::bail!(
            "only {} of the float model's {activations} activation tensors match a tensor of the quantized model (by name or by structure): are these two versions of the same model?",
            tensors.len()
        );
    }
    // Order by the float model's execution order; compute each node's own SQNR loss.
    let order = float.topo_order()?;
    let mut pos: HashMap<TensorId, usize> = HashMap::new();
    for (r, &t) in float.inputs.iter().enumerate() {
        pos.insert(t, r);
    }
    for (r, n) in order.iter().enumerate() {
        for &o in &float.nodes[n.0].outputs {
            pos.insert(o, float.inputs.len() + r);
        }
    }
    let noise = |s: Option<f64>| s.map_or(0.0, |d| 10f64.powf(-d / 10.0));
    let own: Vec<Option<f64>> = tensors
        .iter()
        .map(|t| {
            let id = float
                .tensors
                .iter()
                .position(|x| x.name == t.name)
                .map(TensorId);
            let input_sqnr = id
                .and_then(|id| producers[id.0])
                .map(|p| {
                    float.nodes[p.0]
                        .inputs
                        .iter()
                        .flatten()
                        .filter_map(|i| index_of.get(i))
                        .map(|&j| noise(tensors[j].sqnr_db))
                        .fold(0.0, f64::max)
                })
                .unwrap_or(0.0);
            let added = noise(t.sqnr_db) - input_sqnr;
            (added > 0.0).then(|| -10.0 * added.log10())
        })
        .collect();
    for (t, o) in tensors.iter_mut().zip(own) {
        t.own_sqnr_db = o;
    }
    let mut ids: Vec<(usize, TensorStats)> = tensors
        .into_iter()
        .map(|t| {
            let id = float
                .tensors
                .iter()
                .position(|x| x.name == t.name)
                .map(TensorId);
            (
                id.and_then(|i| pos.get(&i).copied()).unwrap_or(usize::MAX),
                t,
            )
        })
        .collect();
    ids.sort_by_key(|p| p.0);
    let tensors: Vec<TensorStats> = ids.into_iter().map(|p| p.1).collect();
    let outputs = float
        .outputs
        .iter()
        .filter_map(|&o| tensors.iter().position(|t| t.name == float.tensor(o).name))
        .collect();
    for (k, &(f, _, _)) in pairs.iter().enumerate() {
        if seen_f[k] && !seen_q[k] {
            unmatched.push(float.tensor(f).name.clone());
        }
    }
    let matched: std::collections::HashSet<TensorId> = pairs.iter().map(|p| p.0).collect();
    for (i, t) in float.tensors.iter().enumerate() {
        if !t.is_const() && t.dtype == DType::F32 && !matched.contains(&TensorId(i)) {
            unmatched.push(t.name.clone());
        }
    }
    Ok(Comparison {
        samples: samples.len(),
        tensors,
        outputs,
        unmatched,
    })
}

impl Comparison {
    /// Quantized (integer) nodes that add noise themselves, noisiest first (lowest
    /// [`TensorStats::own_sqnr_db`]); ties keep execution order.
    fn ranked(&self) -> Vec<&TensorStats> {
        let mut v: Vec<&TensorStats> = self
            .tensors
            .iter()
            .filter(|t| t.node.is_some() && t.quant.is_some() && t.own_sqnr_db.is_some())
            .collect();
        v.sort_by(|a, b| {
            a.own_sqnr_db
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.own_sqnr_db.unwrap_or(f64::INFINITY))
        });
        let mut seen = std::collections::HashSet::new();
        v.retain(|t| seen.insert(t.node.clone()));
        v
    }

    /// Layers recommended to keep in float, at most `max`, noisiest first: quantized nodes
    /// whose own noise is at least a tenth of the noise at the model output
    /// (own SQNR < output SQNR + 10 dB).
    pub fn keep_float_candidates(&self, max: usize) -> Vec<&TensorStats> {
        let limit = self.output_sqnr_db().map_or(f64::INFINITY, |s| s + 10.0);
        let mut v = self.ranked();
        v.retain(|t| t.own_sqnr_db.is_some_and(|o| o < limit));
        v.truncate(max);
        v
    }

    /// Every quantized node, those that add noise first (noisiest first), then the others
    /// by increasing output SQNR: the order `quantize --target-accuracy` tries keeping them
    /// in float.
    pub fn sensitivity_ranking(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ranked()
            .into_iter()
            .filter_map(|t| t.node.clone())
            .collect();
        let mut rest: Vec<&TensorStats> = self
            .tensors
            .iter()
            .filter(|t| t.quant.is_some() && t.node.as_ref().is_some_and(|n| !v.contains(n)))
            .collect();
        rest.sort_by(|a, b| {
            a.sqnr_db
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.sqnr_db.unwrap_or(f64::INFINITY))
        });
        for t in rest {
            if let Some(n) = &t.node {
                if !v.contains(n) {
                    v.push(n.clone());
                }
            }
        }
        v
    }

    /// Smallest SQNR (dB) over the model outputs; `None` if all outputs are identical.
    pub fn output_sqnr_db(&self) -> Option<f64> {
        self.outputs
            .iter()
            .map(|&i| self.tensors[i].sqnr_db.unwrap_or(f64::INFINITY))
            .reduce(f64::min)
            .filter(|s| s.is_finite())
    }

    /// The plain-text table printed by `edgequant compare`.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<40} {:<16} {:>8} {:>8} {:>10} {:>10} {:>10} {:>11} {:>5} {:>23} {:>23} {:>7}\n",
            "tensor",
            "op",
            "SQNR dB",
            "own dB",
            "MSE",
            "max |err|",
            "mean err",
            "scale",
            "zp",
            "float range",
            "representable",
            "clip %"
        );
        for t in &self.tensors {
            let name = if t.name.chars().count() > 40 {
                let tail: String = t
                    .name
                    .chars()
                    .rev()
                    .take(39)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("…{tail}")
            } else {
                t.name.clone()
            };
            let (scale, zp, repr) = match &t.quant {
                Some(q) => (
                    format!("{:.5e}", q.scale),
                    q.zero_point.to_string(),
                    format!("[{:.4}, {:.4}]", q.representable.0, q.representable.1),
                ),
                None => ("float".into(), "-".into(), "-".into()),
            };
            s += &format!(
                "{:<40} {:<16} {:>8} {:>8} {:>10.3e} {:>10.3e} {:>10.2e} {:>11} {:>5} {:>23} {:>23} {:>7.3}\n",
                name,
                t.op.as_deref().unwrap_or("(input)"),
                t.sqnr_db.map_or("inf".into(), |d| format!("{d:.2}")),
                t.own_sqnr_db.map_or("-".into(), |d| format!("{d:.2}")),
                t.mse,
                t.max_abs_error,
                t.mean_error,
                scale,
                zp,
                format!("[{:.4}, {:.4}]", t.float_range.0, t.float_range.1),
                repr,
                100.0 * t.clipped_fraction
            );
        }
        s
    }
}

/// Histogram of the float and of the dequantized quantized values of one tensor over the
/// same bins, for the report's range plots.
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    pub name: String,
    /// Left edge of the first bin and bin width.
    pub start: f64,
    pub width: f64,
    pub float_counts: Vec<u64>,
    pub quant_counts: Vec<u64>,
}

/// Histograms (`bins` bins spanning the union of the observed float range and the
/// representable range) of the named tensors, from a second run of both models.
pub fn histograms(
    float: &Graph,
    quant: &Graph,
    samples: &[Sample],
    stats: &[&TensorStats],
    bins: usize,
) -> Result<Vec<Histogram>> {
    let bins = bins.max(1);
    let find = |g: &Graph, name: &str| g.tensors.iter().position(|t| t.name == name).map(TensorId);
    let mut hs: Vec<(Option<TensorId>, Option<TensorId>, Histogram)> = stats
        .iter()
        .map(|t| {
            let (mut lo, mut hi) = (t.float_range.0 as f64, t.float_range.1 as f64);
            if let Some(q) = &t.quant {
                lo = lo.min(q.representable.0 as f64);
                hi = hi.max(q.representable.1 as f64);
            }
            if hi.is_nan() || lo.is_nan() || hi <= lo {
                hi = lo + 1.0;
            }
            (
                find(float, &t.name),
                find(quant, &t.quant_name),
                Histogram {
                    name: t.name.clone(),
                    start: lo,
                    width: (hi - lo) / bins as f64,
                    float_counts: vec![0; bins],
                    quant_counts: vec![0; bins],
                },
            )
        })
        .collect();
    let bin = |h: &Histogram, x: f32| -> usize {
        (((x as f64 - h.start) / h.width).floor().max(0.0) as usize).min(bins - 1)
    };
    let fi = Interpreter::new_unfused(float)?;
    let qi = Interpreter::new_unfused(quant)?;
    for sample in samples {
        fi.run_with_hook(sample_inputs(float, sample)?, &mut |id, v| {
            for (f, _, h) in hs.iter_mut() {
                if *f == Some(id) {
                    if let Some(x) = v.as_f32() {
                        for &a in x {
                            let b = bin(h, a);
                            h.float_counts[b] += 1;
                        }
                    }
                }
            }
        })?;
        qi.run_with_hook(sample_inputs(quant, sample)?, &mut |id, v| {
            for (_, q, h) in hs.iter_mut() {
                if *q == Some(id) {
                    if let Some(y) = dequantized(quant, id, v) {
                        for &a in &y {
                            let b = bin(h, a);
                            h.quant_counts[b] += 1;
                        }
                    }
                }
            }
        })?;
    }
    Ok(hs.into_iter().map(|h| h.2).collect())
}
