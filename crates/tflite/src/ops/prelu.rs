//! PRELU ↔ [`edgequant_ir::ops::Prelu`]. Operands: input, alpha.
use super::{plain_op, WriteCtx};

plain_op!(PRELU, Prelu, 2..=2, |_: &WriteCtx<'_>| 1);
