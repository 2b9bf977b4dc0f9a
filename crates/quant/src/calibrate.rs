//! Calibration: runs the float graph on representative samples and records the range of
//! every float tensor through the interpreter's value hook (the graph is not changed).

use crate::error::QuantError;
use edgequant_calib::params::quantize_value;
use edgequant_calib::{AnyObserver, CalibError, CalibratorKind, Observer, Sample};
use edgequant_interp::{Interpreter, Parallelism, TensorData, TensorValue};
use edgequant_ir::{DType, Graph, TensorId};
use rayon::prelude::*;

/// Per-tensor observers of one worker.
struct Observers {
    slots: Vec<Option<AnyObserver>>,
}

impl Observers {
    fn new(n: usize) -> Self {
        Observers {
            slots: (0..n).map(|_| None).collect(),
        }
    }

    fn merge(&mut self, other: Observers) -> Result<(), CalibError> {
        for (a, b) in self.slots.iter_mut().zip(other.slots) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => a.merge(&b)?,
                (None, Some(b)) => *a = Some(b),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Runs `graph` on every sample and returns the selected `(min, max)` of each float32 tensor
/// computed at run time (graph inputs included), indexed by tensor id; `None` for tensors
/// never observed (constants, integer tensors).
///
/// Samples are split into contiguous chunks, one per worker thread; each worker has its own
/// observers, merged in chunk order, so results do not depend on the thread count for the
/// order-independent calibrators (min/max, histograms). `progress(k)` is called after each
/// sample with the number finished so far in that worker's chunk (for progress bars).
/// Errors name the tensor and sample of a NaN/Inf value.
pub fn calibrate(
    graph: &Graph,
    samples: &[Sample],
    kind: CalibratorKind,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<Option<(f32, f32)>>, QuantError> {
    if samples.is_empty() {
        return Err(QuantError::NoSamples);
    }
    let interp = Interpreter::new_unfused(graph)?.with_parallelism(Parallelism::None);
    let n = graph.tensors.len();
    let workers = rayon::current_num_threads().max(1).min(samples.len());
    let chunk = samples.len().div_ceil(workers);
    let parts: Vec<Result<Observers, QuantError>> = samples
        .par_chunks(chunk)
        .enumerate()
        .map(|(ci, part)| {
            let mut obs = Observers::new(n);
            for (k, sample) in part.iter().enumerate() {
                let index = ci * chunk + k;
                let inputs = sample_inputs(graph, sample)?;
                let mut failure: Option<CalibError> = None;
                interp.run_with_hook(inputs, &mut |id, value| {
                    if failure.is_some() || graph.tensor(id).dtype != DType::F32 {
                        return;
                    }
                    let Some(values) = value.as_f32() else { return };
                    let slot = &mut obs.slots[id.0];
                    let r = match slot {
                        Some(o) => o.observe(values),
                        None => kind.build().and_then(|mut o| {
                            let r = o.observe(values);
                            *slot = Some(o);
                            r
                        }),
                    };
                    if let Err(e) = r {
                        failure = Some(e.in_sample(graph.tensor(id).name.clone(), index));
                    }
                })?;
                if let Some(e) = failure {
                    return Err(QuantError::Calib(e));
                }
                progress();
            }
            Ok(obs)
        })
        .collect();
    let mut merged = Observers::new(n);
    for p in parts {
        merged.merge(p?)?;
    }
    merged
        .slots
        .iter()
        .map(|o| o.as_ref().map(|o| o.range()).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map_err(QuantError::Calib)
}

/// The graph input values for one sample (one value vector per graph input, in order):
/// float inputs take the values as they are, integer inputs (int8, uint8, int16) get them
/// quantized with the input's parameters (TFLite's QUANTIZE rounding).
pub(crate) fn sample_inputs(g: &Graph, sample: &Sample) -> Result<Vec<TensorValue>, QuantError> {
    g.inputs
        .iter()
        .zip(sample)
        .map(|(&id, v)| feed(g, id, v))
        .collect()
}

/// One graph input's value from float values: float as is, integer inputs quantized with the
/// input's parameters.
fn feed(g: &Graph, id: TensorId, values: &[f32]) -> Result<TensorValue, QuantError> {
    let t = g.tensor(id);
    let shape = t.shape.clone();
    let q = |lo: i32, hi: i32| -> Vec<i32> {
        let (s, z) = t
            .quant
            .as_ref()
            .map_or((1.0, 0), |p| (p.scale[0], p.zero_point[0]));
        values
            .iter()
            .map(|&v| quantize_value(v, s, z, lo, hi))
            .collect()
    };
    let data = match t.dtype {
        DType::I8 => TensorData::I8(q(-128, 127).into_iter().map(|v| v as i8).collect()),
        DType::U8 => TensorData::U8(q(0, 255).into_iter().map(|v| v as u8).collect()),
        DType::I16 => TensorData::I16(q(-32768, 32767).into_iter().map(|v| v as i16).collect()),
        _ => TensorData::F32(values.to_vec()),
    };
    Ok(TensorValue::new(shape, data)?)
}
