//! Integer kernels, bit-exact with TFLite's (LiteRT's) reference integer kernels.
//!
//! Each op lives in its own file and follows TFLite Micro's split between *preparation* and
//! *execution*: a `*Params::prepare(...)` constructor turns float scales and zero points into
//! quantized multipliers, shifts and clamp ranges exactly as TFLite's `Prepare()` does
//! (including where TFLite computes in `float` rather than `double`), and the kernel then
//! works on integer slices only. Every kernel documents the TFLite function it reproduces.
//!
//! Conventions:
//! * Layout NHWC; convolution filters OHWI, depthwise filters `[1, KH, KW, C·M]`.
//! * Kernels never panic on data: slice lengths are checked against the prepared shapes and
//!   reported as [`crate::KernelError`]; integer overflow that would be undefined
//!   behaviour in C++ wraps (as TFLite's builds do in practice).
//! * Rounding: TFLite's default *double rounding* `MultiplyByQuantizedMultiplier` (see
//!   [`quant_util`]); LiteRT 2.x wheels are built this way.
//! * Optimized kernels (`gemm`-based convolution and fully connected, channel-vectorized
//!   depthwise) have `*_ref` twins that are literal ports of TFLite's reference loops, and
//!   property tests check exact equality.

pub mod activation16;
pub mod add;
pub mod binary_lut;
pub mod broadcast;
pub mod channel_lut;
pub mod concatenation;
pub mod conv;
pub mod depthwise_conv;
pub mod depthwise_fast;
pub mod dequantize;
pub mod elementwise_simd;
pub mod fixedpoint;
pub mod fully_connected;
pub mod gemm;
pub mod hard_swish;
pub mod hybrid;
pub mod int16x8;
pub mod leaky_relu;
pub mod logistic;
pub mod lut;
pub mod mean;
pub mod mul;
pub mod pad;
pub mod pooling;
pub mod pooling_fast;
pub mod prelu;
pub mod quant_util;
pub mod quantize;
pub mod quantize_fast;
pub mod requant;
pub mod resize_bilinear;
pub mod resize_nearest;
pub mod softmax;
pub mod tanh;
pub mod transpose_conv;
pub mod vnni;

use crate::KernelError;

/// Per-tensor quantization parameters: `real = (q - zero_point) * scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// Scale (positive, finite).
    pub scale: f32,
    /// Zero point, within the range of the tensor's integer type.
    pub zero_point: i32,
}

impl QParams {
    /// Shorthand constructor.
    pub const fn new(scale: f32, zero_point: i32) -> Self {
        Self { scale, zero_point }
    }

    /// Checks the scale is positive and finite and the zero point fits `T`.
    pub fn check<T: QuantInt>(self, what: &str) -> crate::Result<()> {
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return invalid(format!(
                "{what}: scale {} must be positive and finite",
                self.scale
            ));
        }
        if self.zero_point < T::MIN || self.zero_point > T::MAX {
            return invalid(format!(
                "{what}: zero point {} outside [{}, {}]",
                self.zero_point,
                T::MIN,
                T::MAX
            ));
        }
        Ok(())
    }
}

/// Integer element types of quantized tensors.
pub trait QuantInt: Copy + Default + Send + Sync + 'static {
    /// Smallest value, as `i32`.
    const MIN: i32;
    /// Largest value, as `i32`.
    const MAX: i32;
    /// Widening conversion.
    fn to_i32(self) -> i32;
    /// Narrowing conversion of a value already clamped to `[MIN, MAX]` (truncates otherwise,
    /// like C++'s `static_cast`).
    fn from_i32(v: i32) -> Self;
    /// Clamps to `[MIN, MAX]` and converts.
    #[inline]
    fn saturate(v: i32) -> Self {
        Self::from_i32(v.clamp(Self::MIN, Self::MAX))
    }
}

macro_rules! quant_int {
    ($t:ty) => {
        impl QuantInt for $t {
            const MIN: i32 = <$t>::MIN as i32;
            const MAX: i32 = <$t>::MAX as i32;
            #[inline]
            fn to_i32(self) -> i32 {
                self as i32
            }
            #[inline]
            fn from_i32(v: i32) -> Self {
                v as $t
            }
        }
    };
}
quant_int!(i8);
quant_int!(u8);
quant_int!(i16);

/// TFLite fused activation functions (`ActivationFunctionType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FusedActivation {
    /// No clamp beyond the type range.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `clamp(x, -1, 1)`.
    ReluN1To1,
    /// `clamp(x, 0, 6)`.
    Relu6,
}

/// Quantizes `f` the way `CalculateActivationRangeQuantized` does: `zp + (int)round(f / scale)`
/// computed in `float`.
fn quantize_activation_bound(scale: f32, zero_point: i32, f: f32) -> crate::Result<i32> {
    let tmp = (f / scale).round();
    if !(tmp >= i32::MIN as f32 && tmp <= i32::MAX as f32) {
        return invalid(format!("activation bound {f} overflows at scale {scale}"));
    }
    Ok(zero_point.wrapping_add(tmp as i32))
}

