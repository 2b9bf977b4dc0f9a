use edgequant_ir::{DType, IrError};
use thiserror::Error;

/// Errors of graph preparation and execution. Every node-level error names the node and its
/// op; input errors name the graph input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InterpError {
    /// The graph failed structural validation.
    #[error("invalid graph: {0}")]
    Graph(#[from] IrError),
    /// The node's op, dtype or operand form is not supported by this interpreter.
    #[error("node '{node}' ({op}) is not supported: {reason}")]
    Unsupported {
        node: String,
        op: String,
        reason: String,
    },
    /// The node's attributes, operands or shapes are invalid.
    #[error("node '{node}' ({op}): {reason}")]
    Prepare {
        node: String,
        op: String,
        reason: String,
    },
    /// A kernel failed while running (inconsistent data that preparation could not see).
    #[error("node '{node}' ({op}) failed: {reason}")]
    Execute {
        node: String,
        op: String,
        reason: String,
    },
    /// Wrong number of input values.
    #[error("the graph has {expected} inputs but {got} values were given")]
    InputCount { expected: usize, got: usize },
    /// An input value has the wrong element type.
    #[error("input '{name}' (#{index}) must be {expected}, got {got}")]
    InputType {
        name: String,
        index: usize,
        expected: DType,
        got: DType,
    },
    /// An input value has the wrong shape (or its data does not match its shape).
    #[error("input '{name}' (#{index}) must have shape {expected:?}, got {got:?}")]
    InputShape {
        name: String,
        index: usize,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    /// A [`crate::TensorValue`] whose data length does not match its shape, or a constant
    /// whose bytes cannot be read.
    #[error("invalid tensor value: {0}")]
    Value(String),
}
