//! TRANSPOSE ↔ [`edgequant_ir::ops::Transpose`]. Operands: input, perm.
use super::{plain_op, WriteCtx};
use edgequant_ir::DType;

plain_op!(TRANSPOSE, Transpose, 2..=2, |ctx: &WriteCtx<'_>| {
    let rank = ctx.in_rank(0);
    match ctx.in_dtype(0) {
        _ if rank > 6 => 8,
        _ if rank > 5 => 6,
        Some(DType::I16) => 5,
        _ if rank > 4 => 4,
        Some(DType::Bool) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    }
});
