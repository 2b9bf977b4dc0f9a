use super::common::unary_op;

unary_op!(
    /// Elementwise `y = min(max(x,0),6)`.
    Relu6,
    "RELU6"
);
