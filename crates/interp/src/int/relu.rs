//! RELU, RELU6 and RELU_N1_TO_1 on int8 / uint8 / int16: TFLite's `QuantizedReluX`
//! (`activations.cc`): the input is requantized to the output scale with the multiplier of
//! `input_scale / output_scale` (`QuantizeMultiplier` of the quotient computed in float and
//! then widened, as `ReluPrepare` does; `MultiplyByQuantizedMultiplier`) and clamped to the
//! quantized activation range `[max(qmin, zp + roundf(lo / scale)), min(qmax, zp + roundf(hi /
//! scale))]` (no upper clamp for RELU).

use super::{prep_err, run_unary_lut, same_dtype, with_int, IntPrepare, Quant};
use crate::ops::{Ctx, Io, Kernel};
use crate::value::Elem;
use crate::InterpError;
use edgequant_ir::ops::{Relu, Relu6, ReluN1To1};
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::UnaryLut8;
use edgequant_kernels::int::quant_util::{multiply_by_quantized_multiplier, quantize_multiplier};
use edgequant_kernels::int::QuantInt;

struct ReluKernel {
    dtype: DType,
    input_offset: i32,
    output_offset: i32,
    multiplier: i32,
    shift: i32,
    min: i32,
    max: i32,
    /// 8-bit types: the results for all 256 inputs.
    lut: Option<UnaryLut8>,
    out_shape: Vec<usize>,
}

fn prepare(ctx: &Ctx<'_>, lo: f32, hi: f32) -> Result<Box<dyn Kernel>, InterpError> {
    let (x, out) = same_dtype(ctx)?;
    let q = Quant::new(ctx);
    let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
    let (multiplier, shift) =
        quantize_multiplier((qi.scale / qo.scale) as f64).map_err(prep_err(ctx))?;
    let bound = |f: f32| qo.zero_point.saturating_add((f / qo.scale).round() as i32);
    let (qmin, qmax) = with_int!(x.dtype, T => (<T as QuantInt>::MIN, <T as QuantInt>::MAX),
        return Err(ctx.unsupported(format!("{} input", x.dtype))));
    let min = qmin.max(bound(lo));
    let max = if hi.is_infinite() {
        qmax
    } else {
        qmax.min(bound(hi))
    };
    let mut k = ReluKernel {
        dtype: x.dtype,
        input_offset: qi.zero_point,
        output_offset: qo.zero_point,
        multiplier,
        shift,
        min,
        max,
        lut: None,
        out_shape: out.shape.clone(),
    };
    k.lut = match x.dtype {
        DType::I8 => Some(
            UnaryLut8::build::<i8>(|a, b| {
                b.copy_from_slice(&k.apply(a));
                Ok(())
            })
            .map_err(prep_err(ctx))?,
        ),
        DType::U8 => Some(
            UnaryLut8::build::<u8>(|a, b| {
                b.copy_from_slice(&k.apply(a));
                Ok(())
            })
            .map_err(prep_err(ctx))?,
        ),
        _ => None,
    };
    Ok(Box::new(k))
}

impl IntPrepare for Relu {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, 0.0, f32::INFINITY)
    }
}

impl IntPrepare for Relu6 {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, 0.0, 6.0)
    }
}

impl IntPrepare for ReluN1To1 {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        prepare(ctx, -1.0, 1.0)
    }
}

impl ReluKernel {
    fn apply<T: QuantInt>(&self, x: &[T]) -> Vec<T> {
        x.iter()
            .map(|&v| {
                let y = self
                    .output_offset
                    .wrapping_add(multiply_by_quantized_multiplier(
                        v.to_i32() - self.input_offset,
                        self.multiplier,
                        self.shift,
                    ));
                T::from_i32(y.max(self.min).min(self.max))
            })
            .collect()
    }
}

impl Kernel for ReluKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        if let Some(lut) = &self.lut {
            let data = run_unary_lut(lut, self.dtype, io)?;
            io.set(0, &self.out_shape, data);
            return Ok(());
        }
        with_int!(self.dtype, T => {
            let out = self.apply(io.ins.typed::<T>(0)?);
            io.set(0, &self.out_shape, T::wrap(out));
        }, return Err(format!("unexpected type {}", self.dtype)));
        Ok(())
    }
}
