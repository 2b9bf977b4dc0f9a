use thiserror::Error;

/// A node that stays float in an integer model, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloatNode {
    pub node: String,
    pub op: String,
    pub reason: String,
}

impl std::fmt::Display for FloatNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' ({}): {}", self.node, self.op, self.reason)
    }
}

/// Errors of the quantization passes.
#[derive(Debug, Error)]
pub enum QuantError {
    /// `--int8-only` (or int16-only) was requested but some ops have no integer kernel.
    #[error("{} op(s) have no integer kernel: {}", .0.len(), .0.iter().map(|n| n.to_string()).collect::<Vec<_>>().join("; "))]
    NotFullyInteger(Vec<FloatNode>),
    /// A `--keep-float` entry names neither a node nor an op type of the model.
    #[error("--keep-float: no node or op named {}", .0.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))]
    UnknownKeepFloat(Vec<String>),
    /// A float activation has no calibrated range.
    #[error("tensor '{tensor}' (input of node '{node}') has no calibrated range")]
    MissingRange { tensor: String, node: String },
    /// A constant holds NaN or infinite values.
    #[error(
        "tensor '{tensor}' (operand of node '{node}'): constant holds {what}; the model is broken"
    )]
    NonFinite {
        tensor: String,
        node: String,
        what: &'static str,
    },
    /// An operand has an unexpected type.
    #[error("node '{node}' ({op}): {reason}")]
    Operand {
        node: String,
        op: String,
        reason: String,
    },
    /// Calibration was given no samples.
    #[error("calibration needs at least one sample")]
    NoSamples,
    /// Calibration failed (data or observer error).
    #[error(transparent)]
    Calib(#[from] edgequant_calib::CalibError),
    /// The float graph failed to run during calibration.
    #[error("calibration run failed: {0}")]
    Interp(#[from] edgequant_interp::InterpError),
    /// The graph is invalid.
    #[error(transparent)]
    Ir(#[from] edgequant_ir::IrError),
}
