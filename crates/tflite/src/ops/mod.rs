//! The two-way op registry: one file per IR op, each declaring how a TFLite builtin operator
//! (code + options) becomes an [`Op`] and back, and which operator version the TFLite converter
//! would record for it.
//!
//! Lookups go both ways: [`by_code`] (reader) and [`by_ir_name`] (writer). Several builtin codes
//! may read into one IR op (PAD and PADV2 both read as [`edgequant_ir::ops::Pad`]); the writer
//! uses the codec registered first for an IR op, which picks the code itself.

use crate::schema as fb;
use crate::TfliteError;
use edgequant_ir::{Activation, DType, Graph, Node, Op, Padding, Tensor, TensorId};
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use std::ops::RangeInclusive;

mod add;
mod average_pool2d;
mod concatenation;
mod conv2d;
mod depthwise_conv2d;
mod dequantize;
mod div;
mod exp;
mod fully_connected;
mod hard_swish;
mod leaky_relu;
mod logistic;
mod max_pool2d;
mod maximum;
mod mean;
mod minimum;
mod mul;
mod pack;
mod pad;
mod pow;
mod prelu;
mod quantize;
mod relu;
mod relu6;
mod relu_n1_to_1;
mod reshape;
mod resize_bilinear;
mod resize_nearest_neighbor;
mod shape;
mod softmax;
mod sqrt;
mod squeeze;
mod strided_slice;
mod sub;
mod tanh;
mod transpose;
mod transpose_conv;

/// Reader side of an op: builds the IR op from the operator. May rewrite `ctx.inputs` and add
/// tensors (used by custom ops that map onto a builtin with an extra constant operand).
pub(crate) type ReadFn = fn(&mut ReadCtx<'_, '_>) -> Result<Op, TfliteError>;

/// Writer side of an op: builtin code, options and version for a node.
pub(crate) type WriteFn =
    for<'fbb> fn(&WriteCtx<'_>, &mut FlatBufferBuilder<'fbb>) -> Result<Encoded, TfliteError>;

/// One registry entry.
pub(crate) struct OpCodec {
    /// The builtin operator this entry reads.
    pub code: fb::BuiltinOperator,
    /// Allowed operand counts (TFLite counts omitted `-1` operands); every op has one result.
    pub inputs: RangeInclusive<usize>,
    /// The IR op ([`edgequant_ir::ops::OpDef::NAME`]) it produces and writes.
    pub ir_name: &'static str,
    /// Reader.
    pub read: ReadFn,
    /// Writer (`None` for read-only aliases such as PADV2, written by PAD's writer).
    pub write: Option<WriteFn>,
}

/// A supported custom operator (read only: it is written as the builtin it maps to).
pub(crate) struct CustomCodec {
    /// The operator code's `custom_code`.
    pub custom_code: &'static str,
    /// Allowed operand counts.
    pub inputs: RangeInclusive<usize>,
    /// Reader.
    pub read: ReadFn,
}

/// Every supported builtin, in builtin-code order.
static BUILTINS: &[OpCodec] = &[
    add::CODEC,
    average_pool2d::CODEC,
    concatenation::CODEC,
    conv2d::CODEC,
    depthwise_conv2d::CODEC,
    dequantize::CODEC,
    fully_connected::CODEC,
    logistic::CODEC,
    max_pool2d::CODEC,
    mul::CODEC,
    relu::CODEC,
    relu_n1_to_1::CODEC,
    relu6::CODEC,
    reshape::CODEC,
    resize_bilinear::CODEC,
    softmax::CODEC,
    tanh::CODEC,
    pad::PAD,
    transpose::CODEC,
    mean::CODEC,
    sub::CODEC,
    div::CODEC,
    squeeze::CODEC,
    strided_slice::CODEC,
    exp::CODEC,
    prelu::CODEC,
    maximum::CODEC,
    minimum::CODEC,
    pad::PADV2,
    transpose_conv::CODEC,
    sqrt::CODEC,
    shape::CODEC,
    pow::CODEC,
    pack::CODEC,
    resize_nearest_neighbor::CODEC,
    leaky_relu::CODEC,
    quantize::CODEC,
    hard_swish::CODEC,
];

