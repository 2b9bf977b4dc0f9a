//! `edgequant demo`: the tutorial, end to end, on built-in data.

use super::quantize::{apply_mode, calibrator_kind, Calibrator, Io, Mode, Settings};
use crate::evaluate::{accuracy, latency_ms};
use crate::output::write_atomic;
use anyhow::{Context, Result};
use edgequant_calib::{load_dataset, read_labels, InputSpec, ReadOptions};
use edgequant_interp::Interpreter;
use edgequant_quant::{calibrate, prepare_float};
use std::path::{Path, PathBuf};

const FLOAT_MODEL: &[u8] = include_bytes!("../../../../fixtures/tutorial_cnn/float.tflite");
const CALIB_IMAGES: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/train-images-100.idx3.gz");
const TEST_IMAGES: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/test-images-1000.idx3.gz");
const TEST_LABELS: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/test-labels-1000.idx1.gz");

/// Quantize the tutorial MNIST CNN in every mode and compare accuracy, size and latency.
///
/// Needs no arguments and no network. The float model is the tutorial CNN (trained by
/// TensorFlow, fixtures/tutorial_cnn/float.tflite); calibration uses 100 MNIST training
/// images and evaluation 1,000 MNIST test images, all built into the binary. Every model is
/// written to the output folder and evaluated with edgequant's interpreter.
///
/// Examples:
///   edgequant demo
///   edgequant demo --out /tmp/demo
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output folder for the models.
    #[arg(long, default_value = "edgequant-demo")]
    pub out: PathBuf,
    /// Timed runs per model for the latency column.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let p = dir.join(name);
    write_atomic(&p, bytes)?;
    Ok(p)
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    std::fs::create_dir_all(args.out.join("data"))
        .with_context(|| format!("cannot create '{}'", args.out.display()))?;
    let data_dir = args.out.join("data");
    let calib_path = write(&data_dir, "train-images-100.idx3.gz", CALIB_IMAGES)?;
    let test_path = write(&data_dir, "test-images-1000.idx3.gz", TEST_IMAGES)?;
    let labels_path = write(&data_dir, "test-labels-1000.idx1.gz", TEST_LABELS)?;
    let float_path = write(&args.out, "float.tflite", FLOAT_MODEL)?;

    let model = edgequant_tflite::read_model(FLOAT_MODEL).context("built-in model")?;
    let float = prepare_float(&model.graph)?;
    let input = float.tensor(float.inputs[0]);
    let specs = vec![InputSpec::from_batched(input.name.clone(), &input.shape)?];
    let calib = load_dataset(&calib_path, &specs, &ReadOptions::default())?;
    let test = load_dataset(&test_path, &specs, &ReadOptions::default())?
        .with_labels(read_labels(&labels_path, None)?)?;
    let ranges = calibrate(
        &float,
        calib.samples(),
        calibrator_kind(Calibrator::Minmax),
        &|| {},
    )?;
    eprintln!(
        "tutorial CNN: calibrating on {} MNIST training images, evaluating on {} MNIST test images",
        calib.len(),
        test.len()
    );

    let mut rows: Vec<(String, PathBuf, edgequant_ir::Graph)> =
        vec![("float32".into(), float_path, float.clone())];
    let plans: [(&str, Settings); 4] = [
        ("dynamic range", Settings::new(Mode::Dynamic)),
        (
            "int8 (int8 I/O)",
            Settings {
                input_type: Io::Int8,
                output_type: Io::Int8,
                int8_only: true,
                ..Settings::new(Mode::Int8)
            },
        ),
        ("float16", Settings::new(Mode::Float16)),
        ("16x8", Settings::new(Mode::Int16x8)),
    ];
    for (label, s) in plans {
        let g = apply_mode(&float, &s, Some(&ranges))?;
        let bytes = edgequant_tflite::write_model(
            &g,
            &format!("edgequant {} demo", env!("CARGO_PKG_VERSION")),
        )?;
        let file = format!(
            "{}.tflite",
            label.split_whitespace().next().unwrap_or("model")
        );
        let p = write(&args.out, &file, &bytes)?;
        rows.push((label.to_string(), p, g));
    }

    println!(
        "{:<18} {:>9} {:>9} {:>11} {:>11}  file",
        "mode", "accuracy", "vs float", "size (B)", "latency"
    );
    let mut float_acc = None;
    for (label, path, g) in &rows {
        let size = std::fs::metadata(path)?.len();
        let result = Interpreter::new(g)
            .map_err(anyhow::Error::from)
            .and_then(|interp| {
                let acc = accuracy(&interp, g, &test, 1)?;
                let lat = latency_ms(&interp, g, &test.samples()[0], args.runs)?;
                Ok((acc, lat))
            });
        match result {
            Ok((acc, lat)) => {
                let pct = acc.percent();
                let base = *float_acc.get_or_insert(pct);
                println!(
                    "{label:<18} {pct:>8.2}% {:>+8.2}  {size:>11} {lat:>8.3} ms  {}",
                    pct - base,
                    path.display()
                );
            }
            Err(e) => println!(
                "{label:<18} {:>9} {:>9} {size:>11} {:>11}  {} ({})",
                "n/a",
                "",
                "",
                path.display(),
                format!("{e:#}")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
    println!("models written to {}", args.out.display());
    Ok(())
}
