use super::common::binary;
use super::OpDef;
use crate::{Tensor, TensorType};

/// Elementwise `y = lhs ^ rhs` with NumPy broadcasting (TFLite POW; no fused activation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pow;

impl OpDef for Pow {
    const NAME: &'static str = "POW";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        binary(inputs)
    }
}
