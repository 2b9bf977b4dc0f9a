//! ONNX backend node tests: every test listed in `node_tests.txt` is imported, run through
//! edgequant's float interpreter and compared with the expected outputs.
//!
//! Data: `onnx/backend/test/data/node/` of the pinned `onnx` wheel when it ships it, else the
//! same layout generated from the wheel's test-case definitions by `tests/gen_node_tests.py`
//! into `$EDGEQUANT_CACHE/onnx-node-tests` (scripts/setup does this). Missing data fails.
//!
//! Inputs are fed in the ONNX layout (`keep_io_layout`). A test whose import fails with all
//! inputs at run time is retried with inputs 1.. bound as initializers (edgequant needs
//! weights, shapes, pads, axes etc. to be constants).
//!
//! Tolerance: every element `|got - want| <= 1e-4 + 1e-4 * |want|` (NaN must match NaN).

mod common;

use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_onnx::{decode_model, import_model, proto, read_tensor_proto, ImportOptions};
use prost::Message;
use std::path::{Path, PathBuf};

const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

fn data_dir() -> PathBuf {
    let cache = common::cache_dir();
    let wheel = common::onnx_package_dir().join("backend/test/data/node");
    if wheel.join("test_relu/model.onnx").exists() {
        return wheel;
    }
    common::require(cache.join("onnx-node-tests"), "ONNX backend node test data")
}

fn listed() -> Vec<String> {
    include_str!("node_tests.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn read_pb(path: &Path) -> Result<edgequant_ir::Tensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_tensor_proto(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn to_f32(v: &TensorValue) -> Option<Vec<f32>> {
    Some(match &v.data {
        TensorData::F32(x) => x.clone(),
        TensorData::F16(x) => x.iter().map(|h| h.to_f32()).collect(),
        TensorData::I8(x) => x.iter().map(|&h| f32::from(h)).collect(),
        TensorData::U8(x) => x.iter().map(|&h| f32::from(h)).collect(),
        TensorData::I16(x) => x.iter().map(|&h| f32::from(h)).collect(),
        TensorData::I32(x) => x.iter().map(|&h| h as f32).collect(),
        TensorData::I64(x) => x.iter().map(|&h| h as f32).collect(),
        TensorData::Bool(x) => x.iter().map(|&h| f32::from(u8::from(h))).collect(),
    })
}

/// Runs one test case; `Ok(mode)` names how the inputs were bound.
fn run_case(dir: &Path) -> Result<&'static str, String> {
    let bytes = std::fs::read(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let model = decode_model(&bytes).map_err(|e| e.to_string())?;
    let graph_proto = model.graph.as_ref().ok_or("no graph")?;
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    if sets.is_empty() {
        return Err("no test_data_set".into());
    }
    let mut mode = "run-time inputs";
    for set in sets {
        let inputs: Vec<edgequant_ir::Tensor> = (0..graph_proto.input.len())
            .map(|i| read_pb(&set.join(format!("input_{i}.pb"))))
            .collect::<Result<_, _>>()?;
        let outputs: Vec<edgequant_ir::Tensor> = (0..graph_proto.output.len())
            .map(|i| read_pb(&set.join(format!("output_{i}.pb"))))
            .collect::<Result<_, _>>()?;
        let names: Vec<String> = graph_proto
            .input
            .iter()
            .map(|v| v.name.clone().unwrap_or_default())
            .collect();
        let mut opts = ImportOptions {
            keep_io_layout: true,
            ..Default::default()
        };
        for (n, t) in names.iter().zip(&inputs) {
            opts.input_shapes.insert(n.clone(), t.shape.clone());
        }
        let (graph, frozen) = match import_model(&model, &opts) {
            Ok(g) => (g, 0),
            Err(first) => {
                // Bind inputs 1.. as initializers.
                let mut m2 = model.clone();
                let g2 = m2.graph.as_mut().ok_or("no graph")?;
                for (i, name) in names.iter().enumerate().take(inputs.len()).skip(1) {
                    let raw = std::fs::read(set.join(format!("input_{i}.pb")))
                        .map_err(|e| e.to_string())?;
                    let mut t =
                        proto::TensorProto::decode(raw.as_slice()).map_err(|e| e.to_string())?;
                    t.name = Some(name.clone());
                    g2.initializer.push(t);
                }
                let mut o2 = opts.clone();
                for n in names.iter().skip(1) {
                    o2.input_shapes.remove(n);
                }
                match import_model(&m2, &o2) {
                    Ok(g) => {
                        mode = "inputs 1.. as initializers";
                        (g, inputs.len().saturating_sub(1))
                    }
                    Err(second) => {
                        return Err(format!("import: {first} / with constant inputs: {second}"))
                    }
                }
            }
        };
        let vals: Vec<TensorValue> = inputs[..inputs.len() - frozen]
            .iter()
            .map(|t| TensorValue::from_tensor(t).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let interp = Interpreter::new(&graph).map_err(|e| format!("interpreter: {e}"))?;
        let got = interp.run(vals).map_err(|e| format!("run: {e}"))?;
        if got.len() != outputs.len() {
            return Err(format!("{} outputs, expected {}", got.len(), outputs.len()));
        }
        for (k, (g, w)) in got.iter().zip(&outputs).enumerate() {
            if g.shape != w.shape {
                return Err(format!(
                    "output {k}: shape {:?}, expected {:?}",
                    g.shape, w.shape
                ));
            }
            let want = TensorValue::from_tensor(w).map_err(|e| e.to_string())?;
            let (gv, wv) = (to_f32(g).ok_or("dtype")?, to_f32(&want).ok_or("dtype")?);
            let mut worst = (0usize, 0f32);
            for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
                let ok =
                    (a.is_nan() && b.is_nan()) || (a - b).abs() <= ATOL + RTOL * b.abs() || a == b;
                if !ok && (a - b).abs() >= worst.1 {
                    worst = (i, (a - b).abs());
                }
            }
            if worst.1 > 0.0 {
                return Err(format!(
                    "output {k}: element {} is {}, expected {} (|diff| {})",
                    worst.0, gv[worst.0], wv[worst.0], worst.1
                ));
            }
        }
    }
    Ok(mode)
}

#[test]
fn onnx_backend_node_tests() {
    let dir = data_dir();
    let names = listed();
    let mut failures = Vec::new();
    let mut frozen = 0;
    for name in &names {
        let case = dir.join(name);
        if !case.join("model.onnx").exists() {
            failures.push(format!(
                "{name}: missing {} (run scripts/setup)",
                case.display()
            ));
            continue;
        }
        match run_case(&case) {
            Ok(mode) => {
                if mode != "run-time inputs" {
                    frozen += 1;
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    let passed = names.len() - failures.len();
    println!(
        "ONNX node tests: {passed} passed, {} failed of {} listed ({frozen} with inputs 1.. bound as initializers); tolerance |d| <= {ATOL} + {RTOL}*|want|",
        failures.len(),
        names.len()
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} node tests failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
