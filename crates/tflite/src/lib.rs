//! Read and write TensorFlow Lite flatbuffers (`.tflite`).
//!
//! [`read_model`] verifies a file (flatbuffer verifier, `TFL3` identifier, every index, shape
//! and data size, quantization parameters) and turns its main subgraph into an IR
//! [`Graph`]; [`write_model`] writes a graph back following the TFLite converter's conventions
//! (schema version 3, empty buffer 0, operator codes deduplicated in first-use order with the
//! versions the converter would record, 16-byte aligned constant data). Output is
//! deterministic: the same graph always gives the same bytes.
//!
//! Operators are translated by a two-way registry with one module per op under `ops/`
//! ([`supported_builtins`], [`builtin_for_ir_op`]). A model with operators edgequant does not
//! support fails with one [`TfliteError::UnsupportedOps`] listing all of them.
//!
//! The flatbuffer schema is edgequant's own subset of TFLite's (`schema/edgequant_tflite.fbs`);
//! the Rust code generated from it by flatc 25.12.19 is committed and exposed as [`schema`].

#![warn(missing_docs)]

mod convert;
mod error;
#[allow(missing_docs)]
pub mod schema {
    //! The flatbuffer types generated from `schema/edgequant_tflite.fbs` (namespace `tflite`).
    pub use crate::generated::*;
}
mod generated;
mod ops;
mod reader;
mod writer;

pub use error::{TfliteError, UnsupportedOp};
pub use ops::{builtin_for_ir_op, builtin_name, supported_builtins};
pub use reader::read_model;
pub use writer::{write_model, write_tflite_model};

use edgequant_ir::{Graph, TensorId};

/// A TFLite model as edgequant keeps it: the main subgraph as an IR graph plus what is needed
/// to write it back. Metadata entries and signatures of other subgraphs are dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct TfliteModel {
    /// The main subgraph (subgraph 0).
    pub graph: Graph,
    /// `Model.description`.
    pub description: String,
    /// The signature of the main subgraph, if the file has one.
    pub signature: Option<Signature>,
}

/// A `SignatureDef` of the main subgraph: aliases for its input and output tensors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// `signature_key`, e.g. `serving_default`.
    pub key: String,
    /// Input aliases and the tensors they name.
    pub inputs: Vec<(String, TensorId)>,
    /// Output aliases and the tensors they name.
    pub outputs: Vec<(String, TensorId)>,
}

impl TfliteModel {
    /// Writes the model (graph, description and signature); see [`write_tflite_model`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, TfliteError> {
        write_tflite_model(self)
    }
}
