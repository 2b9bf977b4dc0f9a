//! `edgequant compare`: per-tensor error of a quantized model against its float model, and
//! the HTML report.

use crate::model::{load, LoadOptions};
use crate::output::write_atomic;
use crate::report::{self, html, Comparison, TensorStats};
use anyhow::{Context, Result};
use edgequant_calib::{load_dataset, Dataset, InputSpec, ReadOptions};
use edgequant_ir::Graph;
use edgequant_quant::prepare_float;
use std::path::{Path, PathBuf};

/// Compare a quantized model with its float model, tensor by tensor.
///
/// Both models run on the same samples (--data, in any format `quantize` accepts). Tensors
/// are matched by name (quantization keeps float tensor names; integer copies of float model
/// inputs/outputs are NAME_quantized), then by graph structure. Integer values are
/// dequantized with their scale and zero point. Per tensor: SQNR in dB (10·log10(Σx²/Σ(x−y)²)),
/// the SQNR of the noise the node adds itself ("own": −10·log10(10^(−out/10) − 10^(−in/10))
/// with "in" the noisiest input), MSE, max and mean error, scale/zero point, the observed float range vs the representable range
/// [(qmin−zp)·s, (qmax−zp)·s] and the fraction of float values clipped by it.
///
/// --json prints {"float_model", "quant_model", "samples", "tensors": [{"name",
/// "quant_name", "node", "op", "shape", "matched_by": "name"|"structure", "quant": null |
/// {"dtype", "scale", "zero_point", "representable": [lo, hi]}, "sqnr_db" (null = identical),
/// "own_sqnr_db" (null = adds none), "mse", "max_abs_error", "mean_error", "float_range": [lo, hi],
/// "clipped_fraction", "count"}], "outputs": [indices into tensors], "unmatched": [names],
/// "keep_float": [node names recommended to keep in float]} (see docs/guide/compare.md).
///
/// Examples:
///   edgequant compare mnist.tflite mnist_int8.tflite --data t10k-images-idx3-ubyte --samples 200
///   edgequant compare model.tflite model_int8.tflite --data photos/ --resize 224,224 --report report.html
///   edgequant compare model.onnx model_int8.tflite --data calib.npy --json > errors.json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Float model (.tflite or .onnx) the quantized model was made from.
    pub float: PathBuf,
    /// Quantized model (.tflite).
    pub quant: PathBuf,
    /// Input samples (.npy, .npz, IDX, image folder).
    #[arg(long)]
    pub data: PathBuf,
    /// Use at most this many samples.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Write the self-contained HTML report (SVG plots) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Number of layers recommended to keep in float, at most.
    #[arg(long, default_value_t = 3)]
    pub max_keep_float: usize,
    #[command(flatten)]
    pub pre: super::preprocess::PreprocessArgs,
    /// Fix a dynamic input dimension of an ONNX float model: NAME=D0,D1,...
    #[arg(long = "input-shape", value_parser = super::run::parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Loads samples for the inputs of `graph`.
pub fn load_samples(graph: &Graph, path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let specs = graph
        .inputs
        .iter()
        .map(|&i| InputSpec::from_batched(graph.tensor(i).name.clone(), &graph.tensor(i).shape))
        .collect::<Result<Vec<_>, _>>()?;
    load_dataset(path, &specs, opts).with_context(|| format!("cannot read '{}'", path.display()))
}

/// Writes the HTML report of `c` to `path` (atomically), with histograms of the worst
/// layers; `data` describes the samples and `command` is the suggested quantize command
/// prefix (everything but `--keep-float`).
#[allow(clippy::too_many_arguments)]
pub fn write_report(
    path: &Path,
    c: &Comparison,
    float: &Graph,
    quant: &Graph,
    samples: &Dataset,
    names: (&str, &str, &str),
    keep: Vec<&TensorStats>,
    command: Option<String>,
) -> Result<()> {
    let mut worst: Vec<&TensorStats> = c.tensors.iter().filter(|t| t.quant.is_some()).collect();
    worst.sort_by(|a, b| {
        a.sqnr_db
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.sqnr_db.unwrap_or(f64::INFINITY))
    });
    // Worst by SQNR plus the recommended layers, four plots at most.
    let mut shown: Vec<&TensorStats> = keep.clone();
    for t in worst {
        if shown.len() >= 4 {
            break;
        }
        if !shown.iter().any(|s| s.name == t.name) {
            shown.push(t);
        }
    }
    shown.truncate(4);
    let hists = report::histograms(float, quant, samples.samples(), &shown, 60)?;
    let pairs: Vec<_> = hists.into_iter().zip(shown).collect();
    let command = command.map(|c| {
        let list: Vec<&str> = keep.iter().filter_map(|t| t.node.as_deref()).collect();
        format!("{c} --keep-float '{}'", list.join(","))
    });
    let ctx = html::ReportContext {
        float_model: names.0,
        quant_model: names.1,
        data: names.2,
        keep_float: keep,
        command,
    };
    let doc = html::render(c, &pairs, &ctx)?;
    write_atomic(path, doc.as_bytes())
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<()> {
    let fl = load(
        &args.float,
        &LoadOptions {
            input_shapes: args.input_shapes.clone(),
            keep_io_layout: false,
        },
    )?;
    let q = load(&args.quant, &LoadOptions::default())?;
    let float = prepare_float(&fl.graph)?;
    let opts = args.pre.read_options(Some(args.samples))?;
    let data = load_samples(&float, &args.data, &opts)?;
    let c = report::compare(&float, &q.graph, data.samples())?;
    let keep = c.keep_float_candidates(args.max_keep_float);
    let keep_names: Vec<String> = keep.iter().filter_map(|t| t.node.clone()).collect();
    if let Some(path) = &args.report {
        let cmd = format!(
            "edgequant quantize {} -o {} --mode int8 --data {}",
            args.float.display(),
            args.quant
                .with_file_name(format!(
                    "{}_keepfloat.tflite",
                    args.quant
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or("model")
                ))
                .display(),
            args.data.display()
        );
        write_report(
            path,
            &c,
            &float,
            &q.graph,
            &data,
            (
                &args.float.display().to_string(),
                &args.quant.display().to_string(),
                &args.data.display().to_string(),
            ),
            keep.clone(),
            Some(cmd),
        )?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        let mut v = serde_json::to_value(&c)?;
        v["float_model"] = args.float.display().to_string().into();
        v["quant_model"] = args.quant.display().to_string().into();
        v["keep_float"] = serde_json::to_value(&keep_names)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print!("{}", c.table());
    if let Some(s) = c.output_sqnr_db() {
        println!("output SQNR: {s:.2} dB over {} samples", c.samples);
    }
    if !c.unmatched.is_empty() {
        println!(
            "{} float tensor(s) without a counterpart: {}",
            c.unmatched.len(),
            c.unmatched.join(", ")
        );
    }
    if keep_names.is_empty() {
        println!("no quantized layer adds noise of its own comparable to the output's");
    } else {
        println!(
            "layers that lose the most themselves; to keep them in float: --keep-float '{}'",
            keep_names.join(",")
        );
    }
    Ok(())
}
