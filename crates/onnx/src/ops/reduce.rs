//! ReduceMean → MEAN over the physical axes of the input's layout.

use super::common::{act, out0, phys_axes};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::layout;
use crate::node::NodeView;
use edgequant_ir::ops::{normalize_axis, Mean};

/// ONNX ReduceMean (axes from the attribute or, opset 18+, the constant input).
pub(crate) fn reduce_mean(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if r == 0 {
        return Err(n.err("the input is a scalar (rank 0)"));
    }
    let keep = n.int("keepdims", 1)? != 0;
    let axes = match cx.const_opt(n, 1, "axes")? {
        Some(c) => Some(c.to_i64("axes").map_err(|e| n.err(e))?),
        None => n.ints_opt("axes")?,
    };
    let mut axes: Vec<usize> = match axes {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|&v| normalize_axis(v, r).map_err(|e| n.attr_err("axes", e)))
            .collect::<Result<_>>()?,
        _ if n.int("noop_with_empty_axes", 0)? != 0 => return Ok(vec![x]),
        _ => (0..r).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    let current = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &current)?;
    let pa: Vec<i64> = phys_axes(&current, &axes)
        .into_iter()
        .map(|a| a as i64)
        .collect();
    let at = cx.i32_const(&format!("{}/axes", n.name), vec![pa.len()], &pa)?;
    let y = cx.emit1(
        n,
        Mean { keep_dims: keep },
        vec![Some(xi), Some(at)],
        &out0(n),
    )?;
    let out_layout = if keep {
        current
    } else {
        layout::after_removing(&current, &axes)
    };
    Ok(vec![act(y, out_layout)])
}
