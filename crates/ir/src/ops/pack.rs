use super::common::req;
use super::OpDef;
use crate::{Tensor, TensorType};

/// Stacks all operands (equal shapes) along a new axis `axis` (normalized, `0..=rank`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pack {
    pub axis: usize,
}

impl OpDef for Pack {
    const NAME: &'static str = "PACK";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let first = req(inputs, 0, "input")?;
        for i in 1..inputs.len() {
            let t = req(inputs, i, "input")?;
            if t.shape != first.shape {
                return Err(format!("operand {i} shape {:?} differs from {:?}", t.shape, first.shape));
            }
        }
        if self.axis > first.shape.len() {
            return Err(format!("axis {} out of range for rank {}", self.axis, first.shape.len() + 1));
        }
        let mut shape = first.shape.clone();
        shape.insert(self.axis, inputs.len());
        Ok(vec![TensorType {
            dtype: first.dtype,
            shape,
        }])
    }
}
