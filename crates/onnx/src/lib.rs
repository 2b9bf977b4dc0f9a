//! Read ONNX models into the edgequant graph IR.
//!
//! [`read_onnx`] decodes a serialized `ModelProto` (prost code generated from the project's
//! own `proto/onnx.proto` subset, committed under [`proto`]), checks the opset (7 to 21) and the
//! op types (one [`OnnxError::Unsupported`] error lists every unsupported op type with its
//! nodes), then converts the graph node by node into an NHWC [`edgequant_ir::Graph`]:
//!
//! - **Layout.** Every ONNX value is held as an IR tensor plus a layout (a permutation of its
//!   ONNX dims). Convolutions, pools and resizes produce and consume NHWC; elementwise ops,
//!   concatenation, reductions, slices, pads and softmax work in whatever layout their inputs
//!   have, with their axes remapped; ONNX `Transpose` only relabels the layout. A TRANSPOSE is
//!   inserted only where an op needs another layout — e.g. before a `Reshape`/`Flatten` of an
//!   NCHW tensor, which keeps ONNX semantics — and becomes a RESHAPE when only size-1 dims move.
//! - **Boundary.** By default rank-4 graph inputs and outputs are NHWC in the IR; with
//!   [`ImportOptions::keep_io_layout`] they keep the ONNX layout (NCHW) and the graph starts and
//!   ends with the needed transposes. Other ranks are unchanged.
//! - **Constants.** Nodes whose inputs are all constant are evaluated at import time (shape
//!   arithmetic such as `Shape → Gather → Concat → Reshape`); `Shape` of an activation is a
//!   constant because all shapes are static. Dynamic input dims need an override in
//!   [`ImportOptions::input_shapes`], else [`OnnxError::DynamicDim`] names input and dim.
//! - **Folding.** `BatchNormalization` after a convolution is folded into its weights and bias
//!   (standalone it becomes MUL + ADD); `Relu`/`Clip` after a convolution, fully connected or
//!   binary op becomes its fused activation.
//! - **Padding.** Explicit or `auto_pad` pads become TFLite SAME or VALID when they select the
//!   same windows, else a PAD op followed by a VALID op.
//!
//! Errors name the node, its op type and the attribute. Malformed protobuf, missing
//! initializers, dangling edges and bad shapes are errors, never panics.

#![warn(missing_docs)]

mod ctx;
mod error;
mod fold;
mod import;
mod layout;
mod node;
mod ops;
pub mod proto;
mod tensor;

pub use error::{OnnxError, Result, UnsupportedOp};
pub use import::{decode_model, import_model, read_tensor_proto, OPSET_RANGE};

use std::collections::HashMap;

/// Options of [`read_onnx`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Shapes (in the model's own, ONNX layout) for graph inputs, by input name. Needed for
    /// inputs with dynamic dims; a dim the model fixes must agree.
    pub input_shapes: HashMap<String, Vec<usize>>,
    /// Keep the ONNX layout (NCHW) for rank-4 graph inputs and outputs instead of NHWC.
    pub keep_io_layout: bool,
}

/// Reads a serialized ONNX model into an NHWC IR graph (see the crate docs).
pub fn read_onnx(bytes: &[u8], opts: &ImportOptions) -> Result<edgequant_ir::Graph> {
    let model = decode_model(bytes)?;
    import_model(&model, opts)
}

/// The ONNX op types (default domain) that [`read_onnx`] converts, sorted.
pub fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = ops::REGISTRY.iter().map(|(name, _)| *name).collect();
    v.sort_unstable();
    v
}
