use super::common::req;
use super::OpDef;
use crate::{DType, Tensor, TensorType};

/// Gathers slices of `params` along `axis` (TFLite GATHER, `batch_dims` 0). Operands: params,
/// indices (int32 or int64, values in `0..params.shape[axis]`). Output shape:
/// `params.shape[..axis] + indices.shape + params.shape[axis + 1..]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gather {
    pub axis: usize,
}

impl OpDef for Gather {
    const NAME: &'static str = "GATHER";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let p = req(inputs, 0, "params")?;
        let i = req(inputs, 1, "indices")?;
        if !matches!(i.dtype, DType::I32 | DType::I64) {
            return Err(format!("indices must be int32 or int64, got {}", i.dtype));
        }
        if self.axis >= p.shape.len() {
            return Err(format!(
                "axis {} out of range for rank {}",
                self.axis,
                p.shape.len()
            ));
        }
        let mut shape = p.shape[..self.axis].to_vec();
        shape.extend_from_slice(&i.shape);
        shape.extend_from_slice(&p.shape[self.axis + 1..]);
        Ok(vec![TensorType {
            dtype: p.dtype,
            shape,
        }])
    }
}
