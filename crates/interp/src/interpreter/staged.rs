//! Runs executed a few steps at a time.

use super::{check_output, Interpreter};
use crate::ops::{Inputs, Io, Slot};
use crate::pool::Pool;
use crate::{InterpError, TensorValue};
use edgequant_ir::TensorId;
use std::hash::{Hash, Hasher};

/// A run of an [`Interpreter`] stopped between two steps: the values alive after the steps
/// executed so far (graph inputs and intermediates that a later step still reads, or graph
/// outputs), and the index of the next step.
///
/// A staged run may be continued by any interpreter prepared from a graph with the same nodes,
/// tensors and topology, for example the same graph after some constant tensors (biases)
/// were changed; [`Interpreter::run_steps`] checks that the steps match.
#[derive(Debug)]
pub struct StagedRun {
    store: Vec<Option<TensorValue>>,
    next: usize,
    fingerprint: u64,
}

impl StagedRun {
    /// Index of the next step to execute.
    pub fn next_step(&self) -> usize {
        self.next
    }

    /// Bytes held by the run's live values.
    pub fn live_bytes(&self) -> usize {
        self.store
            .iter()
            .flatten()
            .map(|v| v.data.len() * v.dtype().size())
            .sum()
    }
}

impl Interpreter {
    /// Identifies the step sequence: node names, ops and outputs, in order.
    fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.meta.len().hash(&mut h);
        for s in &self.steps {
            s.name.hash(&mut h);
            s.op.hash(&mut h);
            s.outputs.hash(&mut h);
        }
        h.finish()
    }

    /// Starts a staged run on `inputs` (as [`Interpreter::run`] takes them); no step has run.
    pub fn start(&self, inputs: Vec<TensorValue>) -> Result<StagedRun, InterpError> {
        self.check_inputs(&inputs)?;
        let mut store: Vec<Option<TensorValue>> = (0..self.meta.len()).map(|_| None).collect();
        for (&id, v) in self.inputs.iter().zip(inputs) {
            store[id.0] = Some(v);
        }
        Ok(StagedRun {
            store,
            next: 0,
            fingerprint: self.fingerprint(),
        })
    }

    /// Index of the step that computes `t` at run time; `None` for graph inputs, constants
    /// and values folded at preparation.
    pub fn step_computing(&self, t: TensorId) -> Option<usize> {
        self.steps.iter().position(|s| s.outputs.contains(&t))
    }

    fn check_staged(&self, run: &StagedRun) -> Result<(), InterpError> {
        if run.fingerprint != self.fingerprint() || run.store.len() != self.meta.len() {
            return Err(InterpError::Value(
                "a staged run was continued by an interpreter of a different graph".into(),
            ));
        }
        Ok(())
    }

    /// Executes the steps from `run`'s next step up to, not including, step `end` (at most
    /// the last step), calling `hook` for every value computed, as
    /// [`Interpreter::run_with_hook`] does. Values die after their last use as in a full run.
    pub fn run_steps(
        &self,
        run: &mut StagedRun,
        end: usize,
        hook: &mut dyn FnMut(TensorId, &TensorValue),
    ) -> Result<(), InterpError> {
        self.check_staged(run)?;
        let end = end.min(self.steps.len());
        if end <= run.next {
            return Ok(());
        }
        let mut pool = Pool::default();
        self.execute(run.next..end, &mut run.store, &mut pool, hook)?;
        run.next = end;
        Ok(())
    }

    /// Computes the outputs of step `step` from `run`'s current values without changing the
    /// run: nothing is stored, consumed or freed. `step` must not have been executed yet
    /// (its operands are alive only until it runs). Returns the step's outputs in order.
    pub fn peek_step(
        &self,
        run: &StagedRun,
        step: usize,
    ) -> Result<Vec<(TensorId, TensorValue)>, InterpError> {
        self.check_staged(run)?;
        let Some(s) = self.steps.get(step).filter(|_| step >= run.next) else {
            return Err(InterpError::Value(format!(
                "step {step} cannot be computed from a staged run at step {} of {}",
                run.next,
                self.steps.len()
            )));
        };
        let fail = |reason: String| InterpError::Execute {
            node: s.name.clone(),
            op: s.op.to_string(),
            reason,
        };
        let mut slots = Vec::with_capacity(s.inputs.len());
        for (i, t) in s.inputs.iter().enumerate() {
            slots.push(match t {
                None => Slot::None,
                Some(t) => match self.consts[t.0].as_deref().or(run.store[t.0].as_ref()) {
                    Some(v) => Slot::Ref(v),
                    None => {
                        return Err(fail(format!(
                            "operand {i} ('{}') has no value",
                            self.meta[t.0].name
                        )))
                    }
                },
            });
        }
        let mut pool = Pool::default();
        let mut io = Io {
            ins: Inputs { slots },
            outs: vec![None; s.outputs.len()],
            pool: &mut pool,
            par: self.par,
        };
        s.kernel.run(&mut io).map_err(&fail)?;
        let outs = std::mem::take(&mut io.outs);
        s.outputs
            .iter()
            .zip(outs)
            .map(|(&o, v)| Ok((o, check_output(&self.meta, o, v).map_err(&fail)?)))
            .collect()
    }
}
