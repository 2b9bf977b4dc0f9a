use super::common::unary_op;

unary_op!(
    /// Elementwise `y = x*relu6(x+3)/6`.
    HardSwish,
    "HARD_SWISH"
);
