//! `edgequant train`: train a model described by a spec file (docs/SPEC.md) and write a float
//! .tflite.

use crate::model::{load, LoadOptions};
use crate::output::write_atomic;
use anyhow::{bail, Context, Result};
use edgequant_calib::{load_dataset, read_labels, Dataset, InputSpec};
use edgequant_qat::{export_float, to_tflite, Model, Spec, StepInfo, TrainOptions, TrainReport};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Train a model from a model description (docs/SPEC.md) and write a float .tflite.
///
/// Data (--data): .npy (first axis = samples), .npz (arrays per input name, optional
/// 'labels'), IDX (MNIST, optionally .gz) or a folder of images with one sub-folder per class.
/// uint8 data and images are scaled with (x - mean) / std (defaults 0 and 255). Labels
/// (--labels): IDX label file or integer .npy (not needed for class folders).
///
/// Examples:
///   edgequant train specs/tutorial_cnn.spec --data train-images-idx3-ubyte --labels train-labels-idx1-ubyte --epochs 2 --batch 50 -o mnist.tflite
///   edgequant train my.spec --data photos/ --resize 96,96 --epochs 5 --seed 1 -o model.tflite
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model description file (docs/SPEC.md).
    pub spec: PathBuf,
    #[command(flatten)]
    pub common: TrainArgs,
    /// Output float .tflite (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Data and training flags shared by `train` and `qat`.
#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    /// Training data.
    #[arg(long)]
    pub data: PathBuf,
    /// Labels (IDX or .npy); not needed for class folders or an .npz with 'labels'.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Adam learning rate (the schedule's starting rate).
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Learning-rate schedule over the run: cosine decay from --lr to 0 at the last step, or
    /// constant (Keras' default).
    #[arg(long, value_enum, default_value_t = LrScheduleArg::Cosine)]
    pub lr_schedule: LrScheduleArg,
    /// Seed of the initial weights, sample order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use at most this many samples.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Stop after this many steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    #[command(flatten)]
    pub pre: super::preprocess::PreprocessArgs,
    /// Worker threads (default: all cores). Results are reproducible for a fixed count.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Sets the worker thread count of the global pool (used by burn's CPU backend).
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // The global pool can be set once; a second call in the same process keeps the first.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    Ok(())
}

/// Reads a model description or a model file (.tflite/.onnx) into a trainable model.
pub fn load_trainable(path: &Path, seed: u64) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let is_model = bytes.get(4..8) == Some(b"TFL3")
        || path.extension().and_then(|e| e.to_str()) == Some("onnx");
    if is_model {
        let loaded = load(path, &LoadOptions::default())?;
        let g = edgequant_quant::prepare_float(&loaded.graph)?;
        return Model::from_graph(&g).with_context(|| format!("'{}'", path.display()));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "'{}' is neither a .tflite/.onnx model nor a text model description",
            path.display()
        )
    })?;
    let file = path.display().to_string();
    Ok(Spec::parse(&text, &file)?.build(seed)?)
}

/// Loads data and labels for `model`.
pub fn load_training_data(model: &Model, a: &TrainArgs) -> Result<(Dataset, Vec<u32>)> {
    let spec = InputSpec::new(model.input_name.clone(), model.input_shape.clone());
    let opts = a.pre.read_options(a.samples)?;
    let ds = load_dataset(&a.data, &[spec], &opts)
        .with_context(|| format!("cannot read training data '{}'", a.data.display()))?;
    let labels = match (&a.labels, ds.labels()) {
        (Some(l), _) => read_labels(l, a.samples)
            .with_context(|| format!("cannot read labels '{}'", l.display()))?,
        (None, Some(l)) => l.to_vec(),
        (None, None) => bail!(
            "'{}' carries no labels: pass --labels (IDX label file or integer .npy)",
            a.data.display()
        ),
    };
    if labels.len() != ds.len() {
        bail!(
            "{} labels for {} samples ('{}')",
            labels.len(),
            ds.len(),
            a.data.display()
        );
    }
    Ok((ds, labels))
}

