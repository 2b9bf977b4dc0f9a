use super::common::binary_op;

binary_op!(
    /// Elementwise `minimum` with NumPy broadcasting and a fused activation.
    Minimum,
    "MINIMUM"
);
