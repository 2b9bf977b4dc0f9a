//! Shared preparation and kernel of the elementwise activations; computes in place when the
//! input buffer dies here.

use super::{Ctx, Io, Kernel};
use crate::InterpError;
use edgequant_kernels::float::{unary, unary_in_place, UnaryOp};

struct UnaryKernel {
    op: UnaryOp,
    shape: Vec<usize>,
}

/// Prepares a float elementwise activation.
pub(super) fn prepare(ctx: &Ctx<'_>, op: UnaryOp) -> Result<Box<dyn Kernel>, InterpError> {
    let x = ctx.float_input(0)?;
    ctx.float_output(0)?;
    Ok(Box::new(UnaryKernel {
        op,
        shape: x.shape.clone(),
    }))
}

impl Kernel for UnaryKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let out = match io.ins.take_f32(0) {
            Some(mut x) => {
                unary_in_place(self.op, &mut x);
                x
            }
            None => {
                let x = io.ins.f32(0)?;
                let mut o = io.pool.alloc(x.len());
                unary(self.op, x, &mut o).map_err(|e| e.to_string())?;
                o
            }
        };
        io.set_f32(0, &self.shape, out);
        Ok(())
    }
}
