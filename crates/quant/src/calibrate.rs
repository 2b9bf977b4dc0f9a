//! Calibration: runs the float graph on representative samples and records the range of
//! every float tensor through the interpreter's value hook (the graph is not changed).

use crate::error::QuantError;
use edgequant_calib::{AnyObserver, CalibError, CalibratorKind, Observer, Sample};
use edgequant_interp::{Interpreter, Parallelism, TensorValue};
use edgequant_ir::{DType, Graph};
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
                let inputs = graph
                    .inputs
                    .iter()
                    .zip(sample)
                    .map(|(&id, v)| {
                        TensorValue::from_f32(graph.tensor(id).shape.clone(), v.clone())
                    })
                    .collect::<Result<Vec<_>, _>>()?;
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
