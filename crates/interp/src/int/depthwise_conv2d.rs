//! DEPTHWISE_CONV_2D on integers and dynamic range.
//!
//! * int8 activations, int8 per-channel weights (axis 3), int32 bias:
//!   `reference_integer_ops::DepthwiseConvPerChannel` via `depthwise_fast` (padded,
//!   multiplier-expanded image, 16-channel register blocks; bit-identical to the reference
//!   loop).
//! * int16 activations (zero point 0), int64 (or int32) bias: the 16x8 overload.
//! * float input, int8 weights, float bias: TFLite's `EvalHybridPerChannel`
//!   (asymmetric per-image input quantization).
//!
//! The depth multiplier is taken from the shapes (`filter_depth / input_depth`), as TFLite's
//! kernels do.

use super::conv2d::{check_shape, Bias16};
use super::{fused_activation, padding, prep_err, shape4, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::DepthwiseConv2d;
use edgequant_ir::DType;
use edgequant_kernels::int::depthwise_conv::{
    depthwise_conv_per_channel_16x8, DepthwiseOptions, DepthwiseParams,
};
use edgequant_kernels::int::depthwise_fast::{
    depthwise_conv_per_channel_fast, DepthwiseFastFilter,
};
use edgequant_kernels::int::hybrid::{hybrid_depthwise_conv2d, HybridDepthwiseParams};

enum Dw {
    I8 {
        p: DepthwiseParams,
        filter: DepthwiseFastFilter,
        bias: Option<Vec<i32>>,
    },
    I16 {
        p: DepthwiseParams,
        filter: Vec<i8>,
        bias: Bias16,
    },
    Hybrid {
        p: HybridDepthwiseParams,
        filter: Vec<i8>,
        bias: Option<Vec<f32>>,
    },
}

struct DepthwiseKernel {
    dw: Dw,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for DepthwiseConv2d {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let w = ctx.input(1)?;
        let out = ctx.output(0)?;
        let is = shape4(ctx, x)?;
        let ws = shape4(ctx, w)?;
        let os = shape4(ctx, out)?;
        if is[3] == 0 || ws[3] % is[3] != 0 {
            return Err(ctx.err(format!(
                "filter '{}' {:?} does not match input '{}' {:?}",
                w.name, w.shape, x.name, x.shape
            )));
        }
        let q = Quant::new(ctx);
        let (filter, scales) = q.weights(1, 3, ws[3])?;
        let activation = fused_activation(ctx, self.activation)?;
        let options = DepthwiseOptions {
            padding: padding(ctx, self.padding)?,
            stride_h: self.stride[0],
            stride_w: self.stride[1],
            dilation_h: self.dilation[0],
            dilation_w: self.dilation[1],
            depth_multiplier: ws[3] / is[3],
            activation,
        };
        let dw = match x.dtype {
            DType::F32 => {
                let p = HybridDepthwiseParams::prepare(
                    options.padding,
                    (options.stride_h, options.stride_w),
                    (options.dilation_h, options.dilation_w),
                    options.depth_multiplier,
                    is,
                    ws,
                    &scales,
                    activation,
                )
                .map_err(prep_err(ctx))?;
                check_shape(ctx, &p.output_shape, &os)?;
                let bias = match ctx.opt_input(2) {
                    Some(_) => Some(ctx.require_const_f32(2, "bias")?),
                    None => None,
                };
                Dw::Hybrid { p, filter, bias }
            }
            DType::I8 | DType::I16 if out.dtype == x.dtype => {
                let xi = q.activation(x, true)?;
                let yo = q.activation(out, true)?;
                if ctx.opt_input(2).is_some() {
                    q.check_bias(2, xi.scale, &scales, ws[3])?;
                }
                if x.dtype == DType::I8 {
                    let p = DepthwiseParams::prepare::<i8>(options, is, ws, xi, &scales, yo)
                        .map_err(prep_err(ctx))?;
                    check_shape(ctx, &p.output_shape, &os)?;
                    let filter = DepthwiseFastFilter::new(&p, &filter).map_err(prep_err(ctx))?;
                    Dw::I8 {
                        p,
                        filter,
                        bias: q.bias_values::<i32>(2)?,
                    }
                } else {
                    let p = DepthwiseParams::prepare::<i16>(options, is, ws, xi, &scales, yo)
                        .map_err(prep_err(ctx))?;
                    check_shape(ctx, &p.output_shape, &os)?;
                    Dw::I16 {
                        p,
                        filter,
                        bias: Bias16::read(&q, ctx, 2)?,
                    }
                }
            }
            other => {
                return Err(ctx.unsupported(format!(
                    "{other} input with {} output (supported: int8, int16x8, float32 with int8 weights)",
                    out.dtype
                )))
            }
        };
        Ok(Box::new(DepthwiseKernel {
            dw,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for DepthwiseKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_len;
        let data = match &self.dw {
            Dw::I8 { p, filter, bias } => {
                let mut out = vec![0i8; n];
                depthwise_conv_per_channel_fast(
                    p,
                    filter,
                    io.ins.typed::<i8>(0)?,
                    bias.as_deref(),
                    &mut out,
                    io.par,
                )
                .map_err(kerr)?;
                TensorData::I8(out)
            }
            Dw::I16 { p, filter, bias } => {
                let x = io.ins.typed::<i16>(0)?;
                let mut out = vec![0i16; n];
                match bias {
                    Bias16::None => {
                        depthwise_conv_per_channel_16x8::<i64>(p, x, filter, None, &mut out)
                    }
                    Bias16::I32(b) => {
                        depthwise_conv_per_channel_16x8(p, x, filter, Some(b), &mut out)
                    }
                    Bias16::I64(b) => {
                        depthwise_conv_per_channel_16x8(p, x, filter, Some(b), &mut out)
                    }
                }
                .map_err(kerr)?;
                TensorData::I16(out)
            }
            Dw::Hybrid { p, filter, bias } => {
                let mut out = io.pool.alloc(n);
                hybrid_depthwise_conv2d(
                    p,
                    io.ins.f32(0)?,
                    filter,
                    bias.as_deref(),
                    &mut out,
                    io.par,
                )
                .map_err(kerr)?;
                TensorData::F32(out)
            }
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
