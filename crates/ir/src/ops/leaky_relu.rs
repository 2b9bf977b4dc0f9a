use super::common::same_as_first;
use super::OpDef;
use crate::{Tensor, TensorType};

/// `y = x >= 0 ? x : alpha * x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    pub alpha: f32,
}

impl OpDef for LeakyRelu {
    const NAME: &'static str = "LEAKY_RELU";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        same_as_first(inputs)
    }
}
