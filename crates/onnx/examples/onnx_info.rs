//! Imports an ONNX model and prints the IR graph summary:
//! `cargo run --release -p edgequant-onnx --example onnx_info -- MODEL.onnx [NAME=1,3,224,224 ...] [--keep-io-layout]`
use edgequant_onnx::{read_onnx, ImportOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: onnx_info MODEL.onnx [NAME=d,d,..] [--keep-io-layout] [-v]")?;
    let mut opts = ImportOptions::default();
    let mut verbose = false;
    for a in args {
        if a == "--keep-io-layout" {
            opts.keep_io_layout = true;
        } else if a == "-v" {
            verbose = true;
        } else if let Some((name, dims)) = a.split_once('=') {
            let dims = dims
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<usize>, _>>()?;
            opts.input_shapes.insert(name.to_string(), dims);
        }
    }
    let bytes = std::fs::read(&path)?;
    let t = std::time::Instant::now();
    let g = read_onnx(&bytes, &opts)?;
    println!(
        "imported in {:.1} ms: {} nodes, {} tensors",
        t.elapsed().as_secs_f64() * 1e3,
        g.nodes.len(),
        g.tensors.len()
    );
    let mut counts = std::collections::BTreeMap::new();
    for n in &g.nodes {
        *counts.entry(n.op.name()).or_insert(0) += 1;
    }
    println!("{counts:?}");
    for &i in &g.inputs {
        println!(
            "input  {} {:?} {}",
            g.tensor(i).name,
            g.tensor(i).shape,
            g.tensor(i).dtype
        );
    }
    for &o in &g.outputs {
        println!(
            "output {} {:?} {}",
            g.tensor(o).name,
            g.tensor(o).shape,
            g.tensor(o).dtype
        );
    }
    if verbose {
        for n in &g.nodes {
            let ins: Vec<String> = n
                .inputs
                .iter()
                .map(|t| {
                    t.map(|t| format!("{}{:?}", g.tensor(t).name, g.tensor(t).shape))
                        .unwrap_or("-".into())
                })
                .collect();
            let outs: Vec<String> = n
                .outputs
                .iter()
                .map(|&t| format!("{}{:?}", g.tensor(t).name, g.tensor(t).shape))
                .collect();
            println!(
                "{} {:?}\n    in: {}\n    out: {}",
                n.name,
                n.op,
                ins.join(", "),
                outs.join(", ")
            );
        }
    }
    Ok(())
}
