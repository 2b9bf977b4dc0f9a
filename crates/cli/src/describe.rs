//! Descriptions of a loaded model: the documented JSON of `inspect --json`
//! (docs/INSPECT_JSON.md) and the text `inspect` prints.

use crate::model::Loaded;
use edgequant_ir::{Tensor, TensorId};
use serde_json::{json, Value};
use std::collections::BTreeMap;

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

/// The human-readable description `inspect` prints for model `m` read from `path`.
pub fn text(path: &std::path::Path, m: &Loaded) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let g = &m.graph;
    let _ = writeln!(
        out,
        "{} ({} model, {} bytes)",
        path.display(),
        m.format.name(),
        m.size_bytes
    );
    if !m.description.is_empty() {
        let _ = writeln!(out, "description: {}", m.description);
    }
    for (label, ids) in [("inputs", &g.inputs), ("outputs", &g.outputs)] {
        let _ = writeln!(out, "{label}:");
        for &i in ids.iter() {
            let t = g.tensor(i);
            let _ = writeln!(
                out,
                "  {} {:?} {}{}",
                t.name,
                t.shape,
                t.dtype,
                quant_text(t)
            );
        }
    }
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name()).or_default() += 1;
    }
    let _ = writeln!(out, "ops ({} nodes):", g.nodes.len());
    for (name, count) in &ops {
        let _ = writeln!(out, "  {name:<24} {count}");
    }
    let weights: usize = g
        .tensors
        .iter()
        .filter(|t| t.is_const())
        .map(|t| t.byte_size())
        .sum();
    let _ = writeln!(
        out,
        "tensors: {} ({} constant, {weights} bytes of constant data)",
        g.tensors.len(),
        g.tensors.iter().filter(|t| t.is_const()).count()
    );
    for (i, t) in g.tensors.iter().enumerate() {
        let _ = writeln!(
            out,
            "  [{i}] {} {:?} {} {}B{}{}",
            t.name,
            t.shape,
            t.dtype,
            t.byte_size(),
            if t.is_const() { " const" } else { "" },
            quant_text(t)
        );
    }
    out
}
