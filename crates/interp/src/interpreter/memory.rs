//! Planned tensor memory of a prepared graph.

use super::Interpreter;

/// Memory needed by one run of an [`Interpreter`], from its liveness plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Largest total size of the run-time tensors alive at the same time: graph inputs,
    /// intermediate values from their producing step to their last use, graph outputs to the
    /// end of the run. Measured while each step runs (its operands and its outputs are alive
    /// together). Kernel scratch (im2col blocks, quantized hybrid inputs) is not included.
    pub peak_activation_bytes: usize,
    /// The run-time tensor sizes summed without any reuse (what an interpreter that keeps
    /// every value would hold).
    pub total_activation_bytes: usize,
    /// Constant tensors that kernels still read at run time (weights folded into kernels at
    /// preparation, e.g. packed convolution filters, are owned by the kernels and not counted).
    pub constant_bytes: usize,
}

/// The liveness plan walked once: bytes alive before the first step (the graph inputs), then
/// per step the bytes alive while it runs (operands and outputs) and after its frees, and the
/// sum of all run-time tensor sizes.
struct Liveness {
    start: usize,
    steps: Vec<(usize, usize)>,
    total: usize,
}

impl Interpreter {
    fn liveness(&self) -> Liveness {
        let bytes = |t: usize| -> usize {
            let m = &self.meta[t];
            m.shape.iter().product::<usize>() * m.dtype.size()
        };
        let is_const = |t: usize| self.consts.get(t).is_some_and(Option::is_some);
        let mut live = vec![false; self.meta.len()];
        let mut current = 0usize;
        let mut total = 0usize;
        for t in &self.inputs {
            if !live[t.0] && !is_const(t.0) {
                live[t.0] = true;
                current += bytes(t.0);
                total += bytes(t.0);
            }
        }
        let start = current;
        let mut steps = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            for t in &step.outputs {
                if !live[t.0] {
                    live[t.0] = true;
                    current += bytes(t.0);
                    total += bytes(t.0);
                }
            }
            let during = current;
            for t in &step.frees {
                if live[t.0] {
                    live[t.0] = false;
                    current -= bytes(t.0);
                }
            }
            steps.push((during, current));
        }
        Liveness {
            start,
            steps,
            total,
        }
    }

    /// The memory plan of one run (see [`MemoryPlan`]): buffers are freed after their last
    /// use, so the peak is usually far below the sum of all tensor sizes.
    pub fn memory_plan(&self) -> MemoryPlan {
        let l = self.liveness();
        let peak = l
            .steps
            .iter()
            .map(|&(during, _)| during)
            .fold(l.start, usize::max);
        let constant_bytes = self
            .consts
            .iter()
            .flatten()
            .map(|v| v.data.len() * v.dtype().size())
            .sum();
        MemoryPlan {
            peak_activation_bytes: peak,
            total_activation_bytes: l.total,
            constant_bytes,
        }
    }

    /// Bytes of run-time values held between steps, as a [`super::StagedRun`] holds them:
    /// element `k` is the total size of the values alive when step `k` is the next to run
    /// (`k` = 0 ..= [`Interpreter::num_steps`]; element 0 is the graph inputs). Same liveness
    /// rules as [`Interpreter::memory_plan`].
    pub fn parked_bytes(&self) -> Vec<usize> {
        let l = self.liveness();
        std::iter::once(l.start)
            .chain(l.steps.iter().map(|&(_, after)| after))
            .collect()
    }
}
