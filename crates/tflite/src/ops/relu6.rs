//! RELU6 ↔ [`edgequant_ir::ops::Relu6`].
use super::{plain_op, WriteCtx};
use edgequant_ir::DType;

plain_op!(
    RELU6,
    Relu6,
    1..=1,
    |ctx: &WriteCtx<'_>| match ctx.in_dtype(0) {
        Some(DType::I16) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    }
);
