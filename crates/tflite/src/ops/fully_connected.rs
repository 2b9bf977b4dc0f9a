//! FULLY_CONNECTED ↔ [`FullyConnected`]. Operands: input, weights `[O, I]`, optional bias.
//! Only the default weights format is supported. `asymmetric_quantize_inputs` is not
//! represented in the IR: it is dropped on read, and hybrid nodes (float input, int8 weights)
//! are written with it set, as the TFLite converter writes dynamic-range models (asymmetric
//! per-row input quantization); other nodes are written without it.
use super::{activation_to_fb, Encoded, OpCodec, ReadCtx, WriteCtx};
use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::ops::{FullyConnected, OpDef};
use edgequant_ir::{DType, Op};
use flatbuffers::FlatBufferBuilder;

/// Registry entry.
pub(crate) const CODEC: OpCodec = OpCodec {
    code: fb::BuiltinOperator::FULLY_CONNECTED,
    inputs: 2..=3,
    ir_name: FullyConnected::NAME,
    read,
    write: Some(write),
};

fn read(ctx: &mut ReadCtx<'_, '_>) -> Result<Op, TfliteError> {
    let Some(o) = ctx.op.builtin_options_as_fully_connected_options() else {
        return Ok(Op::FullyConnected(FullyConnected::default()));
    };
    if o.weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT {
        return Err(ctx.err(format!(
            "unsupported weights_format {}",
            o.weights_format()
                .variant_name()
                .map_or_else(|| o.weights_format().0.to_string(), str::to_string)
        )));
    }
    Ok(Op::FullyConnected(FullyConnected {
        activation: ctx.activation(o.fused_activation_function())?,
        keep_num_dims: o.keep_num_dims(),
    }))
}

fn write(ctx: &WriteCtx<'_>, fbb: &mut FlatBufferBuilder<'_>) -> Result<Encoded, TfliteError> {
    let Op::FullyConnected(f) = &ctx.node.op else {
        return Err(ctx.mismatch());
    };
    let hybrid = (ctx.in_dtype(0), ctx.in_dtype(1), ctx.out_dtype(0))
        == (Some(DType::F32), Some(DType::I8), Some(DType::F32));
    let version = match (ctx.in_dtype(0), ctx.in_dtype(1), ctx.out_dtype(0)) {
        _ if hybrid && ctx.per_channel(1) => 12,
        (Some(DType::I16), Some(DType::I16), Some(DType::I16)) => 7,
        _ if ctx.node.inputs.len() == 2 => 6,
        _ if f.keep_num_dims => 5,
        (Some(DType::I8), Some(DType::I8), Some(DType::I8)) => 4,
        _ if hybrid => 9,
        _ => 1,
    };
    let args = fb::FullyConnectedOptionsArgs {
        fused_activation_function: activation_to_fb(f.activation),
        weights_format: fb::FullyConnectedOptionsWeightsFormat::DEFAULT,
        keep_num_dims: f.keep_num_dims,
        asymmetric_quantize_inputs: hybrid,
        quantized_bias_type: fb::TensorType::FLOAT32,
    };
    let o = fb::FullyConnectedOptions::create(fbb, &args);
    Ok(Encoded::with(
        fb::BuiltinOperator::FULLY_CONNECTED,
        fb::BuiltinOptions::FullyConnectedOptions,
        o,
        version,
    ))
}
