//! `quantize --target-accuracy / --max-drop / --target-sqnr`: keep the fewest, most
//! sensitive layers in float until the quantized model meets a quality target.
//!
//! Sensitivity ranking: the quantized model is compared with the float model tensor by
//! tensor ([`crate::report::compare`]) on up to [`RANK_SAMPLES`] evaluation samples, and
//! every integer node is ranked by the SQNR it loses itself (its smallest input SQNR minus
//! its output SQNR, see [`crate::report::TensorStats::own_sqnr_db`]). The search walks that
//! ranking and keeps a node in float (alone, or else together with the quantized nodes that
//! read its outputs) when doing so improves the measured quality, until the target is met; if it never is, it tries every quantized node in float. Finally it drops
//! every kept node whose removal still meets the target, so the list is minimal.

use super::quantize::{apply_mode_with, Settings};
use crate::evaluate::{argmax, sample_inputs};
use crate::report::compare;
use anyhow::{bail, Context, Result};
use edgequant_calib::{read_labels, Dataset};
use edgequant_interp::{Interpreter, Parallelism};
use edgequant_ir::Graph;
use std::path::PathBuf;

/// Evaluation samples used for the sensitivity ranking, at most.
pub const RANK_SAMPLES: usize = 64;

/// Quality-target flags of `quantize` (int8 and int16x8 modes).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TargetArgs {
    /// Keep layers in float until the top-1 accuracy on --eval-data/--eval-labels is at
    /// least ACC percent (e.g. 98.5; a value ≤ 1 is read as a fraction).
    #[arg(long, value_name = "ACC", help_heading = "Quality target")]
    pub target_accuracy: Option<f64>,
    /// Keep layers in float until the accuracy is at most POINTS percentage points below the
    /// float model's.
    #[arg(long, value_name = "POINTS", help_heading = "Quality target")]
    pub max_drop: Option<f64>,
    /// Keep layers in float until every model output has an SQNR of at least DB decibels
    /// against the float model on --eval-data (no labels needed; for regression models).
    #[arg(long, value_name = "DB", help_heading = "Quality target")]
    pub target_sqnr: Option<f64>,
    /// Evaluation data for the target (same formats and --mean/--std/--resize as --data).
    #[arg(long, value_name = "PATH", help_heading = "Quality target")]
    pub eval_data: Option<PathBuf>,
    /// Labels of --eval-data (IDX or .npy), unless the data carries them.
    #[arg(long, value_name = "PATH", help_heading = "Quality target")]
    pub eval_labels: Option<PathBuf>,
    /// Use at most this many evaluation samples.
    #[arg(long, value_name = "N", help_heading = "Quality target")]
    pub eval_samples: Option<usize>,
}

/// A quality target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// Top-1 accuracy at least this many percent.
    Accuracy(f64),
    /// Accuracy at most this many points below the float model's.
    MaxDrop(f64),
    /// Smallest output SQNR at least this many dB.
    OutputSqnr(f64),
}

impl TargetArgs {
    /// The requested target, `None` when no target flag is given. Errors on conflicting or
    /// incomplete flags.
    pub fn target(&self) -> Result<Option<Target>> {
        let t = match (self.target_accuracy, self.max_drop, self.target_sqnr) {
            (None, None, None) => {
                if self.eval_data.is_some() || self.eval_labels.is_some() {
                    bail!("--eval-data/--eval-labels need a target: --target-accuracy, --max-drop or --target-sqnr");
                }
                return Ok(None);
            }
            (Some(a), None, None) => {
                let pct = if a <= 1.0 { a * 100.0 } else { a };
                if pct.is_nan() || pct <= 0.0 || pct > 100.0 {
                    bail!("--target-accuracy must be in (0, 100] percent, got {a}");
                }
                Target::Accuracy(pct)
            }
            (None, Some(d), None) => {
                if !d.is_finite() || d < 0.0 {
                    bail!("--max-drop must be a non-negative number of percentage points, got {d}");
                }
                Target::MaxDrop(d)
            }
            (None, None, Some(db)) => {
                if !db.is_finite() {
                    bail!("--target-sqnr must be a finite number of dB, got {db}");
                }
                Target::OutputSqnr(db)
            }
            _ => bail!("give only one of --target-accuracy, --max-drop and --target-sqnr"),
        };
        if self.eval_data.is_none() {
            bail!("a quality target needs evaluation data: pass --eval-data PATH");
        }
        Ok(Some(t))
    }
}

