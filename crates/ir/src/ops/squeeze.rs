use super::common::{normalize_axis, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Removes size-1 dims: the listed axes, or all size-1 dims when `axes` is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Squeeze {
    pub axes: Vec<i64>,
}

impl OpDef for Squeeze {
    const NAME: &'static str = "SQUEEZE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let rank = x.shape.len();
        let axes = self
            .axes
            .iter()
            .map(|&a| normalize_axis(a, rank))
            .collect::<Result<Vec<_>, _>>()?;
        for &a in &axes {
            if x.shape[a] != 1 {
                return Err(format!("axis {a} has size {}, not 1", x.shape[a]));
            }
        }
        let shape = x
            .shape
            .iter()
            .enumerate()
            .filter(|&(i, &d)| !(if axes.is_empty() { d == 1 } else { axes.contains(&i) }))
            .map(|(_, &d)| d)
            .collect();
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
