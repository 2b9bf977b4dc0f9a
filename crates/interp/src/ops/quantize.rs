//! QUANTIZE float32 → int8 / uint8 / int16 (TFLite reference rounding: half away from zero,
//! saturating), per tensor or per channel, with the output tensor's parameters.

use super::{kerr, Ctx, FloatStage, Io, Kernel, Prepare};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Quantize;
use edgequant_ir::{DType, QuantParams};
use edgequant_kernels::float::{quantize, quantize_per_channel, QuantInt};

struct QuantizeKernel {
    to: DType,
    quant: QuantParams,
    shape: Vec<usize>,
}

impl Prepare for Quantize {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let out = ctx.output(0)?;
        if x.dtype != DType::F32 {
            return Err(ctx.unsupported(format!(
                "requantizing {} → {} needs the integer interpreter",
                x.dtype, out.dtype
            )));
        }
        if !matches!(out.dtype, DType::I8 | DType::U8 | DType::I16) {
            return Err(ctx.unsupported(format!("cannot quantize to {}", out.dtype)));
        }
        let q = out.quant.clone().ok_or_else(|| {
            ctx.err(format!(
                "output '{}' has no quantization parameters",
                out.name
            ))
        })?;
        q.validate(&out.name, out.dtype, &out.shape)?;
        Ok(Box::new(QuantizeKernel {
            to: out.dtype,
            quant: q,
            shape: out.shape.clone(),
        }))
    }
}

fn run_as<T: QuantInt>(k: &QuantizeKernel, x: &[f32]) -> Result<Vec<T>, String> {
    let mut out = vec![T::from_clamped(0); x.len()];
    let q = &k.quant;
    match (q.axis, q.is_per_tensor()) {
        (Some(axis), false) => {
            quantize_per_channel(x, &k.shape, axis, &q.scale, &q.zero_point, &mut out)
        }
        _ => quantize(x, q.scale[0], q.zero_point[0], &mut out),
    }
    .map_err(kerr)?;
    Ok(out)
}

impl Kernel for QuantizeKernel {
    fn float_stage(&self) -> Option<FloatStage<'_>> {
        let q = &self.quant;
        (matches!(self.to, DType::I8 | DType::U8) && q.is_per_tensor()).then(|| {
            FloatStage::Quantize {
                to: self.to,
                scale: q.scale[0],
                zero_point: q.zero_point[0],
            }
        })
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let x = io.ins.f32(0)?;
        let data = match self.to {
            DType::I8 => TensorData::I8(run_as(self, x)?),
            DType::U8 => TensorData::U8(run_as(self, x)?),
            DType::I16 => TensorData::I16(run_as(self, x)?),
            other => return Err(format!("cannot quantize to {other}")),
        };
        io.set(0, &self.shape, data);
        Ok(())
    }
}
