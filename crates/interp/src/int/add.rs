//! ADD and SUB on int8 / uint8 / int16 with broadcasting: TFLite's general quantized path
//! (`add.cc` / `sub.cc` Prepare: inputs rescaled to twice the larger input scale after a left
//! shift of 20 bits, 15 for int16), `reference_integer_ops::Add` / `reference_ops::Sub`.
//! 8-bit data runs on a 256 × 256 result table built once from the reference arithmetic
//! (`binary_lut`; measured faster than the AVX-512 arithmetic twin on AMD Zen 4), int16 on
//! the reference kernel. All identical.

use super::{fused_activation, prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::{Add, Sub};
use edgequant_ir::{Activation, DType};
use edgequant_kernels::int::add::{add, AddParams};
use edgequant_kernels::int::binary_lut::BinaryLut8;

struct AddKernel {
    p: AddParams,
    /// Complete result table for 8-bit types (built from the reference arithmetic).
    lut: Option<BinaryLut8>,
    dtype: DType,
    shapes: [Vec<usize>; 2],
    out_shape: Vec<usize>,
    out_len: usize,
}

fn prepare(
    ctx: &Ctx<'_>,
    activation: Activation,
    subtract: bool,
) -> Result<Box<dyn Kernel>, InterpError> {
    let (a, b, out) = (ctx.input(0)?, ctx.input(1)?, ctx.output(0)?);
    if a.dtype != out.dtype || b.dtype != out.dtype {
        return Err(ctx.unsupported(format!(
            "operands '{}' ({}) and '{}' ({}) with output {}",
            a.name, a.dtype, b.name, b.dtype, out.dtype
        )));
    }
    let q = Quant::new(ctx);
    let (qa, qb, qo) = (
        q.activation(a, true)?,
        q.activation(b, true)?,
        q.activation(out, true)?,
    );
    let act = fused_activation(ctx, activation)?;
    let p = with_int!(out.dtype, T => AddParams::prepare::<T>(qa, qb, qo, act, subtract),
        return Err(ctx.unsupported(format!("{} output", out.dtype))))
    .map_err(prep_err(ctx))?;
    if let Some(k) = super::channel_lut::prepare(ctx, |x, y| p.apply(x, y)) {
        return Ok(k);
    }
    let rows_by_y = b.numel() <= a.numel();
    let lut = match out.dtype {
        DType::I8 => Some(BinaryLut8::build::<i8>(|x, y| p.apply(x, y), rows_by_y)),
        DType::U8 => Some(BinaryLut8::build::<u8>(|x, y| p.apply(x, y), rows_by_y)),
        _ => None,
    };
    Ok(Box::new(AddKernel {
        p,
        lut,
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
        let (sa, sb) = (&self.shapes[0], &self.shapes[1]);
        macro_rules! lut {
            ($t:ty) => {{
                let mut out = vec![<$t>::default(); self.out_len];
                let (x, y) = (io.ins.typed::<$t>(0)?, io.ins.typed::<$t>(1)?);
                let lut = self.lut.as_ref().ok_or("missing table")?;
                lut.apply(x, sa, y, sb, &mut out).map_err(kerr)?;
                io.set(0, &self.out_shape, <$t>::wrap(out));
            }};
        }
        match self.dtype {
            DType::I8 => lut!(i8),
            DType::U8 => lut!(u8),
            DType::I16 => {
                let mut out = vec![0i16; self.out_len];
                add(
                    &self.p,
                    io.ins.typed::<i16>(0)?,
                    sa,
                    io.ins.typed::<i16>(1)?,
                    sb,
                    &mut out,
                )
                .map_err(kerr)?;
                io.set(0, &self.out_shape, i16::wrap(out));
            }
            other => return Err(format!("unexpected type {other}")),
        }
        Ok(())
    }
}
