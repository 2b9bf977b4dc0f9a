use edgequant_ir::IrError;
use std::fmt;
use thiserror::Error;

/// One operator of a model that edgequant cannot represent (see
/// [`TfliteError::UnsupportedOps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// Index of the operator in the main subgraph's operator list.
    pub index: usize,
    /// The builtin operator name (e.g. `SPLIT`), `CUSTOM <custom_code>` for custom ops, with the
    /// reason when it is not simply missing from the registry (e.g. control flow).
    pub op: String,
    /// Name of the operator's first output tensor (empty when it has none).
    pub output: String,
}

impl fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "operator #{} {} (output '{}')",
            self.index, self.op, self.output
        )
    }
}

fn list(ops: &[UnsupportedOp]) -> String {
    ops.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Errors raised while reading or writing a .tflite model. Every variant names the tensor,
/// operator, node or field involved.
#[derive(Debug, Error)]
pub enum TfliteError {
    /// The bytes are too short or too long to be a TFLite flatbuffer.
    #[error("not a TFLite model: {reason}")]
    Size {
        /// What is wrong with the size.
        reason: String,
    },
    /// The file identifier (bytes 4..8) is not `TFL3`.
    #[error("not a TFLite model: file identifier is {found:?}, expected \"TFL3\"")]
    Identifier {
        /// The four identifier bytes found, escaped.
        found: String,
    },
    /// The flatbuffer verifier rejected the file (truncated or corrupt); `reason` names the
    /// schema field path and the byte range involved (see [`TfliteError::from_verifier`]).
    #[error("corrupt TFLite flatbuffer: {reason}")]
    Flatbuffer {
        /// What the verifier found, with the field path (`subgraphs[0].tensors[3].name`).
        reason: String,
    },
    /// A model-level field has an invalid or unsupported value.
    #[error("model field '{field}': {reason}")]
    Field {
        /// Schema field path, e.g. `Model.version`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An index stored in the file points outside its table.
    #[error("{context}: {what} index {index} out of range (model has {count})")]
    Index {
        /// Where the index was found, e.g. `operator #3 (output 'conv')`.
        context: String,
        /// What kind of index (`tensor`, `buffer`, `opcode`).
        what: &'static str,
        /// The offending index.
        index: i64,
        /// Number of entries in the referenced table.
        count: usize,
    },
    /// A tensor is invalid or unsupported (dtype, shape, data size, quantization).
    #[error("tensor #{index} '{tensor}': {reason}")]
    Tensor {
        /// Index of the tensor in the subgraph or graph.
        index: usize,
        /// Tensor name.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// The model uses operators edgequant does not support; every one of them is listed.
    #[error("model uses {} unsupported operator(s): {}", .0.len(), list(.0))]
    UnsupportedOps(Vec<UnsupportedOp>),
    /// An operator of the file is invalid (options, operand count, shapes).
    #[error("operator #{index} {op} (output '{output}'): {reason}")]
    Operator {
        /// Index in the main subgraph's operator list.
        index: usize,
        /// Builtin operator name.
        op: String,
        /// Name of the first output tensor.
        output: String,
        /// What is wrong.
        reason: String,
    },
    /// A graph node cannot be written as TFLite (e.g. explicit padding, no TFLite equivalent),
    /// or a node read from a file is inconsistent (e.g. an integer convolution without
    /// quantization parameters).
    #[error("node '{node}' ({op}): {reason}")]
    Node {
        /// Node name.
        node: String,
        /// IR op name.
        op: String,
        /// What is wrong.
        reason: String,
    },
    /// The graph read from the file (or given to the writer) violates an IR invariant.
    #[error(transparent)]
    Ir(#[from] IrError),
}

impl TfliteError {
    /// Describes a flatbuffer verifier failure on a file of `file_len` bytes in one line: what
    /// is wrong, at which schema field path (outermost first, e.g.
    /// `subgraphs[0].operators[5].inputs`) and, for ranges past the end of the file, that the
    /// file is truncated.
    pub fn from_verifier(e: &flatbuffers::InvalidFlatbuffer, file_len: usize) -> Self {
        use flatbuffers::InvalidFlatbuffer as F;
        let path = |t: &dyn AsRef<[flatbuffers::ErrorTraceDetail]>| -> String {
            let mut s = String::new();
            for d in t.as_ref().iter().rev() {
                match d {
                    flatbuffers::ErrorTraceDetail::TableField { field_name, .. } => {
                        if !s.is_empty() {
                            s.push('.');
                        }
                        s.push_str(field_name.as_ref());
                    }
                    flatbuffers::ErrorTraceDetail::VectorElement { index, .. } => {
                        s.push_str(&format!("[{index}]"));
                    }
                    flatbuffers::ErrorTraceDetail::UnionVariant { variant, .. } => {
                        s.push_str(&format!("<{variant}>"));
                    }
                }
            }
            if s.is_empty() {
                "the root table".to_string()
            } else {
                format!("field `{s}`")
            }
        };
        let reason = match e {
            F::MissingRequiredField {
                required,
                error_trace,
            } => format!(
                "required field `{required}` is missing in {}",
                path(error_trace)
            ),
            F::InconsistentUnion {
                field,
                field_type,
                error_trace,
            } => format!(
                "union `{field}` and its type `{field_type}` disagree in {}",
                path(error_trace)
            ),
            F::Utf8Error {
                range, error_trace, ..
            } => format!(
                "string at bytes [{}, {}) in {} is not valid UTF-8",
                range.start,
                range.end,
                path(error_trace)
            ),
            F::MissingNullTerminator { range, error_trace } => format!(
                "string at bytes [{}, {}) in {} has no NUL terminator",
                range.start,
                range.end,
                path(error_trace)
            ),
            F::Unaligned {
                position,
                unaligned_type,
                error_trace,
            } => format!(
                "{unaligned_type} at byte {position} in {} is misaligned",
                path(error_trace)
            ),
            F::RangeOutOfBounds { range, error_trace } if range.end > file_len => format!(
                "{} points to bytes [{}, {}), past the end of the {file_len}-byte file \
                 (the file is truncated or corrupt)",
                path(error_trace),
                range.start,
                range.end
            ),
            F::RangeOutOfBounds { range, error_trace } => format!(
                "{} points to bytes [{}, {}), outside the flatbuffer",
                path(error_trace),
                range.start,
                range.end
            ),
            F::SignedOffsetOutOfBounds {
                soffset,
                position,
                error_trace,
            } => format!(
                "vtable offset {soffset} at byte {position} in {} points outside the file",
                path(error_trace)
            ),
            F::TooManyTables => "more tables than the verifier limit allows".to_string(),
            F::ApparentSizeTooLarge => {
                "apparent size exceeds the 2 GiB flatbuffer limit".to_string()
            }
            F::DepthLimitReached => "tables nested deeper than the verifier limit".to_string(),
        };
        TfliteError::Flatbuffer { reason }
    }
}
