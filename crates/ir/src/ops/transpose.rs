use super::common::{const_ints, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Permutes dimensions: output dim `i` is input dim `perm[i]`. Operands: input, perm (const).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Transpose;

/// The validated permutation operand.
pub fn permutation(inputs: &[Option<&Tensor>], rank: usize) -> Result<Vec<usize>, String> {
    let p = const_ints(inputs, 1, "perm")?;
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for &v in &p {
        let ok = usize::try_from(v).ok().filter(|&v| v < rank && !seen[v]);
        let Some(v) = ok else {
            return Err(format!("perm {p:?} is not a permutation of rank {rank}"));
        };
        seen[v] = true;
        out.push(v);
    }
    if out.len() != rank {
        return Err(format!("perm {p:?} is not a permutation of rank {rank}"));
    }
    Ok(out)
}

impl OpDef for Transpose {
    const NAME: &'static str = "TRANSPOSE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let p = permutation(inputs, x.shape.len())?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: p.iter().map(|&i| x.shape[i]).collect(),
        }])
    }
}
