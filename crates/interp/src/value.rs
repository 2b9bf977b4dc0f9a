use crate::InterpError;
use edgequant_ir::{DType, Tensor};
use half::f16;

/// The elements of a tensor, row-major, one variant per [`DType`].
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<f16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

impl TensorData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::Bool(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A runtime tensor: shape and data (`data.len()` equals the product of `shape`).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorValue {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// Product of `shape`, `None` on overflow.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

impl TensorValue {
    /// A value; errors when the data length does not match the shape.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Self, InterpError> {
        let v = TensorValue { shape, data };
        v.check()?;
        Ok(v)
    }

    /// A float32 value; errors when the data length does not match the shape.
    pub fn from_f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, InterpError> {
        Self::new(shape, TensorData::F32(data))
    }

    /// Checks that the data length matches the shape.
    pub fn check(&self) -> Result<(), InterpError> {
        match numel(&self.shape) {
            Some(n) if n == self.data.len() => Ok(()),
            _ => Err(InterpError::Value(format!(
                "shape {:?} does not hold {} elements",
                self.shape,
                self.data.len()
            ))),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The float32 elements, if this is a float32 value.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Consumes the value and returns its float32 elements, if it is a float32 value.
    pub fn into_f32(self) -> Option<Vec<f32>> {
        match self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The data of a constant IR tensor. Errors when the tensor has no data.
    pub fn from_tensor(t: &Tensor) -> Result<Self, InterpError> {
        let e = |err: edgequant_ir::IrError| InterpError::Value(err.to_string());
        let data = match t.dtype {
            DType::F32 => TensorData::F32(t.f32_data().map_err(e)?),
            DType::F16 => TensorData::F16(t.f16_data().map_err(e)?),
            DType::I8 => TensorData::I8(t.i8_data().map_err(e)?),
            DType::U8 => TensorData::U8(t.u8_data().map_err(e)?),
            DType::I16 => TensorData::I16(t.i16_data().map_err(e)?),
            DType::I32 => TensorData::I32(t.i32_data().map_err(e)?),
            DType::I64 => TensorData::I64(t.i64_data().map_err(e)?),
            DType::Bool => {
                let bytes = t.data.as_deref().ok_or_else(|| {
                    InterpError::Value(format!("tensor '{}' has no data", t.name))
                })?;
                TensorData::Bool(bytes.iter().map(|&b| b != 0).collect())
            }
        };
        let v = TensorValue {
            shape: t.shape.clone(),
            data,
        };
        v.check()
            .map_err(|err| InterpError::Value(format!("tensor '{}': {err}", t.name)))?;
        Ok(v)
    }

    /// Little-endian bytes of the elements (the layout of [`Tensor::data`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
            v.iter().flat_map(|&x| f(x)).collect()
        }
        match &self.data {
            TensorData::F32(v) => le(v, f32::to_le_bytes),
            TensorData::F16(v) => le(v, f16::to_le_bytes),
            TensorData::I8(v) => le(v, i8::to_le_bytes),
            TensorData::U8(v) => v.clone(),
            TensorData::I16(v) => le(v, i16::to_le_bytes),
            TensorData::I32(v) => le(v, i32::to_le_bytes),
            TensorData::I64(v) => le(v, i64::to_le_bytes),
            TensorData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        }
    }
}

/// An element type stored in [`TensorData`]: generic data-movement ops are written once over
/// this trait.
pub(crate) trait Elem: Copy + Default + Send + Sync + 'static {
    fn slice(d: &TensorData) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> TensorData;
    /// A buffer of `n` elements with unspecified contents (pooled for float32).
    fn alloc(pool: &mut crate::pool::Pool, n: usize) -> Vec<Self>;
}

macro_rules! elem {
    ($t:ty, $var:ident) => {
        elem!($t, $var, |_pool: &mut crate::pool::Pool, n: usize| vec![<$t>::default(); n]);
    };
    ($t:ty, $var:ident, $alloc:expr) => {
        impl Elem for $t {
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$var(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$var(v)
            }
            fn alloc(pool: &mut crate::pool::Pool, n: usize) -> Vec<Self> {
                let f: fn(&mut crate::pool::Pool, usize) -> Vec<Self> = $alloc;
                f(pool, n)
            }
        }
    };
}
elem!(f32, F32, |pool: &mut crate::pool::Pool, n: usize| pool
    .alloc(n));
elem!(f16, F16);
elem!(i8, I8);
elem!(u8, U8);
elem!(i16, I16);
elem!(i32, I32);
elem!(i64, I64);
elem!(bool, Bool);

/// Evaluates `$body` with the type alias `$t` bound to the Rust element type of `$dtype`.
macro_rules! with_elem {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            edgequant_ir::DType::F32 => {
                type $t = f32;
                $body
            }
            edgequant_ir::DType::F16 => {
                type $t = half::f16;
                $body
            }
            edgequant_ir::DType::I8 => {
                type $t = i8;
                $body
            }
            edgequant_ir::DType::U8 => {
                type $t = u8;
                $body
            }
            edgequant_ir::DType::I16 => {
                type $t = i16;
                $body
            }
            edgequant_ir::DType::I32 => {
                type $t = i32;
                $body
            }
            edgequant_ir::DType::I64 => {
                type $t = i64;
                $body
            }
            edgequant_ir::DType::Bool => {
                type $t = bool;
                $body
            }
        }
    };
}
pub(crate) use with_elem;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_bytes() {
        let t = Tensor::from_f32("w", vec![2], &[1.5, -2.0]).unwrap();
        let v = TensorValue::from_tensor(&t).unwrap();
        assert_eq!(v.as_f32(), Some(&[1.5f32, -2.0][..]));
        assert_eq!(v.to_bytes(), t.data.as_deref().unwrap());
        assert!(TensorValue::from_f32(vec![3], vec![0.0; 2]).is_err());
        assert!(TensorValue::from_tensor(&Tensor::new("x", DType::F32, vec![1])).is_err());
    }
}
