//! MUL on int8 / uint8 / int16 with broadcasting: `reference_integer_ops::Mul` with `mul.cc`
//! Prepare (multiplier `s1 · s2 / s_out` computed in float).

use super::{fused_activation, prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Mul;
use edgequant_ir::DType;
use edgequant_kernels::int::mul::{mul, MulParams};

struct MulKernel {
    p: MulParams,
    dtype: DType,
    shapes: [Vec<usize>; 2],
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for Mul {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (a, b, out) = (ctx.input(0)?, ctx.input(1)?, ctx.output(0)?);
        if a.dtype != out.dtype || b.dtype != out.dtype {
            return Err(ctx.unsupported(format!(
                "operands '{}' ({}) and '{}' ({}) with output {}",
                a.name, a.dtype, b.name, b.dtype, out.dtype
            )));
        }
        let q = Quant::new(ctx);
        let (qa, qb, qo) = (q.activation(a, true)?, q.activation(b, true)?, q.activation(out, true)?);
        let act = fused_activation(ctx, self.activation)?;
        let p = with_int!(out.dtype, T => MulParams::prepare::<T>(qa, qb, qo, act),
            return Err(ctx.unsupported(format!("{} output", out.dtype))))
        .map_err(prep_err(ctx))?;
        Ok(Box::new(MulKernel {
            p,
            dtype: out.dtype,
            shapes: [a.shape.clone(), b.shape.clone()],
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for MulKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            mul(&self.p, io.ins.typed::<T>(0)?, &self.shapes[0], io.ins.typed::<T>(1)?, &self.shapes[1], &mut out)
                .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
