//! CONCATENATION of int8 / uint8 / int16 tensors: inputs that share the output's scale and
//! zero point are copied (`reference_ops::Concatenation`, TFLite's int8 requirement); others
//! are requantized as `reference_ops::ConcatenationWithScaling` does.

use super::{with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Concatenation;
use edgequant_ir::{Activation, DType};
use edgequant_kernels::int::concatenation::concatenation;
use edgequant_kernels::int::QParams;

struct ConcatKernel {
    dtype: DType,
    inputs: Vec<(Vec<usize>, QParams)>,
    axis: usize,
    out_q: QParams,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for Concatenation {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let out = ctx.output(0)?;
        if self.activation != Activation::None {
            return Err(ctx.unsupported("fused activation on an integer concatenation"));
        }
        let q = Quant::new(ctx);
        let out_q = q.activation(out, false)?;
        let mut inputs = Vec::new();
        for i in 0..ctx.node.inputs.len() {
            let t = ctx.input(i)?;
            if t.dtype != out.dtype {
                return Err(ctx.unsupported(format!(
                    "operand '{}' is {}, output is {}",
                    t.name, t.dtype, out.dtype
                )));
            }
            inputs.push((t.shape.clone(), q.activation(t, false)?));
        }
        if inputs.is_empty() || self.axis >= out.shape.len().max(1) {
            return Err(ctx.err(format!("axis {} out of range", self.axis)));
        }
        Ok(Box::new(ConcatKernel {
            dtype: out.dtype,
            inputs,
            axis: self.axis,
            out_q,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for ConcatKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut parts = Vec::with_capacity(self.inputs.len());
            for (i, (shape, q)) in self.inputs.iter().enumerate() {
                parts.push((io.ins.typed::<T>(i)?, shape.as_slice(), *q));
            }
            let mut out = vec![T::default(); self.out_len];
            concatenation(&parts, self.axis, &mut out, self.out_q).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
