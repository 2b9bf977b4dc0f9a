//! MAXIMUM and MINIMUM on int8 / uint8 / int16 with broadcasting. TFLite compares the raw
//! integers (`maximum_minimum.cc`), which is only meaningful when both operands and the output
//! share scale and zero point (the converters requantize operands to make it so); other
//! parameters are rejected here instead of producing wrong numbers.

use super::{prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::{Maximum, Minimum};
use edgequant_ir::DType;
use edgequant_kernels::int::broadcast::binary;

struct MaxMinKernel {
    max: bool,
    dtype: DType,
    shapes: [Vec<usize>; 2],
    out_shape: Vec<usize>,
    out_len: usize,
}

fn prepare(ctx: &Ctx<'_>, max: bool) -> Result<Box<dyn Kernel>, InterpError> {
    let (a, b, out) = (ctx.input(0)?, ctx.input(1)?, ctx.output(0)?);
    if a.dtype != out.dtype || b.dtype != out.dtype {
        return Err(ctx.unsupported(format!(
            "operands '{}' ({}) and '{}' ({}) with output {}",
            a.name, a.dtype, b.name, b.dtype, out.dtype
        )));
    }
    let q = Quant::new(ctx);
    let qo = q.activation(out, false)?;
    for t in [a, b] {
        let qt = q.activation(t, false)?;
        if qt != qo {
            return Err(ctx.err(format!(
                "operand '{}' (scale {}, zero point {}) and output '{}' (scale {}, zero point {}) must share quantization parameters",
                t.name, qt.scale, qt.zero_point, out.name, qo.scale, qo.zero_point
            )));
        }
    }
    edgequant_kernels::int::broadcast::broadcast_shape(&a.shape, &b.shape)
        .map_err(prep_err(ctx))?;
    Ok(Box::new(MaxMinKernel {
        max,
        dtype: out.dtype,
        shapes: [a.shape.clone(), b.shape.clone()],
        out_shape: out.shape.clone(),
        out_len: out.numel(),
    }))
}

impl IntPrepare for Maximum {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, true)
    }
}

impl IntPrepare for Minimum {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, false)
    }
}

impl Kernel for MaxMinKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            let (a, b) = (io.ins.typed::<T>(0)?, io.ins.typed::<T>(1)?);
            if self.max {
                binary(a, &self.shapes[0], b, &self.shapes[1], &mut out, |x: T, y: T| if x > y { x } else { y })
            } else {
                binary(a, &self.shapes[0], b, &self.shapes[1], &mut out, |x: T, y: T| if x < y { x } else { y })
            }
            .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