/// Supported custom operators.
static CUSTOMS: &[CustomCodec] = &[transpose_conv::CONV2D_TRANSPOSE_BIAS];

/// The codec reading builtin `code`.
pub(crate) fn by_code(code: i32) -> Option<&'static OpCodec> {
    BUILTINS.iter().find(|c| c.code.0 == code)
}

/// The codec writing IR op `name`.
pub(crate) fn by_ir_name(name: &str) -> Option<&'static OpCodec> {
    BUILTINS
        .iter()
        .find(|c| c.ir_name == name && c.write.is_some())
}

/// The codec reading custom op `custom_code`.
pub(crate) fn by_custom_code(custom_code: &str) -> Option<&'static CustomCodec> {
    CUSTOMS.iter().find(|c| c.custom_code == custom_code)
}

/// All supported builtins as `(TFLite builtin name, IR op name)` pairs, in builtin-code order.
pub fn supported_builtins() -> Vec<(&'static str, &'static str)> {
    BUILTINS
        .iter()
        .map(|c| (c.code.variant_name().unwrap_or("?"), c.ir_name))
        .collect()
}

/// The TFLite builtin operator name of a builtin code (`None` for codes unknown to the schema).
pub fn builtin_name(code: i32) -> Option<&'static str> {
    fb::BuiltinOperator(code).variant_name()
}

/// The builtin name edgequant writes for IR op `ir_name` (`None` when it cannot be written).
/// PAD is reported for [`edgequant_ir::ops::Pad`] (PADV2 is written when a pad value is given).
pub fn builtin_for_ir_op(ir_name: &str) -> Option<&'static str> {
    by_ir_name(ir_name).and_then(|c| c.code.variant_name())
}

// ---------------------------------------------------------------------------------------------
// Reader context

/// What an op reader sees: the flatbuffer operator, its resolved operands, and the tensors read
/// so far (all of the subgraph's tensors, plus any added by custom-op readers).
pub(crate) struct ReadCtx<'a, 'b> {
    /// Operator index in the subgraph.
    pub index: usize,
    /// Builtin name for messages.
    pub op_name: String,
    /// The flatbuffer operator.
    pub op: fb::Operator<'a>,
    /// Operands (`None` for -1); readers may rewrite them.
    pub inputs: Vec<Option<TensorId>>,
    /// Results.
    pub outputs: Vec<TensorId>,
    /// All tensors; readers may append.
    pub tensors: &'b mut Vec<Tensor>,
}

impl ReadCtx<'_, '_> {
    /// Name of the first output tensor.
    pub fn output_name(&self) -> String {
        self.outputs
            .first()
            .and_then(|t| self.tensors.get(t.0))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    /// An [`TfliteError::Operator`] for this operator.
    pub fn err(&self, reason: impl Into<String>) -> TfliteError {
        TfliteError::Operator {
            index: self.index,
            op: self.op_name.clone(),
            output: self.output_name(),
            reason: reason.into(),
        }
    }

    /// Error for a missing options table.
    pub fn missing(&self, table: &str) -> TfliteError {
        self.err(format!("missing builtin options {table}"))
    }

    /// The `i`-th operand tensor, if present.
    pub fn input(&self, i: usize) -> Option<&Tensor> {
        self.inputs
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| self.tensors.get(t.0))
    }

    /// The `i`-th result tensor.
    pub fn output(&self, i: usize) -> Option<&Tensor> {
        self.outputs.get(i).and_then(|t| self.tensors.get(t.0))
    }

