//! EXP ↔ [`edgequant_ir::ops::Exp`] (elementwise; no options).
use super::{plain_op, WriteCtx};
use edgequant_ir::DType;

plain_op!(
    EXP,
    Exp,
    1..=1,
    |ctx: &WriteCtx<'_>| match ctx.in_dtype(0) {
        Some(DType::I8 | DType::I16) => 2,
        _ => 1,
    }
);
