//! MAX_POOL_2D (float).

use super::{apply_tanh, fused, kerr, nhwc, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::MaxPool2d;
use edgequant_ir::{Activation, Padding};
use edgequant_kernels::float::{average_pool2d, max_pool2d, Pool2dParams};

/// Resolves the geometry of a 2-D pool.
pub(super) fn pool_params(
    ctx: &Ctx<'_>,
    filter: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
    activation: Activation,
) -> Result<(Pool2dParams, bool, Vec<usize>), InterpError> {
    let x = ctx.float_input(0)?;
    let out = ctx.float_output(0)?;
    let [n, h, w, c] = nhwc(ctx, x)?;
    let [_, oh, ow, _] = nhwc(ctx, out)?;
    let wy = padding
        .window(0, h, filter[0], stride[0], 1)
        .map_err(|e| ctx.err(e))?;
    let wx = padding
        .window(1, w, filter[1], stride[1], 1)
        .map_err(|e| ctx.err(e))?;
    let (clamp, tanh) = fused(activation);
    let p = Pool2dParams {
        batch: n,
        in_h: h,
        in_w: w,
        channels: c,
        out_h: oh,
        out_w: ow,
        filter_h: filter[0],
        filter_w: filter[1],
        stride_h: stride[0],
        stride_w: stride[1],
        pad_top: wy.pad_before,
        pad_left: wx.pad_before,
        clamp,
    };
    Ok((p, tanh, out.shape.clone()))
}

pub(super) struct PoolKernel {
    pub max: bool,
    pub params: Pool2dParams,
    pub tanh: bool,
    pub out_shape: Vec<usize>,
}

impl Prepare for MaxPool2d {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (params, tanh, out_shape) =
            pool_params(ctx, self.filter, self.stride, self.padding, self.activation)?;
        Ok(Box::new(PoolKernel {
            max: true,
            params,
            tanh,
            out_shape,
        }))
    }
}

impl Kernel for PoolKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.params.output_len().map_err(kerr)?;
        let mut out = io.pool.alloc(n);
        let x = io.ins.f32(0)?;
        if self.max {
            max_pool2d(&self.params, x, &mut out)
        } else {
            average_pool2d(&self.params, x, &mut out)
        }
        .map_err(kerr)?;
        apply_tanh(&mut out, self.tanh);
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
