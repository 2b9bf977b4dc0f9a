//! FULLY_CONNECTED on integers and dynamic range.
//!
//! * int8 activations, int8 weights per tensor or per channel (axis 0), int32 bias:
//!   `reference_integer_ops::FullyConnected{,PerChannel}` with LiteRT's reference rescaling
//!   `(int32)round((double)acc · s_in · s_w / s_out)` ([`FcRescale::DoubleScale`]), via the
//!   int8 GEMM kernel (AVX-512 VNNI when available, else AVX2 / portable; bit-identical to
//!   the reference loop).
//! * int16 activations (zero point 0), int64 (or int32) bias: the 16x8 path, same rescaling.
//! * float input, int8 weights, float bias: TFLite's `EvalHybridDense`, input quantized per
//!   row **asymmetrically**. The IR does not carry TFLite's `asymmetric_quantize_inputs`; it is
//!   what TensorFlow's dynamic-range converter writes (and what edgequant's writer writes for
//!   hybrid nodes), so it is assumed. Per-channel weights use per-channel scales.

use super::conv2d::Bias16;
use super::{fused_activation, prep_err, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::FullyConnected;
use edgequant_ir::DType;
use edgequant_kernels::int::fully_connected::{
    fully_connected, FcRescale, FullyConnectedParams, PackedFcWeights,
};
use edgequant_kernels::int::hybrid::{
    hybrid_fully_connected, HybridFcParams, InputQuantization, PackedHybridFcWeights,
};
use edgequant_kernels::int::int16x8::{fully_connected_16x8_fast, Weights16x8};
use edgequant_kernels::int::vnni::{self, fully_connected_vnni, VnniFcWeights};

enum Fc {
    I8 {
        p: FullyConnectedParams,
        packed: PackedFcWeights,
        filter_len: usize,
        bias: Option<Vec<i32>>,
    },
    /// int8 on CPUs with AVX-512 VNNI (same results).
    I8Vnni {
        p: FullyConnectedParams,
        packed: VnniFcWeights,
        bias: Option<Vec<i32>>,
    },
    I16 {
        p: FullyConnectedParams,
        filter: Vec<i8>,
        wide: Weights16x8,
        bias: Bias16,
    },
    Hybrid {
        p: HybridFcParams,
        packed: PackedHybridFcWeights,
        filter_len: usize,
        bias: Option<Vec<f32>>,
    },
}

struct FcKernel {
    fc: Fc,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for FullyConnected {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let w = ctx.input(1)?;
        let out = ctx.output(0)?;
        let [units, depth] = <[usize; 2]>::try_from(w.shape.as_slice()).map_err(|_| {
            ctx.err(format!(
                "weights '{}' must be [units, depth], got {:?}",
                w.name, w.shape
            ))
        })?;
        if depth == 0 || x.numel() % depth != 0 {
            return Err(ctx.err(format!(
                "input '{}' {:?} is not rows of {depth}",
                x.name, x.shape
            )));
        }
        let batches = x.numel() / depth;
        let q = Quant::new(ctx);
        let (filter, scales) = q.weights(1, 0, units)?;
        let activation = fused_activation(ctx, self.activation)?;
        let fc = match x.dtype {
            DType::F32 => {
                let p = HybridFcParams::prepare(
                    batches,
                    depth,
                    units,
                    &scales,
                    InputQuantization::Asymmetric,
                    activation,
                )
                .map_err(prep_err(ctx))?;
                let bias = match ctx.opt_input(2) {
                    Some(_) => Some(ctx.require_const_f32(2, "bias")?),
                    None => None,
                };
                let packed = PackedHybridFcWeights::new(&p, &filter).map_err(prep_err(ctx))?;
                Fc::Hybrid {
                    p,
                    packed,
                    filter_len: filter.len(),
                    bias,
                }
            }
            DType::I8 | DType::I16 if out.dtype == x.dtype => {
                let xi = q.activation(x, true)?;
                let yo = q.activation(out, true)?;
                if ctx.opt_input(2).is_some() {
                    q.check_bias(2, xi.scale, &scales, units)?;
                }
                if x.dtype == DType::I8 {
                    let p = FullyConnectedParams::prepare::<i8>(
                        batches, depth, units, xi, &scales, 0, yo, activation,
                    )
                    .map_err(prep_err(ctx))?
                    .with_rescale(FcRescale::DoubleScale);
                    let bias = q.bias_values::<i32>(2)?;
                    if vnni::available() {
                        let packed = VnniFcWeights::new(&p, &filter).map_err(prep_err(ctx))?;
                        Fc::I8Vnni { p, packed, bias }
                    } else {
                        let packed = PackedFcWeights::new(&p, &filter).map_err(prep_err(ctx))?;
                        Fc::I8 {
                            p,
                            packed,
                            filter_len: filter.len(),
                            bias,
                        }
                    }
                } else {
                    let p = FullyConnectedParams::prepare::<i16>(
                        batches, depth, units, xi, &scales, 0, yo, activation,
                    )
                    .map_err(prep_err(ctx))?
                    .with_rescale(FcRescale::DoubleScale);
                    let wide = Weights16x8::new(&filter, units, depth).map_err(prep_err(ctx))?;
                    Fc::I16 {
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
        if out.numel() != batches * units {
            return Err(ctx.err(format!(
                "output '{}' {:?} does not hold {batches} × {units} values",
                out.name, out.shape
            )));
        }
        Ok(Box::new(FcKernel {
            fc,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for FcKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_len;
        let data = match &self.fc {
            Fc::I8 {
                p,
                packed,
                filter_len,
                bias,
            } => {
                let mut out = vec![0i8; n];
                fully_connected(
                    p,
                    packed,
                    *filter_len,
                    io.ins.typed::<i8>(0)?,
                    bias.as_deref(),
                    &mut out,
                    io.par,
                )
                .map_err(kerr)?;
                TensorData::I8(out)
            }
            Fc::I8Vnni { p, packed, bias } => {
                let mut out = vec![0i8; n];
                fully_connected_vnni(p, packed, io.ins.typed::<i8>(0)?, bias.as_deref(), &mut out)
                    .map_err(kerr)?;
                TensorData::I8(out)
            }
            Fc::I16 {
                p,
                filter,
                wide,
                bias,
            } => {
                let x = io.ins.typed::<i16>(0)?;
                let mut out = vec![0i16; n];
                match bias {
                    Bias16::None => {
                        fully_connected_16x8_fast::<i64>(p, wide, filter, x, None, &mut out)
                    }
                    Bias16::I32(b) => {
                        fully_connected_16x8_fast(p, wide, filter, x, Some(b), &mut out)
                    }
                    Bias16::I64(b) => {
                        fully_connected_16x8_fast(p, wide, filter, x, Some(b), &mut out)
                    }
                }
                .map_err(kerr)?;
                TensorData::I16(out)
            }
            Fc::Hybrid {
                p,
                packed,
                filter_len,
                bias,
            } => {
                let mut out = io.pool.alloc(n);
                hybrid_fully_connected(
                    p,
                    packed,
                    *filter_len,
                    io.ins.f32(0)?,
                    bias.as_deref(),
                    &mut out,
                )
                .map_err(kerr)?;
                TensorData::F32(out)
            }
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
