//! POW (float).

use super::{binary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Pow;
use edgequant_ir::Activation;
use edgequant_kernels::float::BinaryOp;

impl Prepare for Pow {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        binary::prepare(ctx, BinaryOp::Pow, Activation::None)
    }
}
