//! CONV_2D ↔ [`Conv2d`]. Operands: input NHWC, weights OHWI, optional bias.
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{Conv2d, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::CONV_2D,
    inputs: 2..=3,
    ir_name: Conv2d::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_conv_2_doptions()
        .ok_or_else(|| ctx.missing("Conv2DOptions"))?;
    Ok(Op::Conv2d(Conv2d {
        stride: [
            ctx.positive(o.stride_h(), "stride_h")?,
            ctx.positive(o.stride_w(), "stride_w")?,
        ],
        dilation: [
            ctx.positive(o.dilation_h_factor(), "dilation_h_factor")?,
            ctx.positive(o.dilation_w_factor(), "dilation_w_factor")?,
        ],
        padding: ctx.padding(o.padding())?,
        activation: ctx.activation(o.fused_activation_function())?,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::Conv2d(c) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let grouped = match (ctx.input(0), ctx.input(1)) {
        (Some(x), Some(w)) => x.shape.last() != w.shape.last(),
        _ => false,
    };
    let version = match (ctx.in_dtype(0), ctx.in_dtype(1), ctx.out_dtype(0)) {
        _ if grouped => 6,
        (Some(DType::I16), Some(DType::I8), Some(DType::I16)) => 4,
        (Some(DType::I8), Some(DType::I8), Some(DType::I8)) => 3,
        (Some(DType::F32), Some(DType::I8), Some(DType::F32)) if ctx.per_channel(1) => 5,
        (Some(DType::F32), Some(DType::I8), Some(DType::F32)) => 2,
        _ => 1,
    };
    let args = fb::Conv2DOptionsArgs {
        padding: ctx.padding(c.padding)?,
        stride_w: ctx.i32(c.stride[1], "stride_w")?,
        stride_h: ctx.i32(c.stride[0], "stride_h")?,
        fused_activation_function: activation_to_fb(c.activation),
        dilation_w_factor: ctx.i32(c.dilation[1], "dilation_w_factor")?,
        dilation_h_factor: ctx.i32(c.dilation[0], "dilation_h_factor")?,
        quantized_bias_type: fb::TensorType::FLOAT32,
    };
    let o = fb::Conv2DOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::CONV_2D,
        fb::BuiltinOptions::Conv2DOptions,
        o,
        version,
    ))
}
