//! CONV_2D on integers and dynamic range.
//!
//! * int8 activations, int8 per-channel weights (axis 0), int32 bias: TFLite
//!   `reference_integer_ops::ConvPerChannel` via an optimized im2col + int8 GEMM kernel
//!   (AVX-512 VNNI when the CPU has it, else AVX2 / portable; all bit-identical to the
//!   reference loop).
//! * int16 activations (zero point 0), int8 weights, int64 (or int32) bias: the 16x8 overload.
//! * float input, int8 weights, float bias (dynamic range): TFLite's hybrid kernels
//!   (`EvalHybridPerChannel` when the filter has distinct per-channel scales, else
//!   `EvalHybrid`), see `edgequant_kernels::int::hybrid`.

use super::{fused_activation, padding, prep_err, shape4, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Conv2d;
use edgequant_ir::DType;
use edgequant_kernels::int::conv::{
    conv2d_per_channel, Conv2dParams, ConvOptions, PackedConvFilter,
};
use edgequant_kernels::int::hybrid::{hybrid_conv2d, HybridConvParams, PackedHybridFilter};
use edgequant_kernels::int::int16x8::{conv2d_per_channel_16x8_fast, Weights16x8};
use edgequant_kernels::int::vnni::{self, conv2d_per_channel_vnni, VnniConvFilter};

/// Bias of a 16x8 kernel.
pub(super) enum Bias16 {
    None,
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Bias16 {
    /// Reads operand `i` (int64 or int32) after its scale was checked.
    pub(super) fn read(q: &Quant<'_, '_>, ctx: &Ctx<'_>, i: usize) -> Result<Self, InterpError> {
        Ok(match ctx.opt_input(i).map(|b| b.dtype) {
            None => Bias16::None,
            Some(DType::I64) => Bias16::I64(q.bias_values::<i64>(i)?.unwrap_or_default()),
            Some(DType::I32) => Bias16::I32(q.bias_values::<i32>(i)?.unwrap_or_default()),
            Some(other) => {
                return Err(ctx.err(format!("16x8 bias must be int64 or int32, got {other}")))
            }
        })
    }
}

enum Conv {
    I8 {
        p: Conv2dParams,
        packed: PackedConvFilter,
        filter: Vec<i8>,
        bias: Option<Vec<i32>>,
    },
    /// int8 on CPUs with AVX-512 VNNI (same results).
    I8Vnni {
        p: Conv2dParams,
        packed: VnniConvFilter,
        bias: Option<Vec<i32>>,
    },
    I16 {
        p: Conv2dParams,
        filter: Vec<i8>,
        wide: Weights16x8,
        bias: Bias16,
    },
    Hybrid {
        p: HybridConvParams,
        packed: PackedHybridFilter,
        filter: Vec<i8>,
        bias: Option<Vec<f32>>,
    },
}

struct ConvKernel {
    conv: Conv,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for Conv2d {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let w = ctx.input(1)?;
        let out = ctx.output(0)?;
        let is = shape4(ctx, x)?;
        let ws = shape4(ctx, w)?;
        let os = shape4(ctx, out)?;
        let q = Quant::new(ctx);
        let (filter, scales) = q.weights(1, 0, ws[0])?;
        let activation = fused_activation(ctx, self.activation)?;
        let options = ConvOptions {
            padding: padding(ctx, self.padding)?,
            stride_h: self.stride[0],
            stride_w: self.stride[1],
            dilation_h: self.dilation[0],
            dilation_w: self.dilation[1],
            activation,
        };
        let conv = match x.dtype {
            DType::F32 => {
                let p = HybridConvParams::prepare(
                    options.padding,
                    (options.stride_h, options.stride_w),
                    (options.dilation_h, options.dilation_w),
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
                let packed = PackedHybridFilter::new(&p, &filter).map_err(prep_err(ctx))?;
                Conv::Hybrid {
                    p,
                    packed,
                    filter,
                    bias,
                }
            }
            DType::I8 | DType::I16 if out.dtype == x.dtype => {
                let xi = q.activation(x, true)?;
                let yo = q.activation(out, true)?;
                if ctx.opt_input(2).is_some() {
                    q.check_bias(2, xi.scale, &scales, ws[0])?;
                }
                if x.dtype == DType::I8 {
                    let p = Conv2dParams::prepare::<i8>(options, is, ws, xi, &scales, yo)
                        .map_err(prep_err(ctx))?;
                    check_shape(ctx, &p.output_shape, &os)?;
                    let bias = q.bias_values::<i32>(2)?;
                    if vnni::available() && ws[3] == is[3] {
                        let packed = VnniConvFilter::new(&p, &filter).map_err(prep_err(ctx))?;
                        Conv::I8Vnni { p, packed, bias }
                    } else {
                        let packed = PackedConvFilter::new(&p, &filter).map_err(prep_err(ctx))?;
                        Conv::I8 {
                            p,
                            packed,
                            filter,
                            bias,
                        }
                    }
                } else {
                    let p = Conv2dParams::prepare::<i16>(options, is, ws, xi, &scales, yo)
                        .map_err(prep_err(ctx))?;
                    check_shape(ctx, &p.output_shape, &os)?;
                    let wide = Weights16x8::new(&filter, ws[0], ws[1] * ws[2] * ws[3])
                        .map_err(prep_err(ctx))?;
                    Conv::I16 {
                        p,
                        filter,
                        wide,
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
        Ok(Box::new(ConvKernel {
            conv,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

/// Requires the kernel's computed output shape to equal the graph's.
pub(super) fn check_shape(
    ctx: &Ctx<'_>,
    got: &[usize; 4],
    want: &[usize; 4],
) -> Result<(), InterpError> {
    if got != want {
        return Err(ctx.err(format!(
            "output shape {want:?} does not match the computed {got:?}"
        )));
    }
    Ok(())
}

impl Kernel for ConvKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_len;
        let data = match &self.conv {
            Conv::I8 {
                p,
                packed,
                filter,
                bias,
            } => {
                let mut out = vec![0i8; n];
                conv2d_per_channel(
                    p,
                    packed,
                    filter,
                    io.ins.typed::<i8>(0)?,
                    bias.as_deref(),
                    &mut out,
                    io.par,
                )
                .map_err(kerr)?;
                TensorData::I8(out)
            }
            Conv::I8Vnni { p, packed, bias } => {
                let mut out = vec![0i8; n];
                conv2d_per_channel_vnni(
                    p,
                    packed,
                    io.ins.typed::<i8>(0)?,
                    bias.as_deref(),
                    &mut out,
                    io.par,
                )
                .map_err(kerr)?;
                TensorData::I8(out)
            }
            Conv::I16 {
                p,
                filter,
                wide,
                bias,
            } => {
                let x = io.ins.typed::<i16>(0)?;
                let mut out = vec![0i16; n];
                match bias {
                    Bias16::None => {
                        conv2d_per_channel_16x8_fast::<i64>(p, wide, filter, x, None, &mut out)
                    }
                    Bias16::I32(b) => {
                        conv2d_per_channel_16x8_fast(p, wide, filter, x, Some(b), &mut out)
                    }
                    Bias16::I64(b) => {
                        conv2d_per_channel_16x8_fast(p, wide, filter, x, Some(b), &mut out)
                    }
                }
                .map_err(kerr)?;
                TensorData::I16(out)
            }
            Conv::Hybrid {
                p,
                packed,
                filter,
                bias,
            } => {
                let mut out = io.pool.alloc(n);
                hybrid_conv2d(
                    p,
                    packed,
                    filter,
                    io.ins.f32(0)?,
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
