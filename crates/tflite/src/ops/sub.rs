//! SUB ↔ [`Sub`] (fused activation; int16 is written with `pot_scale_int16 = false`).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Sub};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::SUB,
    inputs: 2..=2,
    ir_name: Sub::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx.op.builtin_options_as_sub_options();
    let activation =
        ctx.activation(o.map(|o| o.fused_activation_function()).unwrap_or_default())?;
    Ok(Op::Sub(Sub { activation }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Sub(a) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let int16 = ctx.in_dtype(0) == Some(DType::I16) && ctx.out_dtype(0) == Some(DType::I16);
    let version = match ctx.in_dtype(0) {
        _ if int16 => 5,
        Some(DType::I64) => 4,
        _ if ctx.needs_broadcast() && ctx.max_in_rank() > 4 => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let o = fb::SubOptions::create(
        fbb,
        &fb::SubOptionsArgs {
            fused_activation_function: activation_to_fb(a.activation),
            pot_scale_int16: !int16,
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::SUB,
        fb::BuiltinOptions::SubOptions,
        o,
        version,
    ))
}
