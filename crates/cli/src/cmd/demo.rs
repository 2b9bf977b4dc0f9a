//! `edgequant demo`: the tutorial, end to end, on built-in data.

use super::compare::write_report;
use super::quantize::{apply_mode, calibrator_kind, Calibrator, Io, Mode, Settings};
use super::target_accuracy::parallel_accuracy;
use super::train::run_training;
use crate::evaluate::latency_ms;
use crate::output::write_atomic;
use crate::report::compare;
use anyhow::{Context, Result};
use edgequant_calib::{load_dataset, read_labels, InputSpec, ReadOptions};
use edgequant_interp::Interpreter;
use edgequant_qat::{export_float, export_int8, to_tflite, QatOptions, Spec, TrainOptions};
use edgequant_quant::{calibrate, prepare_float, IntegerOptions, IoType};
use std::path::{Path, PathBuf};

const SPEC: &str = include_str!("../../../../specs/tutorial_cnn.spec");
const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/train-images-10k.idx3.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/train-labels-10k.idx1.gz");
const CALIB_IMAGES: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/train-images-100.idx3.gz");
const TEST_IMAGES: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/t10k-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] =
    include_bytes!("../../../../fixtures/mnist_subset/t10k-labels-idx1-ubyte.gz");
const LITERT_SCRIPT: &str = include_str!("demo_litert.py");

/// Train the tutorial MNIST CNN, quantize it in every mode (and quantization-aware), and
/// compare accuracy, size and latency.
///
/// Needs no arguments and no network. The tutorial CNN (specs/tutorial_cnn.spec) is trained
/// in float on 10,000 MNIST training images (3 epochs, Adam, batch 50), then fine-tuned
/// quantization-aware for 1 more epoch at a tenth of the learning rate into a fully-integer
/// model; post-training modes
/// calibrate on 100 MNIST training images; evaluation uses the 10,000 MNIST test images, all
/// built into the binary. Every
/// model is written to the output folder and evaluated with edgequant's interpreter, and
/// with LiteRT as well when the test environment's Python is present
/// ($EDGEQUANT_CACHE/venv/bin/python, default ~/.cache/edgequant; made by scripts/setup).
/// The per-layer HTML report of the int8 model (edgequant compare) is written to
/// OUT/report.html.
///
/// Examples:
///   edgequant demo
///   edgequant demo --out /tmp/demo
///   edgequant demo --samples 1000 --no-litert
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output folder for the models.
    #[arg(long, default_value = "edgequant-demo")]
    pub out: PathBuf,
    /// Timed runs per model for the latency column.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Evaluate on the first N of the 10,000 test images.
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    /// Test images the per-layer report (OUT/report.html) compares the models on.
    #[arg(long, default_value_t = 200)]
    pub report_samples: usize,
    /// Skip the LiteRT accuracy column even when the test environment is present.
    #[arg(long)]
    pub no_litert: bool,
    /// Float training epochs (the QAT fine-tuning adds one more).
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Seed of the weight initialisation and sample order.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also make and evaluate a 16x8 model (slow: about 10 ms per image with the current
    /// int16 kernels, so about 2 minutes per core for 10,000 images).
    #[arg(long)]
    pub int16x8: bool,
}

/// The Python of the test environment, if scripts/setup made one.
pub fn test_python() -> Option<PathBuf> {
    let cache = match std::env::var_os("EDGEQUANT_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/edgequant"),
    };
    let p = cache.join("venv/bin/python");
    p.exists().then_some(p)
}

