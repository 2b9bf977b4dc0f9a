//! ADD and SUB on int8 / uint8 / int16 with broadcasting: TFLite's general quantized path
//! (`add.cc` / `sub.cc` Prepare: inputs rescaled to twice the larger input scale after a left
//! shift of 20 bits, 15 for int16), `reference_integer_ops::Add` / `reference_ops::Sub`.

use super::{fused_activation, prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::{Add, Sub};
use edgequant_ir::{Activation, DType};
use edgequant_kernels::int::add::{add, AddParams};

struct AddKernel {
    p: AddParams,
    dtype: DType,
    shapes: [Vec<usize>; 2],
    out_shape: Vec<usize>,
    out_len: usize,
}

fn prepare(ctx: &Ctx<'_>, activation: Activation, subtract: bool) -> Result<Box<dyn Kernel>, InterpError> {
    let (a, b, out) = (ctx.input(0)?, ctx.input(1)?, ctx.output(0)?);
    if a.dtype != out.dtype || b.dtype != out.dtype {
        return Err(ctx.unsupported(format!(
            "operands '{}' ({}) and '{}' ({}) with output {}",
            a.name, a.dtype, b.name, b.dtype, out.dtype
        )));
    }
    let q = Quant::new(ctx);
    let (qa, qb, qo) = (q.activation(a, true)?, q.activation(b, true)?, q.activation(out, true)?);
    let act = fused_activation(ctx, activation)?;
    let p = with_int!(out.dtype, T => AddParams::prepare::<T>(qa, qb, qo, act, subtract),
        return Err(ctx.unsupported(format!("{} output", out.dtype))))
    .map_err(prep_err(ctx))?;
    Ok(Box::new(AddKernel {
        p,
        dtype: out.dtype,
        shapes: [a.shape.clone(), b.shape.clone()],
        out_shape: out.shape.clone(),
        out_len: out.numel(),
    }))
}

impl IntPrepare for Add {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, self.activation, false)
    }
}

impl IntPrepare for Sub {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, self.activation, true)
    }
}

impl Kernel for AddKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            add(&self.p, io.ins.typed::<T>(0)?, &self.shapes[0], io.ins.typed::<T>(1)?, &self.shapes[1], &mut out)
                .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