/// TFLite `CalculateActivationRangeQuantized` for an output of type `T`: the quantized clamp
/// range `(min, max)` of a fused activation.
pub fn activation_range<T: QuantInt>(
    activation: FusedActivation,
    output: QParams,
) -> crate::Result<(i32, i32)> {
    let (qmin, qmax) = (T::MIN, T::MAX);
    let q = |f| quantize_activation_bound(output.scale, output.zero_point, f);
    Ok(match activation {
        FusedActivation::None => (qmin, qmax),
        FusedActivation::Relu => (qmin.max(q(0.0)?), qmax),
        FusedActivation::Relu6 => (qmin.max(q(0.0)?), qmax.min(q(6.0)?)),
        FusedActivation::ReluN1To1 => (qmin.max(q(-1.0)?), qmax.min(q(1.0)?)),
    })
}

/// TFLite padding schemes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, padding split with the extra on the bottom/right.
    #[default]
    Same,
    /// No padding.
    Valid,
}

/// Output size and leading padding of one spatial dimension (TFLite `ComputeOutSize` and
/// `ComputePaddingWithOffset`).
pub fn compute_out_size_and_padding(
    padding: Padding,
    in_size: usize,
    filter_size: usize,
    stride: usize,
    dilation: usize,
) -> crate::Result<(usize, usize)> {
    if stride == 0 || dilation == 0 || filter_size == 0 {
        return invalid("stride, dilation and filter size must be positive");
    }
    let effective_filter = (filter_size - 1)
        .checked_mul(dilation)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| KernelError::Invalid("filter extent overflows".into()))?;
    let out = match padding {
        Padding::Same => in_size.div_ceil(stride),
        Padding::Valid => {
            if in_size < effective_filter {
                0
            } else {
                (in_size - effective_filter) / stride + 1
            }
        }
    };
    let total = (out.saturating_sub(1) * stride + effective_filter).saturating_sub(in_size);
    Ok((out, total / 2))
}

/// Checks that `len == expected` for the slice called `what`.
pub(crate) fn check_len(what: &'static str, len: usize, expected: usize) -> crate::Result<()> {
    if len != expected {
        return Err(KernelError::Length {
            what,
            expected,
            got: len,
        });
    }
    Ok(())
}

/// Product of `dims`, failing on overflow.
pub(crate) fn numel(dims: &[usize]) -> crate::Result<usize> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| KernelError::Invalid(format!("shape {dims:?} overflows")))
}

/// An [`KernelError::Invalid`] error.
pub(crate) fn invalid<T>(msg: impl Into<String>) -> crate::Result<T> {
    Err(KernelError::Invalid(msg.into()))
}

/// Per-channel (or broadcast per-tensor) filter scales → one [`quant_util::QuantizedMultiplier`]
/// per output channel, as TFLite's `PopulateConvolutionQuantizationParams`:
/// `effective = (double)input_scale * (double)filter_scale / (double)output_scale`.
pub(crate) fn per_channel_multipliers(
    input: QParams,
    filter_scales: &[f32],
    output: QParams,
    channels: usize,
) -> crate::Result<Vec<quant_util::QuantizedMultiplier>> {
    if filter_scales.len() != 1 && filter_scales.len() != channels {
        return invalid(format!(
            "{} filter scales for {channels} output channels",
            filter_scales.len()
        ));
    }
    (0..channels)
        .map(|c| {
            let fs = if filter_scales.len() == 1 {
                filter_scales[0]
            } else {
                filter_scales[c]
            };
            if !(fs.is_finite() && fs >= 0.0) {
                return invalid(format!("filter scale {fs} of channel {c} is invalid"));
            }
            let effective = input.scale as f64 * fs as f64 / output.scale as f64;
            quant_util::QuantizedMultiplier::new(effective)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_ranges() {
        let out = QParams::new(0.05, -10);
        assert_eq!(
            activation_range::<i8>(FusedActivation::None, out).unwrap(),
            (-128, 127)
        );
        assert_eq!(
            activation_range::<i8>(FusedActivation::Relu, out).unwrap(),
            (-10, 127)
        );
        assert_eq!(
            activation_range::<i8>(FusedActivation::Relu6, out).unwrap(),
            (-10, 110)
        );
        assert_eq!(
            activation_range::<i8>(FusedActivation::ReluN1To1, out).unwrap(),
            (-30, 10)
        );
    }

    #[test]
    fn padding() {
        assert_eq!(
            compute_out_size_and_padding(Padding::Same, 28, 3, 1, 1).unwrap(),
            (28, 1)
        );
        assert_eq!(
            compute_out_size_and_padding(Padding::Same, 28, 3, 2, 1).unwrap(),
            (14, 0)
        );
        assert_eq!(
            compute_out_size_and_padding(Padding::Valid, 28, 3, 1, 1).unwrap(),
            (26, 0)
        );
        assert_eq!(
            compute_out_size_and_padding(Padding::Same, 7, 3, 1, 2).unwrap(),
            (7, 2)
        );
    }
}
