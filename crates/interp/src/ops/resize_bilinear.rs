//! RESIZE_BILINEAR (float).

use super::{kerr, nhwc, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::ResizeBilinear;
use edgequant_kernels::float::{resize_bilinear, ResizeParams};

/// Resolves the geometry of a resize from the input and output shapes (the size operand is
/// already reflected in the output shape by the IR's inference).
pub(super) fn resize_params(
    ctx: &Ctx<'_>,
    align_corners: bool,
    half_pixel_centers: bool,
) -> Result<(ResizeParams, Vec<usize>), InterpError> {
    let x = ctx.input(0)?;
    let out = ctx.output(0)?;
    let [n, h, w, c] = nhwc(ctx, x)?;
    let [_, oh, ow, _] = nhwc(ctx, out)?;
    if align_corners && half_pixel_centers {
        return Err(ctx.err("align_corners and half_pixel_centers cannot both be set"));
    }
    let p = ResizeParams {
        batch: n,
        in_h: h,
        in_w: w,
        channels: c,
        out_h: oh,
        out_w: ow,
        align_corners,
        half_pixel_centers,
    };
    Ok((p, out.shape.clone()))
}

struct ResizeBilinearKernel {
    params: ResizeParams,
    out_shape: Vec<usize>,
}

impl Prepare for ResizeBilinear {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        ctx.float_input(0)?;
        ctx.float_output(0)?;
        let (params, out_shape) = resize_params(ctx, self.align_corners, self.half_pixel_centers)?;
        Ok(Box::new(ResizeBilinearKernel { params, out_shape }))
    }
}

impl Kernel for ResizeBilinearKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let mut out = io.pool.alloc(self.params.output_len().map_err(kerr)?);
        resize_bilinear(&self.params, io.ins.f32(0)?, &mut out).map_err(kerr)?;
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
