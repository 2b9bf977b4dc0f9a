use super::common::req;
use super::OpDef;
use crate::{DType, Tensor, TensorType};

/// The input's shape as a 1-D tensor of `out_type` (int32 or int64).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub out_type: DType,
}

impl OpDef for Shape {
    const NAME: &'static str = "SHAPE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        if !matches!(self.out_type, DType::I32 | DType::I64) {
            return Err(format!("out_type {} must be int32 or int64", self.out_type));
        }
        Ok(vec![TensorType {
            dtype: self.out_type,
            shape: vec![x.shape.len()],
        }])
    }
}
