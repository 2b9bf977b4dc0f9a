//! Shared preparation and kernel of the broadcasting binary ops (ADD, SUB, MUL, DIV, MAXIMUM,
//! MINIMUM, POW). Computes in place into an operand whose buffer dies here when it already
//! has the output's shape.

use super::{apply_tanh, fused, kerr, Ctx, Io, Kernel};
use crate::InterpError;
use edgequant_ir::Activation;
use edgequant_kernels::float::{binary, binary_assign_lhs, binary_assign_rhs, BinaryOp, Clamp};

struct BinaryKernel {
    op: BinaryOp,
    clamp: Clamp,
    tanh: bool,
    a_shape: Vec<usize>,
    b_shape: Vec<usize>,
    out_shape: Vec<usize>,
}

/// Prepares a float binary op with fused `activation`.
pub(super) fn prepare(
    ctx: &Ctx<'_>,
    op: BinaryOp,
    activation: Activation,
) -> Result<Box<dyn Kernel>, InterpError> {
    let a = ctx.float_input(0)?;
    let b = ctx.float_input(1)?;
    let out = ctx.float_output(0)?;
    let (clamp, tanh) = fused(activation);
    Ok(Box::new(BinaryKernel {
        op,
        clamp,
        tanh,
        a_shape: a.shape.clone(),
        b_shape: b.shape.clone(),
        out_shape: out.shape.clone(),
    }))
}

impl Kernel for BinaryKernel {
    fn run(&self, io: &mut Io<'_>) -> Result<(), String> {
        let mut out = if self.a_shape == self.out_shape {
            io.ins.take_f32(0)
        } else {
            None
        };
        if let Some(a) = out.as_mut() {
            binary_assign_lhs(
                self.op,
                a,
                &self.out_shape,
                io.ins.f32(1)?,
                &self.b_shape,
                self.clamp,
            )
            .map_err(kerr)?;
        } else if self.b_shape == self.out_shape {
            out = io.ins.take_f32(1);
            if let Some(b) = out.as_mut() {
                binary_assign_rhs(
                    self.op,
                    io.ins.f32(0)?,
                    &self.a_shape,
                    b,
                    &self.out_shape,
                    self.clamp,
                )
                .map_err(kerr)?;
            }
        }
        let mut out = match out {
            Some(o) => o,
            None => {
                let n = self.out_shape.iter().product();
                let mut o = io.pool.alloc(n);
                binary(
                    self.op,
                    io.ins.f32(0)?,
                    &self.a_shape,
                    io.ins.f32(1)?,
                    &self.b_shape,
                    &mut o,
                    &self.out_shape,
                    self.clamp,
                )
                .map_err(kerr)?;
                o
            }
        };
        apply_tanh(&mut out, self.tanh);
        io.set_f32(0, &self.out_shape, out);
        Ok(())
    }
}
