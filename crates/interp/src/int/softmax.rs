//! SOFTMAX on integers over the last axis.
//!
//! * int8 / uint8 input: `reference_ops::Softmax` (gemmlowp fixed point), output int8
//!   (scale 1/256, zero point -128), uint8 (1/256, 0) or int16.
//! * int16 input and output (zero points 0, output scale 1/32768):
//!   `reference_ops::SoftmaxInt16` (interpolated `exp` and `1 / (1 + x)` tables).

use super::{prep_err, IntPrepare, Quant};
use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Softmax;
use edgequant_ir::DType;
use edgequant_kernels::int::activation16::{softmax_int16, Softmax16Params};
use edgequant_kernels::int::softmax::{softmax, SoftmaxParams};

enum Params {
    Eight(SoftmaxParams),
    Sixteen(Softmax16Params),
}

struct SoftmaxKernel {
    p: Params,
    input: DType,
    output: DType,
    depth: usize,
    out_shape: Vec<usize>,
}

impl IntPrepare for Softmax {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let (x, out) = (ctx.input(0)?, ctx.output(0)?);
        let q = Quant::new(ctx);
        let (qi, qo) = (q.activation(x, false)?, q.activation(out, false)?);
        let depth = x.shape.last().copied().unwrap_or(1);
        let fixed = |scale: f32, zp: i32| {
            if qo.zero_point != zp || (qo.scale - scale).abs() > 0.001 * scale {
                return Err(ctx.err(format!(
                    "output '{}' must have scale {scale} and zero point {zp} (got {} and {})",
                    out.name, qo.scale, qo.zero_point
                )));
            }
            Ok(())
        };
        let p = match (x.dtype, out.dtype) {
            (DType::I8 | DType::U8, DType::I8 | DType::U8 | DType::I16) => {
                match out.dtype {
                    DType::I8 => fixed(1.0 / 256.0, -128)?,
                    DType::U8 => fixed(1.0 / 256.0, 0)?,
                    _ => fixed(1.0 / 32768.0, 0).or_else(|_| fixed(1.0 / 65536.0, -32768))?,
                }
                Params::Eight(SoftmaxParams::prepare(self.beta, qi.scale).map_err(prep_err(ctx))?)
            }
            (DType::I16, DType::I16) => Params::Sixteen(
                Softmax16Params::prepare(
                    self.beta,
                    qi.scale,
                    qi.zero_point,
                    qo.scale,
                    qo.zero_point,
                )
                .map_err(prep_err(ctx))?,
            ),
            (a, b) => return Err(ctx.unsupported(format!("{a} input with {b} output"))),
        };
        Ok(Box::new(SoftmaxKernel {
            p,
            input: x.dtype,
            output: out.dtype,
            depth,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for SoftmaxKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let n = io.ins.get(0)?.data.len();
        let d = self.depth;
        let data = match &self.p {
            Params::Sixteen(p) => {
                let mut out = vec![0i16; n];
                softmax_int16(p, io.ins.typed::<i16>(0)?, d, &mut out).map_err(kerr)?;
                TensorData::I16(out)
            }
            Params::Eight(p) => {
                macro_rules! go {
                    ($i:ty, $o:ty, $var:ident) => {{
                        let mut out = vec![<$o>::default(); n];
                        softmax::<$i, $o>(p, io.ins.typed::<$i>(0)?, d, &mut out).map_err(kerr)?;
                        TensorData::$var(out)
                    }};
                }
                match (self.input, self.output) {
                    (DType::I8, DType::I8) => go!(i8, i8, I8),
                    (DType::I8, DType::I16) => go!(i8, i16, I16),
                    (DType::U8, DType::U8) => go!(u8, u8, U8),
                    (DType::U8, DType::I16) => go!(u8, i16, I16),
                    (DType::I8, DType::U8) => go!(i8, u8, U8),
                    (DType::U8, DType::I8) => go!(u8, i8, I8),
                    (a, b) => return Err(format!("{a} input with {b} output")),
                }
            }
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
