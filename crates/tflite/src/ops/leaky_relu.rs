//! LEAKY_RELU ↔ [`LeakyRelu`] (alpha).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{LeakyRelu, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::LEAKY_RELU,
    inputs: 1..=1,
    ir_name: LeakyRelu::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let alpha = ctx
        .op
        .builtin_options_as_leaky_relu_options()
        .map_or(0.0, |o| o.alpha());
    if !alpha.is_finite() {
        return Err(ctx.err(format!("alpha {alpha} is not finite")));
    }
    Ok(Op::LeakyRelu(LeakyRelu { alpha }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::LeakyRelu(l) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = if ctx.in_dtype(0) == Some(DType::I16) {
        2
    } else {
        1
    };
    let o = fb::LeakyReluOptions::create(fbb, &fb::LeakyReluOptionsArgs { alpha: l.alpha });
    Ok(Encoded::with(
        fb::BuiltinOperator::LEAKY_RELU,
        fb::BuiltinOptions::LeakyReluOptions,
        o,
        version,
    ))
}
