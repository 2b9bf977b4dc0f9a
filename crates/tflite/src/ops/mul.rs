//! MUL ↔ [`Mul`] (fused activation).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Mul, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::MUL,
    inputs: 2..=2,
    ir_name: Mul::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx.op.builtin_options_as_mul_options();
    let activation =
        ctx.activation(o.map(|o| o.fused_activation_function()).unwrap_or_default())?;
    Ok(Op::Mul(Mul { activation }))
}

/// Per-tensor scale of a tensor (0 when it has none).
fn scale(t: Option<&edgequant_ir::Tensor>) -> f32 {
    t.and_then(|t| t.quant.as_ref())
        .and_then(|q| q.scale.first().copied())
        .unwrap_or(0.0)
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Mul(a) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let (s1, s2, so) = (
        scale(ctx.input(0)),
        scale(ctx.input(1)),
        scale(ctx.output(0)),
    );
    let version = match ctx.in_dtype(0) {
        Some(DType::F16) => 8,
        Some(DType::I16) if !ctx.in_quantized(0) => 7,
        Some(DType::I64) => 5,
        Some(DType::I16) => 4,
        _ if s1 != 0.0 && s2 != 0.0 && so != 0.0 && s1 * s2 / so >= 1.0 => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let o = fb::MulOptions::create(
        fbb,
        &fb::MulOptionsArgs {
            fused_activation_function: activation_to_fb(a.activation),
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::MUL,
        fb::BuiltinOptions::MulOptions,
        o,
        version,
    ))
}
