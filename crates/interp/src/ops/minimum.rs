//! MINIMUM (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Minimum;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Minimum {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Min, self.activation)
    }
}
