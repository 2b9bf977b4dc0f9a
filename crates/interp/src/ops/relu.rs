//! RELU (float).

use super::{unary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Relu;
use edgequant_kernels::float::UnaryOp;

impl Prepare for Relu {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        unary::prepare(ctx, UnaryOp::Relu)
    }
}
