use super::common::{broadcast_shapes, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Batched matrix product (TFLite BATCH_MATMUL): `out[.., i, j] = Σ_k x'[.., i, k] · y'[.., k, j]`
/// where `x'` is `x` with its last two dims swapped when `adj_x` (likewise `y'`). Both operands
/// have rank ≥ 2; the leading (batch) dims broadcast as in NumPy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchMatMul {
    pub adj_x: bool,
    pub adj_y: bool,
}

/// `(batch shape, m, k, n)` of a batch matmul, checking that the operands fit.
pub fn batch_matmul_dims(
    x: &[usize],
    y: &[usize],
    adj_x: bool,
    adj_y: bool,
) -> Result<(Vec<usize>, usize, usize, usize), String> {
    if x.len() < 2 || y.len() < 2 {
        return Err(format!("operands must have rank >= 2, got {x:?} and {y:?}"));
    }
    let (xr, yr) = (x.len(), y.len());
    let (m, k) = if adj_x {
        (x[xr - 1], x[xr - 2])
    } else {
        (x[xr - 2], x[xr - 1])
    };
    let (k2, n) = if adj_y {
        (y[yr - 1], y[yr - 2])
    } else {
        (y[yr - 2], y[yr - 1])
    };
    if k != k2 {
        return Err(format!(
            "inner dims differ: {x:?} and {y:?} (adj_x {adj_x}, adj_y {adj_y})"
        ));
    }
    let batch = broadcast_shapes(&x[..xr - 2], &y[..yr - 2])?;
    Ok((batch, m, k, n))
}

impl OpDef for BatchMatMul {
    const NAME: &'static str = "BATCH_MATMUL";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "x")?;
        let y = req(inputs, 1, "y")?;
        let (mut shape, m, _, n) = batch_matmul_dims(&x.shape, &y.shape, self.adj_x, self.adj_y)?;
        shape.push(m);
        shape.push(n);
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
