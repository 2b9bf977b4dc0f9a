//! Float32 kernels. One file per op; each optimized kernel has a `*_ref` twin.

mod activation;
mod average_pool2d;
mod batch_matmul;
mod binary;
mod broadcast;
mod concatenation;
mod conv2d;
mod depthwise_conv2d;
mod dequantize;
mod fully_connected;
mod gather;
mod gemm;
mod max_pool2d;
mod mean;
mod pack;
mod pad;
mod pool;
mod prelu;
mod quantize;
mod reshape;
mod resize_bilinear;
mod resize_nearest_neighbor;
mod scratch;
mod shape;
mod simd;
mod softmax;
mod squeeze;
mod strided_slice;
mod transpose;
mod transpose_conv;
mod unary;

pub use activation::{clamp_in_place, Clamp};
pub use average_pool2d::{average_pool2d, average_pool2d_ref};
pub use batch_matmul::{batch_matmul, batch_matmul_ref};
pub use binary::{binary, binary_assign_lhs, binary_assign_rhs, binary_ref, BinaryOp};
pub use concatenation::{concatenation, concatenation_ref};
pub use conv2d::{conv2d, conv2d_ref, Conv2dParams, Conv2dWeights};
pub use depthwise_conv2d::{depthwise_conv2d, depthwise_conv2d_ref, DepthwiseConv2dParams};
pub use dequantize::{dequantize, dequantize_f16, dequantize_per_channel};
pub use fully_connected::{fully_connected, fully_connected_ref, FullyConnectedWeights};
pub use gather::gather;
pub use gemm::{matmul, matmul_ref};
pub use max_pool2d::{max_pool2d, max_pool2d_ref};
pub use mean::{mean, mean_ref};
pub use pack::pack;
pub use pad::{pad, pad_ref};
pub use pool::Pool2dParams;
pub use prelu::{prelu, prelu_in_place, prelu_ref};
pub use quantize::{quantize, quantize_per_channel, QuantInt};
pub use reshape::reshape;
pub use resize_bilinear::{resize_bilinear, resize_bilinear_ref, ResizeParams};
pub use resize_nearest_neighbor::{resize_nearest_neighbor, resize_nearest_neighbor_ref};
pub use shape::{shape_i32, shape_i64};
pub use softmax::{softmax, softmax_ref};
pub use squeeze::squeeze;
pub use strided_slice::{strided_slice, strided_slice_ref, SliceAxis};
pub use transpose::{transpose, transpose_ref};
pub use transpose_conv::{
    transpose_conv, transpose_conv_ref, TransposeConvParams, TransposeConvWeights,
};
pub use unary::{unary, unary_in_place, unary_ref, UnaryOp};

#[cfg(test)]
pub(crate) mod testutil;
