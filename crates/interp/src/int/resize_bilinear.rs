//! RESIZE_BILINEAR on int8 / uint8 / int16: `reference_ops::ResizeBilinearInteger`
//! (fixed-point interpolation; input and output share quantization parameters).

use super::{prep_err, same_dtype, shape4, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::ResizeBilinear;
use edgequant_ir::DType;
use edgequant_kernels::int::resize_bilinear::{resize_bilinear, ResizeOptions};

struct ResizeKernel {
    options: ResizeOptions,
    dtype: DType,
    in_shape: [usize; 4],
    out_hw: (usize, usize),
    out_shape: Vec<usize>,
    out_len: usize,
}

impl IntPrepare for ResizeBilinear {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
        if qi != qo {
            return Err(ctx.err(format!(
                "input '{}' and output '{}' must share quantization parameters",
                x.name, out.name
            )));
        }
        let is = shape4(ctx, x)?;
        let os = shape4(ctx, out)?;
        let _ = prep_err(ctx);
        Ok(Box::new(ResizeKernel {
            options: ResizeOptions {
                align_corners: self.align_corners,
                half_pixel_centers: self.half_pixel_centers,
            },
            dtype: x.dtype,
            in_shape: is,
            out_hw: (os[1], os[2]),
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for ResizeKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            resize_bilinear(self.options, io.ins.typed::<T>(0)?, self.in_shape, &mut out, self.out_hw)
                .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
