//! Conversion between on-disk arrays and interpreter values, and input checks.

use crate::arrays::Array;
use anyhow::{bail, Result};
use edgequant_interp::{TensorData, TensorValue};
use edgequant_ir::{DType, Graph};

/// Converts an array to an interpreter value (no dtype change).
pub fn to_value(a: &Array) -> TensorValue {
    let b = &a.bytes;
    let data = match a.dtype {
        DType::F32 => TensorData::F32(bytemuck::pod_collect_to_vec(b)),
        DType::F16 => TensorData::F16(bytemuck::pod_collect_to_vec(b)),
        DType::I8 => TensorData::I8(bytemuck::pod_collect_to_vec(b)),
        DType::U8 => TensorData::U8(b.clone()),
        DType::I16 => TensorData::I16(bytemuck::pod_collect_to_vec(b)),
        DType::I32 => TensorData::I32(bytemuck::pod_collect_to_vec(b)),
        DType::I64 => TensorData::I64(bytemuck::pod_collect_to_vec(b)),
        DType::Bool => TensorData::Bool(b.iter().map(|&x| x != 0).collect()),
    };
    TensorValue {
        shape: a.shape.clone(),
        data,
    }
}

/// Converts an interpreter value to an array.
pub fn to_array(v: &TensorValue) -> Array {
    let (dtype, bytes) = match &v.data {
        TensorData::F32(x) => (DType::F32, bytemuck::cast_slice(x).to_vec()),
        TensorData::F16(x) => (DType::F16, bytemuck::cast_slice(x).to_vec()),
        TensorData::I8(x) => (DType::I8, bytemuck::cast_slice(x).to_vec()),
        TensorData::U8(x) => (DType::U8, x.clone()),
        TensorData::I16(x) => (DType::I16, bytemuck::cast_slice(x).to_vec()),
        TensorData::I32(x) => (DType::I32, bytemuck::cast_slice(x).to_vec()),
        TensorData::I64(x) => (DType::I64, bytemuck::cast_slice(x).to_vec()),
        TensorData::Bool(x) => (DType::Bool, x.iter().map(|&b| b as u8).collect()),
    };
    Array {
        dtype,
        shape: v.shape.clone(),
        bytes,
    }
}

/// Checks user arrays against the graph inputs (count, dtype, shape) and converts them.
/// float64 files were already narrowed to float32 when read.
pub fn check_inputs(g: &Graph, arrays: &[(String, Array)]) -> Result<Vec<TensorValue>> {
    if arrays.len() != g.inputs.len() {
        let names: Vec<&str> = g
            .inputs
            .iter()
            .map(|&i| g.tensor(i).name.as_str())
            .collect();
        bail!(
            "the model has {} input(s) {:?}, {} array(s) were given",
            g.inputs.len(),
            names,
            arrays.len()
        );
    }
    let mut out = Vec::with_capacity(arrays.len());
    for ((src, a), &id) in arrays.iter().zip(&g.inputs) {
        let t = g.tensor(id);
        if a.dtype != t.dtype {
            bail!(
                "input '{}' expects {} data, {src} holds {}",
                t.name,
                t.dtype,
                a.dtype
            );
        }
        if a.shape != t.shape {
            bail!(
                "input '{}' expects shape {:?}, {src} has shape {:?}",
                t.name,
                t.shape,
                a.shape
            );
        }
        out.push(to_value(a));
    }
    Ok(out)
}
