//! CONV_2D.

use super::{apply_tanh, fused, kerr, nhwc, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Conv2d;
use edgequant_kernels::float::{conv2d, Conv2dParams, Conv2dWeights};

struct Conv2dKernel {
    params: Conv2dParams,
    weights: Conv2dWeights,
    tanh: bool,
    out_shape: Vec<usize>,
}

impl Prepare for Conv2d {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        let out = ctx.float_output(0)?;
        let w = ctx.input(1)?;
        let [n, h, wd, c] = nhwc(ctx, x)?;
        let [o, kh, kw, i] = nhwc(ctx, w)?;
        let [_, oh, ow, oc] = nhwc(ctx, out)?;
        if i == 0 || c % i != 0 || oc != o {
            return Err(ctx.err(format!(
                "input {:?} and weights {:?} do not match",
                x.shape, w.shape
            )));
        }
        let wy = self
            .padding
            .window(0, h, kh, self.stride[0], self.dilation[0])
            .map_err(|e| ctx.err(e))?;
        let wx = self
            .padding
            .window(1, wd, kw, self.stride[1], self.dilation[1])
            .map_err(|e| ctx.err(e))?;
        let (clamp, tanh) = fused(self.activation);
        let params = Conv2dParams {
            batch: n,
            in_h: h,
            in_w: wd,
            in_c: c,
            out_h: oh,
            out_w: ow,
            out_c: o,
            kernel_h: kh,
            kernel_w: kw,
            stride_h: self.stride[0],
            stride_w: self.stride[1],
            dilation_h: self.dilation[0],
            dilation_w: self.dilation[1],
            pad_top: wy.pad_before,
            pad_left: wx.pad_before,
            groups: c / i,
            clamp,
        };
        let wv = ctx.require_const_f32(1, "weights")?;
        let bias = match ctx.opt_input(2) {
            Some(_) => Some(ctx.require_const_f32(2, "bias")?),
            None => None,
        };
        let weights = Conv2dWeights::pack(&params, &wv, bias.as_deref())
            .map_err(|e| ctx.err(e.to_string()))?;
        Ok(Box::new(Conv2dKernel {
            params,
            weights,
            tanh,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for Conv2dKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.params.output_len().map_err(kerr)?;
        let mut out = io.pool.alloc(n);
        conv2d(
            &self.params,
            &self.weights,
            io.ins.f32(0)?,
            &mut out,
            io.par,
        )
        .map_err(kerr)?;
        apply_tanh(&mut out, self.tanh);
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
