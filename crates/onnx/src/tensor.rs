//! Constant tensors in ONNX layout: decoding of `TensorProto` and conversion to IR tensors.

use crate::error::{OnnxError, Result};
use crate::layout;
use crate::proto::{tensor_proto::DataLocation, TensorProto};
use edgequant_ir::{DType, Tensor};

/// Element storage of a constant: floats widened to f32, integers and bools widened to i64.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    F(Vec<f32>),
    I(Vec<i64>),
}

/// A constant value in ONNX (logical) layout. `dtype` is the IR dtype the value has when it
/// becomes an IR tensor (float16/bfloat16/double become float32).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Const {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Data,
}

/// ONNX `TensorProto.DataType` values.
pub(crate) mod onnx_type {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT16: i32 = 5;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const STRING: i32 = 8;
    pub const BOOL: i32 = 9;
    pub const FLOAT16: i32 = 10;
    pub const DOUBLE: i32 = 11;
    pub const UINT32: i32 = 12;
    pub const UINT64: i32 = 13;
    pub const BFLOAT16: i32 = 16;
}

/// Human-readable name of an ONNX element type.
pub(crate) fn onnx_type_name(t: i32) -> String {
    use crate::proto::tensor_proto::DataType;
    DataType::try_from(t)
        .map(|d| d.as_str_name().to_ascii_lowercase())
        .unwrap_or_else(|_| format!("data type {t}"))
}

/// The IR dtype that values of ONNX element type `t` get.
pub(crate) fn ir_dtype(t: i32) -> Option<DType> {
    use onnx_type::*;
    Some(match t {
        FLOAT | FLOAT16 | DOUBLE | BFLOAT16 => DType::F32,
        UINT8 => DType::U8,
        INT8 => DType::I8,
        INT16 => DType::I16,
        UINT16 | INT32 => DType::I32,
        UINT32 | INT64 | UINT64 => DType::I64,
        BOOL => DType::Bool,
        _ => return None,
    })
}

/// Number of elements of a shape, `None` on overflow.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

impl Const {
    /// A float32 constant.
    pub fn f32(shape: Vec<usize>, v: Vec<f32>) -> Const {
        Const {
            dtype: DType::F32,
            shape,
            data: Data::F(v),
        }
    }

    /// An integer constant of IR dtype `dtype`.
    pub fn int(dtype: DType, shape: Vec<usize>, v: Vec<i64>) -> Const {
        Const {
            dtype,
            shape,
            data: Data::I(v),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::F(v) => v.len(),
            Data::I(v) => v.len(),
        }
    }

    /// True for a float constant.
    pub fn is_float(&self) -> bool {
        matches!(self.data, Data::F(_))
    }

