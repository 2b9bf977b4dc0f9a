//! Classification accuracy and latency of a model on a dataset, with edgequant's interpreter.

use anyhow::{bail, Context, Result};
use edgequant_calib::{Dataset, Sample};
use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_ir::{DType, Graph};
use std::time::Instant;

/// Converts one float sample into interpreter inputs for `graph`, quantizing with the input
/// tensor's scale and zero point where the model takes int8/uint8/int16 inputs.
pub fn sample_inputs(graph: &Graph, sample: &Sample) -> Result<Vec<TensorValue>> {
    graph
        .inputs
        .iter()
        .zip(sample)
        .map(|(&id, values)| {
            let t = graph.tensor(id);
            let q = || {
                t.quant
                    .as_ref()
                    .map(|q| (q.scale[0], q.zero_point[0]))
                    .with_context(|| {
                        format!("integer input '{}' has no quantization parameters", t.name)
                    })
            };
            let quantize = |lo: i32, hi: i32| -> Result<Vec<i32>> {
                let (s, z) = q()?;
                Ok(values
                    .iter()
                    .map(|&x| edgequant_calib::params::quantize_value(x, s, z, lo, hi))
                    .collect())
            };
            let data = match t.dtype {
                DType::F32 => TensorData::F32(values.clone()),
                DType::I8 => {
                    TensorData::I8(quantize(-128, 127)?.into_iter().map(|v| v as i8).collect())
                }
                DType::U8 => {
                    TensorData::U8(quantize(0, 255)?.into_iter().map(|v| v as u8).collect())
                }
                DType::I16 => TensorData::I16(
                    quantize(-32768, 32767)?
                        .into_iter()
                        .map(|v| v as i16)
                        .collect(),
                ),
                other => bail!("input '{}' has unsupported type {other}", t.name),
            };
            Ok(TensorValue {
                shape: t.shape.clone(),
                data,
            })
        })
        .collect()
}

/// Index of the largest value of an output (any numeric type; quantized outputs compare
/// correctly because dequantization is monotonic).
pub fn argmax(v: &TensorValue) -> usize {
    fn best<T: PartialOrd + Copy>(x: &[T]) -> usize {
        let mut b = 0;
        for (i, &v) in x.iter().enumerate() {
            if v > x[b] {
                b = i;
            }
        }
        b
    }
    match &v.data {
        TensorData::F32(x) => best(x),
        TensorData::I8(x) => best(x),
        TensorData::U8(x) => best(x),
        TensorData::I16(x) => best(x),
        TensorData::I32(x) => best(x),
        TensorData::I64(x) => best(x),
        TensorData::F16(x) => best(x),
        TensorData::Bool(x) => best(x),
    }
}

/// Top-k accuracy result.
#[derive(Clone, Copy, Debug)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
}

impl Accuracy {
    /// Accuracy in percent.
    pub fn percent(&self) -> f64 {
        100.0 * self.correct as f64 / self.total.max(1) as f64
    }
}

fn top_k(v: &TensorValue, k: usize) -> Vec<usize> {
    if k <= 1 {
        return vec![argmax(v)];
    }
    let as_f64: Vec<f64> = match &v.data {
        TensorData::F32(x) => x.iter().map(|&a| a as f64).collect(),
        TensorData::I8(x) => x.iter().map(|&a| a as f64).collect(),
        TensorData::U8(x) => x.iter().map(|&a| a as f64).collect(),
        TensorData::I16(x) => x.iter().map(|&a| a as f64).collect(),
        _ => return vec![argmax(v)],
    };
    let mut idx: Vec<usize> = (0..as_f64.len()).collect();
    idx.sort_by(|&a, &b| as_f64[b].total_cmp(&as_f64[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Top-`k` accuracy of the first model output against the dataset's labels.
pub fn accuracy(interp: &Interpreter, graph: &Graph, data: &Dataset, k: usize) -> Result<Accuracy> {
    let labels = data.labels().context("the dataset has no labels")?;
    let mut correct = 0;
    for (i, (sample, &label)) in data.samples().iter().zip(labels).enumerate() {
        let out = interp
            .run(sample_inputs(graph, sample)?)
            .with_context(|| format!("inference failed on sample {i}"))?;
        let first = out.first().context("the model has no outputs")?;
        if top_k(first, k).contains(&(label as usize)) {
            correct += 1;
        }
    }
    Ok(Accuracy {
        correct,
        total: labels.len(),
    })
}

/// Median batch-1 latency in milliseconds over `runs` runs of the first sample (after 3
/// warm-up runs).
pub fn latency_ms(
    interp: &Interpreter,
    graph: &Graph,
    sample: &Sample,
    runs: usize,
) -> Result<f64> {
    let inputs = sample_inputs(graph, sample)?;
    for _ in 0..3 {
        interp.run(inputs.clone())?;
    }
    let mut t = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        interp.run(inputs.clone())?;
        t.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}
