//! MEAN ↔ [`Mean`] (ReducerOptions.keep_dims). Operands: input, axes (constant).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Mean, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::MEAN,
    inputs: 2..=2,
    ir_name: Mean::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let keep_dims = ctx
        .op
        .builtin_options_as_reducer_options()
        .is_some_and(|o| o.keep_dims());
    Ok(Op::Mean(Mean { keep_dims }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Mean(m) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match ctx.in_dtype(0) {
        Some(DType::I16) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let o = fb::ReducerOptions::create(
        fbb,
        &fb::ReducerOptionsArgs {
            keep_dims: m.keep_dims,
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::MEAN,
        fb::BuiltinOptions::ReducerOptions,
        o,
        version,
    ))
}
