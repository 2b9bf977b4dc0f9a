//! DEQUANTIZE: int8 / uint8 / int16 / int32 (with quantization parameters) or float16 →
//! float32. Constant inputs (float16 or int8 weights) are folded at preparation.

use super::{to_f32, Ctx, FloatStage, Io, Kernel, Prepare};
use crate::InterpError;
use edgequant_ir::ops::Dequantize;
use edgequant_ir::{DType, QuantParams};

struct DequantizeKernel {
    from: DType,
    quant: Option<QuantParams>,
    shape: Vec<usize>,
}

impl Prepare for Dequantize {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        ctx.float_output(0)?;
        match x.dtype {
            DType::F16 => {}
            DType::I8 | DType::U8 | DType::I16 | DType::I32 => {
                let q = x.quant.as_ref().ok_or_else(|| {
                    ctx.err(format!(
                        "input '{}' ({}) has no quantization parameters",
                        x.name, x.dtype
                    ))
                })?;
                q.validate(&x.name, x.dtype, &x.shape)?;
            }
            other => return Err(ctx.unsupported(format!("cannot dequantize {other}"))),
        }
        Ok(Box::new(DequantizeKernel {
            from: x.dtype,
            quant: x.quant.clone(),
            shape: x.shape.clone(),
        }))
    }
}

impl Kernel for DequantizeKernel {
    fn float_stage(&self) -> Option<FloatStage<'_>> {
        let q = self.quant.as_ref()?;
        (matches!(self.from, DType::I8 | DType::U8) && q.is_per_tensor()).then(|| {
            FloatStage::Dequantize {
                from: self.from,
                scale: q.scale[0],
                zero_point: q.zero_point[0],
            }
        })
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let out = to_f32(io.ins.get(0)?, self.quant.as_ref())?;
        io.set_f32(0, &self.shape, out);
        Ok(())
    }
}
