//! SOFTMAX (float, last axis).

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Softmax;
use edgequant_kernels::float::softmax;

struct SoftmaxKernel {
    shape: Vec<usize>,
    depth: usize,
    beta: f32,
}

impl Prepare for Softmax {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        ctx.float_output(0)?;
        let depth = *x
            .shape
            .last()
            .ok_or_else(|| ctx.err("softmax needs an input of rank ≥ 1"))?;
        if depth == 0 {
            return Err(ctx.err("softmax over an empty axis"));
        }
        Ok(Box::new(SoftmaxKernel {
            shape: x.shape.clone(),
            depth,
            beta: self.beta,
        }))
    }
}

impl Kernel for SoftmaxKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let x = io.ins.f32(0)?;
        let mut out = io.pool.alloc(x.len());
        softmax(x, &mut out, self.depth, self.beta).map_err(kerr)?;
        io.set_f32(0, &self.shape, out);
        Ok(())
    }
}