/// Smallest SQNR (dB) over the outputs of `quant` against the float outputs `reference`
/// (one vector per output per sample); `f64::INFINITY` when identical.
fn output_sqnr(quant: &Graph, data: &Dataset, reference: &[Vec<Vec<f32>>]) -> Result<f64> {
    let interp = Interpreter::new(quant)?;
    let n_out = quant.outputs.len();
    let mut sig = vec![0f64; n_out];
    let mut err = vec![0f64; n_out];
    for (si, (sample, want)) in data.samples().iter().zip(reference).enumerate() {
        let out = interp
            .run(sample_inputs(quant, sample)?)
            .with_context(|| format!("quantized model failed on evaluation sample {si}"))?;
        for (k, (v, x)) in out.iter().zip(want).enumerate() {
            let id = quant.outputs[k];
            let y = dequantize_output(quant, id, v)?;
            if y.len() != x.len() {
                bail!(
                    "output {k} has {} elements, the float model's has {}",
                    y.len(),
                    x.len()
                );
            }
            for (&a, &b) in x.iter().zip(&y) {
                sig[k] += (a as f64) * (a as f64);
                err[k] += (b as f64 - a as f64).powi(2);
            }
        }
    }
    Ok(sig
        .iter()
        .zip(&err)
        .map(|(&s, &e)| {
            if e == 0.0 {
                f64::INFINITY
            } else {
                10.0 * (s / e).log10()
            }
        })
        .fold(f64::INFINITY, f64::min))
}

fn dequantize_output(
    g: &Graph,
    id: edgequant_ir::TensorId,
    v: &edgequant_interp::TensorValue,
) -> Result<Vec<f32>> {
    use edgequant_interp::TensorData as D;
    let t = g.tensor(id);
    let sz = || -> Result<(f32, i32)> {
        let q = t.quant.as_ref().with_context(|| {
            format!("integer output '{}' has no quantization parameters", t.name)
        })?;
        Ok((q.scale[0], q.zero_point[0]))
    };
    Ok(match &v.data {
        D::F32(x) => x.clone(),
        D::I8(x) => {
            let (s, z) = sz()?;
            x.iter().map(|&q| (q as i32 - z) as f32 * s).collect()
        }
        D::U8(x) => {
            let (s, z) = sz()?;
            x.iter().map(|&q| (q as i32 - z) as f32 * s).collect()
        }
        D::I16(x) => {
            let (s, z) = sz()?;
            x.iter().map(|&q| (q as i32 - z) as f32 * s).collect()
        }
        other => bail!(
            "output '{}' has type {}, not comparable",
            t.name,
            other.dtype()
        ),
    })
}

