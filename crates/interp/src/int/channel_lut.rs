//! 8-bit ADD / SUB / MUL with one constant operand that repeats along the trailing dimensions
//! of the other (per-channel folded batch-norm parameters, per-tensor scalars): run as a
//! per-channel result table ([`ChannelLut8`]) built from the reference arithmetic, so the
//! results are those of TFLite's reference kernels. The interpreter composes two such steps
//! in a row into one table (see `interpreter/fuse.rs`).

use crate::ops::{kerr, Ctx, Io, Kernel};
use crate::value::{Elem, TensorData};
use edgequant_ir::DType;
use edgequant_kernels::int::binary_lut::Int8;
use edgequant_kernels::int::broadcast::repeats_trailing;
use edgequant_kernels::int::channel_lut::{ChannelLut8, MAX_CHANNELS};

/// Runs a [`ChannelLut8`] on the one run-time operand.
pub(crate) struct ChannelLutKernel {
    pub(crate) table: ChannelLut8,
    /// Index of the run-time operand among the node's inputs.
    pub(crate) operand: usize,
    pub(crate) dtype: DType,
    pub(crate) out_shape: Vec<usize>,
}

/// Prepares the per-channel table form of a binary 8-bit op `out = op(in0, in1)` when one
/// operand is a constant repeating along the trailing dimensions of the other, which has the
/// output's shape. `apply(x, y)` is the op's reference arithmetic on integer values. Returns
/// `None` when the operands do not have that form (the caller then prepares its general
/// kernel).
pub(crate) fn prepare(ctx: &Ctx<'_>, apply: impl Fn(i32, i32) -> i32) -> Option<Box<dyn Kernel>> {
    let out = ctx.output(0).ok()?;
    let (dtype, out_shape) = (out.dtype, out.shape.clone());
    let (operand, konst) = match (ctx.const_value(0), ctx.const_value(1)) {
        (None, Some(k)) => (0, (1, k)),
        (Some(k), None) => (1, (0, k)),
        _ => return None,
    };
    let (kidx, kval) = konst;
    if ctx.input(operand).ok()?.shape != out_shape || !repeats_trailing(&kval.shape, &out_shape) {
        return None;
    }
    let channels = kval.data.len();
    if channels == 0 || channels > MAX_CHANNELS {
        return None;
    }
    fn values<T: Elem + Int8>(v: &crate::TensorValue) -> Option<Vec<i32>> {
        Some(T::slice(&v.data)?.iter().map(|x| x.to_i32()).collect())
    }
    let k = match dtype {
        DType::I8 => values::<i8>(kval)?,
        DType::U8 => values::<u8>(kval)?,
        _ => return None,
    };
    let f = |c: usize, x: i32| {
        if kidx == 1 {
            apply(x, k[c])
        } else {
            apply(k[c], x)
        }
    };
    let table = match dtype {
        DType::I8 => ChannelLut8::build::<i8>(channels, f),
        _ => ChannelLut8::build::<u8>(channels, f),
    }
    .ok()?;
    Some(Box::new(ChannelLutKernel {
        table,
        operand,
        dtype,
        out_shape,
    }))
}

impl Kernel for ChannelLutKernel {
    fn reads(&self, input: usize) -> bool {
        input == self.operand
    }

    fn channel_lut(&self) -> Option<(&ChannelLut8, usize)> {
        Some((&self.table, self.operand))
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let owned = io.ins.take(self.operand).map(|v| v.data);
        let data = match (self.dtype, owned) {
            (DType::I8, Some(TensorData::I8(mut v))) => {
                self.table.apply_in_place(&mut v).map_err(kerr)?;
                TensorData::I8(v)
            }
            (DType::U8, Some(TensorData::U8(mut v))) => {
                self.table.apply_in_place(&mut v).map_err(kerr)?;
                TensorData::U8(v)
            }
            (DType::I8, None) => {
                let mut v = io.ins.typed::<i8>(self.operand)?.to_vec();
                self.table.apply_in_place(&mut v).map_err(kerr)?;
                TensorData::I8(v)
            }
            (DType::U8, None) => {
                let mut v = io.ins.typed::<u8>(self.operand)?.to_vec();
                self.table.apply_in_place(&mut v).map_err(kerr)?;
                TensorData::U8(v)
            }
            (t, _) => return Err(format!("operand is not {t}")),
        };
        io.set(0, &self.out_shape, data);
        Ok(())
    }
}
