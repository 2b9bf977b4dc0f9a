use super::common::binary_op;

binary_op!(
    /// Elementwise `sub` with NumPy broadcasting and a fused activation.
    Sub,
    "SUB"
);
