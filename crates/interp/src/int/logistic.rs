//! LOGISTIC on integers.
//!
//! * int8 / uint8: LiteRT's reference kernel, a 256-entry table of the float sigmoid
//!   (`LUTPopulate`); output scale 1/256.
//! * int16 (zero points 0, output scale 1/32768): `reference_integer_ops::Logistic`.

use super::{prep_err, same_dtype, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Logistic;
use edgequant_ir::DType;
use edgequant_kernels::int::activation16::{logistic_int16, Sigmoid16Params};
use edgequant_kernels::int::logistic::{logistic, logistic_u8, LogisticParams};

enum Params {
    Lut(Box<LogisticParams>),
    Sixteen(Sigmoid16Params),
}

struct LogisticKernel {
    p: Params,
    dtype: DType,
    out_shape: Vec<usize>,
}

impl IntPrepare for Logistic {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = same_dtype(ctx)?;
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
        let p = match x.dtype {
            DType::I8 => Params::Lut(Box::new(
                LogisticParams::prepare::<i8>(qi, qo).map_err(prep_err(ctx))?,
            )),
            DType::U8 => Params::Lut(Box::new(
                LogisticParams::prepare::<u8>(qi, qo).map_err(prep_err(ctx))?,
            )),
            DType::I16 => Params::Sixteen(
                Sigmoid16Params::prepare_logistic(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
                    .map_err(prep_err(ctx))?,
            ),
            other => return Err(ctx.unsupported(format!("{other} input"))),
        };
        Ok(Box::new(LogisticKernel {
            p,
            dtype: x.dtype,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for LogisticKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = io.ins.get(0)?.data.len();
        let data = match (&self.p, self.dtype) {
            (Params::Lut(p), DType::I8) => {
                let mut out = vec![0i8; n];
                logistic(p, io.ins.typed::<i8>(0)?, &mut out).map_err(kerr)?;
                TensorData::I8(out)
            }
            (Params::Lut(p), _) => {
                let mut out = vec![0u8; n];
                logistic_u8(p, io.ins.typed::<u8>(0)?, &mut out).map_err(kerr)?;
                TensorData::U8(out)
            }
            (Params::Sixteen(p), _) => {
                let mut out = vec![0i16; n];
                logistic_int16(p, io.ins.typed::<i16>(0)?, &mut out).map_err(kerr)?;
                TensorData::I16(out)
            }
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
