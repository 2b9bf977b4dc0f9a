//! AVERAGE_POOL_2D on int8 / uint8 / int16: `reference_integer_ops::AveragePool` (mean of
//! the valid taps, rounded half away from zero; input and output share parameters).

use super::max_pool2d::prepare_pool;
use super::IntPrepare;
use crate::ops::{Ctx, Kernel};
use crate::InterpError;
use edgequant_ir::ops::AveragePool2d;

impl IntPrepare for AveragePool2d {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare_pool(
            ctx,
            true,
            self.filter,
            self.stride,
            self.padding,
            self.activation,
        )
    }
}
