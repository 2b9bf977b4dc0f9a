//! `edgequant quantize`: post-training quantization.

use crate::model::{load, LoadOptions};
use crate::output::write_atomic;
use anyhow::{bail, Context, Result};
use edgequant_calib::{load_dataset, CalibratorKind, Dataset, InputSpec, Sample};
use edgequant_ir::{DType, Graph};
use edgequant_quant::{
    calibrate, correct_biases, optimize_weight_rounding, prepare_float, quantize_dynamic,
    quantize_float16, quantize_integer, BiasCorrectionOptions, DynamicOptions, IntegerOptions,
    IoType, WeightRoundingOptions,
};
use std::path::PathBuf;
use std::time::Instant;

/// Quantization mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Full integer: int8 weights (per channel) and activations, int32 bias; needs --data.
    Int8,
    /// Dynamic range: int8 weights, float activations (hybrid kernels); no data needed.
    Dynamic,
    /// float16 weights, float32 compute; no data needed.
    Float16,
    /// int16 activations, int8 weights, int64 bias; needs --data.
    Int16x8,
}

/// Element type of model inputs/outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Io {
    Float32,
    Int8,
    Uint8,
    Int16,
}

impl From<Io> for IoType {
    fn from(v: Io) -> IoType {
        match v {
            Io::Float32 => IoType::Float32,
            Io::Int8 => IoType::Int8,
            Io::Uint8 => IoType::Uint8,
            Io::Int16 => IoType::Int16,
        }
    }
}

/// Calibrator (range selection for activations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Calibrator {
    /// Minimum and maximum over all samples (TFLite's calibrator).
    Minmax,
    /// 99.999th percentile of a histogram.
    Percentile,
    /// KL-divergence (entropy) threshold.
    Entropy,
    /// Threshold minimizing the quantization mean squared error.
    Mse,
}

