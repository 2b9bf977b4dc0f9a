//! Attribute types and inference helpers shared by several ops.

use crate::{DType, Tensor, TensorType};

/// Activation fused into the op that produces a tensor (TFLite `ActivationFunctionType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Activation {
    #[default]
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
}

impl Activation {
    /// Applies the activation to one float value.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::ReluN1To1 => x.clamp(-1.0, 1.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Tanh => x.tanh(),
        }
    }

    /// Clamp range for float outputs of the piecewise-linear activations.
    pub fn float_range(self) -> (f32, f32) {
        match self {
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::ReluN1To1 => (-1.0, 1.0),
            Activation::Relu6 => (0.0, 6.0),
            Activation::None | Activation::Tanh => (f32::NEG_INFINITY, f32::INFINITY),
        }
    }
}

/// Spatial padding of convolutions and pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// TFLite SAME: output = ceil(input / stride), padding split with the extra on the end.
    Same,
    /// TFLite VALID: no padding.
    Valid,
    /// Explicit padding (from ONNX); TFLite export needs a PAD op or a matching SAME/VALID.
    Explicit {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
}

/// Output size and padding before/after along one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub out: usize,
    pub pad_before: usize,
    pub pad_after: usize,
}

impl Padding {
    /// Resolves one spatial axis (axis 0 = height, 1 = width) following TFLite's
    /// `ComputePaddingHeightWidth`. Errors when the window does not fit.
    pub fn window(
        self,
        axis: usize,
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
    ) -> Result<Window, String> {
        if stride == 0 || dilation == 0 || kernel == 0 {
            return Err(format!(
                "stride {stride}, dilation {dilation} and kernel size {kernel} must be positive"
            ));
        }
        let eff = (kernel - 1)
            .checked_mul(dilation)
            .and_then(|v| v.checked_add(1))
            .ok_or("kernel extent overflows")?;
        match self {
            Padding::Same => {
                let out = input.div_ceil(stride);
                let needed = ((out.max(1) - 1) * stride + eff).saturating_sub(input);
                Ok(Window {
                    out,
                    pad_before: needed / 2,
                    pad_after: needed - needed / 2,
                })
            }
            Padding::Valid => {
                if input < eff {
                    return Err(format!(
                        "VALID window of extent {eff} does not fit input size {input}"
                    ));
                }
                Ok(Window {
                    out: (input - eff) / stride + 1,
                    pad_before: 0,
                    pad_after: 0,
                })
            }
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => {
                let (b, a) = if axis == 0 {
                    (top, bottom)
                } else {
                    (left, right)
                };
                let total = input + b + a;
                if total < eff {
                    return Err(format!(
                        "window of extent {eff} does not fit padded input size {total}"
                    ));
                }
                Ok(Window {
                    out: (total - eff) / stride + 1,
                    pad_before: b,
                    pad_after: a,
                })
            }
        }
    }
}

/// NumPy-style broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        };
    }
    Ok(out)
}

/// The `i`-th operand, required.
pub(crate) fn req<'a>(
    inputs: &[Option<&'a Tensor>],
    i: usize,
    what: &str,
) -> Result<&'a Tensor, String> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| format!("missing operand {i} ({what})"))
}

/// The `i`-th operand's constant integer data, required.
pub(crate) fn const_ints(
    inputs: &[Option<&Tensor>],
    i: usize,
    what: &str,
) -> Result<Vec<i64>, String> {
    let t = req(inputs, i, what)?;
    if !t.is_const() {
        return Err(format!("operand {i} ({what}) must be a constant"));
    }
    t.int_data().map_err(|e| e.to_string())
}

/// Requires a rank-4 operand and returns its shape as an array.
pub(crate) fn rank4(t: &Tensor, what: &str) -> Result<[usize; 4], String> {
    <[usize; 4]>::try_from(t.shape.as_slice())
        .map_err(|_| format!("{what} must be rank 4 (NHWC), got shape {:?}", t.shape))
}

/// Normalizes a possibly negative axis against `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(format!("axis {axis} out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// Output type equal to the first operand's (elementwise unary ops).
pub(crate) fn same_as_first(inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
    Ok(vec![req(inputs, 0, "input")?.ty()])
}

/// Output type of a broadcasting binary op: the first operand's dtype, broadcast shape.
pub(crate) fn binary(inputs: &[Option<&Tensor>]) -> Result<Vec<TensorType>, String> {
    let a = req(inputs, 0, "lhs")?;
    let b = req(inputs, 1, "rhs")?;
    let dtype = if a.dtype == DType::F16 {
        b.dtype
    } else {
        a.dtype
    };
    Ok(vec![TensorType {
        dtype,
        shape: broadcast_shapes(&a.shape, &b.shape)?,
    }])
}

/// Declares an attribute-free elementwise op whose output type equals its input's.
macro_rules! unary_op {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $ty;

        impl $crate::ops::OpDef for $ty {
            const NAME: &'static str = $name;
            fn infer(
                &self,
                inputs: &[Option<&$crate::Tensor>],
            ) -> Result<Vec<$crate::TensorType>, String> {
                $crate::ops::common::same_as_first(inputs)
            }
        }
    };
}
pub(crate) use unary_op;

/// Declares a broadcasting binary op with a fused activation.
macro_rules! binary_op {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $ty {
            pub activation: $crate::ops::Activation,
        }

        impl $crate::ops::OpDef for $ty {
            const NAME: &'static str = $name;
            fn infer(
                &self,
                inputs: &[Option<&$crate::Tensor>],
            ) -> Result<Vec<$crate::TensorType>, String> {
                $crate::ops::common::binary(inputs)
            }
        }
    };
}
pub(crate) use binary_op;
