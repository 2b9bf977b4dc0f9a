use super::common::{const_ints, normalize_axis, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Mean over the axes given by the constant second operand.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    pub keep_dims: bool,
}

/// The normalized, sorted, deduplicated reduction axes of a reduce op.
pub fn reduce_axes(inputs: &[Option<&Tensor>], rank: usize) -> Result<Vec<usize>, String> {
    let mut axes = const_ints(inputs, 1, "axes")?
        .into_iter()
        .map(|a| normalize_axis(a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    axes.dedup();
    Ok(axes)
}

impl OpDef for Mean {
    const NAME: &'static str = "MEAN";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let axes = reduce_axes(inputs, x.shape.len())?;
        let shape = x
            .shape
            .iter()
            .enumerate()
            .filter_map(|(i, &d)| match (axes.contains(&i), self.keep_dims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
