//! PACK ↔ [`Pack`] (axis normalized against the output rank on read; values_count must equal
//! the operand count).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Pack};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::PACK,
    inputs: 1..=usize::MAX,
    ir_name: Pack::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_pack_options()
        .ok_or_else(|| ctx.missing("PackOptions"))?;
    let n = ctx.inputs.len();
    if usize::try_from(o.values_count()).ok() != Some(n) {
        return Err(ctx.err(format!(
            "values_count {} differs from the {n} operands",
            o.values_count()
        )));
    }
    let rank = ctx.input_rank(0).saturating_add(1);
    Ok(Op::Pack(Pack {
        axis: ctx.axis(o.axis(), rank, "axis")?,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Pack(p) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match (ctx.in_dtype(0), ctx.out_dtype(0)) {
        (Some(DType::I8), _) => 2,
        (Some(DType::I16), Some(DType::I16)) => 3,
        _ => 1,
    };
    let args = fb::PackOptionsArgs {
        values_count: ctx.i32(ctx.node.inputs.len(), "values_count")?,
        axis: ctx.i32(p.axis, "axis")?,
    };
    let o = fb::PackOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::PACK,
        fb::BuiltinOptions::PackOptions,
        o,
        version,
    ))
}
