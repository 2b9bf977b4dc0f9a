//! AVERAGE_POOL_2D (float; padding excluded from the average).

use super::max_pool2d::{pool_params, PoolKernel};
use super::{Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::AveragePool2d;

impl Prepare for AveragePool2d {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (params, tanh, out_shape) =
            pool_params(ctx, self.filter, self.stride, self.padding, self.activation)?;
        Ok(Box::new(PoolKernel {
            max: false,
            params,
            tanh,
            out_shape,
        }))
    }
}
