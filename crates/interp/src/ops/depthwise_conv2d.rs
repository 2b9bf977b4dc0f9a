//! DEPTHWISE_CONV_2D.

use super::{apply_tanh, fused, kerr, nhwc, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::DepthwiseConv2d;
use edgequant_kernels::float::{depthwise_conv2d, DepthwiseConv2dParams};

struct DepthwiseKernel {
    params: DepthwiseConv2dParams,
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
    tanh: bool,
    out_shape: Vec<usize>,
}

impl Prepare for DepthwiseConv2d {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        let out = ctx.float_output(0)?;
        let w = ctx.input(1)?;
        let [n, h, wd, c] = nhwc(ctx, x)?;
        let [one, kh, kw, wc] = nhwc(ctx, w)?;
        let [_, oh, ow, oc] = nhwc(ctx, out)?;
        if one != 1 || c == 0 || wc % c != 0 || oc != wc {
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
        // The multiplier follows from the shapes (TFLite does the same; the attribute is
        // informative).
        let params = DepthwiseConv2dParams {
            batch: n,
            in_h: h,
            in_w: wd,
            in_c: c,
            out_h: oh,
            out_w: ow,
            depth_multiplier: wc / c,
            kernel_h: kh,
            kernel_w: kw,
            stride_h: self.stride[0],
            stride_w: self.stride[1],
            dilation_h: self.dilation[0],
            dilation_w: self.dilation[1],
            pad_top: wy.pad_before,
            pad_left: wx.pad_before,
            clamp,
        };
        params.validate().map_err(|e| ctx.err(e.to_string()))?;
        let weights = ctx.require_const_f32(1, "weights")?;
        let bias = match ctx.opt_input(2) {
            Some(_) => Some(ctx.require_const_f32(2, "bias")?),
            None => None,
        };
        if bias.as_ref().is_some_and(|b| b.len() != oc) {
            return Err(ctx.err(format!("bias must have {oc} elements")));
        }
        Ok(Box::new(DepthwiseKernel {
            params,
            weights,
            bias,
            tanh,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for DepthwiseKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.params.output_len().map_err(kerr)?;
        let mut out = io.pool.alloc(n);
        depthwise_conv2d(
            &self.params,
            &self.weights,
            self.bias.as_deref(),
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
