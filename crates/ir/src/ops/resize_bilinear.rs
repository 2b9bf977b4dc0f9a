use super::common::{const_ints, rank4, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Spatial bilinear resize of an NHWC tensor. Operands: input, size (const int32 `[new_h, new_w]`).
/// Coordinate mapping follows TFLite: `align_corners` or `half_pixel_centers`, else
/// `in = out * in_size / out_size`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResizeBilinear {
    pub align_corners: bool,
    pub half_pixel_centers: bool,
}

impl OpDef for ResizeBilinear {
    const NAME: &'static str = "RESIZE_BILINEAR";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let [n, _, _, c] = rank4(x, "input")?;
        let size = const_ints(inputs, 1, "size")?;
        match size.as_slice() {
            &[h, w] if h > 0 && w > 0 => Ok(vec![TensorType {
                dtype: x.dtype,
                shape: vec![n, h as usize, w as usize, c],
            }]),
            _ => Err(format!("size {size:?} must be two positive values")),
        }
    }
}
