use super::common::unary_op;

unary_op!(
    /// Elementwise `y = min(max(x,-1),1)`.
    ReluN1To1,
    "RELU_N1_TO_1"
);
