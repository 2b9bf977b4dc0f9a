//! SHAPE: static, so always folded at preparation.

use super::{Ctx, Io, Kernel, Prepare};
use crate::{InterpError, TensorData};
use edgequant_ir::ops::Shape;
use edgequant_ir::DType;
use edgequant_kernels::float::{shape_i32, shape_i64};

struct ShapeKernel {
    value: TensorData,
    out_shape: Vec<usize>,
}

impl Prepare for Shape {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
        let x = ctx.input(0)?;
        let out = ctx.output(0)?;
        let value = match self.out_type {
            DType::I32 => TensorData::I32(shape_i32(&x.shape).map_err(|e| ctx.err(e.to_string()))?),
            DType::I64 => TensorData::I64(shape_i64(&x.shape).map_err(|e| ctx.err(e.to_string()))?),
            other => return Err(ctx.err(format!("out_type {other} must be int32 or int64"))),
        };
        Ok(Box::new(ShapeKernel {
            value,
            out_shape: out.shape.clone(),
        }))
    }
}

impl Kernel for ShapeKernel {
    fn reads(&self, _input: usize) -> bool {
        false
    }

    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        io.set(0, &self.out_shape, self.value.clone());
        Ok(())
    }
}
