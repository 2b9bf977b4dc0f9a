//! Per-op preparation and execution. Each op file implements [`Prepare`] for its IR op struct;
//! preparation returns a [`Kernel`] holding everything resolved once (packed weights, windows,
//! slice specs), and the kernel's [`Kernel::run`] only computes.

use crate::value::Elem;
use crate::{InterpError, TensorData, TensorValue};
use edgequant_ir::{Activation, DType, Graph, Node, Op, QuantParams, Tensor, TensorId};
use edgequant_kernels::float::{self as kf, Clamp};
use edgequant_kernels::Parallelism;
use std::sync::Arc;

mod add;
mod average_pool2d;
mod batch_matmul;
mod binary;
mod concatenation;
mod conv2d;
mod depthwise_conv2d;
mod dequantize;
mod div;
mod exp;
mod fully_connected;
mod gather;
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
mod unary;

/// Preparation of one IR op: validate operands, resolve attributes against the static shapes,
/// convert and pack constants. Runs once per node in [`crate::Interpreter::new`].
pub(crate) trait Prepare {
    fn prepare(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError>;
}

/// A prepared node. `run` reads its inputs from `io` and sets every output.
pub(crate) trait Kernel: Send + Sync {
    /// Whether `run` reads operand `input` (operands folded into the kernel at preparation,
    /// such as packed weights, are not read and need not be kept alive).
    fn reads(&self, input: usize) -> bool {
        let _ = input;
        true
    }
    /// Executes the node. Errors are reported with the node's name by the caller.
    fn run(&self, io: &mut Io<'_>) -> Result<(), String>;
    /// For an 8-bit element-wise step that is a per-channel table of its one run-time operand:
    /// the table and that operand's index (lets the interpreter compose consecutive steps).
    fn channel_lut(&self) -> Option<(&edgequant_kernels::int::channel_lut::ChannelLut8, usize)> {
        None
    }
    /// For a step that can be part of a float island (8-bit DEQUANTIZE → float element-wise
    /// op with per-channel constants → QUANTIZE back to the same 8-bit type, see
    /// `interpreter/fuse.rs`): its role there.
    fn float_stage(&self) -> Option<FloatStage<'_>> {
        None
    }
}

/// The role of a step in a float island (see [`Kernel::float_stage`]).
pub(crate) enum FloatStage<'a> {
    /// DEQUANTIZE of an 8-bit tensor with per-tensor parameters.
    Dequantize {
        from: DType,
        scale: f32,
        zero_point: i32,
    },
    /// A float op whose result at each element depends only on that element's value of
    /// run-time operand `operand` and its channel (the element's flat index modulo
    /// `channels`).
    ChannelMap {
        operand: usize,
        channels: usize,
        map: &'a dyn ChannelMapF32,
    },
    /// QUANTIZE of a float tensor to 8 bits with per-tensor parameters.
    Quantize {
        to: DType,
        scale: f32,
        zero_point: i32,
    },
}

/// The element map of a [`FloatStage::ChannelMap`] step.
pub(crate) trait ChannelMapF32 {
    /// Applies the op in place to `x`, row-major `[x.len() / channels, channels]`, with
    /// exactly the arithmetic `run` uses for elements of those channels.
    fn map_rows(&self, x: &mut [f32]) -> Result<(), String>;
}

