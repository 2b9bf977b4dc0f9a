//! The edgequant graph IR.
//!
//! A [`Graph`] is a list of [`Tensor`]s and a list of [`Node`]s; each node applies one [`Op`] to
//! tensors by [`TensorId`]. Layout is NHWC; convolution weights are OHWI and depthwise weights
//! 1HW(C·M), as in TFLite. Quantization parameters are typed data on tensors
//! ([`QuantParams`]), never encoded in the dtype or in names. Graph edits go through [`Pass`]es.

mod dtype;
mod error;
mod graph;
pub mod ops;
mod pass;
pub mod passes;
mod quant;
mod tensor;

pub use dtype::DType;
pub use error::IrError;
pub use graph::{Graph, Node, NodeId};
pub use ops::{Activation, Op, Padding};
pub use pass::{run_passes, Pass};
pub use quant::QuantParams;
pub use tensor::{checked_byte_size, Tensor, TensorId, TensorType, MAX_TENSOR_BYTES};

/// Result type of this crate.
pub type Result<T, E = IrError> = std::result::Result<T, E>;
