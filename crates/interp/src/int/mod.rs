//! Integer execution: int8, uint8 and int16 (16x8) activations, and dynamic-range ("hybrid")
//! nodes with float activations and int8 weights.
//!
//! [`prepare`] is consulted by the node dispatcher before the float kernels: it claims a node
//! when its activations are integers (or, for CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED,
//! when a float input meets constant int8 weights) and returns `None` otherwise, leaving the
//! node to the float path (which also runs the type-generic data-movement ops on integer
//! tensors: RESHAPE, PAD, TRANSPOSE, ...).
//!
//! Each op file follows the TFLite Micro split: preparation reads the tensors' typed
//! [`QuantParams`](edgequant_ir::QuantParams), validates them (errors name the tensor),
//! computes multipliers, shifts, clamp ranges and packed weights **once**, and the kernel's
//! `run` only calls `edgequant_kernels::int` functions on slices. The arithmetic is LiteRT's
//! reference kernels' (bit-exact); see each file for the TFLite function it follows.
//!
//! Validation common to all integer ops ([`Quant`]): integer activations need per-tensor
//! parameters with a zero point in the type's range (int16: zero point 0 where TFLite requires
//! it); weights need zero point 0 and one scale per output channel on the op's channel axis
//! (or one scale); biases need zero point 0 and `scale = input_scale × weight_scale` per
//! channel within a relative tolerance of [`BIAS_SCALE_TOLERANCE`].

use crate::ops::{Ctx, Kernel};
use crate::InterpError;
use edgequant_ir::{Activation, DType, Op, Padding, QuantParams, Tensor};
use edgequant_kernels::int::{self as ki, FusedActivation, QParams};

mod add;
mod average_pool2d;
pub(crate) mod channel_lut;
mod concatenation;
mod conv2d;
mod depthwise_conv2d;
mod fully_connected;
mod hard_swish;
mod leaky_relu;
mod logistic;
mod max_pool2d;
mod maximum;
mod mean;
mod mul;
mod prelu;
mod quantize;
mod relu;
mod resize_bilinear;
mod softmax;
mod tanh;
mod transpose_conv;

/// Relative tolerance between a bias scale and `input_scale × weight_scale`. Converters
/// compute the bias scale as that product in float or double (relative difference ≤ 1e-7);
/// anything further off means the integer bias would be added at the wrong scale.
pub(crate) const BIAS_SCALE_TOLERANCE: f64 = 1e-4;

