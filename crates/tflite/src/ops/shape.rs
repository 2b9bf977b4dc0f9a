//! SHAPE ↔ [`Shape`] (ShapeOptions.out_type; the output tensor's dtype when absent).
use super::{Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::convert::{dtype_from_fb, dtype_to_fb};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, Shape};
use edgequant_ir::Op;
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::SHAPE,
    inputs: 1..=1,
    ir_name: Shape::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let out_type = match ctx.op.builtin_options_as_shape_options() {
        Some(o) => dtype_from_fb(o.out_type())
            .ok_or_else(|| ctx.err(format!("unsupported out_type {}", o.out_type().0)))?,
        None => {
            ctx.output(0)
                .ok_or_else(|| ctx.err("has no output tensor"))?
                .dtype
        }
    };
    Ok(Op::Shape(Shape { out_type }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Shape(s) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let o = fb::ShapeOptions::create(
        fbb,
        &fb::ShapeOptionsArgs {
            out_type: dtype_to_fb(s.out_type),
        },
    );
    Ok(Encoded::with(
        fb::BuiltinOperator::SHAPE,
        fb::BuiltinOptions::ShapeOptions,
        o,
        1,
    ))
}
