//! Pad (constant mode) → PAD in the input's layout.

use super::common::{act, out0};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use edgequant_ir::ops::{normalize_axis, Pad};

/// ONNX Pad with constant mode (pads and value from attributes before opset 11, from constant
/// inputs after; opset 18 `axes`). Negative pads and the reflect/edge/wrap modes are rejected.
pub(crate) fn pad(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if r == 0 {
        return Err(n.err("the input is a scalar (rank 0)"));
    }
    let mode = n.string("mode", "constant")?;
    if mode != "constant" {
        return Err(n.attr_err(
            "mode",
            format!("only constant padding is supported, got '{mode}'"),
        ));
    }
    let (pads, value) = if n.opset < 11 {
        let p = match n.ints_opt("pads")? {
            Some(p) => p,
            None => n
                .ints_opt("paddings")?
                .ok_or_else(|| n.attr_err("pads", "missing"))?,
        };
        (p, n.float("value", 0.0)?)
    } else {
        let p = cx
            .const_req(n, 1, "pads")?
            .to_i64("pads")
            .map_err(|e| n.err(e))?;
        let v = match cx.const_opt(n, 2, "constant_value")? {
            Some(c) if c.len() > 0 => c.scalar_f32("constant_value").map_err(|e| n.err(e))?,
            _ => 0.0,
        };
        (p, v)
    };
    let axes: Vec<usize> = match cx.const_opt(n, 3, "axes")? {
        Some(a) => a
            .to_i64("axes")
            .map_err(|e| n.err(e))?
            .into_iter()
            .map(|v| normalize_axis(v, r).map_err(|e| n.err(e)))
            .collect::<Result<_>>()?,
        None => (0..r).collect(),
    };
    let k = axes.len();
    if pads.len() != 2 * k {
        return Err(n.err(format!("pads {pads:?} must have {} values", 2 * k)));
    }
    if pads.iter().any(|&p| p < 0) {
        return Err(n.err(format!(
            "negative pads {pads:?} (cropping) are not supported"
        )));
    }
    let mut before = vec![0i64; r];
    let mut after = vec![0i64; r];
    for (i, &a) in axes.iter().enumerate() {
        before[a] = pads[i];
        after[a] = pads[i + k];
    }
    if before.iter().chain(&after).all(|&p| p == 0) {
        return Ok(vec![x]);
    }
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &target)?;
    let flat: Vec<i64> = target.iter().flat_map(|&l| [before[l], after[l]]).collect();
    let pt = cx.i32_const(&format!("{}/paddings", n.name), vec![r, 2], &flat)?;
    let mut inputs = vec![Some(xi), Some(pt)];
    if value != 0.0 {
        inputs.push(Some(cx.f32_const(
            &format!("{}/value", n.name),
            vec![],
            vec![value],
        )?));
    }
    let y = cx.emit1(n, Pad, inputs, &out0(n))?;
    Ok(vec![act(y, target)])
}
