//! QUANTIZE ↔ [`Quantize`] (the target dtype is the output tensor's).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Quantize};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::QUANTIZE,
    inputs: 1..=1,
    ir_name: Quantize::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let to = ctx
        .output(0)
        .ok_or_else(|| ctx.err("has no output tensor"))?
        .dtype;
    Ok(Op::Quantize(Quantize { to }))
}

fn write(ctx: &WriteCtx<'_>, _fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Quantize(q) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    if ctx.out_dtype(0) != Some(q.to) {
        return Err(ctx.err(format!(
            "quantizes to {} but the output tensor is {}",
            q.to,
            ctx.out_dtype(0).map_or("missing", |d| d.name())
        )));
    }
    let per_channel = ctx
        .output(0)
        .and_then(|t| t.quant.as_ref())
        .is_some_and(|q| q.scale.len() > 1);
    let version = match q.to {
        _ if per_channel => 3,
        DType::I16 => 2,
        _ => 1,
    };
    Ok(Encoded::plain(fb::BuiltinOperator::QUANTIZE, version))
}
