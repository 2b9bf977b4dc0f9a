//! `edgequant eval`: classification accuracy with edgequant's interpreter.

use crate::evaluate::accuracy;
use crate::model::{load, LoadOptions};
use anyhow::{Context, Result};
use edgequant_calib::{load_dataset, read_labels, InputSpec};
use edgequant_interp::Interpreter;
use std::path::PathBuf;

/// Top-k accuracy of a classifier on labelled data.
///
/// Data comes in every format `quantize` accepts (.npy, .npz, IDX, image folders with one
/// sub-folder per class); labels from an IDX label file or an integer .npy (not needed for
/// image folders with class sub-folders, or an .npz with a `labels` array). Models with
/// int8/uint8 inputs get their inputs quantized with the input's scale and zero point.
///
/// Examples:
///   edgequant eval mnist_int8.tflite --data t10k-images-idx3-ubyte --labels t10k-labels-idx1-ubyte
///   edgequant eval model.tflite --data photos/ --resize 224,224 --top 5 --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model file (.tflite or .onnx).
    pub model: PathBuf,
    /// Evaluation data.
    #[arg(long)]
    pub data: PathBuf,
    /// Labels (IDX or .npy), unless the data carries them.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Count a sample as correct when its label is among the top K outputs.
    #[arg(long, default_value_t = 1)]
    pub top: usize,
    /// Use at most this many samples.
    #[arg(long)]
    pub samples: Option<usize>,
    #[command(flatten)]
    pub pre: super::preprocess::PreprocessArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    let m = load(&args.model, &LoadOptions::default())?;
    let g = &m.graph;
    let specs = g
        .inputs
        .iter()
        .map(|&i| InputSpec::from_batched(g.tensor(i).name.clone(), &g.tensor(i).shape))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = args.pre.read_options(args.samples)?;
    let mut data = load_dataset(&args.data, &specs, &opts)
        .with_context(|| format!("cannot read '{}'", args.data.display()))?;
    if let Some(l) = &args.labels {
        data = data.with_labels(read_labels(l, args.samples)?)?;
    }
    let interp = Interpreter::new(g)
        .with_context(|| format!("cannot prepare '{}'", args.model.display()))?;
    let acc = accuracy(&interp, g, &data, args.top)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"model": args.model.display().to_string(), "top": args.top, "correct": acc.correct, "total": acc.total, "accuracy": acc.percent() / 100.0})
        );
    } else {
        println!(
            "{}: top-{} accuracy {:.2}% ({}/{})",
            args.model.display(),
            args.top,
            acc.percent(),
            acc.correct,
            acc.total
        );
    }
    Ok(())
}