/// Top-1 accuracy (percent) of `g` on `data`, samples spread over the rayon pool (one
/// single-threaded interpreter shared by all workers).
pub fn parallel_accuracy(g: &Graph, data: &Dataset) -> Result<f64> {
    use rayon::prelude::*;
    let labels = data.labels().context("the evaluation data has no labels")?;
    let interp = Interpreter::new(g)?.with_parallelism(Parallelism::None);
    let correct = data
        .samples()
        .par_chunks(64)
        .zip(labels.par_chunks(64))
        .enumerate()
        .map(|(c, (samples, labels))| -> Result<usize> {
            let mut ok = 0;
            for (i, (s, &l)) in samples.iter().zip(labels).enumerate() {
                let out = interp
                    .run(sample_inputs(g, s)?)
                    .with_context(|| format!("inference failed on sample {}", c * 64 + i))?;
                let first = out.first().context("the model has no outputs")?;
                ok += usize::from(argmax(first) == l as usize);
            }
            Ok(ok)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    Ok(100.0 * correct as f64 / labels.len().max(1) as f64)
}

/// The measured quality of one candidate model.
fn measure(q: &Graph, target: Target, data: &Dataset, reference: &[Vec<Vec<f32>>]) -> Result<f64> {
    match target {
        Target::OutputSqnr(_) => output_sqnr(q, data, reference),
        _ => parallel_accuracy(q, data),
    }
}

fn unit(target: Target) -> &'static str {
    match target {
        Target::OutputSqnr(_) => " dB output SQNR",
        _ => "% accuracy",
    }
}

/// Loads evaluation data (with labels for accuracy targets).
pub fn eval_dataset(mut data: Dataset, args: &TargetArgs, target: Target) -> Result<Dataset> {
    if !matches!(target, Target::OutputSqnr(_)) {
        if let Some(l) = &args.eval_labels {
            data = data.with_labels(read_labels(l, args.eval_samples)?)?;
        }
        if data.labels().is_none() {
            bail!("an accuracy target needs labels: pass --eval-labels PATH (IDX or .npy), or image folders with one sub-folder per class");
        }
    }
    Ok(data)
}

/// Quantizes `float` with `settings` (calibrated `ranges`, and the calibration `samples` for
/// bias correction), then keeps layers in float until `target` is met on `data`. Returns the final graph and the nodes kept in float by the search (besides
/// `settings.keep_float`). Progress and the result go to stderr.
///
/// Errors: the target is unreachable even with every quantized node in float (the message
/// gives the best value reached and the float model's), `--int8-only` when layers must stay
/// float, or evaluation failures.
pub fn quantize_to_target(
    float: &Graph,
    settings: &Settings,
    ranges: &[Option<(f32, f32)>],
    samples: &[edgequant_calib::Sample],
    target: Target,
    data: &Dataset,
) -> Result<(Graph, Vec<String>)> {
    let reference: Vec<Vec<Vec<f32>>> = if matches!(target, Target::OutputSqnr(_)) {
        let fi = Interpreter::new(float)?;
        data.samples()
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let out = fi
                    .run(sample_inputs(float, s)?)
                    .with_context(|| format!("float model failed on evaluation sample {i}"))?;
                out.into_iter()
                    .map(|v| v.into_f32().context("float model output is not float32"))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let float_score = match target {
        Target::OutputSqnr(_) => f64::INFINITY,
        _ => measure(float, target, data, &reference)?,
    };
    let (goal, goal_text) = match target {
        Target::Accuracy(a) => (a, format!("accuracy ≥ {a:.2}%")),
        Target::MaxDrop(d) => (
            float_score - d,
            format!(
                "accuracy ≥ {:.2}% (float {float_score:.2}% − {d})",
                float_score - d
            ),
        ),
        Target::OutputSqnr(db) => (db, format!("output SQNR ≥ {db:.2} dB")),
    };
    let meets = |v: f64| v >= goal - 1e-9;
    if !matches!(target, Target::OutputSqnr(_)) {
        eprintln!(
            "target: {goal_text}; float model: {float_score:.2}% on {} samples",
            data.len()
        );
    } else {
        eprintln!("target: {goal_text} on {} samples", data.len());
    }
    let build = |extra: &[String]| -> Result<Graph> {
        let mut s = settings.clone();
        s.keep_float.extend(extra.iter().cloned());
        apply_mode_with(float, &s, Some(ranges), samples, false)
    };
    let q0 = build(&[])?;
    let v0 = measure(&q0, target, data, &reference)?;
    eprintln!("quantized: {v0:.2}{}", unit(target));
    if meets(v0) {
        eprintln!("target met without keeping any layer in float");
        return Ok((q0, Vec::new()));
    }
    if settings.int8_only {
        bail!(
            "{goal_text} not met ({v0:.2}{}) and --int8-only forbids keeping layers in float: drop --int8-only to let edgequant keep the most sensitive layers in float",
            unit(target)
        );
    }
    let n_rank = data.len().min(RANK_SAMPLES);
    let ranking = compare(float, &q0, &data.samples()[..n_rank])?.sensitivity_ranking();
    let ranking: Vec<String> = ranking
        .into_iter()
        .filter(|n| !settings.keep_float.contains(n))
        .collect();
    if ranking.is_empty() {
        bail!(
            "{goal_text} not met ({v0:.2}{}) and no quantized layer is left to keep in float",
            unit(target)
        );
    }
    eprintln!(
        "sensitivity ranking ({n_rank} samples, noise added per layer): {}",
        ranking
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
            + if ranking.len() > 8 { ", …" } else { "" }
    );
    // Greedy in ranking order: keep a layer in float when that improves the result (keeping
    // a layer in float adds QUANTIZE/DEQUANTIZE around it, which does not always help).
    // A node alone may not help when the damage is on its output tensor (e.g. a clipped
    // range): that tensor only becomes float when its consumers are kept in float too, so
    // each node is tried alone and then with the quantized nodes that read its outputs.
    let consumers = float.consumers();
    let with_consumers = |name: &str| -> Vec<String> {
        let mut v = vec![name.to_string()];
        for n in float.nodes.iter().filter(|n| n.name == name) {
            for &o in &n.outputs {
                for c in &consumers[o.0] {
                    let cn = &float.nodes[c.0].name;
                    if ranking.contains(cn) && !v.contains(cn) {
                        v.push(cn.clone());
                    }
                }
            }
        }
        v
    };
    let mut kept: Vec<String> = Vec::new();
    let (mut graph, mut value) = (q0, v0);
    'walk: for cand in &ranking {
        if kept.contains(cand) {
            continue;
        }
        let group = with_consumers(cand);
        let groups = if group.len() > 1 {
            vec![vec![cand.clone()], group]
        } else {
            vec![group]
        };
        for group in groups {
            let mut trial = kept.clone();
            trial.extend(group.iter().filter(|n| !kept.contains(n)).cloned());
            let g = build(&trial)?;
            let v = measure(&g, target, data, &reference)?;
            let better = v > value;
            eprintln!(
                "  + {}: {v:.2}{}{}",
                group
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(" + "),
                unit(target),
                if better { "" } else { " (no gain, not kept)" }
            );
            if better {
                kept = trial;
                graph = g;
                value = v;
                if meets(value) {
                    break 'walk;
                }
                break;
            }
        }
    }
    if !meets(value) {
        // Every quantized layer in float, as a last resort.
        let g = build(&ranking)?;
        let v = measure(&g, target, data, &reference)?;
        eprintln!(
            "  all {} layer(s) in float: {v:.2}{}",
            ranking.len(),
            unit(target)
        );
        if !meets(v) {
            bail!(
                "{goal_text} is not reachable: the best is {:.2}{} (with all {} quantized layers kept in float: {v:.2}){}",
                value.max(v),
                unit(target),
                ranking.len(),
                if matches!(target, Target::OutputSqnr(_)) {
                    String::new()
                } else {
                    format!("; float model {float_score:.2}%")
                }
            );
        }
        kept = ranking.clone();
        graph = g;
        value = v;
    }
    // Drop layers that turn out unnecessary, least sensitive first.
    if kept.len() > 1 {
        for i in (0..kept.len()).rev() {
            let mut trial = kept.clone();
            trial.remove(i);
            let g = build(&trial)?;
            let v = measure(&g, target, data, &reference)?;
            if meets(v) {
                eprintln!("  − '{}': {v:.2}{} — not needed", kept[i], unit(target));
                kept = trial;
                graph = g;
                value = v;
            }
        }
    }
    eprintln!(
        "target met: {value:.2}{} with {} layer(s) kept in float: {}",
        unit(target),
        kept.len(),
        kept.join(", ")
    );
    Ok((graph, kept))
}