/// Quantize a float model (.tflite or .onnx) into a .tflite.
///
/// Calibration data (--data, for int8 and int16x8): an .npy file (first axis = samples),
/// an .npz archive (one array per model input name), an IDX file (MNIST format, optionally
/// .gz), or a folder of images (--resize H,W). uint8 data and images are scaled with
/// (x - mean) / std (defaults 0 and 255, i.e. [0, 1]).
///
/// Examples:
///   edgequant quantize mnist.tflite -o mnist_int8.tflite --mode int8 --data train-images-idx3-ubyte --samples 100
///   edgequant quantize model.tflite -o model_int8.tflite --mode int8 --data photos/ --resize 224,224 --input-type uint8 --output-type uint8
///   edgequant quantize model.onnx -o model_dyn.tflite --mode dynamic
///   edgequant quantize model.tflite -o model_f16.tflite --mode float16
///
/// Quality targets (int8, int16x8): after quantizing, evaluate on --eval-data; while the
/// target is missed, keep the layers that add the most quantization noise in float (fewest
/// first) and print which:
///   edgequant quantize mnist.tflite -o mnist_int8.tflite --mode int8 --data train-images-idx3-ubyte --samples 100 --max-drop 0.1 --eval-data t10k-images-idx3-ubyte --eval-labels t10k-labels-idx1-ubyte
///   edgequant quantize mnist.tflite -o mnist_int8.tflite --mode int8 --data train-images-idx3-ubyte --target-accuracy 98.5 --eval-data t10k-images-idx3-ubyte --eval-labels t10k-labels-idx1-ubyte
///   edgequant quantize iris_landmark.tflite -o iris_int8.tflite --mode int8 --data photos/ --resize 64,64 --target-sqnr 33 --eval-data photos/
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Float model (.tflite or .onnx).
    pub model: PathBuf,
    /// Output .tflite file (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Quantization mode.
    #[arg(long, value_enum, default_value_t = Mode::Int8)]
    pub mode: Mode,
    /// Representative data for calibration.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use at most this many calibration samples.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Activation range calibrator.
    #[arg(long, value_enum, default_value_t = Calibrator::Minmax)]
    pub calibrator: Calibrator,
    /// Type of the model's inputs.
    #[arg(long, value_enum, default_value_t = Io::Float32)]
    pub input_type: Io,
    /// Type of the model's outputs.
    #[arg(long, value_enum, default_value_t = Io::Float32)]
    pub output_type: Io,
    /// Fail, listing every op without an integer kernel, instead of keeping such ops float.
    #[arg(long)]
    pub int8_only: bool,
    /// Per-tensor instead of per-channel weights.
    #[arg(long)]
    pub per_tensor: bool,
    /// Per-channel FULLY_CONNECTED weights everywhere (needs a recent runtime). By default
    /// only the FULLY_CONNECTED layers whose weight quantization error per-channel scales cut
    /// by at least 3 dB are per channel.
    #[arg(long, conflicts_with = "fc_per_tensor")]
    pub fc_per_channel: bool,
    /// Per-tensor FULLY_CONNECTED weights everywhere (TensorFlow's layout, read by every
    /// runtime version).
    #[arg(long)]
    pub fc_per_tensor: bool,
    /// Keep these nodes (by name) or op types (e.g. SOFTMAX) in float; comma separated.
    #[arg(long, value_delimiter = ',')]
    pub keep_float: Vec<String>,
    /// Quantize PRELU to int8 in --mode int8. By default it stays float (DEQUANTIZE/QUANTIZE
    /// around it) because LiteRT's default CPU kernels (XNNPACK) have no int8 PRELU;
    /// --int8-only always quantizes it.
    #[arg(long)]
    pub int8_prelu: bool,
    /// Keep the integer biases exactly as the quantization spec computes them from the float
    /// biases (TensorFlow's converter does the same). By default, int8 and int16x8 biases are
    /// then corrected on the calibration data (at most its first 64 samples) so that each
    /// layer's mean output per channel matches the float model's wherever the difference is
    /// significant (Student's t test at the 5 % level; docs/guide/int8.md).
    #[arg(long)]
    pub no_bias_correction: bool,
    /// Memory (MiB) that bias correction may use to keep every sample's float and integer runs
    /// parked between layers, instead of rerunning each sample up to every layer: more memory,
    /// faster correction (time layers² × samples falls towards layers × samples), the same
    /// output. Default: one float run's peak activation memory.
    #[arg(long, value_name = "MIB")]
    pub bias_correction_memory: Option<usize>,
    /// Round int8/int16x8 weights by GPTQ on the calibration data (at most its first 64
    /// samples) instead of to the nearest integer: a weight may round the other way where that
    /// lowers its layer's output error on the data; scales, ranges and size stay the same. It
    /// helps some models by several dB and costs others about 1 dB (measured in
    /// docs/guide/int8.md), so it is off by default: check with `edgequant compare`.
    #[arg(long)]
    pub gptq: bool,
    /// Dynamic mode: weights with fewer elements stay float.
    #[arg(long, default_value_t = 1024)]
    pub min_elements: usize,
    #[command(flatten)]
    pub pre: super::preprocess::PreprocessArgs,
    /// Fix a dynamic input dimension (ONNX): NAME=D0,D1,...
    #[arg(long = "input-shape", value_parser = super::run::parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub target: super::target_accuracy::TargetArgs,
}

/// Parses `--resize H,W`.
pub fn parse_resize(v: Option<&[usize]>) -> Result<Option<(usize, usize)>> {
    match v {
        None => Ok(None),
        Some([h, w]) => Ok(Some((*h, *w))),
        Some(other) => bail!("--resize takes H,W, got {other:?}"),
    }
}

/// The calibrator settings behind a `--calibrator` choice.
pub fn calibrator_kind(c: Calibrator) -> CalibratorKind {
    match c {
        Calibrator::Minmax => CalibratorKind::MinMax,
        Calibrator::Percentile => CalibratorKind::Percentile {
            percentile: 99.999,
            num_bins: 2048,
        },
        Calibrator::Entropy => CalibratorKind::Entropy {
            num_quantized_bins: 128,
            num_bins: 2048,
        },
        Calibrator::Mse => CalibratorKind::Mse {
            steps: 100,
            num_bins: 2048,
        },
    }
}

/// Calibrated `(min, max)` per tensor id (`None` where nothing was observed).
type Ranges = Vec<Option<(f32, f32)>>;

