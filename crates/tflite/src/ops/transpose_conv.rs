//! TRANSPOSE_CONV ↔ [`TransposeConv`]. Operands: output shape, weights OHWI, input NHWC,
//! optional bias.
//!
//! Also reads MediaPipe's custom op `Convolution2DTransposeBias` (operands input, weights,
//! bias; custom options = the raw `TfLiteTransposeConvParams` {padding, stride_w, stride_h} as
//! little-endian int32) as a TRANSPOSE_CONV with bias: its output size and padding are those of
//! the builtin for the same output shape, so a constant output-shape operand (named
//! `<output>/output_shape`) is added. It is written back as the builtin.
use super::{activation_to_fb, CustomCodec, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{OpDef, TransposeConv};
use edgequant_ir::{Activation, DType, Op, Padding, Tensor, TensorId};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::TRANSPOSE_CONV,
    inputs: 3..=4,
    ir_name: TransposeConv::NAME,
    read,
    write: Some(write),
};

/// MediaPipe's `Convolution2DTransposeBias`.
pub(crate) const CONV2D_TRANSPOSE_BIAS: CustomCodec = CustomCodec {
    custom_code: "Convolution2DTransposeBias",
    inputs: 3..=3,
    read: read_custom,
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let o = ctx
        .op
        .builtin_options_as_transpose_conv_options()
        .ok_or_else(|| ctx.missing("TransposeConvOptions"))?;
    Ok(Op::TransposeConv(TransposeConv {
        stride: [
            ctx.positive(o.stride_h(), "stride_h")?,
            ctx.positive(o.stride_w(), "stride_w")?,
        ],
        padding: ctx.padding(o.padding())?,
        activation: ctx.activation(o.fused_activation_function())?,
    }))
}

fn read_custom(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let opts: Vec<u8> = ctx
        .op
        .custom_options()
        .map(|v| v.bytes().to_vec())
        .unwrap_or_default();
    let word = |i: usize| -> Result<i32, TfliteError> {
        opts.get(i * 4..i * 4 + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_le_bytes)
            .ok_or_else(|| {
                ctx.err(format!(
                    "custom options have {} bytes, expected 12 (padding, stride_w, stride_h)",
                    opts.len()
                ))
            })
    };
    // TfLitePadding: 1 = SAME, 2 = VALID.
    let padding = match word(0)? {
        1 => Padding::Same,
        2 => Padding::Valid,
        p => return Err(ctx.err(format!("unknown padding {p}"))),
    };
    let stride = [
        ctx.positive(word(2)?, "stride_h")?,
        ctx.positive(word(1)?, "stride_w")?,
    ];
    let [Some(x), Some(w), Some(b)] = ctx.inputs[..] else {
        return Err(ctx.err("expects 3 operands: input, weights, bias"));
    };
    let in_shape = ctx.input(0).map(|t| t.shape.clone()).unwrap_or_default();
    let w_shape = ctx.input(1).map(|t| t.shape.clone()).unwrap_or_default();
    let out = ctx
        .output(0)
        .ok_or_else(|| ctx.err("has no output tensor"))?;
    let (out_shape, out_name) = (out.shape.clone(), out.name.clone());
    let (&[n, h, wd, _], &[o, kh, kw, _]) = (&in_shape[..], &w_shape[..]) else {
        return Err(ctx.err(format!(
            "input {in_shape:?} and weights {w_shape:?} must be rank 4"
        )));
    };
    // MediaPipe's output size: stride * (in - 1) + k - total SAME padding.
    let size = |input: usize, k: usize, s: usize| -> Option<usize> {
        let pad = match padding {
            Padding::Same => k.saturating_sub((input.checked_sub(1)? % s) + 1),
            _ => 0,
        };
        s.checked_mul(input.checked_sub(1)?)?
            .checked_add(k)?
            .checked_sub(pad)
    };
    let expect = [
        Some(n),
        size(h, kh, stride[0]),
        size(wd, kw, stride[1]),
        Some(o),
    ];
    if expect.iter().zip(&out_shape).any(|(e, &d)| *e != Some(d)) || out_shape.len() != 4 {
        return Err(ctx.err(format!(
            "output shape {out_shape:?} does not match input {in_shape:?}, weights {w_shape:?}"
        )));
    }
    let dims = out_shape
        .iter()
        .map(|&d| i32::try_from(d).map_err(|_| ctx.err("output shape does not fit in int32")))
        .collect::<Result<Vec<_>, _>>()?;
    let shape_tensor = Tensor::from_i32(format!("{out_name}/output_shape"), vec![4], &dims)?;
    ctx.tensors.push(shape_tensor);
    let shape_id = TensorId(ctx.tensors.len() - 1);
    ctx.inputs = vec![Some(shape_id), Some(w), Some(x), Some(b)];
    Ok(Op::TransposeConv(TransposeConv {
        stride,
        padding,
        activation: Activation::None,
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::TransposeConv(c) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let has_bias = ctx.node.inputs.get(3).copied().flatten().is_some();
    let version = match ctx.in_dtype(1) {
        _ if c.activation != Activation::None => 4,
        _ if has_bias => 3,
        Some(DType::I8) => 2,
        _ => 1,
    };
    let args = fb::TransposeConvOptionsArgs {
        padding: ctx.padding(c.padding)?,
        stride_w: ctx.i32(c.stride[1], "stride_w")?,
        stride_h: ctx.i32(c.stride[0], "stride_h")?,
        fused_activation_function: activation_to_fb(c.activation),
        quantized_bias_type: fb::TensorType::FLOAT32,
    };
    let o = fb::TransposeConvOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::TRANSPOSE_CONV,
        fb::BuiltinOptions::TransposeConvOptions,
        o,
        version,
    ))
}
