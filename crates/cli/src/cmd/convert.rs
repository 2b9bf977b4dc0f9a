//! `edgequant convert`: re-serialize a model as .tflite.

use crate::model::{load, LoadOptions};
use crate::output::write_atomic;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Convert a .tflite or ONNX model to a float .tflite through edgequant's IR.
///
/// ONNX models get NHWC inputs and outputs unless --keep-io-layout is given.
///
/// Examples:
///   edgequant convert model.tflite -o copy.tflite
///   edgequant convert model.onnx --input-shape x=1,3,640,640 -o model.tflite
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model file (.tflite or .onnx).
    pub model: PathBuf,
    /// Output .tflite file (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fix a dynamic input dimension (ONNX): NAME=D0,D1,...
    #[arg(long = "input-shape", value_parser = super::run::parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Keep the ONNX (NCHW) layout at the model's inputs and outputs.
    #[arg(long)]
    pub keep_io_layout: bool,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    let opts = LoadOptions {
        input_shapes: args.input_shapes,
        keep_io_layout: args.keep_io_layout,
    };
    let m = load(&args.model, &opts)?;
    let description = if m.description.is_empty() {
        format!("edgequant {}", env!("CARGO_PKG_VERSION"))
    } else {
        m.description.clone()
    };
    let bytes = edgequant_tflite::write_model(&m.graph, &description)
        .with_context(|| format!("cannot write '{}' as .tflite", args.model.display()))?;
    write_atomic(&args.output, &bytes)?;
    eprintln!(
        "wrote {} ({} bytes, {} ops)",
        args.output.display(),
        bytes.len(),
        m.graph.nodes.len()
    );
    Ok(())
}
