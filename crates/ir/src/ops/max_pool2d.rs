use super::common::{rank4, req, Activation, Padding};
use super::OpDef;
use crate::{Tensor, TensorType};

/// 2-D maximum pooling over NHWC windows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxPool2d {
    /// `[height, width]`.
    pub filter: [usize; 2],
    /// `[height, width]`.
    pub stride: [usize; 2],
    pub padding: Padding,
    pub activation: Activation,
}

impl OpDef for MaxPool2d {
    const NAME: &'static str = "MAX_POOL_2D";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let [n, h, w, c] = rank4(x, "input")?;
        let wh = self.padding.window(0, h, self.filter[0], self.stride[0], 1)?;
        let ww = self.padding.window(1, w, self.filter[1], self.stride[1], 1)?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape: vec![n, wh.out, ww.out, c],
        }])
    }
}
