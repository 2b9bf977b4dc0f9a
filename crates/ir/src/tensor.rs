use crate::{DType, IrError, QuantParams, Result};
use std::sync::Arc;

/// Index of a tensor in [`crate::Graph::tensors`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// Element type and static shape of a tensor, as produced by shape inference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// A tensor: a named, typed, statically shaped value; constants carry their data.
///
/// `data` holds the little-endian element bytes of a constant (`shape` product × dtype size
/// bytes); it is `None` for activations and graph inputs. `quant` holds the affine quantization
/// parameters of integer tensors (and of float tensors that carry recorded ranges).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Option<Arc<[u8]>>,
    pub quant: Option<QuantParams>,
}

/// Largest byte size of one tensor edgequant accepts from a file or builds at run time: 2 GiB,
/// the size limit of a whole .tflite flatbuffer. Readers reject larger declared tensors and the
/// interpreter rejects graphs with larger values before allocating anything.
pub const MAX_TENSOR_BYTES: usize = 1 << 31;

/// Byte size of a tensor of `shape` and `dtype`, or an error naming `tensor` when the product
/// overflows or exceeds [`MAX_TENSOR_BYTES`].
pub fn checked_byte_size(tensor: &str, dtype: DType, shape: &[usize]) -> Result<usize> {
    let n = checked_numel(tensor, shape)?;
    match n.checked_mul(dtype.size()) {
        Some(b) if b <= MAX_TENSOR_BYTES => Ok(b),
        _ => Err(IrError::Tensor {
            tensor: tensor.to_string(),
            reason: format!(
                "shape {shape:?} of {dtype} is larger than the {MAX_TENSOR_BYTES} byte limit of one tensor"
            ),
        }),
    }
}

/// Number of elements of `shape`, or an error naming `tensor` when the product overflows.
pub fn checked_numel(tensor: &str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IrError::Tensor {
            tensor: tensor.to_string(),
            reason: format!("shape {shape:?} has more elements than fit in memory"),
        })
}

macro_rules! typed_data {
    ($fn_name:ident, $t:ty, $dtype:expr) => {
        /// Copies the constant data out as a typed vector. Errors when the tensor has no data or
        /// another dtype.
        pub fn $fn_name(&self) -> Result<Vec<$t>> {
            let bytes = self.expect_data($dtype)?;
            Ok(bytemuck::pod_collect_to_vec::<u8, $t>(bytes))
        }
    };
}

impl Tensor {
    /// A tensor without data (an activation or graph input).
    pub fn new(name: impl Into<String>, dtype: DType, shape: Vec<usize>) -> Self {
        Tensor {
            name: name.into(),
            dtype,
            shape,
            data: None,
            quant: None,
        }
    }

    /// A constant tensor from raw little-endian bytes. Errors when the byte count does not match
    /// the shape and dtype.
    pub fn constant(
        name: impl Into<String>,
        dtype: DType,
        shape: Vec<usize>,
        bytes: Vec<u8>,
    ) -> Result<Self> {
        let name = name.into();
        let n = checked_numel(&name, &shape)?;
        let want = n.checked_mul(dtype.size()).ok_or_else(|| IrError::Tensor {
            tensor: name.clone(),
            reason: "byte size overflows".into(),
        })?;
        if bytes.len() != want {
            return Err(IrError::Tensor {
                tensor: name,
                reason: format!(
                    "has {} data bytes, shape {:?} of {} needs {}",
                    bytes.len(),
                    shape,
                    dtype,
                    want
                ),
            });
        }
        Ok(Tensor {
            name,
            dtype,
            shape,
            data: Some(bytes.into()),
            quant: None,
        })
    }

    /// A float32 constant.
    pub fn from_f32(name: impl Into<String>, shape: Vec<usize>, values: &[f32]) -> Result<Self> {
        Self::constant(
            name,
            DType::F32,
            shape,
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    /// An int32 constant.
    pub fn from_i32(name: impl Into<String>, shape: Vec<usize>, values: &[i32]) -> Result<Self> {
        Self::constant(
            name,
            DType::I32,
            shape,
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    /// An int64 constant.
    pub fn from_i64(name: impl Into<String>, shape: Vec<usize>, values: &[i64]) -> Result<Self> {
        Self::constant(
            name,
            DType::I64,
            shape,
            bytemuck::cast_slice(values).to_vec(),
        )
    }

    /// Number of elements (saturating; shapes are checked when tensors are created by readers).
    pub fn numel(&self) -> usize {
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Size in bytes of the tensor's elements.
    pub fn byte_size(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size())
    }

    /// True when the tensor carries constant data.
    pub fn is_const(&self) -> bool {
        self.data.is_some()
    }

    /// The element type and shape.
    pub fn ty(&self) -> TensorType {
        TensorType {
            dtype: self.dtype,
            shape: self.shape.clone(),
        }
    }

    fn expect_data(&self, dtype: DType) -> Result<&[u8]> {
        if self.dtype != dtype {
            return Err(IrError::Tensor {
                tensor: self.name.clone(),
                reason: format!("expected {dtype} data, tensor is {}", self.dtype),
            });
        }
        self.data.as_deref().ok_or_else(|| IrError::Tensor {
            tensor: self.name.clone(),
            reason: "expected a constant, tensor has no data".into(),
        })
    }

    typed_data!(f32_data, f32, DType::F32);
    typed_data!(f16_data, half::f16, DType::F16);
    typed_data!(i8_data, i8, DType::I8);
    typed_data!(u8_data, u8, DType::U8);
    typed_data!(i16_data, i16, DType::I16);
    typed_data!(i32_data, i32, DType::I32);
    typed_data!(i64_data, i64, DType::I64);

    /// Integer constant data widened to i64 (for shape-like operands stored as int32 or int64).
    pub fn int_data(&self) -> Result<Vec<i64>> {
        match self.dtype {
            DType::I32 => Ok(self.i32_data()?.into_iter().map(i64::from).collect()),
            DType::I64 => self.i64_data(),
            DType::I16 => Ok(self.i16_data()?.into_iter().map(i64::from).collect()),
            DType::I8 => Ok(self.i8_data()?.into_iter().map(i64::from).collect()),
            DType::U8 => Ok(self.u8_data()?.into_iter().map(i64::from).collect()),
            other => Err(IrError::Tensor {
                tensor: self.name.clone(),
                reason: format!("expected integer data, tensor is {other}"),
            }),
        }
    }

    /// Float constant data widened to f32 (float32 or float16 storage).
    pub fn float_data(&self) -> Result<Vec<f32>> {
        match self.dtype {
            DType::F16 => Ok(self.f16_data()?.into_iter().map(f32::from).collect()),
            _ => self.f32_data(),
        }
    }
}