    /// A strictly positive int32 attribute as `usize`.
    pub fn positive(&self, v: i32, field: &str) -> Result<usize, TfliteError> {
        usize::try_from(v)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| self.err(format!("{field} = {v} must be positive")))
    }

    /// Normalizes a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i32, rank: usize, field: &str) -> Result<usize, TfliteError> {
        let r = i64::try_from(rank).unwrap_or(i64::MAX);
        let a = i64::from(axis);
        let n = if a < 0 { a + r } else { a };
        if n < 0 || n >= r {
            return Err(self.err(format!("{field} {axis} out of range for rank {rank}")));
        }
        usize::try_from(n).map_err(|_| self.err(format!("{field} {axis} out of range")))
    }

    /// Rank of operand `i` (0 when absent).
    pub fn input_rank(&self, i: usize) -> usize {
        self.input(i).map_or(0, |t| t.shape.len())
    }

    /// The fused activation.
    pub fn activation(&self, a: fb::ActivationFunctionType) -> Result<Activation, TfliteError> {
        Ok(match a {
            fb::ActivationFunctionType::NONE => Activation::None,
            fb::ActivationFunctionType::RELU => Activation::Relu,
            fb::ActivationFunctionType::RELU_N1_TO_1 => Activation::ReluN1To1,
            fb::ActivationFunctionType::RELU6 => Activation::Relu6,
            fb::ActivationFunctionType::TANH => Activation::Tanh,
            other => {
                return Err(self.err(format!(
                    "unsupported fused activation {}",
                    other
                        .variant_name()
                        .map_or_else(|| other.0.to_string(), str::to_string)
                )))
            }
        })
    }

    /// SAME / VALID padding.
    pub fn padding(&self, p: fb::Padding) -> Result<Padding, TfliteError> {
        match p {
            fb::Padding::SAME => Ok(Padding::Same),
            fb::Padding::VALID => Ok(Padding::Valid),
            other => Err(self.err(format!("unknown padding {}", other.0))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writer context

/// What an op writer sees: the graph and the node.
pub(crate) struct WriteCtx<'g> {
    /// The graph being written.
    pub graph: &'g Graph,
    /// The node being written.
    pub node: &'g Node,
}

/// A written operator: builtin code, options union and version.
pub(crate) struct Encoded {
    pub code: fb::BuiltinOperator,
    pub options_type: fb::BuiltinOptions,
    pub options: Option<WIPOffset<UnionWIPOffset>>,
    pub version: i32,
}

impl Encoded {
    /// An operator without options.
    pub fn plain(code: fb::BuiltinOperator, version: i32) -> Self {
        Encoded {
            code,
            options_type: fb::BuiltinOptions::NONE,
            options: None,
            version,
        }
    }

    /// An operator with an options table.
    pub fn with<T>(
        code: fb::BuiltinOperator,
        options_type: fb::BuiltinOptions,
        options: WIPOffset<T>,
        version: i32,
    ) -> Self {
        Encoded {
            code,
            options_type,
            options: Some(options.as_union_value()),
            version,
        }
    }
}

impl WriteCtx<'_> {
    /// A [`TfliteError::Node`] for this node.
    pub fn err(&self, reason: impl Into<String>) -> TfliteError {
        TfliteError::Node {
            node: self.node.name.clone(),
            op: self.node.op.name().to_string(),
            reason: reason.into(),
        }
    }

    /// Error for a registry/op mismatch (a codec called for another op).
    pub fn mismatch(&self) -> TfliteError {
        self.err("internal error: op registry entry does not match the node's op")
    }

    /// The `i`-th operand tensor, if present.
    pub fn input(&self, i: usize) -> Option<&Tensor> {
        self.node
            .inputs
            .get(i)
            .copied()
            .flatten()
            .and_then(|t| self.graph.tensors.get(t.0))
    }

    /// The `i`-th result tensor.
    pub fn output(&self, i: usize) -> Option<&Tensor> {
        self.node
            .outputs
            .get(i)
            .and_then(|t| self.graph.tensors.get(t.0))
    }

    /// Dtype of operand `i`.
    pub fn in_dtype(&self, i: usize) -> Option<DType> {
        self.input(i).map(|t| t.dtype)
    }

    /// Dtype of result `i`.
    pub fn out_dtype(&self, i: usize) -> Option<DType> {
        self.output(i).map(|t| t.dtype)
    }

    /// Rank of operand `i` (0 when absent).
    pub fn in_rank(&self, i: usize) -> usize {
        self.input(i).map_or(0, |t| t.shape.len())
    }

    /// Largest operand rank.
    pub fn max_in_rank(&self) -> usize {
        (0..self.node.inputs.len())
            .map(|i| self.in_rank(i))
            .max()
            .unwrap_or(0)
    }

    /// True when the first two operands have different shapes (TFLite's
    /// `NeedBroadcastForBinaryInputs`).
    pub fn needs_broadcast(&self) -> bool {
        match (self.input(0), self.input(1)) {
            (Some(a), Some(b)) => a.shape != b.shape,
            _ => false,
        }
    }

    /// True when operand `i` has per-channel quantization (more than one scale).
    pub fn per_channel(&self, i: usize) -> bool {
        self.input(i)
            .and_then(|t| t.quant.as_ref())
            .is_some_and(|q| q.scale.len() > 1)
    }

    /// True when operand `i` carries quantization parameters.
    pub fn in_quantized(&self, i: usize) -> bool {
        self.input(i).is_some_and(|t| t.quant.is_some())
    }

    /// An attribute as int32.
    pub fn i32(&self, v: usize, field: &str) -> Result<i32, TfliteError> {
        i32::try_from(v).map_err(|_| self.err(format!("{field} = {v} does not fit in int32")))
    }

    /// SAME / VALID padding; explicit padding has no TFLite encoding.
    pub fn padding(&self, p: Padding) -> Result<fb::Padding, TfliteError> {
        match p {
            Padding::Same => Ok(fb::Padding::SAME),
            Padding::Valid => Ok(fb::Padding::VALID),
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => Err(self.err(format!(
                "explicit padding (top {top}, bottom {bottom}, left {left}, right {right}) \
                 cannot be written to TFLite; lower it to a PAD op or SAME/VALID first"
            ))),
        }
    }
}

/// TFLite encoding of a fused activation.
pub(crate) fn activation_to_fb(a: Activation) -> fb::ActivationFunctionType {
    match a {
        Activation::None => fb::ActivationFunctionType::NONE,
        Activation::Relu => fb::ActivationFunctionType::RELU,
        Activation::ReluN1To1 => fb::ActivationFunctionType::RELU_N1_TO_1,
        Activation::Relu6 => fb::ActivationFunctionType::RELU6,
        Activation::Tanh => fb::ActivationFunctionType::TANH,
    }
}

/// Version of ops whose version only depends on the first operand being int8 (2) or int16 and
/// the output int16 (3), e.g. pooling, LOGISTIC, TANH (TFLite `op_version.cc`).
pub(crate) fn version_i8_2_i16_3(ctx: &WriteCtx<'_>) -> i32 {
    match (ctx.in_dtype(0), ctx.out_dtype(0)) {
        (Some(DType::I16), Some(DType::I16)) => 3,
        (Some(DType::I8), _) => 2,
        _ => 1,
    }
}

/// Declares the codec of an attribute-free op whose builtin has no options: `$inputs` is the
/// allowed operand count, `$version` maps the write context to the operator version.
macro_rules! plain_op {
    ($code:ident, $ty:ident, $inputs:expr, $version:expr) => {
        /// Registry entry.
        pub(crate) const CODEC: $crate::ops::OpCodec = $crate::ops::OpCodec {
            code: $crate::schema::BuiltinOperator::$code,
            inputs: $inputs,
            ir_name: <edgequant_ir::ops::$ty as edgequant_ir::ops::OpDef>::NAME,
            read: |_ctx| Ok(edgequant_ir::Op::$ty(edgequant_ir::ops::$ty)),
            write: Some(|ctx, _fbb| {
                let version: fn(&$crate::ops::WriteCtx<'_>) -> i32 = $version;
                Ok($crate::ops::Encoded::plain(
                    $crate::schema::BuiltinOperator::$code,
                    version(ctx),
                ))
            }),
        };
    };
}
pub(crate) use plain_op;
