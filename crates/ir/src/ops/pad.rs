use super::common::{const_ints, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Constant padding (TFLite PAD / PADV2). Operands: input, paddings (const `[rank, 2]`, before
/// and after per dim), optional scalar pad value (default 0, or the zero point when quantized).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pad;

/// The `(before, after)` pairs of a PAD op.
pub fn pad_amounts(inputs: &[Option<&Tensor>], rank: usize) -> Result<Vec<(usize, usize)>, String> {
    let p = const_ints(inputs, 1, "paddings")?;
    if p.len() != rank * 2 {
        return Err(format!("paddings has {} values, expected {}", p.len(), rank * 2));
    }
    p.chunks(2)
        .map(|c| match (usize::try_from(c[0]), usize::try_from(c[1])) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            _ => Err(format!("negative padding {c:?}")),
        })
        .collect()
}

impl OpDef for Pad {
    const NAME: &'static str = "PAD";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let p = pad_amounts(inputs, x.shape.len())?;
        let shape = x
            .shape
            .iter()
            .zip(&p)
            .map(|(&d, &(a, b))| d.checked_add(a).and_then(|v| v.checked_add(b)))
            .collect::<Option<Vec<_>>>()
            .ok_or("padded shape overflows")?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
