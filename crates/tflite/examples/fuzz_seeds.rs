//! Writes fuzzing seeds (used by `fuzz/seed.sh`): for each model given, one small model per
//! distinct operator (op type × options × dtypes, at most 64 KiB), holding just that operator
//! with its constant operands.
//!
//! Usage: `fuzz_seeds OUT_DIR MODEL.tflite...`

use edgequant_ir::{Graph, Tensor, TensorId};
use std::collections::BTreeSet;
use std::path::Path;

/// The one-node graph of node `i` of `g`.
fn single_op(g: &Graph, i: usize) -> Option<Graph> {
    let node = g.nodes.get(i)?;
    let mut out = Graph {
        name: format!("{}_op{i}", g.name),
        ..Default::default()
    };
    let mut map = std::collections::BTreeMap::new();
    let mut add = |out: &mut Graph, t: TensorId| -> Option<TensorId> {
        if let Some(&id) = map.get(&t) {
            return Some(id);
        }
        let tensor: Tensor = g.tensors.get(t.0)?.clone();
        let id = out.add_tensor(tensor);
        map.insert(t, id);
        Some(id)
    };
    let mut inputs = Vec::new();
    for t in &node.inputs {
        inputs.push(match t {
            Some(t) => {
                let id = add(&mut out, *t)?;
                if !out.tensor(id).is_const() && !out.inputs.contains(&id) {
                    out.inputs.push(id);
                }
                Some(id)
            }
            None => None,
        });
    }
    let mut outputs = Vec::new();
    for &t in &node.outputs {
        outputs.push(add(&mut out, t)?);
    }
    out.outputs = outputs.clone();
    out.add_node(node.name.clone(), node.op.clone(), inputs, outputs);
    Some(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out_dir, models)) = args.split_first() else {
        return Err("usage: fuzz_seeds OUT_DIR MODEL.tflite...".into());
    };
    let mut written = 0;
    for path in models {
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let model = edgequant_tflite::read_model(&std::fs::read(path)?)
            .map_err(|e| format!("{path}: {e}"))?;
        let mut seen = BTreeSet::new();
        for i in 0..model.graph.nodes.len() {
            let Some(g) = single_op(&model.graph, i) else {
                continue;
            };
            let Ok(bytes) = edgequant_tflite::write_model(&g, "fuzz seed") else {
                continue;
            };
            let node = &g.nodes[0];
            let dtypes: Vec<_> = g.tensors.iter().map(|t| t.dtype).collect();
            let key = format!("{:?} {dtypes:?}", node.op);
            if bytes.len() > 64 * 1024 || !seen.insert(key) {
                continue;
            }
            let file = Path::new(out_dir).join(format!("{stem}_op{i}_{}.tflite", node.op.name()));
            std::fs::write(file, bytes)?;
            written += 1;
        }
    }
    println!("wrote {written} one-operator seeds to {out_dir}");
    Ok(())
}