/// Calibrates `graph` on `--data`: the ranges, and the samples they came from.
fn ranges_for(graph: &Graph, args: &Args) -> Result<(Ranges, Dataset)> {
    let Some(data) = &args.data else {
        bail!(
            "--mode {} needs representative data: pass --data PATH (.npy, .npz, IDX or an image folder)",
            match args.mode {
                Mode::Int16x8 => "int16x8",
                _ => "int8",
            }
        );
    };
    let specs = graph
        .inputs
        .iter()
        .map(|&i| {
            let t = graph.tensor(i);
            InputSpec::from_batched(t.name.clone(), &t.shape)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = args.pre.read_options(args.samples)?;
    let t0 = Instant::now();
    let ds = load_dataset(data, &specs, &opts)
        .with_context(|| format!("cannot read calibration data '{}'", data.display()))?;
    let bar = indicatif::ProgressBar::new(ds.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "calibrating {bar:30} {pos}/{len} samples ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ranges = calibrate(
        graph,
        ds.samples(),
        calibrator_kind(args.calibrator),
        &|| bar.inc(1),
    )?;
    bar.finish_and_clear();
    eprintln!(
        "calibrated on {} samples from '{}' with {} in {:.2} s",
        ds.len(),
        data.display(),
        calibrator_kind(args.calibrator).name(),
        t0.elapsed().as_secs_f64()
    );
    Ok((ranges, ds))
}

/// Prints the model's inputs and outputs with how to feed and read integer ones.
pub fn describe_io(g: &Graph) {
    for (label, ids) in [("input", &g.inputs), ("output", &g.outputs)] {
        for &i in ids.iter() {
            let t = g.tensor(i);
            match (&t.quant, t.dtype) {
                (Some(q), DType::I8 | DType::U8 | DType::I16) => {
                    let (s, z) = (q.scale[0], q.zero_point[0]);
                    if label == "input" {
                        eprintln!(
                            "{label} '{}' {} {:?}: scale {s} zero_point {z}; feed q = round(x / {s}) + {z}",
                            t.name, t.dtype, t.shape
                        );
                    } else {
                        eprintln!(
                            "{label} '{}' {} {:?}: scale {s} zero_point {z}; read x = (q - {z}) * {s}",
                            t.name, t.dtype, t.shape
                        );
                    }
                }
                _ => eprintln!("{label} '{}' {} {:?}", t.name, t.dtype, t.shape),
            }
        }
    }
}

/// What to do in one quantization run, independent of where the data comes from.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: Mode,
    pub input_type: Io,
    pub output_type: Io,
    pub int8_only: bool,
    pub fc_per_channel: bool,
    pub fc_per_tensor: bool,
    pub per_tensor: bool,
    pub keep_float: Vec<String>,
    pub int8_prelu: bool,
    pub min_elements: usize,
    /// Correct int8/int16x8 biases on the calibration samples ([`correct_biases`]).
    pub bias_correction: bool,
    /// Bytes bias correction may hold in parked runs (`None`: the library default,
    /// [`BiasCorrectionOptions::memory_budget`]).
    pub bias_correction_memory: Option<usize>,
    /// Round int8/int16x8 weights by GPTQ on the calibration samples
    /// ([`optimize_weight_rounding`]).
    pub gptq: bool,
}

impl Settings {
    /// Defaults for `mode` (float I/O, per-channel weights, TensorFlow's 1024-element
    /// dynamic-range threshold).
    pub fn new(mode: Mode) -> Self {
        Settings {
            mode,
            input_type: Io::Float32,
            output_type: Io::Float32,
            int8_only: false,
            fc_per_channel: false,
            fc_per_tensor: false,
            per_tensor: false,
            keep_float: Vec::new(),
            int8_prelu: false,
            min_elements: 1024,
            bias_correction: true,
            bias_correction_memory: None,
            gptq: false,
        }
    }
}

fn settings(a: &Args) -> Settings {
    Settings {
        mode: a.mode,
        input_type: a.input_type,
        output_type: a.output_type,
        int8_only: a.int8_only,
        fc_per_channel: a.fc_per_channel,
        fc_per_tensor: a.fc_per_tensor,
        per_tensor: a.per_tensor,
        keep_float: a.keep_float.clone(),
        int8_prelu: a.int8_prelu,
        min_elements: a.min_elements,
        bias_correction: !a.no_bias_correction,
        bias_correction_memory: a.bias_correction_memory.map(|m| m.saturating_mul(1 << 20)),
        gptq: a.gptq,
    }
}

/// Quantizes a prepared float graph (see [`prepare_float`]) in `s.mode`; `ranges` are the
/// calibrated tensor ranges, required for int8 and int16x8, and `samples` the calibration
/// samples they came from (for bias correction; none: no correction). Ops that stay float
/// and the bias correction are reported on stderr.
pub fn apply_mode(
    float: &Graph,
    s: &Settings,
    ranges: Option<&[Option<(f32, f32)>]>,
    samples: &[Sample],
) -> Result<Graph> {
    apply_mode_with(float, s, ranges, samples, true)
}

/// [`apply_mode`], reporting on stderr only when `verbose`.
pub fn apply_mode_with(
    float: &Graph,
    s: &Settings,
    ranges: Option<&[Option<(f32, f32)>]>,
    samples: &[Sample],
    verbose: bool,
) -> Result<Graph> {
    Ok(match s.mode {
        Mode::Float16 => quantize_float16(float)?,
        Mode::Dynamic => {
            let (g, names) = quantize_dynamic(
                float,
                &DynamicOptions {
                    min_elements: s.min_elements,
                    per_tensor: s.per_tensor,
                    fc_per_channel: s.fc_per_channel,
                    fc_per_channel_auto: !s.fc_per_tensor,
                },
            )?;
            eprintln!("quantized {} weight tensors to int8", names.len());
            g
        }
        Mode::Int8 | Mode::Int16x8 => {
            let acts = if s.mode == Mode::Int8 {
                DType::I8
            } else {
                DType::I16
            };
            let ranges = ranges.context("integer quantization needs calibrated ranges")?;
            let mut q = quantize_integer(
                float,
                ranges,
                &IntegerOptions {
                    activations: acts,
                    input_type: s.input_type.into(),
                    output_type: s.output_type.into(),
                    integer_only: s.int8_only,
                    fc_per_channel: s.fc_per_channel,
                    fc_per_channel_auto: !s.fc_per_tensor,
                    per_tensor: s.per_tensor,
                    keep_float: s.keep_float.clone(),
                    float_prelu: !s.int8_prelu,
                },
            )?;
            if verbose && !q.float_nodes.is_empty() {
                eprintln!("{} op(s) stay float:", q.float_nodes.len());
                for line in float_node_lines(&q.float_nodes) {
                    eprintln!("  {line}");
                }
            }
            if s.gptq && !samples.is_empty() {
                let t0 = Instant::now();
                let bar = step_counter(
                    verbose,
                    "weight rounding (GPTQ): {pos} passes over the samples ({elapsed})",
                );
                let opts = WeightRoundingOptions::default();
                let r = optimize_weight_rounding(float, &mut q, samples, &opts, &|| bar.inc(1))
                    .context("weight rounding (GPTQ)")?;
                bar.finish_and_clear();
                if verbose {
                    eprintln!(
                        "weight rounding (GPTQ): {} of {} weights in {} layers rounded away from \
                         the nearest integer ({} samples, {:.2} s)",
                        r.changed,
                        r.weights,
                        r.layers,
                        r.samples,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
            if s.bias_correction && !samples.is_empty() {
                let t0 = Instant::now();
                let bar = step_counter(verbose, "bias correction: {pos} layers done ({elapsed})");
                let opts = BiasCorrectionOptions {
                    memory_budget: s.bias_correction_memory,
                    ..BiasCorrectionOptions::default()
                };
                let r = correct_biases(float, &mut q, samples, &opts, &|| bar.inc(1))
                    .context("bias correction")?;
                bar.finish_and_clear();
                if verbose {
                    eprintln!(
                        "bias correction: {} of {} output channels in {} layers adjusted \
                         ({} samples, {} layers measured in one pass, {:.2} s; \
                         --no-bias-correction keeps the spec's biases)",
                        r.corrected,
                        r.channels,
                        r.layers,
                        r.samples,
                        r.staged,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
            q.graph
        }
    })
}

/// A spinner-less counter for a pass over the calibration samples: `template` shows `{pos}`
/// and `{elapsed}`; hidden unless `verbose`.
fn step_counter(verbose: bool, template: &str) -> indicatif::ProgressBar {
    let bar = if verbose {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// One line per node that stays float, except that more than three nodes of one op with one
/// reason share a line (`N × OP ('first', 'second', ... 'last'): reason`).
fn float_node_lines(nodes: &[edgequant_quant::FloatNode]) -> Vec<String> {
    let mut groups: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for n in nodes {
        match groups
            .iter_mut()
            .find(|(op, reason, _)| *op == n.op && *reason == n.reason)
        {
            Some(g) => g.2.push(&n.node),
            None => groups.push((&n.op, &n.reason, vec![&n.node])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(op, reason, names)| {
            if names.len() > 3 {
                let last = names.last().copied().unwrap_or_default();
                vec![format!(
                    "{} × {op} ('{}', '{}', ... '{last}'): {reason}",
                    names.len(),
                    names[0],
                    names[1]
                )]
            } else {
                names
                    .into_iter()
                    .map(|name| format!("'{name}' ({op}): {reason}"))
                    .collect()
            }
        })
        .collect()
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    super::run::set_threads(args.threads)?;
    let t0 = Instant::now();
    let m = load(
        &args.model,
        &LoadOptions {
            input_shapes: args.input_shapes.clone(),
            keep_io_layout: false,
        },
    )?;
    if !matches!(args.mode, Mode::Int8 | Mode::Int16x8)
        && (args.input_type != Io::Float32 || args.output_type != Io::Float32)
    {
        bail!("--input-type/--output-type apply to --mode int8 and int16x8 only");
    }
    if !matches!(args.mode, Mode::Int8 | Mode::Int16x8) && !args.keep_float.is_empty() {
        bail!("--keep-float applies to --mode int8 and int16x8 only");
    }
    if !matches!(args.mode, Mode::Int8 | Mode::Int16x8) && args.no_bias_correction {
        bail!("--no-bias-correction applies to --mode int8 and int16x8 only");
    }
    if args.bias_correction_memory.is_some()
        && (args.no_bias_correction || !matches!(args.mode, Mode::Int8 | Mode::Int16x8))
    {
        bail!("--bias-correction-memory applies to bias correction, which runs in --mode int8 and int16x8 without --no-bias-correction");
    }
    if !matches!(args.mode, Mode::Int8 | Mode::Int16x8) && args.gptq {
        bail!("--gptq applies to --mode int8 and int16x8 only");
    }
    if args.mode != Mode::Int8 && args.int8_prelu {
        bail!("--int8-prelu applies to --mode int8 only");
    }
    let float = prepare_float(&m.graph)?;
    let calib = match args.mode {
        Mode::Int8 | Mode::Int16x8 => Some(ranges_for(&float, &args)?),
        _ => None,
    };
    let ranges = calib.as_ref().map(|(r, _)| r.as_slice());
    let samples: &[Sample] = calib.as_ref().map_or(&[], |(_, ds)| ds.samples());
    let target = args.target.target()?;
    let graph = match (target, ranges) {
        (None, _) => apply_mode(&float, &settings(&args), ranges, samples)?,
        (Some(t), Some(r)) => {
            let path = args.target.eval_data.as_deref().context("--eval-data")?;
            let data = super::compare::load_samples(
                &float,
                path,
                &args.pre.read_options(args.target.eval_samples)?,
            )?;
            let data = super::target_accuracy::eval_dataset(data, &args.target, t)?;
            super::target_accuracy::quantize_to_target(
                &float,
                &settings(&args),
                r,
                samples,
                t,
                &data,
            )?
            .0
        }
        (Some(_), None) => bail!(
            "--target-accuracy/--max-drop/--target-sqnr apply to --mode int8 and int16x8 only"
        ),
    };
    let bytes =
        edgequant_tflite::write_model(&graph, &format!("edgequant {}", env!("CARGO_PKG_VERSION")))
            .context("cannot write the quantized model")?;
    write_atomic(&args.output, &bytes)?;
    describe_io(&graph);
    eprintln!(
        "wrote {} ({} bytes, {:.1}% of the input's {} bytes) in {:.2} s",
        args.output.display(),
        bytes.len(),
        100.0 * bytes.len() as f64 / m.size_bytes.max(1) as f64,
        m.size_bytes,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
