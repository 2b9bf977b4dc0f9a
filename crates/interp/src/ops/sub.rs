//! SUB (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Sub;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Sub {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Sub, self.activation)
    }
}
