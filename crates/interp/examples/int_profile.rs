//! Batch-1 latency and per-node time of the interpreter on any .tflite model (float, int8,
//! uint8, int16 or float16 inputs), plus its planned peak memory.
//!
//! `cargo run --release -p edgequant-interp --example int_profile -- [--threads N] [--runs N] MODEL.tflite...`
//!
//! Inputs are a smooth synthetic image in [0, 1], quantized with the input's parameters for
//! integer inputs. Per-node times are the minimum over runs of the time between consecutive
//! value-hook calls.

use edgequant_interp::{Interpreter, Parallelism, TensorData, TensorValue};
use edgequant_ir::{DType, Graph};
use std::collections::BTreeMap;
use std::time::Instant;

fn input(g: &Graph) -> Vec<TensorValue> {
    g.inputs
        .iter()
        .map(|&id| {
            let t = g.tensor(id);
            let n = t.numel();
            let xs: Vec<f32> = (0..n).map(|i| ((i / 3) % 97) as f32 / 97.0).collect();
            let (s, z) = t
                .quant
                .as_ref()
                .map_or((1.0, 0), |q| (q.scale[0], q.zero_point[0]));
            let q = |x: f32, lo: i32, hi: i32| ((x / s).round() as i32 + z).clamp(lo, hi);
            let data = match t.dtype {
                DType::I8 => TensorData::I8(xs.iter().map(|&x| q(x, -128, 127) as i8).collect()),
                DType::U8 => TensorData::U8(xs.iter().map(|&x| q(x, 0, 255) as u8).collect()),
                DType::I16 => {
                    TensorData::I16(xs.iter().map(|&x| q(x, -32768, 32767) as i16).collect())
                }
                _ => TensorData::F32(xs),
            };
            TensorValue::new(t.shape.clone(), data).expect("input")
        })
        .collect()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 0;
    let mut runs = 300;
    while let Some(i) = args.iter().position(|a| a == "--threads" || a == "--runs") {
        let v = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0);
        if args[i] == "--threads" {
            threads = v;
        } else {
            runs = v.max(1);
        }
        args.drain(i..(i + 2).min(args.len()));
    }
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .ok();
    }
    for path in &args {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let graph = edgequant_tflite::read_model(&bytes)
            .expect("read model")
            .graph;
        let mut interp = Interpreter::new(&graph).expect("prepare");
        if threads == 1 {
            interp = interp.with_parallelism(Parallelism::None);
        }
        let inputs = input(&graph);
        for _ in 0..20 {
            interp.run(inputs.clone()).expect("run");
        }
        let mut times = Vec::new();
        for _ in 0..runs {
            let x = inputs.clone();
            let t = Instant::now();
            interp.run(x).expect("run");
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let plan = interp.memory_plan();
        println!(
            "{path}: median {:.4} ms, min {:.4} ms over {runs} runs ({} steps; peak activations {} B, no reuse {} B)",
            times[times.len() / 2],
            times[0],
            interp.num_steps(),
            plan.peak_activation_bytes,
            plan.total_activation_bytes
        );
        let producer: BTreeMap<usize, usize> = graph
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(k, n)| n.outputs.iter().map(move |o| (o.0, k)))
            .collect();
        let mut best: BTreeMap<usize, f64> = BTreeMap::new();
        for _ in 0..runs.min(200) {
            let mut last = Instant::now();
            interp
                .run_with_hook(inputs.clone(), &mut |id, _| {
                    let now = Instant::now();
                    if let Some(&k) = producer.get(&id.0) {
                        let e = best.entry(k).or_insert(f64::INFINITY);
                        *e = e.min((now - last).as_secs_f64() * 1e3);
                    }
                    last = now;
                })
                .expect("run");
        }
        for (&k, &ms) in &best {
            let n = &graph.nodes[k];
            let x = n.inputs.first().copied().flatten().map(|t| graph.tensor(t));
            println!(
                "    {ms:8.4} ms  {:18} {} {:?}",
                n.op.name(),
                x.map_or("-".to_string(), |t| t.dtype.to_string()),
                x.map(|t| t.shape.clone()).unwrap_or_default()
            );
        }
    }
}
