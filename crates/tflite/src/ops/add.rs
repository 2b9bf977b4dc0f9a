//! ADD ↔ [`Add`] (fused activation; int16 is written with `pot_scale_int16 = false`, the
//! general-scale kernel the converter uses for 16x8 models).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Add, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::ADD,
    inputs: 2..=2,
    ir_name: Add::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx.op.builtin_options_as_add_options();
    let activation =
        ctx.activation(o.map(|o| o.fused_activation_function()).unwrap_or_default())?;
    Ok(Op::Add(Add { activation }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Add(a) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let int16 = ctx.in_dtype(0) == Some(DType::I16) && ctx.out_dtype(0) == Some(DType::I16);
    let version = match ctx.in_dtype(0) {
        Some(DType::F16) => 6,
        Some(DType::I16) if !ctx.in_quantized(0) => 5,
        Some(DType::I64) => 4,
        _ if int16 => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let o = fb::AddOptions::create(
        fbb,
        &fb::AddOptionsArgs {
            fused_activation_function: activation_to_fb(a.activation),
            pot_scale_int16: !int16,
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::ADD,
        fb::BuiltinOptions::AddOptions,
        o,
        version,
    ))
}