/// Integer-interpreter preparation of one IR op.
trait IntPrepare {
    fn prepare_int(&self, ctx: &Ctx<'_>) -> Result<Box<dyn Kernel>, InterpError>;
}

/// True for the element types of quantized activations.
pub(crate) fn is_int_activation(dtype: DType) -> bool {
    matches!(dtype, DType::I8 | DType::U8 | DType::I16)
}

/// Whether operand `i` of the node is an integer activation (not a constant).
fn int_operand(ctx: &Ctx<'_>, i: usize) -> bool {
    ctx.opt_input(i)
        .is_some_and(|t| is_int_activation(t.dtype) && ctx.const_value(i).is_none())
}

/// Whether the node is a dynamic-range node: float input 0, int8 weights (operand 1).
fn hybrid(ctx: &Ctx<'_>) -> bool {
    ctx.opt_input(0).is_some_and(|t| t.dtype == DType::F32)
        && ctx.opt_input(1).is_some_and(|w| w.dtype == DType::I8)
        && ctx.output(0).is_ok_and(|o| o.dtype == DType::F32)
}

/// Prepares the node with an integer kernel when it belongs to the integer interpreter;
/// `None` leaves it to the float kernels.
pub(crate) fn prepare(ctx: &Ctx<'_>) -> Option<Result<Box<dyn Kernel>, InterpError>> {
    let int_in = int_operand(ctx, 0);
    let int_out = ctx.output(0).is_ok_and(|o| is_int_activation(o.dtype));
    let k: &dyn IntPrepare = match &ctx.node.op {
        Op::Conv2d(o) if int_in || hybrid(ctx) => o,
        Op::DepthwiseConv2d(o) if int_in || hybrid(ctx) => o,
        Op::FullyConnected(o) if int_in || hybrid(ctx) => o,
        Op::Add(o) if int_out => o,
        Op::Sub(o) if int_out => o,
        Op::Mul(o) if int_out => o,
        Op::Maximum(o) if int_out => o,
        Op::Minimum(o) if int_out => o,
        Op::MaxPool2d(o) if int_in => o,
        Op::AveragePool2d(o) if int_in => o,
        Op::Mean(o) if int_in => o,
        Op::Softmax(o) if int_in => o,
        Op::Logistic(o) if int_in => o,
        Op::Tanh(o) if int_in => o,
        Op::HardSwish(o) if int_in => o,
        Op::LeakyRelu(o) if int_in => o,
        Op::Prelu(o) if int_in => o,
        Op::Relu(o) if int_in => o,
        Op::Relu6(o) if int_in => o,
        Op::ReluN1To1(o) if int_in => o,
        Op::ResizeBilinear(o) if int_in => o,
        Op::Concatenation(o) if int_out => o,
        Op::TransposeConv(o) if int_operand(ctx, 2) => o,
        // Integer → integer requantization (float → integer is the float path's QUANTIZE).
        Op::Quantize(o) if int_in => o,
        _ => return None,
    };
    Some(k.prepare_int(ctx))
}

/// Quantization-parameter accessors with validation; every error names the tensor.
pub(crate) struct Quant<'c, 'g> {
    ctx: &'c Ctx<'g>,
}

impl<'c, 'g> Quant<'c, 'g> {
    pub fn new(ctx: &'c Ctx<'g>) -> Self {
        Self { ctx }
    }

