//! RELU_N1_TO_1 (float).

use super::{unary, Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::ReluN1To1;
use edgequant_kernels::float::UnaryOp;

impl Prepare for ReluN1To1 {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        unary::prepare(ctx, UnaryOp::ReluN1To1)
    }
}
