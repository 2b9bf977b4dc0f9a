//! Softmax over any axis (opset 13+) or over the flattened trailing dims (opset < 13).

use super::common::{act, out0};
use super::shape::flat;
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::layout;
use crate::node::NodeView;
use edgequant_ir::ops::{normalize_axis, Softmax};

/// ONNX Softmax → SOFTMAX on the last physical axis: the layout is chosen so that the softmax
/// axis is last (a transpose only when it is not already); opset < 13 with a non-last axis
/// reshapes to 2-D around the op.
pub(crate) fn softmax(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if r == 0 {
        return Err(n.err("scalar input"));
    }
    let default_axis = if n.opset < 13 { 1 } else { -1 };
    let ax = normalize_axis(n.int("axis", default_axis)?, r).map_err(|e| n.attr_err("axis", e))?;
    let out = out0(n);
    let op = Softmax { beta: 1.0 };
    if n.opset < 13 && ax != r - 1 {
        let rows: usize = xs[..ax].iter().product();
        let cols: usize = xs[ax..].iter().product();
        let xi = flat(cx, n, &x)?;
        let x2 = cx.reshape(n, xi, &[rows, cols], &format!("{out}/as_2d"))?;
        let y2 = cx.emit1(n, op, vec![Some(x2)], &format!("{out}/softmax_2d"))?;
        let y = cx.reshape(n, y2, &xs, &out)?;
        return Ok(vec![act(y, layout::identity(r))]);
    }
    let current = cx.pick_layout(&[&x], r);
    let target = if current.last() == Some(&ax) {
        current
    } else {
        let mut t: Vec<usize> = current.into_iter().filter(|&l| l != ax).collect();
        t.push(ax);
        t
    };
    let xi = cx.in_layout(n, &x, &target)?;
    let y = cx.emit1(n, op, vec![Some(xi)], &out)?;
    Ok(vec![act(y, target)])
}