/// Prepares `ctx.node` by dispatching on its op.
pub(crate) fn prepare(ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError> {
    if let Some(k) = crate::int::prepare(ctx) {
        return k;
    }
    #[allow(unreachable_patterns)]
    match &ctx.node.op {
        Op::Conv2d(o) => o.prepare(ctx),
        Op::DepthwiseConv2d(o) => o.prepare(ctx),
        Op::TransposeConv(o) => o.prepare(ctx),
        Op::FullyConnected(o) => o.prepare(ctx),
        Op::Add(o) => o.prepare(ctx),
        Op::Sub(o) => o.prepare(ctx),
        Op::Mul(o) => o.prepare(ctx),
        Op::Div(o) => o.prepare(ctx),
        Op::Maximum(o) => o.prepare(ctx),
        Op::Minimum(o) => o.prepare(ctx),
        Op::Pow(o) => o.prepare(ctx),
        Op::Relu(o) => o.prepare(ctx),
        Op::Relu6(o) => o.prepare(ctx),
        Op::ReluN1To1(o) => o.prepare(ctx),
        Op::LeakyRelu(o) => o.prepare(ctx),
        Op::Prelu(o) => o.prepare(ctx),
        Op::Logistic(o) => o.prepare(ctx),
        Op::Tanh(o) => o.prepare(ctx),
        Op::HardSwish(o) => o.prepare(ctx),
        Op::Sqrt(o) => o.prepare(ctx),
        Op::Exp(o) => o.prepare(ctx),
        Op::Softmax(o) => o.prepare(ctx),
        Op::MaxPool2d(o) => o.prepare(ctx),
        Op::AveragePool2d(o) => o.prepare(ctx),
        Op::Mean(o) => o.prepare(ctx),
        Op::Pad(o) => o.prepare(ctx),
        Op::Reshape(o) => o.prepare(ctx),
        Op::Transpose(o) => o.prepare(ctx),
        Op::Concatenation(o) => o.prepare(ctx),
        Op::StridedSlice(o) => o.prepare(ctx),
        Op::Squeeze(o) => o.prepare(ctx),
        Op::ResizeBilinear(o) => o.prepare(ctx),
        Op::ResizeNearestNeighbor(o) => o.prepare(ctx),
        Op::Dequantize(o) => o.prepare(ctx),
        Op::Quantize(o) => o.prepare(ctx),
        Op::Shape(o) => o.prepare(ctx),
        Op::Pack(o) => o.prepare(ctx),
        Op::Gather(o) => o.prepare(ctx),
        Op::BatchMatMul(o) => o.prepare(ctx),
        _ => Err(ctx.unsupported("the float interpreter has no kernel for this op yet")),
    }
}

/// What a node's preparation can see: the graph, the node, and the values of constant tensors
/// (graph constants and outputs of folded nodes).
pub(crate) struct Ctx<'g> {
    pub graph: &'g Graph,
    pub node: &'g Node,
    pub consts: &'g [Option<Arc<TensorValue>>],
}

impl<'g> Ctx<'g> {
    /// An [`InterpError::Prepare`] for this node.
    pub fn err(&self, reason: impl Into<String>) -> InterpError {
        InterpError::Prepare {
            node: self.node.name.clone(),
            op: self.node.op.name().to_string(),
            reason: reason.into(),
        }
    }

    /// An [`InterpError::Unsupported`] for this node.
    pub fn unsupported(&self, reason: impl Into<String>) -> InterpError {
        InterpError::Unsupported {
            node: self.node.name.clone(),
            op: self.node.op.name().to_string(),
            reason: reason.into(),
        }
    }

    /// Id of operand `i` (`None` when omitted or out of range).
    pub fn input_id(&self, i: usize) -> Option<TensorId> {
        self.node.inputs.get(i).copied().flatten()
    }