/// LiteRT top-1 accuracy (percent) of each model, in order, or the reason it is unavailable.
fn litert_accuracies(
    python: &Path,
    data_dir: &Path,
    (images, labels, n): (&Path, &Path, usize),
    models: &[&Path],
) -> Result<Vec<f64>> {
    let script = write(data_dir, "demo_litert.py", LITERT_SCRIPT.as_bytes())?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(images)
        .arg(labels)
        .arg(n.to_string())
        .args(models)
        .output()
        .with_context(|| format!("cannot run '{}'", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!(
            "LiteRT evaluation failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let accs = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)?;
            v["accuracy"]
                .as_f64()
                .map(|a| a * 100.0)
                .context("LiteRT evaluation printed no accuracy")
        })
        .collect::<Result<Vec<f64>>>()?;
    if accs.len() != models.len() {
        anyhow::bail!(
            "LiteRT evaluation returned {} results for {} models",
            accs.len(),
            models.len()
        );
    }
    Ok(accs)
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
    let test_path = write(&data_dir, "t10k-images-idx3-ubyte.gz", TEST_IMAGES)?;
    let labels_path = write(&data_dir, "t10k-labels-idx1-ubyte.gz", TEST_LABELS)?;
    let train_path = write(&data_dir, "train-images-10k.idx3.gz", TRAIN_IMAGES)?;
    let train_labels_path = write(&data_dir, "train-labels-10k.idx1.gz", TRAIN_LABELS)?;

    let spec = Spec::parse(SPEC, "specs/tutorial_cnn.spec")?;
    let mut model = spec.build(args.seed)?;
    let train_spec = InputSpec::new(model.input_name.clone(), model.input_shape.clone());
    let train_data = load_dataset(&train_path, &[train_spec], &ReadOptions::default())?;
    let train_labels = read_labels(&train_labels_path, None)?;
    eprintln!(
        "training the tutorial CNN ({} parameters) on {} MNIST training images",
        model.param_count(),
        train_data.len()
    );
    let opts = TrainOptions {
        epochs: args.epochs,
        batch_size: 50,
        seed: args.seed,
        ..TrainOptions::default()
    };
    run_training(&mut model, &train_data, &train_labels, &opts, "train")?;
    let trained = export_float(&model)?;
    let float_bytes = to_tflite(&trained, "edgequant demo (float)")?;
    let float_path = write(&args.out, "float.tflite", &float_bytes)?;

    let mut qat_model = model.clone();
    let qat_opts = TrainOptions {
        epochs: 1,
        learning_rate: opts.learning_rate / 10.0,
        seed: args.seed.wrapping_add(1),
        qat: Some(QatOptions::default()),
        ..opts
    };
    run_training(&mut qat_model, &train_data, &train_labels, &qat_opts, "qat")?;
    let qat = export_int8(
        &qat_model,
        &IntegerOptions {
            input_type: IoType::Int8,
            output_type: IoType::Int8,
            integer_only: true,
            ..IntegerOptions::default()
        },
    )
    .context("cannot convert the QAT model to integers")?;
    let qat_path = write(
        &args.out,
        "qat_int8.tflite",
        &to_tflite(&qat.graph, "edgequant demo (QAT)")?,
    )?;

    let float = prepare_float(&trained)?;
    let input = float.tensor(float.inputs[0]);
    let specs = vec![InputSpec::from_batched(input.name.clone(), &input.shape)?];
    let calib = load_dataset(&calib_path, &specs, &ReadOptions::default())?;
    let test_opts = ReadOptions {
        max_samples: Some(args.samples),
        ..ReadOptions::default()
    };
    let test = load_dataset(&test_path, &specs, &test_opts)?
        .with_labels(read_labels(&labels_path, Some(args.samples))?)?;
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
    let mut plans: Vec<(&str, Settings)> = vec![
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
    ];
    if args.int16x8 {
        plans.push(("16x8", Settings::new(Mode::Int16x8)));
    }
    for (label, s) in plans {
        let g = apply_mode(&float, &s, Some(&ranges), calib.samples())?;
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

    rows.push(("QAT int8 (int8 I/O)".into(), qat_path, qat.graph));

    let mut measured = Vec::new();
    for (label, _, g) in &rows {
        eprintln!("evaluating {label} on {} test images", test.len());
        measured.push(
            Interpreter::new(g)
                .map_err(anyhow::Error::from)
                .and_then(|interp| {
                    let acc = parallel_accuracy(g, &test)?;
                    let lat = latency_ms(&interp, g, &test.samples()[0], args.runs)?;
                    Ok((acc, lat))
                }),
        );
    }
    let litert = match (args.no_litert, test_python()) {
        (true, _) => None,
        (false, None) => {
            eprintln!("LiteRT column skipped: no test environment (run scripts/setup to make ~/.cache/edgequant/venv)");
            None
        }
        (false, Some(py)) => {
            eprintln!("evaluating every model with LiteRT ({})", py.display());
            let paths: Vec<&Path> = rows.iter().map(|r| r.1.as_path()).collect();
            Some(litert_accuracies(
                &py,
                &data_dir,
                (&test_path, &labels_path, test.len()),
                &paths,
            ))
        }
    };

    // Per-layer report of the int8 model.
    let report_path = args.out.join("report.html");
    let n_report = args.report_samples.clamp(1, test.len());
    let report_data = load_dataset(
        &test_path,
        &specs,
        &ReadOptions {
            max_samples: Some(n_report),
            ..ReadOptions::default()
        },
    )?;
    let int8 = &rows[2];
    let cmp = compare(&float, &int8.2, report_data.samples())?;
    let keep = cmp.keep_float_candidates(3);
    write_report(
        &report_path,
        &cmp,
        &float,
        &int8.2,
        &report_data,
        (
            &rows[0].1.display().to_string(),
            &int8.1.display().to_string(),
            &format!("{} (first {n_report} MNIST test images)", test_path.display()),
        ),
        keep,
        Some(format!(
            "edgequant quantize {} -o {} --mode int8 --data {} --input-type int8 --output-type int8",
            rows[0].1.display(),
            args.out.join("int8_keepfloat.tflite").display(),
            calib_path.display()
        )),
    )?;

    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>11} {:>11}  file",
        "mode", "accuracy", "vs float", "LiteRT", "size (B)", "latency"
    );
    let float_acc = measured[0].as_ref().ok().map(|m| m.0);
    for (k, ((label, path, _), m)) in rows.iter().zip(&measured).enumerate() {
        let size = std::fs::metadata(path)?.len();
        let lite = match &litert {
            Some(Ok(v)) => format!("{:.2}%", v[k]),
            Some(Err(_)) => "error".into(),
            None => "-".into(),
        };
        match m {
            Ok((pct, lat)) => println!(
                "{label:<18} {pct:>8.2}% {:>+9.2} {lite:>9} {size:>11} {lat:>8.3} ms  {}",
                float_acc.map_or(0.0, |f| pct - f),
                path.display()
            ),
            Err(e) => println!(
                "{label:<18} {:>9} {:>9} {lite:>9} {size:>11} {:>11}  {} ({})",
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
    if let Some(Err(e)) = &litert {
        println!("LiteRT column: {e:#}");
    }
    println!(
        "accuracy: top-1 on {} MNIST test images ({}); latency: median batch-1 over {} runs with edgequant's interpreter",
        test.len(),
        if litert.is_some() {
            "edgequant's interpreter, and LiteRT in the LiteRT column"
        } else {
            "edgequant's interpreter"
        },
        args.runs
    );
    eprintln!(
        "how to feed and read the int8 model ({}):",
        rows[2].1.display()
    );
    super::quantize::describe_io(&rows[2].2);
    println!(
        "per-layer report of the int8 model: {}",
        report_path.display()
    );
    println!("models written to {}", args.out.display());
    Ok(())
}
