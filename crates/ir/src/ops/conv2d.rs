use super::common::{rank4, req, Activation, Padding};
use super::OpDef;
use crate::{Tensor, TensorType};

/// 2-D convolution. Operands: input NHWC, weights OHWI, optional bias `[O]`.
/// When the input has `groups × I` channels the convolution is grouped (`O` divisible by
/// `groups`), as TFLite's CONV_2D allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2d {
    /// `[height, width]`.
    pub stride: [usize; 2],
    /// `[height, width]`.
    pub dilation: [usize; 2],
    pub padding: Padding,
    pub activation: Activation,
}

impl OpDef for Conv2d {
    const NAME: &'static str = "CONV_2D";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let w = req(inputs, 1, "weights")?;
        let [n, h, wd, c] = rank4(x, "input")?;
        let [o, kh, kw, i] = rank4(w, "weights")?;
        if i == 0 || c % i != 0 || o % (c / i).max(1) != 0 {
            return Err(format!(
                "input has {c} channels, weights {:?} (OHWI) expect a multiple of {i} that divides {o} output channels",
                w.shape
            ));
        }
        if let Some(b) = inputs.get(2).copied().flatten() {
            if b.numel() != o {
                return Err(format!("bias has {} elements, expected {o}", b.numel()));
            }
        }
        let wh = self.padding.window(0, h, kh, self.stride[0], self.dilation[0])?;
        let ww = self.padding.window(1, wd, kw, self.stride[1], self.dilation[1])?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: vec![n, wh.out, ww.out, o],
        }])
    }
}
