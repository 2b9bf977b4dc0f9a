//! Geometry shared by the 2-D pooling kernels.

use super::activation::Clamp;
use crate::error::{check_len, invalid, numel};
use crate::Result;

/// Geometry of a 2-D pool over NHWC data: output pixel `(oy, ox)` covers input rows
/// `oy·stride_h − pad_top ..+ filter_h` and columns `ox·stride_w − pad_left ..+ filter_w`,
/// clipped to the input (padding never contributes, TFLite semantics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool2dParams {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub filter_h: usize,
    pub filter_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// Fused activation.
    pub clamp: Clamp,
}

impl Pool2dParams {
    /// Number of input elements.
    pub fn input_len(&self) -> Result<usize> {
        numel(&[self.batch, self.in_h, self.in_w, self.channels])
    }

    /// Number of output elements.
    pub fn output_len(&self) -> Result<usize> {
        numel(&[self.batch, self.out_h, self.out_w, self.channels])
    }

    /// Checks sizes and slice lengths.
    pub(crate) fn check(&self, input: &[f32], output: &[f32]) -> Result<()> {
        if self.filter_h == 0 || self.filter_w == 0 || self.stride_h == 0 || self.stride_w == 0 {
            return invalid(format!(
                "pool2d: filter and stride must be positive in {self:?}"
            ));
        }
        check_len("pool2d input", input.len(), self.input_len()?)?;
        check_len("pool2d output", output.len(), self.output_len()?)?;
        Ok(())
    }

    /// The clipped input range `[start, end)` of output coordinate `o` along one axis.
    #[inline]
    pub(crate) fn range(
        o: usize,
        stride: usize,
        pad: usize,
        filter: usize,
        size: usize,
    ) -> (usize, usize) {
        let origin = (o * stride) as isize - pad as isize;
        let start = origin.max(0) as usize;
        let end = (origin + filter as isize).clamp(0, size as isize) as usize;
        (start.min(end), end)
    }
}
