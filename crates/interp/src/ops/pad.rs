//! PAD / PADV2 for any element type (quantized tensors pad with the output zero point unless
//! a pad value is given).

use super::{kerr, Ctx, Io, Kernel, Prepare};
use crate::value::{with_elem, Elem};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::{pad_amounts, Pad};
use edgequant_ir::DType;
use edgequant_kernels::float as kf;

struct PadKernel {
    dtype: DType,
    in_shape: Vec<usize>,
    pads: Vec<(usize, usize)>,
    /// The pad value as a one-element vector of the tensor's type.
    value: TensorData,
    out_shape: Vec<usize>,
}

fn scalar(dtype: DType, v: f64) -> TensorData {
    match dtype {
        DType::F32 => TensorData::F32(vec![v as f32]),
        DType::F16 => TensorData::F16(vec![half::f16::from_f64(v)]),
        DType::I8 => TensorData::I8(vec![v as i8]),
        DType::U8 => TensorData::U8(vec![v as u8]),
        DType::I16 => TensorData::I16(vec![v as i16]),
        DType::I32 => TensorData::I32(vec![v as i32]),
        DType::I64 => TensorData::I64(vec![v as i64]),
        DType::Bool => TensorData::Bool(vec![v != 0.0]),
    }
}

impl Prepare for Pad {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let out = ctx.output(0)?;
        ctx.same_quant(0, 0)?;
        let ops = ctx.ir_operands();
        let refs: Vec<_> = ops.iter().map(Option::as_ref).collect();
        let pads = pad_amounts(&refs, x.shape.len()).map_err(|e| ctx.err(e))?;
        let value = match ctx.opt_input(2) {
            Some(t) => {
                let v = ctx.const_value(2).ok_or_else(|| {
                    ctx.unsupported(format!("pad value '{}' must be a constant", t.name))
                })?;
                if v.dtype() != x.dtype || v.data.len() != 1 {
                    return Err(ctx.err(format!("pad value must be one {} element", x.dtype)));
                }
                v.data.clone()
            }
            None => {
                let zp = out
                    .quant
                    .as_ref()
                    .filter(|_| !x.dtype.is_float())
                    .map_or(0, |q| q.zero_point[0]);
                scalar(x.dtype, zp as f64)
            }
        };
        Ok(Box::new(PadKernel {
            dtype: x.dtype,
            in_shape: x.shape.clone(),
            pads,
            value,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for PadKernel {
    fn reads(&self, input: usize) -> bool {
        input == 0
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = self.out_shape.iter().product();
        with_elem!(self.dtype, T => {
            let v = T::slice(&self.value).and_then(|s| s.first().copied()).ok_or("bad pad value")?;
            let mut out = T::alloc(io.pool, n);
            kf::pad(io.ins.typed::<T>(0)?, &self.in_shape, &self.pads, v, &mut out).map_err(kerr)?;
            io.set(0, &self.out_shape, T::wrap(out));
        });
        Ok(())
    }
}
