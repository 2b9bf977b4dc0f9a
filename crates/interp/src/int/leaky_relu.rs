//! LEAKY_RELU on int8 / uint8 / int16: `reference_ops::QuantizeLeakyRelu` with
//! `LeakyReluPrepare` (identity and alpha multipliers; int16 needs zero points 0).

use super::{prep_err, run_unary_lut, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::LeakyRelu;
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::UnaryLut8;
use edgequant_kernels::int::leaky_relu::{leaky_relu, LeakyReluParams};

struct LeakyReluKernel {
    p: LeakyReluParams,
    /// 8-bit types: the kernel's results for all 256 inputs.
    lut: Option<UnaryLut8>,
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
        let lut = match x.dtype {
            DType::I8 => {
                Some(UnaryLut8::build::<i8>(|a, b| leaky_relu(&p, a, b)).map_err(prep_err(ctx))?)
            }
            DType::U8 => {
                Some(UnaryLut8::build::<u8>(|a, b| leaky_relu(&p, a, b)).map_err(prep_err(ctx))?)
            }
            _ => None,
        };
        Ok(Box::new(LeakyReluKernel {
            p,
            lut,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for LeakyReluKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        if let Some(lut) = &self.lut {
            let data = run_unary_lut(lut, self.dtype, io)?;
            io.set(0, &self.out_shape, data);
            return Ok(());
        }
        with_int!(self.dtype, T => {
            let x = io.ins.typed::<T>(0)?;
            let mut out = vec![T::default(); x.len()];
            leaky_relu(&self.p, x, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