/// Raises glibc's mmap threshold to its 32 MiB maximum and its trim threshold to 1 GiB, so
/// that the multi-megabyte buffers a training step frees are reused by the next step instead
/// of being unmapped and mapped (and zero-filled by page faults) again: 200 steps of the
/// tutorial CNN took 5.1–5.2 s instead of 6.1–6.6 s (the same settings as GLIBC_TUNABLES).
/// Called by `train` and `qat` before any thread starts; no effect on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// `--lr-schedule` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LrScheduleArg {
    Cosine,
    Constant,
}

/// Options from the shared flags.
pub fn train_options(a: &TrainArgs) -> TrainOptions {
    TrainOptions {
        epochs: a.epochs,
        batch_size: a.batch,
        learning_rate: a.lr,
        lr_schedule: match a.lr_schedule {
            LrScheduleArg::Constant => edgequant_qat::LrSchedule::Constant,
            LrScheduleArg::Cosine => edgequant_qat::LrSchedule::Cosine,
        },
        seed: a.seed,
        max_steps: a.max_steps,
        qat: None,
    }
}

/// Trains with a progress bar showing loss and accuracy; prints one line per epoch.
pub fn run_training(
    model: &mut Model,
    ds: &Dataset,
    labels: &[u32],
    opts: &TrainOptions,
    what: &str,
) -> Result<TrainReport> {
    let steps_per_epoch = ds.len().div_ceil(opts.batch_size.max(1));
    let mut total = steps_per_epoch * opts.epochs;
    if let Some(m) = opts.max_steps {
        total = total.min(m);
    }
    let bar = indicatif::ProgressBar::new(total as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {bar:30} {pos}/{len} steps ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let t0 = Instant::now();
    let mut last_epoch = 0;
    let mut last = None;
    let report = edgequant_qat::train(model, ds, labels, opts, &mut |s: &StepInfo| {
        if s.epoch != last_epoch {
            if let Some((e, l, a)) = last {
                bar.println(format!(
                    "{what} epoch {e}: loss {l:.4}, accuracy {:.2} %",
                    a * 100.0
                ));
            }
            last_epoch = s.epoch;
        }
        last = Some((s.epoch, s.loss, s.accuracy));
        bar.set_message(format!(
            "{what} epoch {}/{} loss {:.4} acc {:.2} %",
            s.epoch,
            opts.epochs,
            s.loss,
            s.accuracy * 100.0
        ));
        bar.set_position(s.step as u64);
    })?;
    bar.finish_and_clear();
    if let Some((e, l, a)) = last {
        eprintln!("{what} epoch {e}: loss {l:.4}, accuracy {:.2} %", a * 100.0);
    }
    eprintln!(
        "{what}: {} steps of batch {} on {} samples in {:.1} s",
        report.step_losses.len(),
        opts.batch_size,
        ds.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(report)
}

/// Runs `edgequant train`.
pub fn main(args: Args) -> Result<()> {
    keep_freed_memory();
    set_threads(args.common.threads)?;
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("cannot read '{}'", args.spec.display()))?;
    let spec = Spec::parse(&text, &args.spec.display().to_string())?;
    let mut model = spec.build(args.common.seed)?;
    print_summary(&model);
    let (ds, labels) = load_training_data(&model, &args.common)?;
    let opts = train_options(&args.common);
    run_training(&mut model, &ds, &labels, &opts, "train")?;
    let g = export_float(&model)?;
    let bytes = to_tflite(&g, "edgequant train")?;
    write_atomic(&args.output, &bytes)?;
    eprintln!(
        "wrote '{}' ({} bytes, float32)",
        args.output.display(),
        bytes.len()
    );
    Ok(())
}

/// Prints the one-line summary of a model about to be trained (name, layers, parameters,
/// input shape) to stderr.
pub fn print_summary(model: &edgequant_qat::Model) {
    eprintln!(
        "model '{}': {} layers, {} parameters, input {:?}",
        model.name,
        model.nodes.len(),
        model.param_count(),
        model.input_shape
    );
}
