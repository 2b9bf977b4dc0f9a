use super::common::binary_op;

binary_op!(
    /// Elementwise `mul` with NumPy broadcasting and a fused activation.
    Mul,
    "MUL"
);
