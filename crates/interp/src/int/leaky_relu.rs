//! LEAKY_RELU on int8 / uint8 / int16: `reference_ops::QuantizeLeakyRelu` with
//! `LeakyReluPrepare` (identity and alpha multipliers; int16 needs zero points 0).

use super::{prep_err, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::LeakyRelu;
use edgequant_ir::DType;
use edgequant_kernels::int::leaky_relu::{leaky_relu, LeakyReluParams};

struct LeakyReluKernel {
    p: LeakyReluParams,
    dtype: DType,
    out_shape: Vec<usize>,
}

impl IntPrepare for LeakyRelu {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, true)?, q.activation(out, true)?);
        let p = with_int!(x.dtype, T => LeakyReluParams::prepare::<T>(qi, qo, self.alpha),
            return Err(ctx.unsupported(format!("{} input", x.dtype))))
        .map_err(prep_err(ctx))?;
        Ok(Box::new(LeakyReluKernel {
            p,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for LeakyReluKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let x = io.ins.typed::<T>(0)?;
            let mut out = vec![T::default(); x.len()];
            leaky_relu(&self.p, x, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
