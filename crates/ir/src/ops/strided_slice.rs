use super::common::{const_ints, req};
use super::OpDef;
use crate::{Tensor, TensorType};

/// Strided slice (TFLite STRIDED_SLICE). Operands: input, begin, end, strides (constant int
/// vectors of the input's rank). Masks are bit sets over input axes; `offset` makes `end`
/// relative to `begin`. Ellipsis and new-axis masks are rejected.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StridedSlice {
    pub begin_mask: u32,
    pub end_mask: u32,
    pub ellipsis_mask: u32,
    pub new_axis_mask: u32,
    pub shrink_axis_mask: u32,
    pub offset: bool,
}

/// One input axis of a resolved strided slice: first index, step, number of elements taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceAxis {
    pub start: i64,
    pub stride: i64,
    pub count: usize,
}

impl StridedSlice {
    /// Resolves the slice against the input shape following TFLite's reference
    /// `StartForAxis`/`EndForAxis` clamping. Returns one [`SliceAxis`] per input axis and the
    /// output shape (shrunk axes removed).
    pub fn resolve(
        &self,
        shape: &[usize],
        begin: &[i64],
        end: &[i64],
        strides: &[i64],
    ) -> Result<(Vec<SliceAxis>, Vec<usize>), String> {
        if self.ellipsis_mask != 0 || self.new_axis_mask != 0 {
            return Err("ellipsis_mask and new_axis_mask are not supported".into());
        }
        let rank = shape.len();
        if begin.len() != rank || end.len() != rank || strides.len() != rank {
            return Err(format!(
                "begin/end/strides lengths {}/{}/{} must equal the input rank {rank}",
                begin.len(),
                end.len(),
                strides.len()
            ));
        }
        let mut axes = Vec::with_capacity(rank);
        let mut out = Vec::new();
        for i in 0..rank {
            let dim = shape[i] as i64;
            let s = strides[i];
            if s == 0 {
                return Err(format!("stride of axis {i} is 0"));
            }
            let bit = 1u32.checked_shl(i as u32).unwrap_or(0);
            let clamp = |v: i64| if s > 0 { v.clamp(0, dim) } else { v.clamp(-1, dim - 1) };
            let norm = |v: i64| if v < 0 { v + dim } else { v };
            let start = if self.begin_mask & bit != 0 {
                if s > 0 { 0 } else { dim - 1 }
            } else {
                clamp(norm(begin[i]))
            };
            let shrink = self.shrink_axis_mask & bit != 0;
            let stop = if shrink {
                start + 1
            } else if self.end_mask & bit != 0 {
                if s > 0 { dim } else { -1 }
            } else if self.offset {
                clamp(norm(begin[i]) + end[i])
            } else {
                clamp(norm(end[i]))
            };
            let count = if s > 0 {
                (stop - start + s - 1).div_euclid(s)
            } else {
                (start - stop - s - 1).div_euclid(-s)
            }
            .max(0) as usize;
            if shrink && (count != 1 || start < 0 || start >= dim) {
                return Err(format!("shrunk axis {i} selects index {} outside size {dim}", begin[i]));
            }
            axes.push(SliceAxis { start, stride: s, count });
            if !shrink {
                out.push(count);
            }
        }
        Ok((axes, out))
    }
}

impl OpDef for StridedSlice {
    const NAME: &'static str = "STRIDED_SLICE";
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
        let x = req(inputs, 0, "input")?;
        let b = const_ints(inputs, 1, "begin")?;
        let e = const_ints(inputs, 2, "end")?;
        let s = const_ints(inputs, 3, "strides")?;
        let (_, shape) = self.resolve(&x.shape, &b, &e, &s)?;
        Ok(vec![TensorType {
            dtype: x.dtype,
            shape,
        }])
    }
}
