//! SQUEEZE: shape-only, see RESHAPE.

use super::reshape::prepare_shape_only;
use super::{Ctx, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Squeeze;

impl Prepare for Squeeze {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare_shape_only(ctx)
    }
}
