use super::common::{broadcast_shapes, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// `y = x >= 0 ? x : alpha * x` with `alpha` an operand broadcast against `x`.
/// Operands: input, alpha.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Prelu;

impl OpDef for Prelu {
    const NAME: &'static str = "PRELU";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let a = req(inputs, 1, "alpha")?;
        let shape = broadcast_shapes(&x.shape, &a.shape)?;
        if shape != x.shape {
            return Err(format!("alpha {:?} would grow input {:?}", a.shape, x.shape));
        }
        Ok(vec![x.ty()])
    }
}
