use super::common::req;
use super::OpDef;
use crate::{Tensor, TensorType};

/// Reshape. The target comes from the constant second operand when present, else from
/// `new_shape`; one `-1` is inferred and `0` is not special.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reshape {
    pub new_shape: Option<Vec<i64>>,
}

/// Resolves a target shape with at most one `-1` against `numel` elements.
pub fn resolve_shape(target: &[i64], numel: usize) -> Result<Vec<usize>, String> {
    let mut known = 1usize;
    let mut unknown = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if unknown.is_none() => unknown = Some(i),
            d if d >= 0 => {
                known = known
                    .checked_mul(d as usize)
                    .ok_or("target shape overflows")?
            }
            _ => return Err(format!("invalid target shape {target:?}")),
        }
    }
    let mut out: Vec<usize> = target.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = unknown {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(format!("cannot reshape {numel} elements to {target:?}"));
        }
        out[i] = numel / known;
    } else if known != numel {
        return Err(format!("cannot reshape {numel} elements to {target:?}"));
    }
    Ok(out)
}

impl OpDef for Reshape {
    const NAME: &'static str = "RESHAPE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let target = match inputs.get(1).copied().flatten() {
            Some(s) if s.is_const() => s.int_data().map_err(|e| e.to_string())?,
            Some(_) if self.new_shape.is_none() => {
                return Err("shape operand must be a constant".into())
            }
            _ => self
                .new_shape
                .clone()
                .ok_or("no target shape (operand or attribute)")?,
        };
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: resolve_shape(&target, x.numel())?,
        }])
    }
}
