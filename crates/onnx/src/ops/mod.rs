//! Converters from ONNX nodes to IR ops, one file per op family, and the registry that maps
//! ONNX op types (default domain) to them.

mod activation;
mod common;
mod constant;
mod conv;
mod elementwise;
mod matmul;
mod norm;
mod pad;
mod pool;
mod reduce;
mod resize;
mod shape;
mod softmax;

use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;

/// Converts one node; returns the values of its outputs in order (trailing optional outputs
/// may be left out).
pub(crate) type Convert = fn(&mut Ctx, &NodeView) -> Result<Vec<Value>>;

/// Every supported ONNX op type with its converter.
pub(crate) const REGISTRY: &[(&str, Convert)] = &[
    // conv.rs
    ("Conv", conv::conv),
    ("ConvTranspose", conv::conv_transpose),
    // norm.rs
    ("BatchNormalization", norm::batch_norm),
    // activation.rs
    ("Relu", activation::relu),
    ("Clip", activation::clip),
    ("LeakyRelu", activation::leaky_relu),
    ("PRelu", activation::prelu),
    ("Sigmoid", activation::sigmoid),
    ("HardSigmoid", activation::hard_sigmoid),
    ("HardSwish", activation::hard_swish),
    ("Tanh", activation::tanh),
    // elementwise.rs
    ("Add", elementwise::add),
    ("Sub", elementwise::sub),
    ("Mul", elementwise::mul),
    ("Div", elementwise::div),
    ("Pow", elementwise::pow),
    ("Sqrt", elementwise::sqrt),
    ("Exp", elementwise::exp),
    ("Max", elementwise::max),
    ("Min", elementwise::min),
    ("Sum", elementwise::sum),
    ("Neg", elementwise::neg),
    ("Reciprocal", elementwise::reciprocal),
    // pool.rs
    ("MaxPool", pool::max_pool),
    ("AveragePool", pool::average_pool),
    ("GlobalAveragePool", pool::global_average_pool),
    ("GlobalMaxPool", pool::global_max_pool),
    // matmul.rs
    ("Gemm", matmul::gemm),
    ("MatMul", matmul::matmul),
    // shape.rs
    ("Flatten", shape::flatten),
    ("Reshape", shape::reshape),
    ("Transpose", shape::transpose),
    ("Concat", shape::concat),
    ("Squeeze", shape::squeeze),
    ("Unsqueeze", shape::unsqueeze),
    ("Slice", shape::slice),
    ("Split", shape::split),
    ("Gather", shape::gather),
    ("Identity", shape::identity),
    ("Dropout", shape::dropout),
    ("Shape", shape::shape),
    ("Size", shape::size),
    ("Cast", shape::cast),
    ("Expand", shape::expand),
    // constant.rs (evaluated at import time)
    ("Constant", constant::constant),
    ("ConstantOfShape", constant::needs_constants),
    ("Range", constant::needs_constants),
    ("Equal", constant::needs_constants),
    ("Where", constant::needs_constants),
    ("Floor", constant::needs_constants),
    ("Ceil", constant::needs_constants),
    ("ReduceProd", constant::needs_constants),
    // softmax.rs
    ("Softmax", softmax::softmax),
    // resize.rs
    ("Resize", resize::resize),
    ("Upsample", resize::upsample),
    // pad.rs
    ("Pad", pad::pad),
    // reduce.rs
    ("ReduceMean", reduce::reduce_mean),
];

/// The converter for an op type of the default domain.
pub(crate) fn lookup(op: &str) -> Option<Convert> {
    REGISTRY
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(_, f)| *f)
}
