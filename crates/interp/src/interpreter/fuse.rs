//! Plan-time composition of consecutive per-channel table steps (8-bit MUL / ADD / SUB by a
//! per-channel constant, such as the multiply-then-add of a batch normalization that could not
//! be folded into a convolution).

use super::Interpreter;
use crate::int::channel_lut::ChannelLutKernel;

impl Interpreter {
    /// Replaces every pair (producer step, its only consumer) of per-channel 8-bit table steps
    /// over the same channel count by one step with the composed table. The results are
    /// unchanged (the composed table maps every input byte exactly as the two tables in
    /// sequence); the intermediate tensor is no longer computed, so
    /// [`Interpreter::run_with_hook`] does not report it. Intermediates that are graph outputs
    /// or read by more than one step are kept.
    pub(super) fn fuse_channel_tables(&mut self) {
        let mut i = 0;
        while i < self.steps.len() {
            match self.fusable_consumer(i) {
                Some(j) => self.fuse(i, j),
                None => i += 1,
            }
        }
    }

    /// The step that is the only reader of step `i`'s output, when both are per-channel
    /// tables over the same channel count and element type.
    fn fusable_consumer(&self, i: usize) -> Option<usize> {
        let si = &self.steps[i];
        let (ti, _) = si.kernel.channel_lut()?;
        let [t] = si.outputs[..] else { return None };
        if self.outputs.contains(&t) {
            return None;
        }
        let readers: Vec<usize> = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.inputs.iter().flatten().any(|&u| u == t))
            .map(|(k, _)| k)
            .collect();
        let [j] = readers[..] else { return None };
        let sj = &self.steps[j];
        let (tj, operand) = sj.kernel.channel_lut()?;
        let [o] = sj.outputs[..] else { return None };
        let reads_t_once = sj.inputs.iter().flatten().filter(|&&u| u == t).count() == 1;
        (j > i
            && reads_t_once
            && sj.inputs.get(operand).copied().flatten() == Some(t)
            && ti.channels() == tj.channels()
            && self.meta[t.0].dtype == self.meta[o.0].dtype)
            .then_some(j)
    }

    fn fuse(&mut self, i: usize, j: usize) {
        let (table, operand) = {
            let (Some((ti, operand)), Some((tj, _))) = (
                self.steps[i].kernel.channel_lut(),
                self.steps[j].kernel.channel_lut(),
            ) else {
                return;
            };
            match ti.then(tj) {
                Some(t) => (t, operand),
                None => return,
            }
        };
        let sj = self.steps.remove(j);
        let o = sj.outputs[0];
        let si = &mut self.steps[i];
        si.kernel = Box::new(ChannelLutKernel {
            table,
            operand,
            dtype: self.meta[o.0].dtype,
            out_shape: self.meta[o.0].shape.clone(),
        });
        si.name = format!("{} + {}", si.name, sj.name);
        si.outputs = sj.outputs;
    }
}
