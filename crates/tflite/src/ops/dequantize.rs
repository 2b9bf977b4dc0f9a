//! DEQUANTIZE ↔ [`edgequant_ir::ops::Dequantize`] (integer or float16 → float32).
use super::{plain_op, WriteCtx};
use edgequant_ir::DType;

plain_op!(
    DEQUANTIZE,
    Dequantize,
    1..=1,
    |ctx: &WriteCtx<'_>| match ctx.in_dtype(0) {
        Some(DType::I16 | DType::F16) => 3,
        Some(DType::I8) if ctx.per_channel(0) => 5,
        Some(DType::I8) => 2,
        _ => 1,
    }
);
