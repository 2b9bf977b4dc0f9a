//! `edgequant inspect`: describe a model.

pub use crate::describe::{describe, text};
use crate::model::{load, LoadOptions};
use anyhow::Result;
use std::path::PathBuf;

/// Show a model's inputs, outputs, tensors (with quantization) and op counts.
///
/// JSON (`--json`) is a stable interface, documented in docs/INSPECT_JSON.md: top-level keys
/// `format`, `size_bytes`, `inputs`, `outputs`, `tensors`, `ops`.
///
/// Examples:
///   edgequant inspect model.tflite
///   edgequant inspect model.onnx --json > model.json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model file (.tflite or .onnx).
    pub model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Fix a dynamic input dimension (ONNX): NAME=D0,D1,...
    #[arg(long = "input-shape", value_parser = super::run::parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    let m = load(
        &args.model,
        &LoadOptions {
            input_shapes: args.input_shapes.clone(),
            keep_io_layout: false,
        },
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&describe(&m))?);
        return Ok(());
    }
    print!("{}", text(&args.model, &m));
    Ok(())
}
