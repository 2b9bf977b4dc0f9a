//! RELU_N1_TO_1 ↔ [`edgequant_ir::ops::ReluN1To1`].
use super::{plain_op, WriteCtx};

plain_op!(RELU_N1_TO_1, ReluN1To1, 1..=1, |_: &WriteCtx<'_>| 1);
