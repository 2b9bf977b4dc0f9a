//! Element type mapping between the IR and the TFLite schema.

use crate::schema as fb;
use edgequant_ir::DType;

/// The IR dtype of a TFLite tensor type (`None` for types edgequant does not support).
pub(crate) fn dtype_from_fb(t: fb::TensorType) -> Option<DType> {
    Some(match t {
        fb::TensorType::FLOAT32 => DType::F32,
        fb::TensorType::FLOAT16 => DType::F16,
        fb::TensorType::INT8 => DType::I8,
        fb::TensorType::UINT8 => DType::U8,
        fb::TensorType::INT16 => DType::I16,
        fb::TensorType::INT32 => DType::I32,
        fb::TensorType::INT64 => DType::I64,
        fb::TensorType::BOOL => DType::Bool,
        _ => return None,
    })
}

/// The TFLite tensor type of an IR dtype.
pub(crate) fn dtype_to_fb(d: DType) -> fb::TensorType {
    match d {
        DType::F32 => fb::TensorType::FLOAT32,
        DType::F16 => fb::TensorType::FLOAT16,
        DType::I8 => fb::TensorType::INT8,
        DType::U8 => fb::TensorType::UINT8,
        DType::I16 => fb::TensorType::INT16,
        DType::I32 => fb::TensorType::INT32,
        DType::I64 => fb::TensorType::INT64,
        DType::Bool => fb::TensorType::BOOL,
    }
}

/// Name of a TFLite tensor type for messages.
pub(crate) fn fb_type_name(t: fb::TensorType) -> String {
    t.variant_name()
        .map_or_else(|| format!("type {}", t.0), str::to_string)
}
