//! PACK for any element type.

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::InterpError;
use edgequant_ir::ops::Pack;
use edgequant_ir::DType;
use edgequant_kernels::float as kf;

struct PackKernel {
    dtype: DType,
    in_shape: Vec<usize>,
    count: usize,
    axis: usize,
    out_shape: Vec<usize>,
}

impl Prepare for Pack {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let out = ctx.output(0)?;
        let first = ctx.input(0)?;
        for i in 0..ctx.node.inputs.len() {
            let t = ctx.input(i)?;
            if t.dtype != out.dtype || t.shape != first.shape {
                return Err(ctx.err(format!(
                    "operand '{}' does not match the first operand",
                    t.name
                )));
            }
            ctx.same_quant(i, 0)?;
        }
        Ok(Box::new(PackKernel {
            dtype: out.dtype,
            in_shape: first.shape.clone(),
            count: ctx.node.inputs.len(),
            axis: self.axis,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for PackKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_shape.iter().product();
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            let ins = (0..self.count).map(|i| io.ins.typed::<T>(i)).collect::<Result<Vec<_>, _>>()?;
            kf::pack(&ins, &self.in_shape, self.axis, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
