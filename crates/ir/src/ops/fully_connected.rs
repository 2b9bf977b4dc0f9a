use super::common::{req, Activation};
use super::OpDef;
use crate::{Tensor, TensorType};

/// `y = x · Wᵀ + b`. Operands: input (any rank, last dim or flattened rows of `I` elements),
/// weights `[O, I]`, optional bias `[O]`. Without `keep_num_dims` the output is `[rows, O]`;
/// with it, the input's leading dims followed by `O`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FullyConnected {
    pub activation: Activation,
    pub keep_num_dims: bool,
}

impl OpDef for FullyConnected {
    const NAME: &'static str = "FULLY_CONNECTED";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let w = req(inputs, 1, "weights")?;
        let [o, i] = <[usize; 2]>::try_from(w.shape.as_slice())
            .map_err(|_| format!("weights must be rank 2 [O, I], got {:?}", w.shape))?;
        let n = x.numel();
        if i == 0 || n % i != 0 {
            return Err(format!(
                "input {:?} has {n} elements, not a multiple of {i} (weights {:?})",
                x.shape, w.shape
            ));
        }
        if let Some(b) = inputs.get(2).copied().flatten() {
            if b.numel() != o {
                return Err(format!("bias has {} elements, expected {o}", b.numel()));
            }
        }
        let shape = if self.keep_num_dims {
            if x.shape.last() != Some(&i) {
                return Err(format!("keep_num_dims needs last input dim {i}, got {:?}", x.shape));
            }
            let mut s = x.shape.clone();
            *s.last_mut().unwrap_or(&mut 0) = o;
            s
        } else {
            vec![n / i, o]
        };
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
