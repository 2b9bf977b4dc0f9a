//! HARD_SWISH on int8 / uint8: `reference_ops::HardSwish` with `HardSwishPrepare` (int16
//! fixed-point multipliers). TFLite has no int16 HARD_SWISH.

use super::{prep_err, run_unary_lut, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::HardSwish;
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::UnaryLut8;
use edgequant_kernels::int::hard_swish::{hard_swish, HardSwishParams};

struct HardSwishKernel {
    p: HardSwishParams,
    /// 8-bit types: the kernel's results for all 256 inputs.
    lut: Option<UnaryLut8>,
    dtype: DType,
    out_shape: Vec<usize>,
}

impl IntPrepare for HardSwish {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        if x.dtype == DType::I16 {
            return Err(ctx.unsupported("int16 HARD_SWISH (TFLite has no 16x8 kernel for it)"));
        }
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
        let p = with_int!(x.dtype, T => HardSwishParams::prepare::<T>(qi, qo),
            return Err(ctx.unsupported(format!("{} input", x.dtype))))
        .map_err(prep_err(ctx))?;
        let lut = match x.dtype {
            DType::I8 => {
                Some(UnaryLut8::build::<i8>(|a, b| hard_swish(&p, a, b)).map_err(prep_err(ctx))?)
            }
            DType::U8 => {
                Some(UnaryLut8::build::<u8>(|a, b| hard_swish(&p, a, b)).map_err(prep_err(ctx))?)
            }
            _ => None,
        };
        Ok(Box::new(HardSwishKernel {
            p,
            lut,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for HardSwishKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        if let Some(lut) = &self.lut {
            let data = run_unary_lut(lut, self.dtype, io)?;
            io.set(0, &self.out_shape, data);
            return Ok(());
        }
        with_int!(self.dtype, T => {
            let x = io.ins.typed::<T>(0)?;
            let mut out = vec![T::default(); x.len()];
            hard_swish(&self.p, x, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
