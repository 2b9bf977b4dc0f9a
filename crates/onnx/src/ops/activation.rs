//! Activations: Relu, Clip, LeakyRelu, PRelu, Sigmoid, HardSigmoid, HardSwish, Tanh.

use super::common::{act, out0, try_fuse};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{
    Add, HardSwish, LeakyRelu, Logistic, Maximum, Minimum, Mul, Prelu, Relu, Relu6, ReluN1To1, Tanh,
};
use edgequant_ir::{Activation, Op};

/// A unary op on input 0 in its own layout.
fn unary(cx: &mut Ctx, n: &NodeView, op: Op) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = cx.logical_shape(&x).len();
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &target)?;
    let y = cx.emit1(n, op, vec![Some(xi)], &out0(n))?;
    Ok(vec![act(y, target)])
}

/// A clamp to `[lo, hi]`: fused into the producer or RELU/RELU6/RELU_N1_TO_1 where it matches,
/// else MAXIMUM and/or MINIMUM with scalar constants.
fn clamp(cx: &mut Ctx, n: &NodeView, lo: f32, hi: f32) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let fused = match (lo, hi) {
        (l, h) if l == 0.0 && h == f32::INFINITY => Some(Activation::Relu),
        (l, h) if l == 0.0 && h == 6.0 => Some(Activation::Relu6),
        (l, h) if l == -1.0 && h == 1.0 => Some(Activation::ReluN1To1),
        _ => None,
    };
    if let Some(a) = fused {
        if let Some(v) = try_fuse(cx, n, &x, a) {
            return Ok(vec![v]);
        }
        let op: Op = match a {
            Activation::Relu => Relu.into(),
            Activation::Relu6 => Relu6.into(),
            _ => ReluN1To1.into(),
        };
        return unary(cx, n, op);
    }
    let r = cx.logical_shape(&x).len();
    let target = cx.pick_layout(&[&x], r);
    let mut y = cx.in_layout(n, &x, &target)?;
    let out = out0(n);
    if lo > f32::NEG_INFINITY {
        let c = cx.f32_const(&format!("{}/min", n.name), vec![1], vec![lo])?;
        let name = if hi < f32::INFINITY {
            format!("{out}/lower")
        } else {
            out.clone()
        };
        y = cx.emit1(n, Maximum::default(), vec![Some(y), Some(c)], &name)?;
    }
    if hi < f32::INFINITY {
        let c = cx.f32_const(&format!("{}/max", n.name), vec![1], vec![hi])?;
        y = cx.emit1(n, Minimum::default(), vec![Some(y), Some(c)], &out)?;
    }
    if lo == f32::NEG_INFINITY && hi == f32::INFINITY {
        return Ok(vec![x]);
    }
    Ok(vec![act(y, target)])
}

/// ONNX Relu.
pub(crate) fn relu(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    clamp(cx, n, 0.0, f32::INFINITY)
}

/// ONNX Clip: bounds from attributes (opset < 11) or optional constant inputs.
pub(crate) fn clip(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let (lo, hi) = if n.has("min") || n.has("max") || n.opset < 11 {
        (
            n.float("min", f32::NEG_INFINITY)?,
            n.float("max", f32::INFINITY)?,
        )
    } else {
        let lo = cx
            .const_opt(n, 1, "min")?
            .map(|c| c.scalar_f32("min"))
            .transpose()
            .map_err(|e| n.err(e))?;
        let hi = cx
            .const_opt(n, 2, "max")?
            .map(|c| c.scalar_f32("max"))
            .transpose()
            .map_err(|e| n.err(e))?;
        (lo.unwrap_or(f32::NEG_INFINITY), hi.unwrap_or(f32::INFINITY))
    };
    clamp(cx, n, lo, hi)
}

/// ONNX LeakyRelu → LEAKY_RELU.
pub(crate) fn leaky_relu(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let alpha = n.float("alpha", 0.01)?;
    unary(cx, n, LeakyRelu { alpha }.into())
}

/// ONNX PRelu → PRELU with the slope broadcast in the input's layout.
pub(crate) fn prelu(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let slope = cx.req(n, 1, "slope")?;
    let xs = cx.logical_shape(&x);
    let mut slope_v = slope.clone();
    // Opset < 7 style per-channel slopes of shape [C] for rank > 2 inputs broadcast on dim 1.
    if let Value::Const(c) = &slope {
        if xs.len() > 2 && c.shape.len() == 1 && c.shape[0] == xs[1] && xs[xs.len() - 1] != xs[1] {
            let mut s = vec![xs[1]];
            s.extend(std::iter::repeat_n(1, xs.len() - 2));
            slope_v = Value::konst(c.reshaped(s));
        }
    }
    let target = cx.pick_layout(&[&x], xs.len());
    let xi = cx.in_layout(n, &x, &target)?;
    let si = cx.operand(n, &slope_v, &target)?;
    let y = cx.emit1(n, Prelu, vec![Some(xi), Some(si)], &out0(n))?;
    Ok(vec![act(y, target)])
}

/// ONNX Sigmoid → LOGISTIC.
pub(crate) fn sigmoid(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    unary(cx, n, Logistic.into())
}

/// ONNX Tanh → TANH.
pub(crate) fn tanh(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    unary(cx, n, Tanh.into())
}

/// ONNX HardSwish → HARD_SWISH.
pub(crate) fn hard_swish(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    unary(cx, n, HardSwish.into())
}

/// ONNX HardSigmoid `max(0, min(1, alpha*x + beta))` → MUL, ADD (fused RELU), MINIMUM.
pub(crate) fn hard_sigmoid(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let alpha = n.float("alpha", 0.2)?;
    let beta = n.float("beta", 0.5)?;
    let x = cx.req(n, 0, "X")?;
    let r = cx.logical_shape(&x).len();
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &target)?;
    let out = out0(n);
    let a = cx.add_const(
        &format!("{}/alpha", n.name),
        &Const::f32(vec![1], vec![alpha]),
    )?;
    let b = cx.add_const(
        &format!("{}/beta", n.name),
        &Const::f32(vec![1], vec![beta]),
    )?;
    let one = cx.add_const(&format!("{}/one", n.name), &Const::f32(vec![1], vec![1.0]))?;
    let m = cx.emit1(
        n,
        Mul::default(),
        vec![Some(xi), Some(a)],
        &format!("{out}/scaled"),
    )?;
    let s = cx.emit1(
        n,
        Add {
            activation: Activation::Relu,
        },
        vec![Some(m), Some(b)],
        &format!("{out}/shifted"),
    )?;
    let y = cx.emit1(n, Minimum::default(), vec![Some(s), Some(one)], &out)?;
    Ok(vec![act(y, target)])
}
