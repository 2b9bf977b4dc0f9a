//! Broadcasting arithmetic (Add, Sub, Mul, Div, Pow, Max, Min, Sum) and unary math (Sqrt,
//! Exp, Neg, Reciprocal). Operands are brought to a common layout; constants are permuted
//! at import time.

use super::common::{act, add_to_bias, out0, sole_producer_of};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{
    broadcast_shapes, Add, Div, Exp, HardSwish, Maximum, Minimum, Mul, Pow, Sqrt, Sub,
};
use edgequant_ir::{Activation, Op, TensorId};

/// Emits `op(a, b)` with broadcasting in a common layout; returns the IR tensor and layout.
pub(crate) fn broadcast_op(
    cx: &mut Ctx,
    n: &NodeView,
    op: Op,
    a: &Value,
    b: &Value,
    out: &str,
) -> Result<(TensorId, Vec<usize>)> {
    let sa = cx.logical_shape(a);
    let sb = cx.logical_shape(b);
    let shape = broadcast_shapes(&sa, &sb).map_err(|e| n.err(e))?;
    let target = cx.pick_layout(&[a, b], shape.len());
    let ta = cx.operand(n, a, &target)?;
    let tb = cx.operand(n, b, &target)?;
    let y = cx.emit1(n, op, vec![Some(ta), Some(tb)], out)?;
    Ok((y, target))
}

fn binary(cx: &mut Ctx, n: &NodeView, op: Op) -> Result<Vec<Value>> {
    let a = cx.req(n, 0, "A")?;
    let b = cx.req(n, 1, "B")?;
    if n.int("broadcast", 1)? == 0 && cx.logical_shape(&a) != cx.logical_shape(&b) {
        return Err(n.attr_err("broadcast", "shapes differ but broadcasting is disabled"));
    }
    if let Some(axis) = n.int_opt("axis")? {
        // Opset < 7 style broadcast of B starting at `axis`: append trailing 1s.
        let ra = cx.logical_shape(&a).len() as i64;
        if let Value::Const(c) = &b {
            let start = if axis < 0 { axis + ra } else { axis };
            let trailing = (ra - start - c.shape.len() as i64).max(0) as usize;
            let mut s = c.shape.clone();
            s.extend(std::iter::repeat_n(1, trailing));
            let b2 = Value::konst(c.reshaped(s));
            let (y, l) = broadcast_op(cx, n, op, &a, &b2, &out0(n))?;
            return Ok(vec![act(y, l)]);
        }
    }
    let (y, l) = broadcast_op(cx, n, op, &a, &b, &out0(n))?;
    Ok(vec![act(y, l)])
}

/// Folds `x ± c` (constant `c` varying at most along the channel dim) into the bias of the
/// CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV / FULLY_CONNECTED that produces `x` when
/// nothing else reads `x`.
fn fold_bias(cx: &mut Ctx, n: &NodeView, sign: f32) -> Result<Option<Value>> {
    let (a, b) = (cx.req(n, 0, "A")?, cx.req(n, 1, "B")?);
    let (xi, x, c) = match (&a, &b) {
        (Value::Act(_), Value::Const(c)) => (0, a.clone(), c.clone()),
        (Value::Const(c), Value::Act(_)) if sign > 0.0 => (1, b.clone(), c.clone()),
        _ => return Ok(None),
    };
    let Some((idx, act)) = sole_producer_of(cx, n, xi, &x) else {
        return Ok(None);
    };
    let bias_in = match &cx.g.nodes[idx].op {
        Op::Conv2d(o) if o.activation == Activation::None => 2,
        Op::DepthwiseConv2d(o) if o.activation == Activation::None => 2,
        Op::FullyConnected(o) if o.activation == Activation::None => 2,
        Op::TransposeConv(o) if o.activation == Activation::None => 3,
        _ => return Ok(None),
    };
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if r == 0 || c.shape.len() > r || !c.is_float() {
        return Ok(None);
    }
    let ch = act.layout[r - 1];
    let channels = xs[ch];
    let mut ext = vec![1; r - c.shape.len()];
    ext.extend_from_slice(&c.shape);
    if ext.iter().enumerate().any(|(d, &v)| v != 1 && d != ch)
        || (ext[ch] != 1 && ext[ch] != channels)
    {
        return Ok(None);
    }
    let v = c.to_f32();
    let delta: Vec<f32> = (0..channels)
        .map(|i| sign * v[if v.len() == 1 { 0 } else { i }])
        .collect();
    if !add_to_bias(cx, n, idx, bias_in, &delta)? {
        return Ok(None);
    }
    let name = cx.unique(&out0(n));
    cx.g.tensor_mut(act.id).name = name;
    Ok(Some(Value::Act(act)))
}

