//! DIV (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Div;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Div {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Div, self.activation)
    }
}
