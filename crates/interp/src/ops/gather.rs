//! GATHER for any element type (int32 or int64 indices, constant or computed).

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::InterpError;
use edgequant_ir::ops::Gather;
use edgequant_ir::DType;
use edgequant_kernels::float as kf;

struct GatherKernel {
    dtype: DType,
    index_dtype: DType,
    in_shape: Vec<usize>,
    axis: usize,
    out_shape: Vec<usize>,
}

impl Prepare for Gather {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let p = ctx.input(0)?;
        let i = ctx.input(1)?;
        let out = ctx.output(0)?;
        ctx.same_quant(0, 0)?;
        if !matches!(i.dtype, DType::I32 | DType::I64) {
            return Err(ctx.err(format!(
                "indices '{}' must be int32 or int64, got {}",
                i.name, i.dtype
            )));
        }
        Ok(Box::new(GatherKernel {
            dtype: p.dtype,
            index_dtype: i.dtype,
            in_shape: p.shape.clone(),
            axis: self.axis,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for GatherKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let idx: Vec<i64> = match self.index_dtype {
            DType::I32 => io
                .ins
                .typed::<i32>(1)?
                .iter()
                .map(|&v| i64::from(v))
                .collect(),
            _ => io.ins.typed::<i64>(1)?.to_vec(),
        };
        let n = self.out_shape.iter().product();
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            kf::gather(io.ins.typed::<T>(0)?, &self.in_shape, self.axis, &idx, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
