//! HARD_SWISH (float).

use super::{unary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::HardSwish;
use edgequant_kernels::float::UnaryOp;

impl Prepare for HardSwish {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        unary::prepare(ctx, UnaryOp::HardSwish)
    }
}
