//! AVERAGE_POOL_2D ↔ [`AveragePool2d`] (Pool2DOptions: filter, strides, padding, fused activation).
use super::{activation_to_fb, version_i8_2_i16_3, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{AveragePool2d, OpDef};
use edgequant_ir::Op;
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::AVERAGE_POOL_2D,
    inputs: 1..=1,
    ir_name: AveragePool2d::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_pool_2_doptions()
        .ok_or_else(|| ctx.missing("Pool2DOptions"))?;
    Ok(Op::AveragePool2d(AveragePool2d {
        filter: [
            ctx.positive(o.filter_height(), "filter_height")?,
            ctx.positive(o.filter_width(), "filter_width")?,
        ],
        stride: [
            ctx.positive(o.stride_h(), "stride_h")?,
            ctx.positive(o.stride_w(), "stride_w")?,
        ],
        padding: ctx.padding(o.padding())?,
        activation: ctx.activation(o.fused_activation_function())?,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::AveragePool2d(p) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let args = fb::Pool2DOptionsArgs {
        padding: ctx.padding(p.padding)?,
        stride_w: ctx.i32(p.stride[1], "stride_w")?,
        stride_h: ctx.i32(p.stride[0], "stride_h")?,
        filter_width: ctx.i32(p.filter[1], "filter_width")?,
        filter_height: ctx.i32(p.filter[0], "filter_height")?,
        fused_activation_function: activation_to_fb(p.activation),
    };
    let o = fb::Pool2DOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::AVERAGE_POOL_2D,
        fb::BuiltinOptions::Pool2DOptions,
        o,
        version_i8_2_i16_3(ctx),
    ))
}
