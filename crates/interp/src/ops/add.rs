//! ADD (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Add;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Add {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Add, self.activation)
    }
}
