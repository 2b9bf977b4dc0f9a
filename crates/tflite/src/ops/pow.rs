//! POW ↔ [`edgequant_ir::ops::Pow`] (elementwise, broadcasting; no options).
use super::{plain_op, WriteCtx};

plain_op!(POW, Pow, 2..=2, |_: &WriteCtx<'_>| 1);
