use super::{common::req, OpDef};
use crate::{DType, Tensor, TensorType};

/// Quantizes float32 to `to` (`q = round(x / scale) + zero_point`, saturated), or requantizes an
/// integer tensor to new parameters. The output tensor's [`crate::QuantParams`] give the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantize {
    pub to: DType,
}

impl OpDef for Quantize {
    const NAME: &'static str = "QUANTIZE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        Ok(vec![TensorType {
            dtype: self.to,
            shape: x.shape.clone(),
        }])
    }
}
