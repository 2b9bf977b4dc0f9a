//! MAXIMUM (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Maximum;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Maximum {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Max, self.activation)
    }
}