    /// Operand `i`, if present.
    pub fn opt_input(&self, i: usize) -> Option<&'g Tensor> {
        self.input_id(i).and_then(|t| self.graph.tensors.get(t.0))
    }

    /// Operand `i`, required.
    pub fn input(&self, i: usize) -> Result<&'g Tensor, InterpError> {
        self.opt_input(i)
            .ok_or_else(|| self.err(format!("missing operand {i}")))
    }

    /// Output `i`.
    pub fn output(&self, i: usize) -> Result<&'g Tensor, InterpError> {
        self.node
            .outputs
            .get(i)
            .and_then(|t| self.graph.tensors.get(t.0))
            .ok_or_else(|| self.err(format!("missing output {i}")))
    }

    /// The constant value of operand `i`, if it is constant.
    pub fn const_value(&self, i: usize) -> Option<&'g TensorValue> {
        self.input_id(i)
            .and_then(|t| self.consts.get(t.0))
            .and_then(|c| c.as_deref())
    }

    /// Requires operand `i` to be a float32 activation (integer activations belong to the
    /// integer interpreter).
    pub fn float_input(&self, i: usize) -> Result<&'g Tensor, InterpError> {
        let t = self.input(i)?;
        if t.dtype != DType::F32 {
            return Err(self.unsupported(format!(
                "operand {i} ('{}') is {}; only float32 is supported here ({} activations need the integer interpreter)",
                t.name, t.dtype, t.dtype
            )));
        }
        Ok(t)
    }

    /// Requires output `i` to be float32.
    pub fn float_output(&self, i: usize) -> Result<&'g Tensor, InterpError> {
        let t = self.output(i)?;
        if t.dtype != DType::F32 {
            return Err(self.unsupported(format!(
                "output '{}' is {}; only float32 is supported here",
                t.name, t.dtype
            )));
        }
        Ok(t)
    }

    /// The value of constant operand `i` converted to float32: float32 as is, float16
    /// widened, integer types dequantized with the tensor's quantization parameters.
    /// `Ok(None)` when the operand is absent or not constant.
    pub fn const_f32(&self, i: usize) -> Result<Option<Vec<f32>>, InterpError> {
        let Some(v) = self.const_value(i) else {
            return Ok(None);
        };
        let t = self.input(i)?;
        to_f32(v, t.quant.as_ref())
            .map(Some)
            .map_err(|e| self.unsupported(format!("constant operand {i} ('{}'): {e}", t.name)))
    }

    /// Like [`Ctx::const_f32`] but the operand must be present and constant.
    pub fn require_const_f32(&self, i: usize, what: &str) -> Result<Vec<f32>, InterpError> {
        let t = self.input(i)?;
        self.const_f32(i)?.ok_or_else(|| {
            self.unsupported(format!(
                "{what} '{}' must be a constant (run-time {what} are not supported)",
                t.name
            ))
        })
    }

    /// The operands as IR tensors with the data of folded constants attached, for the IR's
    /// inference helpers.
    pub fn ir_operands(&self) -> Vec<Option<Tensor>> {
        (0..self.node.inputs.len())
            .map(|i| {
                let t = self.opt_input(i)?;
                let mut t = t.clone();
                if t.data.is_none() {
                    if let Some(v) = self.const_value(i) {
                        t.data = Some(v.to_bytes().into());
                    }
                }
                Some(t)
            })
            .collect()
    }

    /// Re-infers the node's output types (with folded constants visible) and compares them
    /// with the stored output tensors, so kernels can trust the static shapes.
    pub fn check_types(&self) -> Result<(), InterpError> {
        let ops = self.ir_operands();
        let refs: Vec<Option<&Tensor>> = ops.iter().map(Option::as_ref).collect();
        let types = self.node.op.infer(&refs).map_err(|e| self.err(e))?;
        if types.len() != self.node.outputs.len() {
            return Err(self.err(format!(
                "has {} outputs, the op defines {}",
                self.node.outputs.len(),
                types.len()
            )));
        }
        for (k, ty) in types.iter().enumerate() {
            let t = self.output(k)?;
            if t.dtype != ty.dtype || t.shape != ty.shape {
                return Err(self.err(format!(
                    "output '{}' is {} {:?} but the op infers {} {:?}",
                    t.name, t.dtype, t.shape, ty.dtype, ty.shape
                )));
            }
        }
        Ok(())
    }

    /// Requires the quantization parameters of operand `i` and output `o` to be equal (for
    /// data-movement ops on quantized tensors, which would otherwise need requantization).
    pub fn same_quant(&self, i: usize, o: usize) -> Result<(), InterpError> {
        let (x, y) = (self.input(i)?, self.output(o)?);
        if x.dtype.is_float() || x.quant == y.quant {
            return Ok(());
        }
        Err(self.unsupported(format!(
            "input '{}' and output '{}' have different quantization parameters; requantization needs the integer interpreter",
            x.name, y.name
        )))
    }
}

