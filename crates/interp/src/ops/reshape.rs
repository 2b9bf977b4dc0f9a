//! RESHAPE: moves the buffer (or copies it when still needed) and changes the shape.

use super::{Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Reshape;

/// Shape-only kernel shared by RESHAPE and SQUEEZE.
pub(super) struct ReshapeKernel {
    pub out_shape: Vec<usize>,
}

/// Prepares a shape-only op (the IR's inference already produced the output shape).
pub(super) fn prepare_shape_only(ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    ctx.same_quant(0, 0)?;
    if x.dtype != out.dtype || x.numel() != out.numel() {
        return Err(ctx.err(format!(
            "cannot reshape {} {:?} into {} {:?}",
            x.dtype, x.shape, out.dtype, out.shape
        )));
    }
    Ok(Box::new(ReshapeKernel {
        out_shape: out.shape.clone(),
    }))
}

impl Prepare for Reshape {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare_shape_only(ctx)
    }
}

impl Kernel for ReshapeKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let data = match io.ins.take(0) {
            Some(v) => v.data,
            None => io.ins.get(0)?.data.clone(),
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
