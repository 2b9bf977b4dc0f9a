//! Constant, and the ops that are only evaluated at import time (ConstantOfShape, Range, ...).

use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use crate::tensor::{const_from_proto, Const};
use edgequant_ir::DType;

/// ONNX Constant: `value`, `value_float(s)` or `value_int(s)`.
pub(crate) fn constant(_cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let c = if let Some(t) = n.tensor_opt("value")? {
        const_from_proto(t)?
    } else if let Some(f) = n.float_opt("value_float")? {
        Const::f32(vec![], vec![f])
    } else if let Some(v) = n.floats_opt("value_floats")? {
        Const::f32(vec![v.len()], v)
    } else if let Some(i) = n.int_opt("value_int")? {
        Const::int(DType::I64, vec![], vec![i])
    } else if let Some(v) = n.ints_opt("value_ints")? {
        Const::int(DType::I64, vec![v.len()], v)
    } else if n.has("sparse_value") {
        return Err(n.attr_err("sparse_value", "sparse constants are not supported"));
    } else {
        return Err(n.err("no value attribute (value, value_float(s), value_int(s))"));
    };
    Ok(vec![Value::konst(c)])
}

/// Ops evaluated only at import time: reaching the converter means an input is computed at
/// run time.
pub(crate) fn needs_constants(_cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    Err(n.err("supported only when all inputs are constants (they are folded at import time)"))
}
