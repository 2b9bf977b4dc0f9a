//! BATCH_MATMUL (float).

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::BatchMatMul;
use edgequant_kernels::float::batch_matmul;

struct BatchMatMulKernel {
    x_shape: Vec<usize>,
    y_shape: Vec<usize>,
    adj_x: bool,
    adj_y: bool,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl Prepare for BatchMatMul {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        let y = ctx.float_input(1)?;
        let out = ctx.float_output(0)?;
        Ok(Box::new(BatchMatMulKernel {
            x_shape: x.shape.clone(),
            y_shape: y.shape.clone(),
            adj_x: self.adj_x,
            adj_y: self.adj_y,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for BatchMatMulKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let mut out = io.pool.alloc(self.out_len);
        batch_matmul(
            io.ins.f32(0)?,
            &self.x_shape,
            io.ins.f32(1)?,
            &self.y_shape,
            self.adj_x,
            self.adj_y,
            &mut out,
            io.par,
        )
        .map_err(kerr)?;
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
