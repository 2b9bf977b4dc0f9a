//! PRELU on int8 / uint8 with a broadcast alpha: `reference_ops::BroadcastPrelu4DSlow` with
//! `PreluPrepare` (two multipliers, for `x ≥ 0` and `x < 0`). TFLite has no int16 PRELU.

use super::{prep_err, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Prelu;
use edgequant_ir::DType;
use edgequant_kernels::int::prelu::{prelu, PreluParams};

struct PreluKernel {
    p: PreluParams,
    dtype: DType,
    shapes: [Vec<usize>; 2],
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for Prelu {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        let alpha = ctx.input(1)?;
        if x.dtype == DType::I16 {
            return Err(ctx.unsupported("int16 PRELU (TFLite has no 16x8 kernel for it)"));
        }
        if alpha.dtype != x.dtype {
            return Err(ctx.unsupported(format!(
                "alpha '{}' is {} but the input is {}",
                alpha.name, alpha.dtype, x.dtype
            )));
        }
        let q = Quant::new(ctx);
        let (qi, qa, qo) = (
            q.activation(x, false)?,
            q.activation(alpha, false)?,
            q.activation(out, false)?,
        );
        let p = with_int!(x.dtype, T => PreluParams::prepare::<T>(qi, qa, qo),
            return Err(ctx.unsupported(format!("{} input", x.dtype))))
        .map_err(prep_err(ctx))?;
        Ok(Box::new(PreluKernel {
            p,
            dtype: x.dtype,
            shapes: [x.shape.clone(), alpha.shape.clone()],
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for PreluKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            prelu(&self.p, io.ins.typed::<T>(0)?, &self.shapes[0], io.ins.typed::<T>(1)?, &self.shapes[1], &mut out)
                .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
