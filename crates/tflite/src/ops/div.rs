//! DIV ↔ [`Div`] (fused activation).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Div, OpDef};
use edgequant_ir::Op;
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::DIV,
    inputs: 2..=2,
    ir_name: Div::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx.op.builtin_options_as_div_options();
    let activation =
        ctx.activation(o.map(|o| o.fused_activation_function()).unwrap_or_default())?;
    Ok(Op::Div(Div { activation }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Div(a) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = if ctx.needs_broadcast() && ctx.max_in_rank() > 4 {
        2
    } else {
        1
    };
    let o = fb::DivOptions::create(
        fbb,
        &fb::DivOptionsArgs {
            fused_activation_function: activation_to_fb(a.activation),
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::DIV,
        fb::BuiltinOptions::DivOptions,
        o,
        version,
    ))
}
