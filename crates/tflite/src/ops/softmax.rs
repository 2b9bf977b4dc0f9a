//! SOFTMAX ↔ [`Softmax`] (beta).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Softmax};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::SOFTMAX,
    inputs: 1..=1,
    ir_name: Softmax::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_softmax_options()
        .ok_or_else(|| ctx.missing("SoftmaxOptions"))?;
    let beta = o.beta();
    if !beta.is_finite() {
        return Err(ctx.err(format!("beta {beta} is not finite")));
    }
    Ok(Op::Softmax(Softmax { beta }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Softmax(s) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match ctx.in_dtype(0) {
        Some(DType::I16) => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let o = fb::SoftmaxOptions::create(fbb, &fb::SoftmaxOptionsArgs { beta: s.beta });
    Ok(Encoded::with(
        fb::BuiltinOperator::SOFTMAX,
        fb::BuiltinOptions::SoftmaxOptions,
        o,
        version,
    ))
}
