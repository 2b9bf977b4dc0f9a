use super::common::{req, Activation};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Concatenates all operands along `axis` (normalized, non-negative).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Concatenation {
    pub axis: usize,
    pub activation: Activation,
}

impl OpDef for Concatenation {
    const NAME: &'static str = "CONCATENATION";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let first = req(inputs, 0, "input")?;
        if self.axis >= first.shape.len() {
            return Err(format!("axis {} out of range for rank {}", self.axis, first.shape.len()));
        }
        let mut shape = first.shape.clone();
        shape[self.axis] = 0;
        for i in 0..inputs.len() {
            let t = req(inputs, i, "input")?;
            let same_rest = t.shape.len() == shape.len()
                && t.shape.iter().zip(&first.shape).enumerate().all(|(d, (a, b))| d == self.axis || a == b);
            if !same_rest {
                return Err(format!(
                    "operand {i} shape {:?} does not match {:?} outside axis {}",
                    t.shape, first.shape, self.axis
                ));
            }
            shape[self.axis] += t.shape[self.axis];
        }
        Ok(vec![TensorType {
            dtype: first.dtype,
            shape,
        }])
    }
}
