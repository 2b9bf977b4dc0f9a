use super::{common::req, OpDef};
use crate::{DType, Tensor, TensorType};

/// Converts an integer tensor (`real = (q - zero_point) * scale`) or a float16 tensor to
/// float32.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dequantize;

impl OpDef for Dequantize {
    const NAME: &'static str = "DEQUANTIZE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        Ok(vec![TensorType {
            dtype: DType::F32,
            shape: x.shape.clone(),
        }])
    }
}
