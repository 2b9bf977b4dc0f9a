//! CONCATENATION for any element type (fused activation on float).

use super::{apply_tanh, fused, kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Concatenation;
use edgequant_ir::DType;
use edgequant_kernels::float::{self as kf, clamp_in_place, Clamp};

struct ConcatKernel {
    dtype: DType,
    shapes: Vec<Vec<usize>>,
    axis: usize,
    clamp: Clamp,
    tanh: bool,
    out_shape: Vec<usize>,
}

impl Prepare for Concatenation {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let out = ctx.output(0)?;
        let mut shapes = Vec::new();
        for i in 0..ctx.node.inputs.len() {
            let t = ctx.input(i)?;
            if t.dtype != out.dtype {
                return Err(ctx.err(format!(
                    "operand '{}' is {}, output is {}",
                    t.name, t.dtype, out.dtype
                )));
            }
            ctx.same_quant(i, 0)?;
            shapes.push(t.shape.clone());
        }
        let (clamp, tanh) = fused(self.activation);
        if !out.dtype.is_float() && (!clamp.is_none() || tanh) {
            return Err(ctx.unsupported("fused activation on integer concatenation"));
        }
        Ok(Box::new(ConcatKernel {
            dtype: out.dtype,
            shapes,
            axis: self.axis,
            clamp,
            tanh,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for ConcatKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_shape.iter().product();
        let shapes: Vec<&[usize]> = self.shapes.iter().map(Vec::as_slice).collect();
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            let ins = (0..shapes.len()).map(|i| io.ins.typed::<T>(i)).collect::<Result<Vec<_>, _>>()?;
            kf::concatenation(&ins, &shapes, self.axis, &mut out).map_err(kerr)?;
            let mut data = T::wrap(out);
            if let TensorData::F32(d) = &mut data {
                clamp_in_place(d, self.clamp);
                apply_tanh(d, self.tanh);
            }
            io.set(0, &self.out_shape, data);
        });
        Ok(())
    }
}
