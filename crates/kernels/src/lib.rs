//! edgequant kernels: pure functions on slices, no graph.
//!
//! [`float`] holds the float32 kernels (and the float ↔ integer conversions QUANTIZE and
//! DEQUANTIZE). Layout is NHWC; convolution weights are OHWI and depthwise weights
//! `[1, KH, KW, C × M]`, as in TFLite.
//!
//! Every optimized kernel (threaded, cache-tiled, SIMD-dispatched) has a plain reference twin
//! named `*_ref` that follows TFLite's reference loops, and a property test comparing the two.
//! Kernels never panic on their inputs: slice lengths and parameters are checked and reported
//! as [`KernelError`]s.

mod error;
pub mod float;
pub mod int;

pub use error::KernelError;

/// Whether a kernel may split its work over rayon's global thread pool.
///
/// Kernels only go parallel when the work is large enough to pay for the synchronisation, so
/// [`Parallelism::Rayon`] is a permission, not an order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// Run on the calling thread.
    None,
    /// May use rayon's global pool.
    #[default]
    Rayon,
}

impl Parallelism {
    /// Number of threads the kernel may use.
    pub fn threads(self) -> usize {
        match self {
            Parallelism::None => 1,
            Parallelism::Rayon => rayon::current_num_threads().max(1),
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
