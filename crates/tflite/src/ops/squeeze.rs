//! SQUEEZE ↔ [`Squeeze`] (squeeze_dims, normalized to non-negative axes on read).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Squeeze};
use edgequant_ir::Op;
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::SQUEEZE,
    inputs: 1..=1,
    ir_name: Squeeze::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let rank = ctx.input_rank(0);
    let mut axes = Vec::new();
    if let Some(dims) = ctx
        .op
        .builtin_options_as_squeeze_options()
        .and_then(|o| o.squeeze_dims())
    {
        for d in dims.iter() {
            let a = ctx.axis(d, rank, "squeeze_dims")?;
            axes.push(i64::try_from(a).map_err(|_| ctx.err("squeeze_dims overflow"))?);
        }
    }
    Ok(Op::Squeeze(Squeeze { axes }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Squeeze(s) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let dims = s
        .axes
        .iter()
        .map(|&d| i32::try_from(d).map_err(|_| ctx.err(format!("axis {d} does not fit in int32"))))
        .collect::<Result<Vec<_>, _>>()?;
    let v = fbb.create_vector(&dims);
    let o = fb::SqueezeOptions::create(
        fbb,
        &fb::SqueezeOptionsArgs {
            squeeze_dims: Some(v),
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::SQUEEZE,
        fb::BuiltinOptions::SqueezeOptions,
        o,
        1,
    ))
}
