use super::common::binary_op;

binary_op!(
    /// Elementwise `add` with NumPy broadcasting and a fused activation.
    Add,
    "ADD"
);
