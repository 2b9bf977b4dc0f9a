//! DEPTHWISE_CONV_2D ↔ [`DepthwiseConv2d`]. Operands: input NHWC, weights `[1, KH, KW, C·M]`,
//! optional bias. The depth multiplier is taken from the shapes when they determine it (the
//! runtime ignores the stored value, which old models often leave inconsistent).
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{DepthwiseConv2d, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::DEPTHWISE_CONV_2D,
    inputs: 2..=3,
    ir_name: DepthwiseConv2d::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_depthwise_conv_2_doptions()
        .ok_or_else(|| ctx.missing("DepthwiseConv2DOptions"))?;
    let channels = ctx.input(0).and_then(|t| t.shape.last().copied());
    let out_channels = ctx.input(1).and_then(|t| t.shape.last().copied());
    let depth_multiplier = match (channels, out_channels) {
        (Some(c), Some(oc)) if c > 0 && oc % c == 0 => oc / c,
        _ => ctx.positive(o.depth_multiplier(), "depth_multiplier")?,
    };
    Ok(Op::DepthwiseConv2d(DepthwiseConv2d {
        stride: [
            ctx.positive(o.stride_h(), "stride_h")?,
            ctx.positive(o.stride_w(), "stride_w")?,
        ],
        dilation: [
            ctx.positive(o.dilation_h_factor(), "dilation_h_factor")?,
            ctx.positive(o.dilation_w_factor(), "dilation_w_factor")?,
        ],
        padding: ctx.padding(o.padding())?,
        depth_multiplier,
        activation: ctx.activation(o.fused_activation_function())?,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::DepthwiseConv2d(c) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let version = match (ctx.in_dtype(0), ctx.in_dtype(1), ctx.out_dtype(0)) {
        (Some(DType::I16), Some(DType::I8), Some(DType::I16)) => 5,
        (Some(DType::F32), Some(DType::I8), Some(DType::F32)) if ctx.per_channel(1) => 6,
        (Some(DType::F32), Some(DType::I8), Some(DType::F32)) => 4,
        (Some(DType::I8), Some(DType::I8), Some(DType::I8)) => 3,
        _ if c.dilation != [1, 1] => 2,
        _ => 1,
    };
    let args = fb::DepthwiseConv2DOptionsArgs {
        padding: ctx.padding(c.padding)?,
        stride_w: ctx.i32(c.stride[1], "stride_w")?,
        stride_h: ctx.i32(c.stride[0], "stride_h")?,
        depth_multiplier: ctx.i32(c.depth_multiplier, "depth_multiplier")?,
        fused_activation_function: activation_to_fb(c.activation),
        dilation_w_factor: ctx.i32(c.dilation[1], "dilation_w_factor")?,
        dilation_h_factor: ctx.i32(c.dilation[0], "dilation_h_factor")?,
    };
    let o = fb::DepthwiseConv2DOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::DEPTHWISE_CONV_2D,
        fb::BuiltinOptions::DepthwiseConv2DOptions,
        o,
        version,
    ))
}
