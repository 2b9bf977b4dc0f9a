use super::common::unary_op;

unary_op!(
    /// Elementwise `y = sqrt(x)`.
    Sqrt,
    "SQRT"
);
