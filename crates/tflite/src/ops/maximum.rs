//! MAXIMUM ↔ [`Maximum`] (elementwise, broadcasting). TFLite's MAXIMUM has no options and no fused
//! activation: reading gives `Activation::None`, writing another activation is an error.
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Maximum, OpDef};
use edgequant_ir::{Activation, DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::MAXIMUM,
    inputs: 2..=2,
    ir_name: Maximum::NAME,
    read,
    write: Some(write),
};

fn read(_ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    Ok(Op::Maximum(Maximum {
        activation: Activation::None,
    }))
}

fn write(ctx: &WriteCtx<'_>, _fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Maximum(m) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    if m.activation != Activation::None {
        return Err(ctx.err(format!(
            "TFLite MAXIMUM has no fused activation (node has {:?}); split it into a separate op",
            m.activation
        )));
    }
    let version = match (ctx.in_dtype(0), ctx.out_dtype(0)) {
        (Some(DType::I16), Some(DType::I16)) => 4,
        _ if ctx.needs_broadcast() && ctx.max_in_rank() > 4 => 3,
        (Some(DType::I8), _) => 2,
        _ => 1,
    };
    Ok(Encoded::plain(fb::BuiltinOperator::MAXIMUM, version))
}
