//! TRANSPOSE_CONV (operands: output shape, weights, input, optional bias).

use super::{apply_tanh, fused, kerr, nhwc, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::TransposeConv;
use edgequant_kernels::float::{transpose_conv, TransposeConvParams, TransposeConvWeights};

struct TransposeConvKernel {
    params: TransposeConvParams,
    weights: TransposeConvWeights,
    tanh: bool,
    out_shape: Vec<usize>,
}

impl Prepare for TransposeConv {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(2)?;
        let out = ctx.float_output(0)?;
        let w = ctx.input(1)?;
        let [n, h, wd, c] = nhwc(ctx, x)?;
        let [o, kh, kw, i] = nhwc(ctx, w)?;
        let [on, oh, ow, oc] = nhwc(ctx, out)?;
        if i != c || oc != o || on != n {
            return Err(ctx.err(format!(
                "input {:?}, weights {:?} and output {:?} do not match",
                x.shape, w.shape, out.shape
            )));
        }
        // TFLite resolves the padding against the output size (as if the output were a
        // convolution's input).
        let wy = self
            .padding
            .window(0, oh, kh, self.stride[0], 1)
            .map_err(|e| ctx.err(e))?;
        let wx = self
            .padding
            .window(1, ow, kw, self.stride[1], 1)
            .map_err(|e| ctx.err(e))?;
        let (clamp, tanh) = fused(self.activation);
        let params = TransposeConvParams {
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
            pad_top: wy.pad_before,
            pad_left: wx.pad_before,
            clamp,
        };
        let wv = ctx.require_const_f32(1, "weights")?;
        let bias = match ctx.opt_input(3) {
            Some(_) => Some(ctx.require_const_f32(3, "bias")?),
            None => None,
        };
        let weights = TransposeConvWeights::pack(&params, &wv, bias.as_deref())
            .map_err(|e| ctx.err(e.to_string()))?;
        Ok(Box::new(TransposeConvKernel {
            params,
            weights,
            tanh,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for TransposeConvKernel {
    fn reads(&self, input: usize) -> bool {
        input == 2
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.params.output_len().map_err(kerr)?;
        let mut out = io.pool.alloc(n);
        transpose_conv(
            &self.params,
            &self.weights,
            io.ins.f32(2)?,
            &mut out,
            io.par,
        )
        .map_err(kerr)?;
        apply_tanh(&mut out, self.tanh);
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
