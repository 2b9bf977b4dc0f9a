//! SHAPE.

use crate::error::invalid;
use crate::Result;

/// The dims of `shape` as int32 (TFLite SHAPE with `out_type` int32). Errors when a dim does
/// not fit.
pub fn shape_i32(shape: &[usize]) -> Result<Vec<i32>> {
    shape
        .iter()
        .map(|&d| i32::try_from(d).or_else(|_| invalid(format!("shape: dim {d} exceeds int32"))))
        .collect()
}

/// The dims of `shape` as int64.
pub fn shape_i64(shape: &[usize]) -> Result<Vec<i64>> {
    shape
        .iter()
        .map(|&d| i64::try_from(d).or_else(|_| invalid(format!("shape: dim {d} exceeds int64"))))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        assert_eq!(super::shape_i32(&[1, 224, 3]).unwrap(), vec![1, 224, 3]);
        assert_eq!(super::shape_i64(&[]).unwrap(), Vec::<i64>::new());
        assert!(super::shape_i32(&[usize::MAX]).is_err());
    }
}
