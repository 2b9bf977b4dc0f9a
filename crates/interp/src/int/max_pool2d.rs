//! MAX_POOL_2D on int8 / uint8 / int16: `reference_integer_ops::MaxPool` (input and output
//! share quantization parameters, as TFLite requires), via the channel-vectorized twin
//! `pooling_fast::max_pool_fast` (identical results).

use super::{fused_activation, padding, prep_err, same_dtype, shape4, with_int, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::MaxPool2d;
use edgequant_ir::{Activation, DType, Padding};
use edgequant_kernels::int::pooling::{PoolOptions, PoolParams};
use edgequant_kernels::int::pooling_fast::{average_pool_fast, max_pool_fast};

/// A prepared integer pool (shared with AVERAGE_POOL_2D).
pub(super) struct PoolKernel {
    pub average: bool,
    pub p: PoolParams,
    pub dtype: DType,
    pub out_shape: Vec<usize>,
    pub out_len: usize,
}

/// Prepares an integer pool.
pub(super) fn prepare_pool(
    ctx: &Ctx<'_>,
    average: bool,
    filter: [usize; 2],
    stride: [usize; 2],
    pad: Padding,
    activation: Activation,
) -> Result<Box<dyn Kernel>, InterpError> {
    let (x, out) = same_dtype(ctx)?;
    let q = Quant::new(ctx);
    let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
    if qi != qo {
        return Err(ctx.err(format!(
            "input '{}' and output '{}' must share quantization parameters",
            x.name, out.name
        )));
    }
    let options = PoolOptions {
        padding: padding(ctx, pad)?,
        stride_h: stride[0],
        stride_w: stride[1],
        filter_h: filter[0],
        filter_w: filter[1],
        activation: fused_activation(ctx, activation)?,
    };
    let is = shape4(ctx, x)?;
    let p = with_int!(x.dtype, T => PoolParams::prepare::<T>(options, is, qo),
        return Err(ctx.unsupported(format!("{} input", x.dtype))))
    .map_err(prep_err(ctx))?;
    if p.output_shape.as_slice() != out.shape.as_slice() {
        return Err(ctx.err(format!(
            "output shape {:?} does not match the computed {:?}",
            out.shape, p.output_shape
        )));
    }
    Ok(Box::new(PoolKernel {
        average,
        p,
        dtype: x.dtype,
        out_shape: out.shape.clone(),
        out_len: out.numel(),
    }))
}

impl IntPrepare for MaxPool2d {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare_pool(
            ctx,
            false,
            self.filter,
            self.stride,
            self.padding,
            self.activation,
        )
    }
}

impl Kernel for PoolKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        with_int!(self.dtype, T => {
            let mut out = vec![T::default(); self.out_len];
            let x = io.ins.typed::<T>(0)?;
            if self.average {
                average_pool_fast(&self.p, x, &mut out)
            } else {
                max_pool_fast(&self.p, x, &mut out)
            }
            .map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
