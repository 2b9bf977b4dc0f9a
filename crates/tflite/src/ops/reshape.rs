//! RESHAPE ↔ [`Reshape`]. Operands: input and (usually) the target shape. `new_shape` comes from
//! ReshapeOptions; when the shape operand is computed at run time and the options carry no
//! target, the output tensor's static shape is recorded as `new_shape`, so the graph stays
//! statically shaped.
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Reshape};
use edgequant_ir::Op;
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::RESHAPE,
    inputs: 1..=2,
    ir_name: Reshape::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let mut new_shape = ctx
        .op
        .builtin_options_as_reshape_options()
        .and_then(|o| o.new_shape())
        .map(|v| v.iter().map(i64::from).collect::<Vec<_>>());
    let shape_is_const = ctx.input(1).is_some_and(|t| t.is_const());
    if new_shape.is_none() && !shape_is_const {
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.err("has no output tensor"))?;
        new_shape = Some(
            out.shape
                .iter()
                .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
                .collect(),
        );
    }
    Ok(Op::Reshape(Reshape { new_shape }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Reshape(r) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let Some(shape) = &r.new_shape else {
        return Ok(Encoded::plain(fb::BuiltinOperator::RESHAPE, 1));
    };
    let dims = shape
        .iter()
        .map(|&d| {
            i32::try_from(d)
                .map_err(|_| ctx.err(format!("new_shape dim {d} does not fit in int32")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let v = fbb.create_vector(&dims);
    let o = fb::ReshapeOptions::create(fbb, &fb::ReshapeOptionsArgs { new_shape: Some(v) });
    Ok(Encoded::with(
        fb::BuiltinOperator::RESHAPE,
        fb::BuiltinOptions::ReshapeOptions,
        o,
        1,
    ))
}
