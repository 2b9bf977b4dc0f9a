//! The closed set of operators. Each op is a struct with typed attributes in its own module and
//! implements [`OpDef`] (name and shape inference). Operand orders follow TFLite's builtin ops.

use crate::{Tensor, TensorType};

mod common;
pub use batch_matmul::batch_matmul_dims;
pub use common::{broadcast_shapes, Activation, Padding};
pub use common::{normalize_axis, Window};
pub use mean::reduce_axes;
pub use pad::pad_amounts;
pub use reshape::resolve_shape;
pub use strided_slice::SliceAxis;
pub use transpose::permutation;

/// Shape and type inference for one op.
pub trait OpDef {
    /// Upper-case op name (TFLite builtin spelling where one exists).
    const NAME: &'static str;
    /// Output types from the input tensors (`None` for an omitted optional operand). Constant
    /// operands carry their data. Errors describe the problem without the node name, which the
    /// caller adds.
    fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String>;
}

macro_rules! declare_ops {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(mod $module; pub use $module::$ty;)*

        /// One operator with its attributes.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Op {
            $($ty($ty),)*
        }

        impl Op {
            /// The op's name (see [`OpDef::NAME`]).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$ty(_) => <$ty as OpDef>::NAME,)*
                }
            }

            /// Output types from input tensors (see [`OpDef::infer`]).
            pub fn infer(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
                match self {
                    $(Op::$ty(o) => o.infer(inputs),)*
                }
            }
        }

        $(impl From<$ty> for Op {
            fn from(o: $ty) -> Op {
                Op::$ty(o)
            }
        })*
    };
}

declare_ops! {
    conv2d::Conv2d,
    depthwise_conv2d::DepthwiseConv2d,
    transpose_conv::TransposeConv,
    fully_connected::FullyConnected,
    add::Add,
    sub::Sub,
    mul::Mul,
    div::Div,
    maximum::Maximum,
    minimum::Minimum,
    relu::Relu,
    relu6::Relu6,
    relu_n1_to_1::ReluN1To1,
    leaky_relu::LeakyRelu,
    prelu::Prelu,
    logistic::Logistic,
    tanh::Tanh,
    hard_swish::HardSwish,
    softmax::Softmax,
    max_pool2d::MaxPool2d,
    average_pool2d::AveragePool2d,
    mean::Mean,
    pad::Pad,
    reshape::Reshape,
    transpose::Transpose,
    concatenation::Concatenation,
    strided_slice::StridedSlice,
    squeeze::Squeeze,
    resize_bilinear::ResizeBilinear,
    resize_nearest_neighbor::ResizeNearestNeighbor,
    dequantize::Dequantize,
    quantize::Quantize,
    shape::Shape,
    pack::Pack,
    sqrt::Sqrt,
    exp::Exp,
    pow::Pow,
    gather::Gather,
    batch_matmul::BatchMatMul,
}
