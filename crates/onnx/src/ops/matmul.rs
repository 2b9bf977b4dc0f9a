//! Gemm and MatMul with a constant right-hand side → FULLY_CONNECTED.

use super::common::{act, out0, relabel};
use super::elementwise::broadcast_op;
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::layout;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{Add, BatchMatMul, FullyConnected};

/// ONNX Gemm `alpha * A' * B' + beta * C` with constant B → FULLY_CONNECTED (bias from C when
/// it broadcasts along rows, else an ADD).
pub(crate) fn gemm(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let a = cx.req(n, 0, "A")?;
    let b = cx.const_req(n, 1, "B (weights)")?;
    let c = cx.const_opt(n, 2, "C (bias)")?;
    let alpha = n.float("alpha", 1.0)?;
    let beta = n.float("beta", 1.0)?;
    let a = if n.int("transA", 0)? != 0 {
        relabel(&a, &[1, 0])
    } else {
        a
    };
    let sa = cx.logical_shape(&a);
    if sa.len() != 2 || b.shape.len() != 2 || !b.is_float() {
        return Err(n.err(format!(
            "A must be rank 2 and B a rank-2 float constant: A {sa:?}, B {:?}",
            b.shape
        )));
    }
    // FULLY_CONNECTED weights are [N, K] = B'^T.
    let w = if n.int("transB", 0)? != 0 {
        (*b).clone()
    } else {
        b.permuted(&[1, 0])
    };
    let (nn, k) = (w.shape[0], w.shape[1]);
    if sa[1] != k {
        return Err(n.err(format!("A' is {sa:?} but B' has {k} rows")));
    }
    let w = if alpha != 1.0 {
        Const::f32(
            w.shape.clone(),
            w.to_f32().iter().map(|v| v * alpha).collect(),
        )
    } else {
        w
    };
    let (bias, extra) = match c {
        None => (None, None),
        Some(c) if beta == 0.0 => {
            let _ = c;
            (None, None)
        }
        Some(c) => {
            let v: Vec<f32> = c.to_f32().iter().map(|x| x * beta).collect();
            let row = c.shape.iter().rev().skip(1).all(|&d| d == 1);
            let last = c.shape.last().copied().unwrap_or(1);
            if row && last == nn {
                (Some(v), None)
            } else if row && last == 1 {
                (Some(vec![v[0]; nn]), None)
            } else {
                (None, Some(Const::f32(c.shape.clone(), v)))
            }
        }
    };
    fully_connected(cx, n, &a, &w, bias, false, extra)
}

/// Emits FULLY_CONNECTED of `a` (plain layout) by weights `[N, K]`, plus an optional
/// broadcast ADD.
fn fully_connected(
    cx: &mut Ctx,
    n: &NodeView,
    a: &Value,
    w: &Const,
    bias: Option<Vec<f32>>,
    keep_num_dims: bool,
    extra: Option<Const>,
) -> Result<Vec<Value>> {
    let rank = cx.logical_shape(a).len();
    let xi = cx.plain(n, a)?;
    let wname = n
        .input_name(1)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/weights", n.name));
    let wt = cx.add_const(&wname, w)?;
    let bt = match bias {
        Some(v) => {
            let name = n
                .input_name(2)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/bias", n.name));
            Some(cx.f32_const(&name, vec![v.len()], v)?)
        }
        None => None,
    };
    let out = out0(n);
    let fc_name = if extra.is_some() {
        format!("{out}/matmul")
    } else {
        out.clone()
    };
    let op = FullyConnected {
        activation: edgequant_ir::Activation::None,
        keep_num_dims,
    };
    let y = cx.emit1(n, op, vec![Some(xi), Some(wt), bt], &fc_name)?;
    let out_rank = if keep_num_dims { rank } else { 2 };
    let yv = act(y, layout::identity(out_rank));
    match extra {
        None => Ok(vec![yv]),
        Some(c) => {
            let (z, l) = broadcast_op(cx, n, Add::default().into(), &yv, &Value::konst(c), &out)?;
            Ok(vec![act(z, l)])
        }
    }
}

/// ONNX MatMul with a constant rank-2 right-hand side → FULLY_CONNECTED (keeping the leading
/// dims of A).
pub(crate) fn matmul(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let a = cx.req(n, 0, "A")?;
    let bv = cx.req(n, 1, "B")?;
    let sa = cx.logical_shape(&a);
    let b = match &bv {
        Value::Const(c) if c.shape.len() == 2 && sa.len() >= 2 && c.is_float() => c.clone(),
        _ => return batch_matmul(cx, n, &a, &bv),
    };
    if sa[sa.len() - 1] != b.shape[0] {
        return Err(n.err(format!("A {sa:?} and B {:?} do not multiply", b.shape)));
    }
    let w = b.permuted(&[1, 0]);
    fully_connected(cx, n, &a, &w, None, sa.len() > 2, None)
}

/// ONNX MatMul in general (run-time B, batch dims, 1-D operands) → BATCH_MATMUL in the ONNX
/// layout, with 1-D operands reshaped to matrices and the unit dims removed again.
fn batch_matmul(cx: &mut Ctx, n: &NodeView, a: &Value, b: &Value) -> Result<Vec<Value>> {
    let (sa, sb) = (cx.logical_shape(a), cx.logical_shape(b));
    if sa.is_empty() || sb.is_empty() || !cx.dtype(a).is_float() || !cx.dtype(b).is_float() {
        return Err(n.err(format!(
            "MatMul needs float operands of rank >= 1, got {sa:?} and {sb:?}"
        )));
    }
    let out = out0(n);
    let mut xa = cx.plain(n, a)?;
    let mut xb = cx.plain(n, b)?;
    let (a1, b1) = (sa.len() == 1, sb.len() == 1);
    if a1 {
        xa = cx.reshape(n, xa, &[1, sa[0]], &format!("{out}/lhs_2d"))?;
    }
    if b1 {
        xb = cx.reshape(n, xb, &[sb[0], 1], &format!("{out}/rhs_2d"))?;
    }
    let op = BatchMatMul {
        adj_x: false,
        adj_y: false,
    };
    let name = if a1 || b1 {
        format!("{out}/matmul")
    } else {
        out.clone()
    };
    let mut y = cx.emit1(n, op, vec![Some(xa), Some(xb)], &name)?;
    let mut shape = cx.shape(y).to_vec();
    if a1 || b1 {
        let r = shape.len();
        if b1 {
            shape.remove(r - 1);
        }
        if a1 {
            shape.remove(r - 2);
        }
        y = cx.reshape(n, y, &shape, &out)?;
    }
    Ok(vec![act(y, layout::identity(shape.len()))])
}
