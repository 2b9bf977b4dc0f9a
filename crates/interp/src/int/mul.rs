//! MUL on int8 / uint8 / int16 with broadcasting: `reference_integer_ops::Mul` with `mul.cc`
//! Prepare (multiplier `s1 · s2 / s_out` computed in float). 8-bit data runs on the AVX-512
//! twin (`elementwise_simd`) when the CPU and the shapes allow, else on a 256 × 256 result
//! table built from the reference arithmetic; int16 on the reference kernel. All identical.

use super::{fused_activation, prep_err, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Mul;
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::BinaryLut8;
use edgequant_kernels::int::elementwise_simd::{self, binary8, Binary8};
use edgequant_kernels::int::mul::{mul, MulParams};

struct MulKernel {
    p: MulParams,
    /// Complete result table for 8-bit types (built from the reference arithmetic), used
    /// when the AVX-512 kernel cannot run these shapes.
    lut: Option<BinaryLut8>,
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
        let (qa, qb, qo) = (
            q.activation(a, true)?,
            q.activation(b, true)?,
            q.activation(out, true)?,
        );
        let act = fused_activation(ctx, self.activation)?;
        let p = with_int!(out.dtype, T => MulParams::prepare::<T>(qa, qb, qo, act),
            return Err(ctx.unsupported(format!("{} output", out.dtype))))
        .map_err(prep_err(ctx))?;
        if let Some(k) = super::channel_lut::prepare(ctx, |x, y| p.apply(x, y)) {
            return Ok(k);
        }
        let rows_by_y = b.numel() <= a.numel();
        let simd = elementwise_simd::supported(&a.shape, &b.shape);
        let lut = match out.dtype {
            _ if simd => None,
            DType::I8 => Some(BinaryLut8::build::<i8>(|x, y| p.apply(x, y), rows_by_y)),
            DType::U8 => Some(BinaryLut8::build::<u8>(|x, y| p.apply(x, y), rows_by_y)),
            _ => None,
        };
        Ok(Box::new(MulKernel {
            p,
            lut,
            dtype: out.dtype,
            shapes: [a.shape.clone(), b.shape.clone()],
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for MulKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let (sa, sb) = (&self.shapes[0], &self.shapes[1]);
        macro_rules! lut {
            ($t:ty) => {{
                let mut out = vec![<$t>::default(); self.out_len];
                let (x, y) = (io.ins.typed::<$t>(0)?, io.ins.typed::<$t>(1)?);
                let done = self.lut.is_none()
                    && binary8(Binary8::Mul(&self.p), x, sa, y, sb, &mut out).map_err(kerr)?;
                if !done {
                    let lut = self
                        .lut
                        .as_ref()
                        .ok_or("no 8-bit kernel for these shapes")?;
                    lut.apply(x, sa, y, sb, &mut out).map_err(kerr)?;
                }
                io.set(0, &self.out_shape, <$t>::wrap(out));
            }};
        }
        match self.dtype {
            DType::I8 => lut!(i8),
            DType::U8 => lut!(u8),
            DType::I16 => {
                let mut out = vec![0i16; self.out_len];
                mul(
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
