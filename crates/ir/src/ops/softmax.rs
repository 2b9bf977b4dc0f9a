use super::common::same_as_first;
use super::OpDef;
use crate::{Tensor, TensorType};

/// Softmax over the last axis: `y = exp(beta·x - max) / Σ exp(beta·x - max)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    pub beta: f32,
}

impl OpDef for Softmax {
    const NAME: &'static str = "SOFTMAX";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        same_as_first(inputs)
    }
}
