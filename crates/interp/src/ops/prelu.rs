//! PRELU (float): alpha broadcast against the input; in place when the input dies here.

use super::{kerr, ChannelMapF32, Ctx, FloatStage, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Prelu;
use edgequant_kernels::float::{prelu, prelu_in_place};
use edgequant_kernels::int::broadcast::repeats_trailing;

struct PreluKernel {
    shape: Vec<usize>,
    alpha_shape: Vec<usize>,
    /// Alpha converted once when constant (e.g. float16 or int8 storage).
    alpha: Option<Vec<f32>>,
    /// Whether the constant alpha repeats along the input's trailing dimensions (one value
    /// per channel, or one for all), so the op is a per-channel map.
    per_channel: bool,
}

impl Prepare for Prelu {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.float_input(0)?;
        ctx.float_output(0)?;
        let a = ctx.input(1)?;
        let alpha = ctx.const_f32(1)?;
        if alpha.is_none() {
            ctx.float_input(1)?;
        }
        let per_channel =
            alpha.as_ref().is_some_and(|v| !v.is_empty()) && repeats_trailing(&a.shape, &x.shape);
        Ok(Box::new(PreluKernel {
            shape: x.shape.clone(),
            alpha_shape: a.shape.clone(),
            alpha,
            per_channel,
        }))
    }
}

impl ChannelMapF32 for PreluKernel {
    fn map_rows(&self, x: &mut [f32]) -> Result<(), String> {
        let alpha = self.alpha.as_deref().ok_or("alpha is not constant")?;
        let rows = x.len() / alpha.len().max(1);
        prelu_in_place(x, &[rows, alpha.len()], alpha, &[alpha.len()]).map_err(kerr)
    }
}

impl Kernel for PreluKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0 || self.alpha.is_none()
    }

    fn float_stage(&self) -> Option<FloatStage<'_>> {
        let channels = self.alpha.as_ref()?.len();
        self.per_channel.then_some(FloatStage::ChannelMap {
            operand: 0,
            channels,
            map: self,
        })
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let owned = io.ins.take_f32(0);
        let alpha = match &self.alpha {
            Some(a) => a.as_slice(),
            None => io.ins.f32(1)?,
        };
        let out = match owned {
            Some(mut x) => {
                prelu_in_place(&mut x, &self.shape, alpha, &self.alpha_shape).map_err(kerr)?;
                x
            }
            None => {
                let x = io.ins.f32(0)?;
                let mut o = io.pool.alloc(x.len());
                prelu(x, &self.shape, alpha, &self.alpha_shape, &mut o).map_err(kerr)?;
                o
            }
        };
        io.set_f32(0, &self.shape, out);
        Ok(())
    }
}
