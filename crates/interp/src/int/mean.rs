//! MEAN on int8 / uint8 / int16: `reference_ops::QuantizedMeanOrSum` with `reduce.cc`
//! Prepare (the `input_scale / output_scale` multiplier folded with `1 / count`).

use super::{prep_err, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Mean;
use edgequant_ir::DType;
use edgequant_kernels::int::mean::{mean, MeanParams};

struct MeanKernel {
    p: MeanParams,
    dtype: DType,
    out_shape: Vec<usize>,
}

impl IntPrepare for Mean {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, true)?, q.activation(out, true)?);
        let axes_t = ctx.input(1)?;
        let axes: Vec<i64> = match ctx.const_value(1).map(|v| &v.data) {
            Some(crate::TensorData::I32(a)) => a.iter().map(|&v| v as i64).collect(),
            Some(crate::TensorData::I64(a)) => a.clone(),
            _ => {
                return Err(ctx.unsupported(format!(
                    "axes '{}' must be a constant int32/int64 tensor",
                    axes_t.name
                )))
            }
        };
        let p = with_int!(x.dtype, T => MeanParams::prepare::<T>(&x.shape, &axes, qi, qo, false),
            return Err(ctx.unsupported(format!("{} input", x.dtype))))
        .map_err(prep_err(ctx))?;
        if p.output_len() != out.numel() {
            return Err(ctx.err(format!(
                "output '{}' {:?} does not match the reduction of {:?} over {axes:?}",
                out.name, out.shape, x.shape
            )));
        }
        Ok(Box::new(MeanKernel {
            p,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for MeanKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.p.output_len()];
            mean(&self.p, io.ins.typed::<T>(0)?, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
