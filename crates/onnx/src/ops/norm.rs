//! BatchNormalization: folded into a preceding convolution, else MUL + ADD per channel.

use super::common::{act, out0, sole_producer};
use super::conv::scale_channels;
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{Add, Mul};
use edgequant_ir::{Activation, Op, Tensor, TensorId};

/// Per-channel `(scale, shift)` of an inference-mode batch norm.
fn affine(cx: &Ctx, n: &NodeView, channels: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let eps = n.float("epsilon", 1e-5)?;
    if n.int("training_mode", 0)? != 0 {
        return Err(n.attr_err("training_mode", "only inference mode (0) is supported"));
    }
    if n.int("spatial", 1)? != 1 {
        return Err(n.attr_err("spatial", "only spatial = 1 is supported"));
    }
    if n.outputs()
        .iter()
        .skip(1)
        .any(|o| !o.is_empty() && cx.use_count(o) > 0)
    {
        return Err(n.err("the training outputs (running mean/var) are not supported"));
    }
    let get = |i: usize, what: &str| -> Result<Vec<f32>> {
        let c = cx.const_req(n, i, what)?;
        if c.len() != channels {
            return Err(n.err(format!(
                "{what} has shape {:?}, expected {channels} values",
                c.shape
            )));
        }
        Ok(c.to_f32())
    };
    let (scale, bias, mean, var) = (
        get(1, "scale")?,
        get(2, "B")?,
        get(3, "mean")?,
        get(4, "var")?,
    );
    let s: Vec<f32> = scale
        .iter()
        .zip(&var)
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let t: Vec<f32> = bias
        .iter()
        .zip(&mean)
        .zip(&s)
        .map(|((b, m), s)| b - m * s)
        .collect();
    Ok((s, t))
}

/// Folds `y = x * s + t` into the convolution that produces `x` when `x` is read by nothing
/// else. Returns false when the producer is not a foldable convolution.
fn fold_into_conv(cx: &mut Ctx, n: &NodeView, x: &Value, s: &[f32], t: &[f32]) -> Result<bool> {
    let Some((idx, a)) = sole_producer(cx, n, x) else {
        return Ok(false);
    };
    let (w_axis, w_in, b_in) = match &cx.g.nodes[idx].op {
        Op::Conv2d(o) if o.activation == Activation::None => (0, 1, 2),
        Op::DepthwiseConv2d(o) if o.activation == Activation::None => (3, 1, 2),
        Op::TransposeConv(o) if o.activation == Activation::None => (0, 1, 3),
        _ => return Ok(false),
    };
    let inputs = cx.g.nodes[idx].inputs.clone();
    let Some(Some(wid)) = inputs.get(w_in).copied() else {
        return Ok(false);
    };
    let shared = |id: TensorId| {
        cx.g.nodes
            .iter()
            .filter(|nd| nd.inputs.contains(&Some(id)))
            .count()
            > 1
    };
    let w = cx.g.tensor(wid);
    if !w.is_const()
        || w.dtype != edgequant_ir::DType::F32
        || w.shape.get(w_axis) != Some(&s.len())
        || shared(wid)
    {
        return Ok(false);
    }
    let bias_id = inputs.get(b_in).copied().flatten();
    let old_bias = match bias_id {
        Some(b) => {
            let bt = cx.g.tensor(b);
            if !bt.is_const() || bt.numel() != s.len() || shared(b) {
                return Ok(false);
            }
            bt.float_data()?
        }
        None => vec![0.0; s.len()],
    };
    let wc = Const::from_ir(w)?;
    let new_w = scale_channels(&wc, w_axis, s);
    let wname = w.name.clone();
    *cx.g.tensor_mut(wid) = new_w.to_ir(&wname)?;
    let nb: Vec<f32> = old_bias
        .iter()
        .zip(s)
        .zip(t)
        .map(|((b, s), t)| b * s + t)
        .collect();
    match bias_id {
        Some(b) => {
            let name = cx.g.tensor(b).name.clone();
            *cx.g.tensor_mut(b) = Tensor::from_f32(name, vec![nb.len()], &nb)?;
        }
        None => {
            let b = cx.f32_const(&format!("{}/bias", n.name), vec![nb.len()], nb)?;
            let node = &mut cx.g.nodes[idx];
            if node.inputs.len() <= b_in {
                node.inputs.resize(b_in + 1, None);
            }
            node.inputs[b_in] = Some(b);
        }
    }
    let new_name = cx.unique(&out0(n));
    cx.g.tensor_mut(a.id).name = new_name;
    Ok(true)
}

/// ONNX BatchNormalization (inference).
pub(crate) fn batch_norm(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let xs = cx.logical_shape(&x);
    if xs.len() < 2 {
        return Err(n.err(format!("input must have a channel dim, shape {xs:?}")));
    }
    let c = xs[1];
    let (s, t) = affine(cx, n, c)?;
    if fold_into_conv(cx, n, &x, &s, &t)? {
        return Ok(vec![x]);
    }
    let r = xs.len();
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.operand(n, &x, &target)?;
    let mut cshape = vec![c];
    cshape.extend(std::iter::repeat_n(1, r - 2));
    let sv = Value::konst(Const::f32(cshape.clone(), s));
    let tv = Value::konst(Const::f32(cshape, t));
    let st = cx.operand(n, &sv, &target)?;
    let tt = cx.operand(n, &tv, &target)?;
    let out = out0(n);
    let m = cx.emit1(
        n,
        Mul::default(),
        vec![Some(xi), Some(st)],
        &format!("{out}/scaled"),
    )?;
    let y = cx.emit1(n, Add::default(), vec![Some(m), Some(tt)], &out)?;
    Ok(vec![act(y, target)])
}
