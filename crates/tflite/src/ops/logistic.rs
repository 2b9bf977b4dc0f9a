//! LOGISTIC ↔ [`edgequant_ir::ops::Logistic`].
use super::{plain_op, version_i8_2_i16_3};

plain_op!(LOGISTIC, Logistic, 1..=1, version_i8_2_i16_3);
