//! PRELU on int8 / uint8 with a broadcast alpha: `reference_ops::BroadcastPrelu4DSlow` with
//! `PreluPrepare` (two multipliers, for `x ≥ 0` and `x < 0`). TFLite has no int16 PRELU.

use super::{prep_err, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::Prelu;
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::BinaryLut8;
use edgequant_kernels::int::prelu::{prelu, PreluParams};

struct PreluKernel {
    p: PreluParams,
    /// 8-bit types: the kernel's results for all (input, alpha) pairs.
    lut: Option<BinaryLut8>,
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
        // Tabulate the kernel: one call per alpha value over all 256 inputs.
        macro_rules! table {
            ($t:ty) => {{
                let xs: Vec<$t> = (0..=255u8).map(|v| v as $t).collect();
                let mut rows = vec![[0i32; 256]; 256];
                let mut out = vec![<$t>::default(); 256];
                for (yb, row) in rows.iter_mut().enumerate() {
                    prelu(&p, &xs, &[256], &[yb as u8 as $t], &[1], &mut out)
                        .map_err(prep_err(ctx))?;
                    for (x, o) in xs.iter().zip(&out) {
                        row[*x as u8 as usize] = *o as i32;
                    }
                }
                Some(BinaryLut8::build::<$t>(
                    |x, y| rows[y as $t as u8 as usize][x as $t as u8 as usize],
                    true,
                ))
            }};
        }
        let lut = match x.dtype {
            DType::I8 => table!(i8),
            DType::U8 => table!(u8),
            _ => None,
        };
        Ok(Box::new(PreluKernel {
            p,
            lut,
            dtype: x.dtype,
            shapes: [x.shape.clone(), alpha.shape.clone()],
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for PreluKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let (sa, sb) = (&self.shapes[0], &self.shapes[1]);
        match (&self.lut, self.dtype) {
            (Some(l), DType::I8) => {
                let mut out = vec![0i8; self.out_len];
                l.apply(
                    io.ins.typed::<i8>(0)?,
                    sa,
                    io.ins.typed::<i8>(1)?,
                    sb,
                    &mut out,
                )
                .map_err(kerr)?;
                io.set(0, &self.out_shape, i8::wrap(out));
                return Ok(());
            }
            (Some(l), DType::U8) => {
                let mut out = vec![0u8; self.out_len];
                l.apply(
                    io.ins.typed::<u8>(0)?,
                    sa,
                    io.ins.typed::<u8>(1)?,
                    sb,
                    &mut out,
                )
                .map_err(kerr)?;
                io.set(0, &self.out_shape, u8::wrap(out));
                return Ok(());
            }
            _ => {}
        }
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            prelu(&self.p, io.ins.typed::<T>(0)?, &self.shapes[0], io.ins.typed::<T>(1)?, &self.shapes[1], &mut out)
                .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
