//! FULLY_CONNECTED.

use super::{apply_tanh, fused, kerr, Ctx, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::FullyConnected;
use edgequant_kernels::float::{fully_connected, Clamp, FullyConnectedWeights};

struct FullyConnectedKernel {
    weights: FullyConnectedWeights,
    clamp: Clamp,
    tanh: bool,
    out_shape: Vec<usize>,
    out_len: usize,
}

impl Prepare for FullyConnected {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        ctx.float_input(0)?;
        let out = ctx.float_output(0)?;
        let w = ctx.input(1)?;
        let [o, i] = <[usize; 2]>::try_from(w.shape.as_slice())
            .map_err(|_| ctx.err(format!("weights must be [O, I], got {:?}", w.shape)))?;
        let wv = ctx.require_const_f32(1, "weights")?;
        let bias = match ctx.opt_input(2) {
            Some(_) => Some(ctx.require_const_f32(2, "bias")?),
            None => None,
        };
        let weights = FullyConnectedWeights::pack(&wv, o, i, bias.as_deref())
            .map_err(|e| ctx.err(e.to_string()))?;
        let (clamp, tanh) = fused(self.activation);
        Ok(Box::new(FullyConnectedKernel {
            weights,
            clamp,
            tanh,
            out_shape: out.shape.clone(),
            out_len: out.numel(),
        }))
    }
}

impl Kernel for FullyConnectedKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let mut out = io.pool.alloc(self.out_len);
        fully_connected(&self.weights, io.ins.f32(0)?, &mut out, self.clamp, io.par)
            .map_err(kerr)?;
        apply_tanh(&mut out, self.tanh);
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