    /// Elements as f32 (integers converted).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            Data::F(v) => v.clone(),
            Data::I(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// Elements as i64; errors on float data.
    pub fn to_i64(&self, what: &str) -> Result<Vec<i64>, String> {
        match &self.data {
            Data::I(v) => Ok(v.clone()),
            Data::F(_) => Err(format!(
                "{what} must be an integer tensor, got {}",
                self.dtype
            )),
        }
    }

    /// The single element of a one-element tensor as f32.
    pub fn scalar_f32(&self, what: &str) -> Result<f32, String> {
        if self.len() != 1 {
            return Err(format!(
                "{what} must have one element, has shape {:?}",
                self.shape
            ));
        }
        Ok(self.to_f32()[0])
    }

    /// The same data with the dims permuted: output dim `i` is input dim `perm[i]`.
    pub fn permuted(&self, perm: &[usize]) -> Const {
        let shape = perm.iter().map(|&p| self.shape[p]).collect();
        let data = if layout::is_identity(perm) {
            self.data.clone()
        } else {
            match &self.data {
                Data::F(v) => Data::F(layout::transpose_data(v, &self.shape, perm)),
                Data::I(v) => Data::I(layout::transpose_data(v, &self.shape, perm)),
            }
        };
        Const {
            dtype: self.dtype,
            shape,
            data,
        }
    }

    /// The same data with a new shape of equal element count.
    pub fn reshaped(&self, shape: Vec<usize>) -> Const {
        Const {
            dtype: self.dtype,
            shape,
            data: self.data.clone(),
        }
    }

    /// An IR constant tensor with the given name.
    pub fn to_ir(&self, name: &str) -> Result<Tensor> {
        let bytes: Vec<u8> = match (&self.data, self.dtype) {
            (Data::F(v), _) => bytemuck::cast_slice(v).to_vec(),
            (Data::I(v), DType::I64) => bytemuck::cast_slice(v).to_vec(),
            (Data::I(v), DType::I32) => v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect(),
            (Data::I(v), DType::I16) => v.iter().flat_map(|&x| (x as i16).to_le_bytes()).collect(),
            (Data::I(v), DType::I8) => v.iter().map(|&x| x as i8 as u8).collect(),
            (Data::I(v), DType::U8) => v.iter().map(|&x| x as u8).collect(),
            (Data::I(v), DType::Bool) => v.iter().map(|&x| u8::from(x != 0)).collect(),
            (Data::I(_), other) => {
                return Err(OnnxError::Tensor {
                    tensor: name.to_string(),
                    reason: format!("integer data with dtype {other}"),
                })
            }
        };
        let dtype = if self.is_float() {
            DType::F32
        } else {
            self.dtype
        };
        Ok(Tensor::constant(name, dtype, self.shape.clone(), bytes)?)
    }

    /// A constant from an IR tensor with data (e.g. a decoded test-data tensor).
    pub fn from_ir(t: &Tensor) -> Result<Const> {
        let bad = |e: edgequant_ir::IrError| OnnxError::from(e);
        let data = match t.dtype {
            DType::F32 | DType::F16 => Data::F(t.float_data().map_err(bad)?),
            DType::Bool => Data::I(
                t.data
                    .as_deref()
                    .ok_or_else(|| tensor_err(&t.name, "expected a constant, tensor has no data"))?
                    .iter()
                    .map(|&b| i64::from(b))
                    .collect(),
            ),
            _ => Data::I(t.int_data().map_err(bad)?),
        };
        Ok(Const {
            dtype: if t.dtype == DType::F16 {
                DType::F32
            } else {
                t.dtype
            },
            shape: t.shape.clone(),
            data,
        })
    }
}

fn tensor_err(name: &str, reason: impl Into<String>) -> OnnxError {
    OnnxError::Tensor {
        tensor: name.to_string(),
        reason: reason.into(),
    }
}

/// Decodes little-endian fixed-size elements.
fn le_chunks<const N: usize, T>(raw: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

/// Decodes an ONNX `TensorProto` into a [`Const`] in ONNX layout. Errors on external data,
/// string tensors, unsupported element types and data whose size does not match the dims.
pub(crate) fn const_from_proto(t: &TensorProto) -> Result<Const> {
    use onnx_type::*;
    let name = t.name.as_deref().unwrap_or("<unnamed>");
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        let loc = t
            .external_data
            .iter()
            .find(|e| e.key.as_deref() == Some("location"))
            .and_then(|e| e.value.clone())
            .unwrap_or_default();
        return Err(tensor_err(
            name,
            format!(
                "data is stored in an external file ('{loc}'); external data is not supported: \
                 re-save the model with the weights inside (onnx.save_model(m, path, save_as_external_data=False))"
            ),
        ));
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| tensor_err(name, format!("negative dimension {d} in {:?}", t.dims)))
        })
        .collect::<Result<Vec<_>>>()?;
    let n = numel(&shape).ok_or_else(|| tensor_err(name, format!("dims {:?} overflow", t.dims)))?;
    let ty = t.data_type.unwrap_or(0);
    let dtype = if ty == STRING {
        return Err(tensor_err(name, "string tensors are not supported"));
    } else {
        ir_dtype(ty).ok_or_else(|| {
            tensor_err(
                name,
                format!("unsupported element type {}", onnx_type_name(ty)),
            )
        })?
    };
    let size = match ty {
        FLOAT | INT32 | UINT32 => 4,
        FLOAT16 | BFLOAT16 | INT16 | UINT16 => 2,
        DOUBLE | INT64 | UINT64 => 8,
        _ => 1,
    };
    let check = |have: usize| -> Result<()> {
        if have != n {
            return Err(tensor_err(
                name,
                format!("has {have} elements of data, dims {:?} need {n}", t.dims),
            ));
        }
        Ok(())
    };
    let data = if let Some(raw) = &t.raw_data {
        if Some(raw.len()) != n.checked_mul(size) {
            return Err(tensor_err(
                name,
                format!(
                    "raw_data has {} bytes, dims {:?} of {} need {}",
                    raw.len(),
                    t.dims,
                    onnx_type_name(ty),
                    n.saturating_mul(size)
                ),
            ));
        }
        match ty {
            FLOAT => Data::F(le_chunks(raw, f32::from_le_bytes)),
            FLOAT16 => Data::F(le_chunks(raw, |b| half::f16::from_le_bytes(b).to_f32())),
            BFLOAT16 => Data::F(le_chunks(raw, |b| half::bf16::from_le_bytes(b).to_f32())),
            DOUBLE => Data::F(le_chunks(raw, |b| f64::from_le_bytes(b) as f32)),
            INT8 => Data::I(raw.iter().map(|&b| i64::from(b as i8)).collect()),
            UINT8 | BOOL => Data::I(raw.iter().map(|&b| i64::from(b)).collect()),
            INT16 => Data::I(le_chunks(raw, |b| i64::from(i16::from_le_bytes(b)))),
            UINT16 => Data::I(le_chunks(raw, |b| i64::from(u16::from_le_bytes(b)))),
            INT32 => Data::I(le_chunks(raw, |b| i64::from(i32::from_le_bytes(b)))),
            UINT32 => Data::I(le_chunks(raw, |b| i64::from(u32::from_le_bytes(b)))),
            INT64 => Data::I(le_chunks(raw, i64::from_le_bytes)),
            _ => Data::I(le_chunks(raw, |b| u64::from_le_bytes(b) as i64)),
        }
    } else {
        match ty {
            FLOAT => {
                check(t.float_data.len())?;
                Data::F(t.float_data.clone())
            }
            DOUBLE => {
                check(t.double_data.len())?;
                Data::F(t.double_data.iter().map(|&x| x as f32).collect())
            }
            FLOAT16 | BFLOAT16 => {
                check(t.int32_data.len())?;
                Data::F(
                    t.int32_data
                        .iter()
                        .map(|&x| {
                            let bits = x as u16;
                            if ty == FLOAT16 {
                                half::f16::from_bits(bits).to_f32()
                            } else {
                                half::bf16::from_bits(bits).to_f32()
                            }
                        })
                        .collect(),
                )
            }
            INT64 => {
                check(t.int64_data.len())?;
                Data::I(t.int64_data.clone())
            }
            UINT32 | UINT64 => {
                check(t.uint64_data.len())?;
                Data::I(t.uint64_data.iter().map(|&x| x as i64).collect())
            }
            _ => {
                check(t.int32_data.len())?;
                Data::I(t.int32_data.iter().map(|&x| i64::from(x)).collect())
            }
        }
    };
    Ok(Const { dtype, shape, data })
}
