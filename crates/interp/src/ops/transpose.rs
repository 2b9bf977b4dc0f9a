//! TRANSPOSE for any element type.

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::InterpError;
use edgequant_ir::ops::{permutation, Transpose};
use edgequant_ir::DType;
use edgequant_kernels::float as kf;

struct TransposeKernel {
    dtype: DType,
    in_shape: Vec<usize>,
    perm: Vec<usize>,
    out_shape: Vec<usize>,
}

impl Prepare for Transpose {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let out = ctx.output(0)?;
        ctx.same_quant(0, 0)?;
        let ops = ctx.ir_operands();
        let refs: Vec<_> = ops.iter().map(Option::as_ref).collect();
        let perm = permutation(&refs, x.shape.len()).map_err(|e| ctx.err(e))?;
        Ok(Box::new(TransposeKernel {
            dtype: x.dtype,
            in_shape: x.shape.clone(),
            perm,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for TransposeKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_shape.iter().product();
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            kf::transpose(io.ins.typed::<T>(0)?, &self.in_shape, &self.perm, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
