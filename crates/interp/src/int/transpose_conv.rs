//! TRANSPOSE_CONV on integers (operands: output shape, weights, input, optional bias).
//!
//! * int8 activations, int8 per-channel weights (axis 0), int32 bias: TFLite
//!   `reference_integer_ops::TransposeConv`.
//! * int16 activations (zero point 0), int8 weights, int64 bias: its 16x8 overload.
//!
//! The padding is resolved against the output size, as TFLite's `transpose_conv.cc` does.

use super::conv2d::check_shape;
use super::{fused_activation, shape4, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::TransposeConv;
use edgequant_ir::DType;
use edgequant_kernels::int::transpose_conv::{
    transpose_conv_16x8, transpose_conv_per_channel, TransposeConvParams,
};

enum Bias {
    None,
    I32(Vec<i32>),
    I64(Vec<i64>),
}

struct TransposeConvKernel {
    p: TransposeConvParams,
    filter: Vec<i8>,
    bias: Bias,
    dtype: DType,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for TransposeConv {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(2)?;
        let w = ctx.input(1)?;
        let out = ctx.output(0)?;
        let is = shape4(ctx, x)?;
        let ws = shape4(ctx, w)?;
        let os = shape4(ctx, out)?;
        if x.dtype != out.dtype || !matches!(x.dtype, DType::I8 | DType::I16) {
            return Err(ctx.unsupported(format!(
                "{} input with {} output (supported: int8, int16x8)",
                x.dtype, out.dtype
            )));
        }
        let q = Quant::new(ctx);
        let (filter, scales) = q.weights(1, 0, ws[0])?;
        let xi = q.activation(x, true)?;
        let yo = q.activation(out, true)?;
        if ctx.opt_input(3).is_some() {
            q.check_bias(3, xi.scale, &scales, ws[0])?;
        }
        let wy = self
            .padding
            .window(0, os[1], ws[1], self.stride[0], 1)
            .map_err(|e| ctx.err(e))?;
        let wx = self
            .padding
            .window(1, os[2], ws[2], self.stride[1], 1)
            .map_err(|e| ctx.err(e))?;
        let activation = fused_activation(ctx, self.activation)?;
        let stride = (self.stride[0], self.stride[1]);
        let pad = (wy.pad_before, wx.pad_before);
        let prep = |r: edgequant_kernels::Result<TransposeConvParams>| {
            r.map_err(|e| ctx.err(e.to_string()))
        };
        let p = if x.dtype == DType::I8 {
            prep(TransposeConvParams::prepare::<i8>(
                is, ws, os, stride, pad, xi, &scales, yo, activation,
            ))?
        } else {
            prep(TransposeConvParams::prepare::<i16>(
                is, ws, os, stride, pad, xi, &scales, yo, activation,
            ))?
        };
        check_shape(ctx, &p.output_shape, &os)?;
        let bias = match (x.dtype, ctx.opt_input(3).map(|b| b.dtype)) {
            (_, None) => Bias::None,
            (DType::I8, Some(DType::I32)) => {
                Bias::I32(q.bias_values::<i32>(3)?.unwrap_or_default())
            }
            (DType::I16, Some(DType::I64)) => {
                Bias::I64(q.bias_values::<i64>(3)?.unwrap_or_default())
            }
            (xt, Some(bt)) => {
                return Err(ctx.unsupported(format!(
                    "{bt} bias with {xt} activations (supported: int32 bias for int8, int64 \
                     bias for int16x8)"
                )))
            }
        };
        Ok(Box::new(TransposeConvKernel {
            p,
            filter,
            bias,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for TransposeConvKernel {
    fn reads(&self, input: usize) -> bool {
        input == 2
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_len;
        let data = match (self.dtype, &self.bias) {
            (DType::I16, bias) => {
                let b = match bias {
                    Bias::I64(b) => Some(b.as_slice()),
                    _ => None,
                };
                let mut out = vec![0i16; n];
                transpose_conv_16x8(&self.p, io.ins.typed::<i16>(2)?, &self.filter, b, &mut out)
                    .map_err(kerr)?;
                TensorData::I16(out)
            }
            (_, bias) => {
                let b = match bias {
                    Bias::I32(b) => Some(b.as_slice()),
                    _ => None,
                };
                let mut out = vec![0i8; n];
                transpose_conv_per_channel(
                    &self.p,
                    io.ins.typed::<i8>(2)?,
                    &self.filter,
                    b,
                    &mut out,
                )
                .map_err(kerr)?;
                TensorData::I8(out)
            }
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
