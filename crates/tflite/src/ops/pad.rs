//! PAD and PADV2 ↔ [`Pad`]. Operands: input, paddings, and for PADV2 the pad value. Both codes
//! read as [`Pad`]; the writer emits PADV2 when the node has a pad-value operand, else PAD.
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Pad};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry for PAD (reads and writes both codes).
pub(crate) const PAD: OpCodec = OpCodec {
    code: fb::BuiltinOperator::PAD,
    inputs: 2..=3,
    ir_name: Pad::NAME,
    read,
    write: Some(write),
};

/// Registry entry for PADV2 (read only; written by [`PAD`]'s writer).
pub(crate) const PADV2: OpCodec = OpCodec {
    code: fb::BuiltinOperator::PADV2,
    inputs: 3..=3,
    ir_name: Pad::NAME,
    read,
    write: None,
};

fn read(_ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    Ok(Op::Pad(Pad))
}

fn write(ctx: &WriteCtx<'_>, _fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let version = match ctx.in_dtype(0) {
        Some(DType::Bool) => 5,
        _ if ctx.in_rank(0) > 4 => 4,
        Some(DType::I16) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let code = if ctx.node.inputs.get(2).copied().flatten().is_some() {
        fb::BuiltinOperator::PADV2
    } else {
        fb::BuiltinOperator::PAD
    };
    Ok(Encoded::plain(code, version))
}