/// Converts a constant to float32 (see [`Ctx::const_f32`]).
pub(crate) fn to_f32(v: &TensorValue, q: Option<&QuantParams>) -> Result<Vec<f32>, String> {
    let deq = |f: &dyn Fn(&QuantParams, &mut [f32]) -> edgequant_kernels::Result<()>| {
        let q = q.ok_or("integer constant without quantization parameters")?;
        let mut out = vec![0.0; v.data.len()];
        f(q, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    };
    fn go<T: kf::QuantInt>(
        x: &[T],
        shape: &[usize],
        q: &QuantParams,
        out: &mut [f32],
    ) -> edgequant_kernels::Result<()> {
        match (q.axis, q.is_per_tensor()) {
            (Some(axis), false) => {
                kf::dequantize_per_channel(x, shape, axis, &q.scale, &q.zero_point, out)
            }
            _ => kf::dequantize(x, q.scale[0], q.zero_point[0], out),
        }
    }
    match &v.data {
        TensorData::F32(x) => Ok(x.clone()),
        TensorData::F16(x) => Ok(x.iter().map(|h| h.to_f32()).collect()),
        TensorData::I8(x) => deq(&|q, o| go(x, &v.shape, q, o)),
        TensorData::U8(x) => deq(&|q, o| go(x, &v.shape, q, o)),
        TensorData::I16(x) => deq(&|q, o| go(x, &v.shape, q, o)),
        TensorData::I32(x) => deq(&|q, o| go(x, &v.shape, q, o)),
        other => Err(format!(
            "{} constants cannot feed a float op",
            other.dtype()
        )),
    }
}

/// A fused activation split into a clamp (applied by the kernel) and a trailing tanh.
pub(crate) fn fused(act: Activation) -> (Clamp, bool) {
    match act {
        Activation::None => (Clamp::NONE, false),
        Activation::Relu => (Clamp::RELU, false),
        Activation::Relu6 => (Clamp::RELU6, false),
        Activation::ReluN1To1 => (Clamp::RELU_N1_TO_1, false),
        Activation::Tanh => (Clamp::NONE, true),
    }
}

/// Applies a trailing fused tanh.
pub(crate) fn apply_tanh(data: &mut [f32], tanh: bool) {
    if tanh {
        kf::unary_in_place(kf::UnaryOp::Tanh, data);
    }
}

/// A rank-4 shape as an array.
pub(crate) fn nhwc(ctx: &Ctx<'_>, t: &Tensor) -> Result<[usize; 4], InterpError> {
    <[usize; 4]>::try_from(t.shape.as_slice()).map_err(|_| {
        ctx.err(format!(
            "'{}' must be rank 4 (NHWC), got {:?}",
            t.name, t.shape
        ))
    })
}

/// Maps a kernel error into the node-level error string.
pub(crate) fn kerr(e: edgequant_kernels::KernelError) -> String {
    e.to_string()
}

/// One operand slot at run time.
pub(crate) enum Slot<'a> {
    /// Absent, or not read by the kernel.
    None,
    /// Borrowed (a constant, or a value still needed later).
    Ref(&'a TensorValue),
    /// Owned: this is the value's last use, the kernel may reuse its buffer.
    Owned(TensorValue),
}

/// The operands of a running node.
pub(crate) struct Inputs<'a> {
    pub slots: Vec<Slot<'a>>,
}

impl<'a> Inputs<'a> {
    /// Operand `i`.
    pub fn get(&self, i: usize) -> Result<&TensorValue, String> {
        match self.slots.get(i) {
            Some(Slot::Ref(v)) => Ok(v),
            Some(Slot::Owned(v)) => Ok(v),
            _ => Err(format!("operand {i} has no value")),
        }
    }

    /// Operand `i` as float32 data.
    pub fn f32(&self, i: usize) -> Result<&[f32], String> {
        let v = self.get(i)?;
        v.as_f32()
            .ok_or_else(|| format!("operand {i} is {}, expected float32", v.dtype()))
    }

    /// Operand `i` as `T` data.
    pub fn typed<T: Elem>(&self, i: usize) -> Result<&[T], String> {
        let v = self.get(i)?;
        T::slice(&v.data).ok_or_else(|| format!("operand {i} has unexpected type {}", v.dtype()))
    }

    /// Takes operand `i` if this is its last use (the kernel may then reuse its buffer).
    pub fn take(&mut self, i: usize) -> Option<TensorValue> {
        let slot = self.slots.get_mut(i)?;
        if !matches!(slot, Slot::Owned(_)) {
            return None;
        }
        match std::mem::replace(slot, Slot::None) {
            Slot::Owned(v) => Some(v),
            _ => None,
        }
    }

    /// Takes operand `i` as a float32 buffer when it is owned and float32.
    pub fn take_f32(&mut self, i: usize) -> Option<Vec<f32>> {
        let v = self.take(i)?;
        match v.data {
            TensorData::F32(d) => Some(d),
            other => {
                // Not float: put it back.
                if let Some(slot) = self.slots.get_mut(i) {
                    *slot = Slot::Owned(TensorValue {
                        shape: v.shape,
                        data: other,
                    });
                }
                None
            }
        }
    }
}

/// Inputs, outputs and buffers of a running node.
pub(crate) struct Io<'a> {
    pub ins: Inputs<'a>,
    pub outs: Vec<Option<TensorValue>>,
    pub pool: &'a mut crate::pool::Pool,
    pub par: Parallelism,
}

impl Io<'_> {
    /// Sets output `i`.
    pub fn set(&mut self, i: usize, shape: &[usize], data: TensorData) {
        if let Some(slot) = self.outs.get_mut(i) {
            *slot = Some(TensorValue {
                shape: shape.to_vec(),
                data,
            });
        }
    }

    /// Sets float32 output `i`.
    pub fn set_f32(&mut self, i: usize, shape: &[usize], data: Vec<f32>) {
        self.set(i, shape, TensorData::F32(data));
    }
}
