//! Plan-time composition of consecutive per-channel table steps (8-bit MUL / ADD / SUB by a
//! per-channel constant, such as the multiply-then-add of a batch normalization that could not
//! be folded into a convolution), and of float islands (an 8-bit DEQUANTIZE → a float PRELU
//! with a per-channel constant alpha → QUANTIZE back to the same type, the form of an op the
//! quantizer kept in float) into one such table.

use super::Interpreter;
use crate::int::channel_lut::ChannelLutKernel;
use crate::ops::{ChannelMapF32, FloatStage};
use edgequant_ir::{DType, TensorId};
use edgequant_kernels::float as kf;
use edgequant_kernels::int::binary_lut::Int8;
use edgequant_kernels::int::channel_lut::{ChannelLut8, MAX_CHANNELS};

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

    /// Replaces every float island (DEQUANTIZE step, its only reader a per-channel float map
    /// step, whose only reader QUANTIZEs to the DEQUANTIZE's input type) by one per-channel
    /// table step. The table is computed by running the three steps' own arithmetic on every
    /// 8-bit value of every channel, so results are unchanged; the two float intermediates are
    /// no longer computed (nor reported by [`Interpreter::run_with_hook`]).
    pub(super) fn fuse_float_islands(&mut self) {
        let mut i = 0;
        while i < self.steps.len() {
            if let Some((j, k, kernel)) = self.float_island(i) {
                let sk = self.steps.remove(k);
                let sj = self.steps.remove(j);
                let si = &mut self.steps[i];
                si.kernel = Box::new(kernel);
                si.name = format!("{} + {} + {}", si.name, sj.name, sk.name);
                si.outputs = sk.outputs;
            }
            i += 1;
        }
    }

    /// For a DEQUANTIZE step `i` that starts a float island: the map step, the QUANTIZE step
    /// and the composed table kernel.
    fn float_island(&self, i: usize) -> Option<(usize, usize, ChannelLutKernel)> {
        let si = &self.steps[i];
        let Some(FloatStage::Dequantize {
            from,
            scale: s_in,
            zero_point: z_in,
        }) = si.kernel.float_stage()
        else {
            return None;
        };
        let [t] = si.outputs[..] else { return None };
        let j = self.only_reader(i, t)?;
        let Some(FloatStage::ChannelMap {
            operand,
            channels,
            map,
        }) = self.steps[j].kernel.float_stage()
        else {
            return None;
        };
        let sj = &self.steps[j];
        let reads_t_once = sj.inputs.iter().flatten().filter(|&&u| u == t).count() == 1;
        if !reads_t_once || sj.inputs.get(operand).copied().flatten() != Some(t) {
            return None;
        }
        let [u] = sj.outputs[..] else { return None };
        let k = self.only_reader(j, u)?;
        let Some(FloatStage::Quantize {
            to,
            scale: s_out,
            zero_point: z_out,
        }) = self.steps[k].kernel.float_stage()
        else {
            return None;
        };
        let [o] = self.steps[k].outputs[..] else {
            return None;
        };
        if to != from || channels == 0 || channels > MAX_CHANNELS {
            return None;
        }
        let ends = ((s_in, z_in), (s_out, z_out));
        let table = match from {
            DType::I8 => island_table::<i8>(channels, ends, map),
            DType::U8 => island_table::<u8>(channels, ends, map),
            _ => None,
        }?;
        let kernel = ChannelLutKernel {
            table,
            operand: 0,
            dtype: to,
            out_shape: self.meta[o.0].shape.clone(),
        };
        Some((j, k, kernel))
    }

    /// The step after `i` that is the only reader of `t`, when `t` is not a graph output.
    fn only_reader(&self, i: usize, t: TensorId) -> Option<usize> {
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
        match readers[..] {
            [j] if j > i => Some(j),
            _ => None,
        }
    }

    /// The step that is the only reader of step `i`'s output, when both are per-channel
    /// tables over the same channel count and element type.
    fn fusable_consumer(&self, i: usize) -> Option<usize> {
        let si = &self.steps[i];
        let (ti, _) = si.kernel.channel_lut()?;
        let [t] = si.outputs[..] else { return None };
        let j = self.only_reader(i, t)?;
        let sj = &self.steps[j];
        let (tj, operand) = sj.kernel.channel_lut()?;
        let [o] = sj.outputs[..] else { return None };
        let reads_t_once = sj.inputs.iter().flatten().filter(|&&u| u == t).count() == 1;
        (reads_t_once
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

/// The table of `quantize(map(dequantize(x)), c)` for every value `x` of `T` and channel `c`,
/// computed with the interpreter's own DEQUANTIZE and QUANTIZE kernels and the map's `run`
/// arithmetic on a `[256, channels]` block holding every value in every channel.
fn island_table<T: Int8 + kf::QuantInt>(
    channels: usize,
    ((s_in, z_in), (s_out, z_out)): ((f32, i32), (f32, i32)),
    map: &dyn ChannelMapF32,
) -> Option<ChannelLut8> {
    let xs: Vec<T> = (0..=255u8)
        .flat_map(|b| std::iter::repeat_n(T::from_byte(b), channels))
        .collect();
    let mut f = vec![0.0f32; xs.len()];
    kf::dequantize(&xs, s_in, z_in, &mut f).ok()?;
    map.map_rows(&mut f).ok()?;
    let mut ys = vec![T::from_byte(0); xs.len()];
    kf::quantize(&f, s_out, z_out, &mut ys).ok()?;
    ChannelLut8::build::<T>(channels, |c, x| {
        ys[T::saturate(x).index() * channels + c].to_i32()
    })
    .ok()
}
