use super::common::unary_op;

unary_op!(
    /// Elementwise `y = tanh(x)`.
    Tanh,
    "TANH"
);
