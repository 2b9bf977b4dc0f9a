//! HARD_SWISH ↔ [`edgequant_ir::ops::HardSwish`].
use super::{plain_op, WriteCtx};

plain_op!(HARD_SWISH, HardSwish, 1..=1, |_: &WriteCtx<'_>| 1);