/// ONNX Add → ADD (or a bias fold).
pub(crate) fn add(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    if let Some(v) = fold_bias(cx, n, 1.0)? {
        return Ok(vec![v]);
    }
    binary(cx, n, Add::default().into())
}

/// ONNX Sub → SUB (or a bias fold).
pub(crate) fn sub(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    if let Some(v) = fold_bias(cx, n, -1.0)? {
        return Ok(vec![v]);
    }
    binary(cx, n, Sub::default().into())
}

/// The scalar value of constant input `i`, if it is one.
fn scalar_input(cx: &Ctx, n: &NodeView, i: usize) -> Option<f32> {
    match cx.input(n, i).ok()?? {
        Value::Const(c) if c.len() == 1 && c.is_float() => c.to_f32().first().copied(),
        _ => None,
    }
}

/// Recognizes `x * relu6(x + 3) / 6` (already lowered to ADD with a fused RELU6 and MUL) ending
/// in node `n` (a division by 6 or multiplication by 1/6) and replaces it by HARD_SWISH; the
/// bypassed nodes become dead code.
fn fuse_hard_swish(cx: &mut Ctx, n: &NodeView, is_div: bool) -> Result<Option<Value>> {
    let Some(k) = scalar_input(cx, n, 1) else {
        return Ok(None);
    };
    if !(if is_div {
        k == 6.0
    } else {
        (k - 1.0 / 6.0).abs() < 1e-7
    }) {
        return Ok(None);
    }
    let a = cx.req(n, 0, "A")?;
    let Some((mi, ma)) = sole_producer_of(cx, n, 0, &a) else {
        return Ok(None);
    };
    let Op::Mul(m) = &cx.g.nodes[mi].op else {
        return Ok(None);
    };
    let (Some(Some(p)), Some(Some(q))) = (
        cx.g.nodes[mi].inputs.first().copied(),
        cx.g.nodes[mi].inputs.get(1).copied(),
    ) else {
        return Ok(None);
    };
    if m.activation != Activation::None {
        return Ok(None);
    }
    let is_three = |cx: &Ctx, t: edgequant_ir::TensorId| {
        let t = cx.g.tensor(t);
        t.numel() == 1 && t.float_data().ok().and_then(|v| v.first().copied()) == Some(3.0)
    };
    for (x, t) in [(p, q), (q, p)] {
        let Some(&ti) = cx.producer.get(&t) else {
            continue;
        };
        let node = &cx.g.nodes[ti];
        let Op::Add(add) = &node.op else {
            continue;
        };
        let ins: Vec<_> = node.inputs.iter().flatten().copied().collect();
        let matches = add.activation == Activation::Relu6
            && ins.len() == 2
            && ((ins[0] == x && is_three(cx, ins[1])) || (ins[1] == x && is_three(cx, ins[0])))
            && cx.single_use(t);
        if matches {
            let y = cx.emit1(n, HardSwish, vec![Some(x)], &out0(n))?;
            return Ok(Some(act(y, ma.layout)));
        }
    }
    Ok(None)
}

