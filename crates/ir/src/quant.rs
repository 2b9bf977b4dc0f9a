use crate::{DType, IrError, Result};

/// Affine quantization parameters of a tensor: `real = (q - zero_point) * scale`
/// (DESIGN.md section 3).
///
/// Per-tensor parameters have one scale and one zero point and `axis == None`. Per-channel
/// parameters have one entry per index of dimension `axis`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
}

impl QuantParams {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        QuantParams {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: None,
        }
    }

    /// True when there is exactly one scale/zero point pair.
    pub fn is_per_tensor(&self) -> bool {
        self.scale.len() == 1 && self.zero_point.len() == 1
    }

    /// Checks the parameters against the tensor they describe: equal scale and zero point
    /// counts, finite positive scales, zero points inside the dtype's range, a per-channel axis
    /// inside the shape whose length matches the channel count.
    pub fn validate(&self, tensor: &str, dtype: DType, shape: &[usize]) -> Result<()> {
        let bad = |reason: String| IrError::InvalidQuant {
            tensor: tensor.to_string(),
            reason,
        };
        if self.scale.is_empty() {
            return Err(bad("no scale".into()));
        }
        if self.scale.len() != self.zero_point.len() {
            return Err(bad(format!(
                "{} scales but {} zero points",
                self.scale.len(),
                self.zero_point.len()
            )));
        }
        if let Some(s) = self.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(bad(format!("scale {s} is not a finite positive number")));
        }
        if let Some((lo, hi)) = dtype.int_range() {
            if let Some(z) = self
                .zero_point
                .iter()
                .find(|z| (**z as i64) < lo || (**z as i64) > hi)
            {
                return Err(bad(format!("zero point {z} outside the {dtype} range")));
            }
        }
        match self.axis {
            Some(axis) => {
                let Some(&dim) = shape.get(axis) else {
                    return Err(bad(format!(
                        "quantized dimension {axis} outside rank {}",
                        shape.len()
                    )));
                };
                if self.scale.len() != dim && self.scale.len() != 1 {
                    return Err(bad(format!(
                        "{} scales for dimension {axis} of size {dim}",
                        self.scale.len()
                    )));
                }
            }
            None if self.scale.len() != 1 => {
                return Err(bad(format!(
                    "{} scales but no quantized dimension",
                    self.scale.len()
                )));
            }
            None => {}
        }
        Ok(())
    }
}
