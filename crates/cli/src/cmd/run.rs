//! `edgequant run`: run a model on .npy inputs.

use crate::arrays::{read_npy, write_npz};
use crate::model::{load, LoadOptions};
use crate::values::{check_inputs, to_array};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Run a model with edgequant's interpreter on .npy inputs and save the outputs as .npz.
///
/// Inputs are given in the model's input order, in the model's own layout (NCHW for ONNX
/// models) and dtype. The .npz holds one array per model output, named by the output tensor
/// name, in output order.
///
/// Examples:
///   edgequant run model.tflite -i image.npy -o out.npz
///   edgequant run model.onnx -i x.npy --input-shape x=1,3,640,640 -o out.npz
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model file (.tflite or .onnx).
    pub model: PathBuf,
    /// Input arrays (.npy), one per model input, in order.
    #[arg(short, long = "input", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output .npz file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fix a dynamic input dimension set (ONNX): NAME=D0,D1,...
    #[arg(long = "input-shape", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Parses `NAME=D0,D1,...`.
pub fn parse_input_shape(s: &str) -> Result<(String, Vec<usize>), String> {
    let (name, dims) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("'{s}': expected NAME=D0,D1,..."))?;
    let dims = dims
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{s}': '{d}' is not a dimension"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), dims))
}

/// Sets the global worker thread count (once per process).
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot configure the thread pool")?;
    }
    Ok(())
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    set_threads(args.threads)?;
    let opts = LoadOptions {
        input_shapes: args.input_shapes,
        keep_io_layout: true,
    };
    let m = load(&args.model, &opts)?;
    let arrays = args
        .inputs
        .iter()
        .map(|p| Ok((p.display().to_string(), read_npy(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let inputs = check_inputs(&m.graph, &arrays)?;
    let interp = edgequant_interp::Interpreter::new(&m.graph)
        .with_context(|| format!("cannot prepare '{}'", args.model.display()))?;
    let outputs = interp.run(inputs).context("inference failed")?;
    let named: Vec<_> = m
        .graph
        .outputs
        .iter()
        .zip(&outputs)
        .map(|(&id, v)| (m.graph.tensor(id).name.clone(), to_array(v)))
        .collect();
    write_npz(&args.output, &named)?;
    Ok(())
}