/// ONNX Mul → MUL (or HARD_SWISH).
pub(crate) fn mul(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    if let Some(v) = fuse_hard_swish(cx, n, false)? {
        return Ok(vec![v]);
    }
    binary(cx, n, Mul::default().into())
}

/// ONNX Div → DIV (or HARD_SWISH).
pub(crate) fn div(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    if let Some(v) = fuse_hard_swish(cx, n, true)? {
        return Ok(vec![v]);
    }
    binary(cx, n, Div::default().into())
}

/// ONNX Pow: a constant exponent 1 is the identity, 2 a MUL, 0.5 a SQRT; else POW.
pub(crate) fn pow(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let e = cx.req(n, 1, "Y")?;
    let xs = cx.logical_shape(&x);
    if let Value::Const(c) = &e {
        let v = c.to_f32();
        let uniform = v.first().copied().filter(|f| v.iter().all(|g| g == f));
        let fits = broadcast_shapes(&xs, &c.shape).is_ok_and(|s| s == xs);
        if let (Some(p), true) = (uniform, fits) {
            let r = xs.len();
            let target = cx.pick_layout(&[&x], r);
            if p == 1.0 {
                return Ok(vec![x]);
            }
            if p == 2.0 || p == 0.5 {
                let xi = cx.in_layout(n, &x, &target)?;
                let y = if p == 2.0 {
                    cx.emit1(n, Mul::default(), vec![Some(xi), Some(xi)], &out0(n))?
                } else {
                    cx.emit1(n, Sqrt, vec![Some(xi)], &out0(n))?
                };
                return Ok(vec![act(y, target)]);
            }
        }
    }
    binary(cx, n, Pow.into())
}

fn unary(cx: &mut Ctx, n: &NodeView, op: Op) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = cx.logical_shape(&x).len();
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &target)?;
    let y = cx.emit1(n, op, vec![Some(xi)], &out0(n))?;
    Ok(vec![act(y, target)])
}

/// ONNX Sqrt → SQRT.
pub(crate) fn sqrt(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    unary(cx, n, Sqrt.into())
}

/// ONNX Exp → EXP.
pub(crate) fn exp(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    unary(cx, n, Exp.into())
}

/// ONNX Neg → MUL by -1.
pub(crate) fn neg(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let m = Value::konst(Const::f32(vec![1], vec![-1.0]));
    let (y, l) = broadcast_op(cx, n, Mul::default().into(), &x, &m, &out0(n))?;
    Ok(vec![act(y, l)])
}

/// ONNX Reciprocal → DIV of 1 by x.
pub(crate) fn reciprocal(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let one = Value::konst(Const::f32(vec![1], vec![1.0]));
    let (y, l) = broadcast_op(cx, n, Div::default().into(), &one, &x, &out0(n))?;
    Ok(vec![act(y, l)])
}

/// A variadic op as a chain of binary ops.
fn variadic(cx: &mut Ctx, n: &NodeView, op: Op) -> Result<Vec<Value>> {
    let count = n.inputs().len();
    let mut acc = cx.req(n, 0, "data_0")?;
    if count == 1 {
        return Ok(vec![acc]);
    }
    for i in 1..count {
        let v = cx.req(n, i, "data")?;
        let name = if i + 1 == count {
            out0(n)
        } else {
            format!("{}/partial{i}", out0(n))
        };
        let (y, l) = broadcast_op(cx, n, op.clone(), &acc, &v, &name)?;
        acc = act(y, l);
    }
    Ok(vec![acc])
}

/// ONNX Max → MAXIMUM chain.
pub(crate) fn max(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    variadic(cx, n, Maximum::default().into())
}

/// ONNX Min → MINIMUM chain.
pub(crate) fn min(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    variadic(cx, n, Minimum::default().into())
}

/// ONNX Sum → ADD chain.
pub(crate) fn sum(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    variadic(cx, n, Add::default().into())
}
