use super::common::unary_op;

unary_op!(
    /// Elementwise `y = max(x,0)`.
    Relu,
    "RELU"
);
