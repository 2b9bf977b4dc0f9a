//! `edgequant bench`: batch-1 latency of the interpreter.

use crate::arrays::read_npy;
use crate::arrays::Array;
use crate::model::{load, LoadOptions};
use crate::values::check_inputs;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;

/// Measure the interpreter's latency on a model (one inference per run, after warm-up).
///
/// Without -i, inputs are deterministic pseudo-random values of the right shape and dtype.
///
/// Examples:
///   edgequant bench model.tflite --runs 50
///   edgequant bench model.tflite -i image.npy --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model file (.tflite or .onnx).
    pub model: PathBuf,
    /// Input arrays (.npy), one per model input.
    #[arg(short, long = "input")]
    pub inputs: Vec<PathBuf>,
    /// Timed runs.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Untimed warm-up runs.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn synthetic(g: &edgequant_ir::Graph) -> Vec<(String, Array)> {
    let mut state = 0x2545_f491_u32;
    g.inputs
        .iter()
        .map(|&id| {
            let t = g.tensor(id);
            let n = t.numel();
            let bytes = (0..n)
                .flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let v = (state >> 8) as f32 / (1u32 << 24) as f32;
                    match t.dtype {
                        edgequant_ir::DType::F32 => v.to_le_bytes().to_vec(),
                        _ => vec![(state >> 24) as u8; t.dtype.size()],
                    }
                })
                .collect();
            (
                t.name.clone(),
                Array {
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    bytes,
                },
            )
        })
        .collect()
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    super::run::set_threads(args.threads)?;
    let m = load(
        &args.model,
        &LoadOptions {
            keep_io_layout: true,
            ..Default::default()
        },
    )?;
    let arrays = if args.inputs.is_empty() {
        synthetic(&m.graph)
    } else {
        args.inputs
            .iter()
            .map(|p| Ok((p.display().to_string(), read_npy(p)?)))
            .collect::<Result<Vec<_>>>()?
    };
    let inputs = check_inputs(&m.graph, &arrays)?;
    let interp = edgequant_interp::Interpreter::new(&m.graph)
        .with_context(|| format!("cannot prepare '{}'", args.model.display()))?;
    for _ in 0..args.warmup {
        interp.run(inputs.clone()).context("inference failed")?;
    }
    let mut times = Vec::with_capacity(args.runs.max(1));
    for _ in 0..args.runs.max(1) {
        let t0 = Instant::now();
        interp.run(inputs.clone()).context("inference failed")?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let min = times[0];
    if args.json {
        println!(
            "{}",
            serde_json::json!({"model": args.model.display().to_string(), "runs": times.len(), "median_ms": median, "mean_ms": mean, "min_ms": min})
        );
    } else {
        println!(
            "{}: median {median:.3} ms, mean {mean:.3} ms, min {min:.3} ms over {} runs",
            args.model.display(),
            times.len()
        );
    }
    Ok(())
}
