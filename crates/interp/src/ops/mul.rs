//! MUL (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Mul;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Mul {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Mul, self.activation)
    }
}
