use super::common::unary_op;

unary_op!(
    /// Elementwise `y = 1/(1+exp(-x))`.
    Logistic,
    "LOGISTIC"
);
