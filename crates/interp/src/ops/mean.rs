//! MEAN (float).

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::{reduce_axes, Mean};
use edgequant_kernels::float::mean;

struct MeanKernel {
    in_shape: Vec<usize>,
    axes: Vec<usize>,
    out_shape: Vec<usize>,
}

impl Prepare for Mean {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        let out = ctx.float_output(0)?;
        let ops = ctx.ir_operands();
        let refs: Vec<_> = ops.iter().map(Option::as_ref).collect();
        let axes = reduce_axes(&refs, x.shape.len()).map_err(|e| ctx.err(e))?;
        Ok(Box::new(MeanKernel {
            in_shape: x.shape.clone(),
            axes,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for MeanKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let mut out = io.pool.alloc(self.out_shape.iter().product());
        mean(io.ins.f32(0)?, &self.in_shape, &self.axes, &mut out).map_err(kerr)?;
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
