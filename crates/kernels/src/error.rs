use thiserror::Error;

/// Errors raised by kernels on inconsistent arguments. Kernels never panic on their inputs;
/// callers (the interpreter) normally validate shapes first, so these indicate a caller bug or a
/// malformed model that slipped through validation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KernelError {
    /// A slice does not have the length its shape requires.
    #[error("{what}: expected {expected} elements, got {got}")]
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// Invalid parameters (zero sizes, mismatched shapes, out-of-range axes, ...).
    #[error("{0}")]
    Invalid(String),
}

/// Checks `got == expected` for the slice called `what`.
pub(crate) fn check_len(what: &'static str, got: usize, expected: usize) -> crate::Result<()> {
    if got != expected {
        return Err(KernelError::Length {
            what,
            expected,
            got,
        });
    }
    Ok(())
}

/// Product of `dims`, or an error when it overflows.
pub(crate) fn numel(dims: &[usize]) -> crate::Result<usize> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| KernelError::Invalid(format!("shape {dims:?} overflows")))
}

/// Shorthand for an [`KernelError::Invalid`] error.
pub(crate) fn invalid<T>(msg: impl Into<String>) -> crate::Result<T> {
    Err(KernelError::Invalid(msg.into()))
}
