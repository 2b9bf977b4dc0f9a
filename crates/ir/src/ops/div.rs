use super::common::binary_op;

binary_op!(
    /// Elementwise `div` with NumPy broadcasting and a fused activation.
    Div,
    "DIV"
);
