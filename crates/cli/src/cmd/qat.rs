//! `edgequant qat`: quantization-aware training of a spec or a float model, written as a
//! fully-integer .tflite from the learned ranges.

use super::quantize::{describe_io, Io};
use super::train::{
    load_trainable, load_training_data, run_training, set_threads, train_options, TrainArgs,
};
use crate::output::write_atomic;
use anyhow::{Context, Result};
use edgequant_qat::{export_float, export_int8, to_tflite, QatOptions};
use edgequant_quant::IntegerOptions;
use std::path::PathBuf;

/// Quantization-aware training, then conversion to a fully-integer .tflite (no representative
/// dataset: the ranges learned during training are used).
///
/// MODEL is a model description (docs/SPEC.md; trained from scratch) or a float .tflite/.onnx
/// model (fine-tuned). Fake quantization starts after --quant-delay steps; batch norms after
/// convolutions are folded with the batch-statistics correction and use their moving
/// statistics after --freeze-bn steps.
///
/// Examples:
///   edgequant qat specs/tutorial_cnn.spec --data train-images-idx3-ubyte --labels train-labels-idx1-ubyte --epochs 2 --quant-delay 1200 -o mnist_qat.tflite
///   edgequant qat float.tflite --data train-images-idx3-ubyte --labels train-labels-idx1-ubyte --epochs 1 --input-type int8 -o qat_int8.tflite
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model description (docs/SPEC.md) or float model (.tflite/.onnx).
    pub model: PathBuf,
    #[command(flatten)]
    pub common: TrainArgs,
    /// Steps of float training before fake quantization starts (observers run from step 0).
    #[arg(long, default_value_t = 0)]
    pub quant_delay: usize,
    /// Step after which batch norms use their moving statistics (default: never).
    #[arg(long)]
    pub freeze_bn: Option<usize>,
    /// Decay of the moving-average min/max observers.
    #[arg(long, default_value_t = 0.99)]
    pub ema_decay: f32,
    /// Type of the model's inputs.
    #[arg(long, value_enum, default_value_t = Io::Float32)]
    pub input_type: Io,
    /// Type of the model's outputs.
    #[arg(long, value_enum, default_value_t = Io::Float32)]
    pub output_type: Io,
    /// Also write the trained float model here.
    #[arg(long)]
    pub float_output: Option<PathBuf>,
    /// Output fully-integer .tflite (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `edgequant qat`.
pub fn main(args: Args) -> Result<()> {
    super::train::keep_freed_memory();
    set_threads(args.common.threads)?;
    if !(args.ema_decay.is_finite() && (0.0..1.0).contains(&args.ema_decay)) {
        anyhow::bail!("--ema-decay must be in [0, 1), got {}", args.ema_decay);
    }
    if matches!(args.input_type, Io::Int16) || matches!(args.output_type, Io::Int16) {
        anyhow::bail!("qat writes int8 models: --input-type/--output-type int16 is not available");
    }
    let mut model = load_trainable(&args.model, args.common.seed)?;
    super::train::print_summary(&model);
    let (ds, labels) = load_training_data(&model, &args.common)?;
    let mut opts = train_options(&args.common);
    opts.qat = Some(QatOptions {
        quant_delay: args.quant_delay,
        freeze_bn: args.freeze_bn,
        ema_decay: args.ema_decay,
    });
    run_training(&mut model, &ds, &labels, &opts, "qat")?;
    if let Some(p) = &args.float_output {
        let bytes = to_tflite(&export_float(&model)?, "edgequant qat (float)")?;
        write_atomic(p, &bytes)?;
        eprintln!("wrote '{}' ({} bytes, float32)", p.display(), bytes.len());
    }
    let q = export_int8(
        &model,
        &IntegerOptions {
            input_type: args.input_type.into(),
            output_type: args.output_type.into(),
            integer_only: true,
            ..IntegerOptions::default()
        },
    )
    .context("cannot convert the trained model to integers")?;
    let bytes = to_tflite(&q.graph, "edgequant qat")?;
    write_atomic(&args.output, &bytes)?;
    describe_io(&q.graph);
    eprintln!(
        "wrote '{}' ({} bytes, int8)",
        args.output.display(),
        bytes.len()
    );
    Ok(())
}
