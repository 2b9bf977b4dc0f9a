use super::common::{rank4, req, Activation, Padding};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Depthwise 2-D convolution. Operands: input NHWC, weights `[1, KH, KW, C × depth_multiplier]`,
/// optional bias `[C × depth_multiplier]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthwiseConv2d {
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: Padding,
    pub depth_multiplier: usize,
    pub activation: Activation,
}

impl OpDef for DepthwiseConv2d {
    const NAME: &'static str = "DEPTHWISE_CONV_2D";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let w = req(inputs, 1, "weights")?;
        let [n, h, wd, c] = rank4(x, "input")?;
        let [one, kh, kw, oc] = rank4(w, "weights")?;
        if one != 1 || c == 0 || oc % c != 0 {
            return Err(format!(
                "weights {:?} must be [1, KH, KW, C*M] with C = {c}",
                w.shape
            ));
        }
        if let Some(b) = inputs.get(2).copied().flatten() {
            if b.numel() != oc {
                return Err(format!("bias has {} elements, expected {oc}", b.numel()));
            }
        }
        let wh = self.padding.window(0, h, kh, self.stride[0], self.dilation[0])?;
        let ww = self.padding.window(1, wd, kw, self.stride[1], self.dilation[1])?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: vec![n, wh.out, ww.out, oc],
        }])
    }
}
