//! `edgequant inspect`: describe a model.

use crate::model::{load, LoadOptions, Loaded};
use anyhow::Result;
use edgequant_ir::{Tensor, TensorId};
use serde_json::{json, Value};
use std::collections::BTreeMap;
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

fn quant_json(t: &Tensor) -> Value {
    match &t.quant {
        Some(q) => json!({"scale": q.scale, "zero_point": q.zero_point, "axis": q.axis}),
        None => Value::Null,
    }
}

fn tensor_json(id: TensorId, t: &Tensor) -> Value {
    json!({
        "index": id.0,
        "name": t.name,
        "shape": t.shape,
        "dtype": t.dtype.name(),
        "quantization": quant_json(t),
        "byte_size": t.byte_size(),
        "constant": t.is_const(),
    })
}

/// Builds the documented JSON description of a loaded model.
pub fn describe(m: &Loaded) -> Value {
    let g = &m.graph;
    let io = |ids: &[TensorId]| -> Vec<Value> {
        ids.iter().map(|&i| tensor_json(i, g.tensor(i))).collect()
    };
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    json!({
        "format": m.format.name(),
        "size_bytes": m.size_bytes,
        "inputs": io(&g.inputs),
        "outputs": io(&g.outputs),
        "tensors": g.tensors.iter().enumerate().map(|(i, t)| tensor_json(TensorId(i), t)).collect::<Vec<_>>(),
        "ops": ops,
    })
}

fn quant_text(t: &Tensor) -> String {
    match &t.quant {
        None => String::new(),
        Some(q) if q.is_per_tensor() => {
            format!("  scale={} zero_point={}", q.scale[0], q.zero_point[0])
        }
        Some(q) => format!(
            "  per-channel axis={} ({} scales, first scale={} zero_point={})",
            q.axis.map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
            q.scale.len(),
            q.scale[0],
            q.zero_point[0]
        ),
    }
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
    let g = &m.graph;
    println!(
        "{} ({} model, {} bytes)",
        args.model.display(),
        m.format.name(),
        m.size_bytes
    );
    if !m.description.is_empty() {
        println!("description: {}", m.description);
    }
    for (label, ids) in [("inputs", &g.inputs), ("outputs", &g.outputs)] {
        println!("{label}:");
        for &i in ids.iter() {
            let t = g.tensor(i);
            println!("  {} {:?} {}{}", t.name, t.shape, t.dtype, quant_text(t));
        }
    }
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    println!("ops ({} nodes):", g.nodes.len());
    for (name, count) in &ops {
        println!("  {name:<24} {count}");
    }
    let weights: usize = g
        .tensors
        .iter()
        .filter(|t| t.is_const())
        .map(|t| t.byte_size())
        .sum();
    println!(
        "tensors: {} ({} constant, {weights} bytes of constant data)",
        g.tensors.len(),
        g.tensors.iter().filter(|t| t.is_const()).count()
    );
    for (i, t) in g.tensors.iter().enumerate() {
        println!(
            "  [{i}] {} {:?} {} {}B{}{}",
            t.name,
            t.shape,
            t.dtype,
            t.byte_size(),
            if t.is_const() { " const" } else { "" },
            quant_text(t)
        );
    }
    Ok(())
}
