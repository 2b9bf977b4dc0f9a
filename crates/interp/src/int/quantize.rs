//! QUANTIZE between integer types (requantization): int8 ↔ uint8 at model boundaries,
//! int8 → int8 and int16 → int16 / int8 rescaling, `reference_ops::Requantize` with
//! `quantize.cc` Prepare (multiplier of `input_scale / output_scale`). Float → integer
//! QUANTIZE is handled by the float interpreter.

use super::{prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Quantize;
use edgequant_ir::DType;
use edgequant_kernels::int::quantize::{requantize, RequantizeParams};

struct RequantizeKernel {
    p: RequantizeParams,
    from: DType,
    to: DType,
    out_shape: Vec<usize>,
}

impl IntPrepare for Quantize {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = (ctx.input(0)?, ctx.output(0)?);
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
        let p = with_int!(x.dtype, I => with_int!(out.dtype, O => RequantizeParams::prepare::<I, O>(qi, qo),
                return Err(ctx.unsupported(format!("requantizing to {}", out.dtype)))),
            return Err(ctx.unsupported(format!("requantizing from {}", x.dtype))))
        .map_err(prep_err(ctx))?;
        Ok(Box::new(RequantizeKernel {
            p,
            from: x.dtype,
            to: out.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for RequantizeKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.from, I => with_int!(self.to, O => {
            let x = io.ins.typed::<I>(0)?;
            let mut out = vec![O::default(); x.len()];
            requantize(&self.p, x, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, O::wrap(out));
        }, return Err(format!("unexpected type {}", self.to))),
        return Err(format!("unexpected type {}", self.from)));
        Ok(())
    }
}
