use super::common::{const_ints, rank4, req, Activation, Padding};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Transposed 2-D convolution (TFLite TRANSPOSE_CONV). Operands: output shape (const int32
/// `[4]`), weights OHWI, input NHWC, optional bias `[O]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransposeConv {
    pub stride: [usize; 2],
    pub padding: Padding,
    pub activation: Activation,
}

impl OpDef for TransposeConv {
    const NAME: &'static str = "TRANSPOSE_CONV";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let shape = const_ints(inputs, 0, "output shape")?;
        let w = req(inputs, 1, "weights")?;
        let x = req(inputs, 2, "input")?;
        rank4(x, "input")?;
        let [o, _, _, i] = rank4(w, "weights")?;
        if i != x.shape[3] {
            return Err(format!(
                "input has {} channels, weights {:?} expect {i}",
                x.shape[3], w.shape
            ));
        }
        if shape.len() != 4 || shape.iter().any(|&d| d <= 0) || shape[3] as usize != o {
            return Err(format!("output shape {shape:?} invalid for {o} output channels"));
        }
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: shape.iter().map(|&d| d as usize).collect(),
        }])
    }
}
