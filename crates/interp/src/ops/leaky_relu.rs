//! LEAKY_RELU (float).

use super::{unary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::LeakyRelu;
use edgequant_kernels::float::UnaryOp;

impl Prepare for LeakyRelu {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        unary::prepare(ctx, UnaryOp::LeakyRelu(self.alpha))
    }
}