    /// The parameters of `t`, validated against its dtype and shape.
    pub fn params(&self, t: &'g Tensor) -> Result<&'g QuantParams, InterpError> {
        let q = t.quant.as_ref().ok_or_else(|| {
            self.ctx.err(format!(
                "tensor '{}' ({}) has no quantization parameters; integer tensors need a scale and a zero point",
                t.name, t.dtype
            ))
        })?;
        q.validate(&t.name, t.dtype, &t.shape)
            .map_err(|e| self.ctx.err(e.to_string()))?;
        Ok(q)
    }

    /// Per-tensor parameters of an integer activation `t` of type `dtype`. With
    /// `symmetric16`, an int16 tensor must have zero point 0 (TFLite's 16x8 kernels).
    pub fn activation(&self, t: &'g Tensor, symmetric16: bool) -> Result<QParams, InterpError> {
        if !is_int_activation(t.dtype) {
            return Err(self.ctx.unsupported(format!(
                "tensor '{}' is {}, expected an int8, uint8 or int16 activation",
                t.name, t.dtype
            )));
        }
        let q = self.params(t)?;
        if !q.is_per_tensor() {
            return Err(self.ctx.err(format!(
                "activation tensor '{}' has {} scales; activations must be quantized per tensor",
                t.name,
                q.scale.len()
            )));
        }
        let p = QParams::new(q.scale[0], q.zero_point[0]);
        if symmetric16 && t.dtype == DType::I16 && p.zero_point != 0 {
            return Err(self.ctx.err(format!(
                "int16 activation '{}' has zero point {}; 16x8 kernels need zero point 0",
                t.name, p.zero_point
            )));
        }
        Ok(p)
    }

    /// Constant int8 weights of operand `i`: values and one scale per channel (or one scale),
    /// zero points 0, per-channel axis `axis` with `channels` entries.
    pub fn weights(
        &self,
        i: usize,
        axis: usize,
        channels: usize,
    ) -> Result<(Vec<i8>, Vec<f32>), InterpError> {
        let w = self.ctx.input(i)?;
        if w.dtype != DType::I8 {
            return Err(self.ctx.unsupported(format!(
                "weights '{}' are {}; integer kernels need int8 weights",
                w.name, w.dtype
            )));
        }
        let q = self.params(w)?;
        if let Some(z) = q.zero_point.iter().find(|&&z| z != 0) {
            return Err(self.ctx.err(format!(
                "weights '{}' have zero point {z}; int8 weights must be symmetric (zero point 0)",
                w.name
            )));
        }
        if !q.is_per_tensor() {
            if q.axis != Some(axis) {
                let along = match q.axis {
                    Some(a) => format!("along dimension {a}"),
                    None => "without a dimension".to_string(),
                };
                return Err(self.ctx.err(format!(
                    "weights '{}' are quantized per channel {along}; this op needs dimension {axis}",
                    w.name
                )));
            }
            if q.scale.len() != channels {
                return Err(self.ctx.err(format!(
                    "weights '{}' have {} scales for {channels} output channels",
                    w.name,
                    q.scale.len()
                )));
            }
        }
        let v = self.ctx.const_value(i).ok_or_else(|| {
            self.ctx.unsupported(format!(
                "weights '{}' must be a constant (run-time weights are not supported)",
                w.name
            ))
        })?;
        let data = match &v.data {
            crate::TensorData::I8(d) => d.clone(),
            _ => {
                return Err(self
                    .ctx
                    .err(format!("weights '{}' are not int8 data", w.name)))
            }
        };
        Ok((data, q.scale.clone()))
    }

    /// Checks a quantized bias (operand `i`): constant, zero point 0, `channels` elements,
    /// scale `input_scale × weight_scale[c]` per channel within [`BIAS_SCALE_TOLERANCE`].
    pub fn check_bias(
        &self,
        i: usize,
        input_scale: f32,
        weight_scales: &[f32],
        channels: usize,
    ) -> Result<(), InterpError> {
        let b = self.ctx.input(i)?;
        let q = self.params(b)?;
        if let Some(z) = q.zero_point.iter().find(|&&z| z != 0) {
            return Err(self.ctx.err(format!(
                "bias '{}' has zero point {z}; it must be 0",
                b.name
            )));
        }
        if b.numel() != channels {
            return Err(self.ctx.err(format!(
                "bias '{}' has {} elements for {channels} output channels",
                b.name,
                b.numel()
            )));
        }
        if q.scale.len() != 1 && q.scale.len() != channels {
            return Err(self.ctx.err(format!(
                "bias '{}' has {} scales for {channels} output channels",
                b.name,
                q.scale.len()
            )));
        }
        for c in 0..channels {
            let ws = weight_scales[if weight_scales.len() == 1 { 0 } else { c }] as f64;
            let bs = q.scale[if q.scale.len() == 1 { 0 } else { c }] as f64;
            let want = input_scale as f64 * ws;
            if (bs - want).abs() > BIAS_SCALE_TOLERANCE * want.abs().max(bs.abs()) {
                return Err(self.ctx.err(format!(
                    "bias '{}' channel {c}: scale {bs:e} is not input scale × weight scale = {input_scale:e} × {ws:e} = {want:e} (relative tolerance {BIAS_SCALE_TOLERANCE:e})",
                    b.name
                )));
            }
        }
        Ok(())
    }

    /// A constant integer bias of operand `i` as `T` values (`None` when absent).
    pub fn bias_values<T: crate::value::Elem>(
        &self,
        i: usize,
    ) -> Result<Option<Vec<T>>, InterpError> {
        let Some(b) = self.ctx.opt_input(i) else {
            return Ok(None);
        };
        let v = self.ctx.const_value(i).ok_or_else(|| {
            self.ctx
                .unsupported(format!("bias '{}' must be a constant", b.name))
        })?;
        T::slice(&v.data).map(|s| Some(s.to_vec())).ok_or_else(|| {
            self.ctx
                .err(format!("bias '{}' has unexpected type {}", b.name, b.dtype))
        })
    }
}

/// The integer form of a fused activation (fused TANH has no integer kernel).
pub(crate) fn fused_activation(
    ctx: &Ctx<'_>,
    a: Activation,
) -> Result<FusedActivation, InterpError> {
    Ok(match a {
        Activation::None => FusedActivation::None,
        Activation::Relu => FusedActivation::Relu,
        Activation::Relu6 => FusedActivation::Relu6,
        Activation::ReluN1To1 => FusedActivation::ReluN1To1,
        Activation::Tanh => {
            return Err(ctx.unsupported("fused TANH activation on an integer or hybrid kernel"))
        }
    })
}

/// TFLite padding of a convolution or pool.
pub(crate) fn padding(ctx: &Ctx<'_>, p: Padding) -> Result<ki::Padding, InterpError> {
    match p {
        Padding::Same => Ok(ki::Padding::Same),
        Padding::Valid => Ok(ki::Padding::Valid),
        Padding::Explicit { .. } => {
            Err(ctx.unsupported("explicit padding on an integer kernel (only TFLite SAME/VALID)"))
        }
    }
}

/// A rank-4 shape.
pub(crate) fn shape4(ctx: &Ctx<'_>, t: &Tensor) -> Result<[usize; 4], InterpError> {
    <[usize; 4]>::try_from(t.shape.as_slice()).map_err(|_| {
        ctx.err(format!(
            "'{}' must be rank 4 (NHWC), got {:?}",
            t.name, t.shape
        ))
    })
}

/// Maps a kernel preparation error to a node error.
pub(crate) fn prep_err<'a>(
    ctx: &'a Ctx<'_>,
) -> impl Fn(edgequant_kernels::KernelError) -> InterpError + 'a {
    move |e| ctx.err(e.to_string())
}

