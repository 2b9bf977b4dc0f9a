//! RESIZE_NEAREST_NEIGHBOR for any element type.

use super::resize_bilinear::resize_params;
use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::InterpError;
use edgequant_ir::ops::ResizeNearestNeighbor;
use edgequant_ir::DType;
use edgequant_kernels::float::{self as kf, ResizeParams};

struct ResizeNearestKernel {
    dtype: DType,
    params: ResizeParams,
    out_shape: Vec<usize>,
}

impl Prepare for ResizeNearestNeighbor {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        ctx.same_quant(0, 0)?;
        let (params, out_shape) = resize_params(ctx, self.align_corners, self.half_pixel_centers)?;
        Ok(Box::new(ResizeNearestKernel {
            dtype: ctx.input(0)?.dtype,
            params,
            out_shape,
        }))
    }
}

impl Kernel for ResizeNearestKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.params.output_len().map_err(kerr)?;
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            kf::resize_nearest_neighbor(&self.params, io.ins.typed::<T>(0)?, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
