//! edgequant interpreter: plans and runs an IR [`Graph`](edgequant_ir::Graph).
//!
//! [`Interpreter::new`] validates the graph, orders the nodes topologically and **prepares**
//! every node once (TFLite Micro style): constant weights are converted to float32 (including
//! float16 constants behind DEQUANTIZE and int8 constants with quantization parameters),
//! packed for the GEMM, padding windows and strided-slice specs are resolved, nodes whose
//! inputs are all constant are folded, consecutive 8-bit element-wise steps by per-channel
//! constants (an unfolded batch norm's MUL and ADD) are composed into one table lookup, and
//! buffer lifetimes are computed.
//! [`Interpreter::run`] then only executes the prepared kernels, freeing every intermediate
//! buffer after its last use (freed buffers are reused by later nodes and later runs).
//!
//! [`Interpreter::run_with_hook`] reports every tensor computed at run time (for calibration),
//! except the intermediates of composed steps.
//!
//! Scope of the float path (`ops`): float32 graphs, plus QUANTIZE (float → int8/uint8/int16)
//! and DEQUANTIZE (int8/uint8/int16/int32/float16 → float). Data-movement ops (reshape,
//! squeeze, transpose, pad, concatenation, strided slice, pack, nearest resize, shape) accept
//! any element type as long as input and output quantization parameters agree. Nodes with
//! integer activations, and dynamic-range (hybrid) nodes, are claimed first by the integer path
//! (`int`); an op neither path runs fails with [`InterpError::Unsupported`] naming the node.

mod error;
mod int;
mod interpreter;
mod ops;
mod pool;
mod value;

pub use edgequant_kernels::Parallelism;
pub use error::InterpError;
pub use interpreter::{Interpreter, MemoryPlan, StagedRun};
pub use value::{TensorData, TensorValue};
