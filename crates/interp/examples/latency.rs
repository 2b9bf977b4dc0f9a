//! Batch-1 latency of the interpreter on .tflite models.
//!
//! `cargo run --release -p edgequant-interp --example latency -- [--threads N] [--profile] MODEL.tflite...`
//!
//! Prints the median and minimum of 200 runs (after 20 warm-up runs) per model. `--threads N`
//! sizes rayon's pool (1 = single-threaded kernels); `--profile` adds a per-op-type time
//! breakdown measured through the value hook.

use edgequant_interp::{Interpreter, Parallelism, TensorData, TensorValue};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 0;
    let mut profile = false;
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0);
        args.drain(i..(i + 2).min(args.len()));
    }
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        profile = true;
        args.remove(i);
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
        let t0 = Instant::now();
        let mut interp = Interpreter::new(&graph).expect("prepare");
        let prep = t0.elapsed();
        if threads == 1 {
            interp = interp.with_parallelism(Parallelism::None);
        }
        let inputs: Vec<TensorValue> = graph
            .inputs
            .iter()
            .map(|&t| {
                let t = graph.tensor(t);
                let n: usize = t.shape.iter().product();
                // A smooth synthetic image in [0, 1] (or the .npy given by EDGEQUANT_INPUT).
                let data = match std::env::var_os("EDGEQUANT_INPUT") {
                    Some(p) => {
                        let bytes = std::fs::read(p).expect("read input .npy");
                        npyz::NpyFile::new(&bytes[..])
                            .expect("npy")
                            .into_vec::<f32>()
                            .expect("f32 npy")
                    }
                    None => (0..n).map(|i| ((i / 3) % 97) as f32 / 97.0).collect(),
                };
                TensorValue {
                    shape: t.shape.clone(),
                    data: TensorData::F32(data),
                }
            })
            .collect();
        for _ in 0..20 {
            interp.run(inputs.clone()).expect("run");
        }
        let (mut subnormal, mut total) = (0usize, 0usize);
        interp
            .run_with_hook(inputs.clone(), &mut |_, v| {
                if let Some(d) = v.as_f32() {
                    subnormal += d.iter().filter(|x| x.is_subnormal()).count();
                    total += d.len();
                }
            })
            .expect("run");
        let mut times = Vec::new();
        for _ in 0..200 {
            let x = inputs.clone();
            let t = Instant::now();
            interp.run(x).expect("run");
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{path}: median {:.3} ms, min {:.3} ms ({} steps, prepare {:.1} ms, threads {}, {subnormal} of {total} values subnormal)",
            times[times.len() / 2],
            times[0],
            interp.num_steps(),
            prep.as_secs_f64() * 1e3,
            rayon::current_num_threads()
        );
        if profile {
            // Per node: the minimum over runs of the time between consecutive hook calls.
            let producer: BTreeMap<usize, usize> = graph
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(k, n)| n.outputs.iter().map(move |o| (o.0, k)))
                .collect();
            let mut best: BTreeMap<usize, f64> = BTreeMap::new();
            for _ in 0..100 {
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
            let mut per_op: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
            for (&k, &ms) in &best {
                let e = per_op.entry(graph.nodes[k].op.name()).or_default();
                e.0 += ms;
                e.1 += 1;
            }
            let mut v: Vec<_> = per_op.into_iter().collect();
            v.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
            println!(
                "    sum of per-node minima {:.3} ms",
                best.values().sum::<f64>()
            );
            for (op, (ms, n)) in v {
                println!("    {op:20} {ms:.3} ms ({n} nodes)");
            }
            if std::env::var_os("PROFILE_NODES").is_some() {
                for (&k, &ms) in &best {
                    let n = &graph.nodes[k];
                    let shapes: Vec<_> = n
                        .inputs
                        .iter()
                        .flatten()
                        .map(|t| graph.tensor(*t).shape.clone())
                        .collect();
                    println!(
                        "      {:8.4} ms {} {:?} -> {:?}",
                        ms,
                        n.op.name(),
                        shapes,
                        graph.tensor(n.outputs[0]).shape
                    );
                }
            }
        }
    }
}
