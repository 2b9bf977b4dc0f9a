use edgequant_ir::IrError;
use thiserror::Error;

/// Errors raised while reading an ONNX model. Field meanings repeat across variants: `node` is
/// the ONNX node name (or `<op_type>_<index>` when unnamed), `op` its op type, `reason` a
/// human-readable explanation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OnnxError {
    /// The bytes are not a valid (or are a truncated) protobuf `ModelProto`/`TensorProto`.
    #[error("not a valid ONNX protobuf ({what}): {reason}")]
    Decode {
        /// The message type being decoded.
        what: &'static str,
        /// The protobuf decoder's message.
        reason: String,
    },
    /// The model is structurally unusable (no graph, unsupported opset, ...).
    #[error("invalid ONNX model: {0}")]
    Model(String),
    /// Every op type in the model that edgequant cannot import, with the nodes that use it.
    #[error("{}", unsupported_message(.0))]
    Unsupported(Vec<UnsupportedOp>),
    /// A node that cannot be imported (bad attributes, shapes, non-constant operands, ...).
    #[error("node '{node}' ({op}): {reason}")]
    Node {
        /// Node name.
        node: String,
        /// Op type.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// A node attribute with a wrong type or value.
    #[error("node '{node}' ({op}): attribute '{attribute}': {reason}")]
    Attribute {
        /// Node name.
        node: String,
        /// Op type.
        op: String,
        /// Attribute name.
        attribute: String,
        /// What is wrong.
        reason: String,
    },
    /// A node reads a value that no node, graph input or initializer produces.
    #[error(
        "node '{node}' ({op}) reads '{value}', which no node, graph input or initializer produces"
    )]
    Dangling {
        /// Node name (`<graph outputs>` for a graph output).
        node: String,
        /// Op type.
        op: String,
        /// The missing value's name.
        value: String,
    },
    /// A graph input dimension is dynamic and no shape override was given for the input.
    #[error(
        "input '{input}' dimension {dim} is dynamic ({param}); fix it with an input shape override, e.g. {input}=1,3,224,224"
    )]
    DynamicDim {
        /// Graph input name.
        input: String,
        /// Index of the dynamic dimension (ONNX layout).
        dim: usize,
        /// How the model declares it (symbolic name, -1, or no shape).
        param: String,
    },
    /// An input shape override that does not fit the model.
    #[error("input shape override for '{input}': {reason}")]
    ShapeOverride {
        /// The override's input name.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// An initializer, constant or test-data tensor that cannot be read.
    #[error("tensor '{tensor}': {reason}")]
    Tensor {
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// The imported graph failed IR validation or shape inference.
    #[error(transparent)]
    Ir(#[from] IrError),
}

/// One unsupported op type and the names of the nodes that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// `op_type`, prefixed with the domain when it is not the default ONNX domain.
    pub op_type: String,
    /// Names of the nodes with this op type, in model order.
    pub nodes: Vec<String>,
}

fn unsupported_message(ops: &[UnsupportedOp]) -> String {
    let total: usize = ops.iter().map(|o| o.nodes.len()).sum();
    let mut s = format!(
        "{} unsupported op type{} ({} node{}):",
        ops.len(),
        if ops.len() == 1 { "" } else { "s" },
        total,
        if total == 1 { "" } else { "s" }
    );
    for o in ops {
        const SHOWN: usize = 8;
        let mut names = o
            .nodes
            .iter()
            .take(SHOWN)
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ");
        if o.nodes.len() > SHOWN {
            names.push_str(&format!(", ... ({} more)", o.nodes.len() - SHOWN));
        }
        s.push_str(&format!("\n  {} ({}): {names}", o.op_type, o.nodes.len()));
    }
    s
}

/// Result type of this crate.
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;
