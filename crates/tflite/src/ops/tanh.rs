//! TANH ↔ [`edgequant_ir::ops::Tanh`].
use super::{plain_op, version_i8_2_i16_3};

plain_op!(TANH, Tanh, 1..=1, version_i8_2_i16_3);