/// Requires the same dtype on input 0 and output 0.
pub(crate) fn same_dtype<'g>(ctx: &Ctx<'g>) -> Result<(&'g Tensor, &'g Tensor), InterpError> {
    let x = ctx.input(0)?;
    let y = ctx.output(0)?;
    if x.dtype != y.dtype {
        return Err(ctx.unsupported(format!(
            "input '{}' is {} but output '{}' is {}",
            x.name, x.dtype, y.name, y.dtype
        )));
    }
    Ok((x, y))
}

/// Applies an 8-bit result table to operand 0 (`dtype` int8 or uint8).
pub(crate) fn run_unary_lut(
    lut: &edgequant_kernels::int::binary_lut::UnaryLut8,
    dtype: DType,
    io: &crate::ops::Io<'_>,
) -> Result<crate::TensorData, String> {
    match dtype {
        DType::I8 => {
            let x = io.ins.typed::<i8>(0)?;
            let mut out = vec![0i8; x.len()];
            lut.apply(x, &mut out).map_err(crate::ops::kerr)?;
            Ok(crate::TensorData::I8(out))
        }
        DType::U8 => {
            let x = io.ins.typed::<u8>(0)?;
            let mut out = vec![0u8; x.len()];
            lut.apply(x, &mut out).map_err(crate::ops::kerr)?;
            Ok(crate::TensorData::U8(out))
        }
        other => Err(format!("no 8-bit table for {other}")),
    }
}

/// Evaluates `$body` with `$t` bound to the Rust type of an integer activation dtype.
macro_rules! with_int {
    ($dtype:expr, $t:ident => $body:expr, $other:expr) => {
        match $dtype {
            edgequant_ir::DType::I8 => {
                type $t = i8;
                $body
            }
            edgequant_ir::DType::U8 => {
                type $t = u8;
                $body
            }
            edgequant_ir::DType::I16 => {
                type $t = i16;
                $body
            }
            _ => $other,
        }
    };
}
pub(crate) use with_int;
