use super::common::binary_op;

binary_op!(
    /// Elementwise `maximum` with NumPy broadcasting and a fused activation.
    Maximum,
    "MAXIMUM"
);
