//! CONCATENATION ↔ [`Concatenation`] (axis, normalized on read; fused activation).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Concatenation, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::CONCATENATION,
    inputs: 1..=usize::MAX,
    ir_name: Concatenation::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_concatenation_options()
        .ok_or_else(|| ctx.missing("ConcatenationOptions"))?;
    Ok(Op::Concatenation(Concatenation {
        axis: ctx.axis(o.axis(), ctx.input_rank(0), "axis")?,
        activation: ctx.activation(o.fused_activation_function())?,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Concatenation(c) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match ctx.in_dtype(0) {
        Some(DType::I16) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let args = fb::ConcatenationOptionsArgs {
        axis: ctx.i32(c.axis, "axis")?,
        fused_activation_function: activation_to_fb(c.activation),
    };
    let o = fb::ConcatenationOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::CONCATENATION,
        fb::BuiltinOptions::ConcatenationOptions,
        o,
        version,
    ))
}
