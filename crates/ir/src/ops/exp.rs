use super::common::unary_op;

unary_op!(
    /// Elementwise `y = exp(x)`.
    Exp,
    "EXP"
);
