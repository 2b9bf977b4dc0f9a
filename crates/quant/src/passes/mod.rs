//! Graph passes used before and during quantization.

mod fold_dequantize;
pub use fold_dequantize::FoldConstantDequantize;
