use thiserror::Error;

/// Errors raised by IR construction, validation, shape inference and passes.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IrError {
    /// A node refers to a tensor index that does not exist.
    #[error("node '{node}' ({op}): {what} tensor index {index} out of range (graph has {count} tensors)")]
    TensorIndex {
        node: String,
        op: String,
        what: &'static str,
        index: usize,
        count: usize,
    },
    /// The graph is not a DAG.
    #[error("graph has a cycle through node '{node}'")]
    Cycle { node: String },
    /// A tensor is read but nothing produces it and it is neither a graph input nor a constant.
    #[error("tensor '{tensor}' is used by node '{node}' but is never produced")]
    Dangling { tensor: String, node: String },
    /// A tensor is written by more than one node, or a node writes a graph input or constant.
    #[error("tensor '{tensor}' is produced more than once (by node '{node}')")]
    MultipleProducers { tensor: String, node: String },
    /// Invalid op attributes or input shapes/types for an op.
    #[error("node '{node}' ({op}): {reason}")]
    Op {
        node: String,
        op: String,
        reason: String,
    },
    /// Invalid quantization parameters.
    #[error("tensor '{tensor}': invalid quantization parameters: {reason}")]
    InvalidQuant { tensor: String, reason: String },
    /// Invalid tensor (shape/data mismatch, overflow).
    #[error("tensor '{tensor}': {reason}")]
    Tensor { tensor: String, reason: String },
}

impl IrError {
    /// Convenience constructor for [`IrError::Op`].
    pub fn op(node: &str, op: &str, reason: impl Into<String>) -> Self {
        IrError::Op {
            node: node.to_string(),
            op: op.to_string(),
            reason: reason.into(),
        }
    }
}
