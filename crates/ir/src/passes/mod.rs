//! Generic graph passes. Format- and quantization-specific passes live in their crates.

mod dead_code;
pub use dead_code::DeadCode;
