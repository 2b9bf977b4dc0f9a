//! STRIDED_SLICE for any element type; the slice is resolved once at preparation.

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::InterpError;
use edgequant_ir::ops::StridedSlice;
use edgequant_ir::DType;
use edgequant_kernels::float::{self as kf, SliceAxis};

struct StridedSliceKernel {
    dtype: DType,
    in_shape: Vec<usize>,
    axes: Vec<SliceAxis>,
    out_shape: Vec<usize>,
}

impl Prepare for StridedSlice {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let out = ctx.output(0)?;
        ctx.same_quant(0, 0)?;
        let ops = ctx.ir_operands();
        let ints = |i: usize, what: &str| -> Result<Vec<i64>, InterpError> {
            let t = ops
                .get(i)
                .and_then(Option::as_ref)
                .filter(|t| t.is_const())
                .ok_or_else(|| ctx.unsupported(format!("{what} must be a constant")))?;
            t.int_data().map_err(|e| ctx.err(e.to_string()))
        };
        let (b, e, s) = (ints(1, "begin")?, ints(2, "end")?, ints(3, "strides")?);
        let (resolved, shape) = self.resolve(&x.shape, &b, &e, &s).map_err(|e| ctx.err(e))?;
        if shape.iter().product::<usize>() != out.numel() {
            return Err(ctx.err(format!("slice yields {shape:?}, output is {:?}", out.shape)));
        }
        let axes = resolved
            .iter()
            .map(|a| SliceAxis {
                start: a.start,
                stride: a.stride,
                count: a.count,
            })
            .collect();
        Ok(Box::new(StridedSliceKernel {
            dtype: x.dtype,
            in_shape: x.shape.clone(),
            axes,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for StridedSliceKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_shape.iter().product();
        with_elem!(self.dtype, T => {
            let mut out = T::alloc(io.pool, n);
            kf::strided_slice(io.ins.typed::<T>(0)?, &self.in_shape, &self.axes, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
