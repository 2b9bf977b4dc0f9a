//! MaxPool, AveragePool (both `count_include_pad` modes, ceil mode), GlobalAveragePool,
//! GlobalMaxPool.

use super::common::{act, out0, pad_nhwc, phys_axes, spatial, AxisPad, PadChoice};
use super::conv::{nhwc_input, nhwc_output};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::node::NodeView;
use edgequant_ir::ops::{AveragePool2d, MaxPool2d, Mean, Mul};
use edgequant_ir::{Activation, Op, Padding, TensorId};

fn kernel(n: &NodeView, spatial_rank: usize) -> Result<Vec<usize>> {
    let k = n.usizes("kernel_shape", vec![])?;
    if k.len() != spatial_rank || k.contains(&0) {
        return Err(n.attr_err(
            "kernel_shape",
            format!("expected {spatial_rank} positive values, got {k:?}"),
        ));
    }
    if n.usizes("dilations", vec![1; spatial_rank])?
        .iter()
        .any(|&d| d != 1)
    {
        return Err(n.attr_err("dilations", "dilated pooling is not supported"));
    }
    Ok(k)
}

fn pool_input(cx: &Ctx, n: &NodeView, x: &Value) -> Result<usize> {
    let r = cx.logical_shape(x).len();
    if !(r == 3 || r == 4) {
        return Err(n.err(format!(
            "only 1-D and 2-D pooling is supported, input rank {r}"
        )));
    }
    if n.outputs()
        .iter()
        .skip(1)
        .any(|o| !o.is_empty() && cx.use_count(o) > 0)
    {
        return Err(n.err("the Indices output is not supported"));
    }
    Ok(r)
}

/// True when the IR tensor is known to be non-negative (produced by a ReLU-like op).
fn non_negative(cx: &Ctx, id: TensorId) -> bool {
    let Some(&idx) = cx.producer.get(&id) else {
        return false;
    };
    let nonneg_act = |a: &Activation| matches!(a, Activation::Relu | Activation::Relu6);
    match &cx.g.nodes[idx].op {
        Op::Relu(_) | Op::Relu6(_) | Op::Logistic(_) => true,
        Op::Conv2d(o) => nonneg_act(&o.activation),
        Op::DepthwiseConv2d(o) => nonneg_act(&o.activation),
        Op::FullyConnected(o) => nonneg_act(&o.activation),
        Op::Add(o) => nonneg_act(&o.activation),
        Op::MaxPool2d(_) => cx.g.nodes[idx]
            .inputs
            .first()
            .copied()
            .flatten()
            .is_some_and(|i| non_negative(cx, i)),
        _ => false,
    }
}

/// ONNX MaxPool → MAX_POOL_2D (SAME/VALID, or PAD with the lowest float + VALID; zero padding
/// when the input is known to be non-negative).
pub(crate) fn max_pool(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = pool_input(cx, n, &x)?;
    let xs = cx.logical_shape(&x);
    let k = kernel(n, r - 2)?;
    let ceil = n.int("ceil_mode", 0)? != 0;
    let sp = spatial(n, &xs[2..], &k, ceil)?;
    let mut xin = nhwc_input(cx, n, &x)?;
    let padding = match sp.choice() {
        PadChoice::Same => Padding::Same,
        PadChoice::Valid => Padding::Valid,
        PadChoice::Explicit(p) => {
            let v = if non_negative(cx, xin) { 0.0 } else { f32::MIN };
            xin = pad_nhwc(cx, n, xin, p, v)?;
            Padding::Valid
        }
    };
    let op = MaxPool2d {
        filter: sp.kernel,
        stride: sp.stride,
        padding,
        activation: Activation::None,
    };
    let y = cx.emit1(n, op, vec![Some(xin)], &out0(n))?;
    nhwc_output(cx, n, y, r)
}

/// ONNX's averaging divisor of every output position along one axis.
fn divisors(a: &AxisPad, k: usize, include_pad: bool) -> Vec<usize> {
    (0..a.out)
        .map(|o| {
            let start = (o * a.stride) as i64 - a.before as i64;
            let end = start + k as i64;
            let (lo, hi) = if include_pad {
                (
                    start.max(-(a.before as i64)),
                    end.min((a.input + a.after) as i64),
                )
            } else {
                (start.max(0), end.min(a.input as i64))
            };
            (hi - lo).max(1) as usize
        })
        .collect()
}

/// ONNX AveragePool → AVERAGE_POOL_2D. SAME/VALID when they average exactly like ONNX;
/// otherwise PAD + VALID followed by a MUL with per-position divisor corrections.
pub(crate) fn average_pool(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = pool_input(cx, n, &x)?;
    let xs = cx.logical_shape(&x);
    let k = kernel(n, r - 2)?;
    let ceil = n.int("ceil_mode", 0)? != 0;
    let include = n.int("count_include_pad", 0)? != 0;
    let sp = spatial(n, &xs[2..], &k, ceil)?;
    let mut xin = nhwc_input(cx, n, &x)?;
    let choice = sp.choice();
    let out = out0(n);
    let direct = match choice {
        PadChoice::Valid => Some(Padding::Valid),
        PadChoice::Same if !include => Some(Padding::Same),
        _ => None,
    };
    if let Some(padding) = direct {
        let op = AveragePool2d {
            filter: sp.kernel,
            stride: sp.stride,
            padding,
            activation: Activation::None,
        };
        let y = cx.emit1(n, op, vec![Some(xin)], &out)?;
        return nhwc_output(cx, n, y, r);
    }
    let [h, w] = sp.axes;
    let p = [h.before, h.used_after, w.before, w.used_after];
    if p.iter().any(|&v| v > 0) {
        xin = pad_nhwc(cx, n, xin, p, 0.0)?;
    }
    let dh = divisors(&h, sp.kernel[0], include);
    let dw = divisors(&w, sp.kernel[1], include);
    let area = sp.kernel[0] * sp.kernel[1];
    let exact = dh.iter().all(|&a| dw.iter().all(|&b| a * b == area));
    let op = AveragePool2d {
        filter: sp.kernel,
        stride: sp.stride,
        padding: Padding::Valid,
        activation: Activation::None,
    };
    let pooled_name = if exact {
        out.clone()
    } else {
        format!("{out}/sum_over_area")
    };
    let mut y = cx.emit1(n, op, vec![Some(xin)], &pooled_name)?;
    if !exact {
        if h.out * w.out > crate::fold::MAX_CONST {
            return Err(n.err(format!(
                "output {}x{} too large for the divisor correction",
                h.out, w.out
            )));
        }
        let corr: Vec<f32> = dh
            .iter()
            .flat_map(|&a| dw.iter().map(move |&b| area as f32 / (a * b) as f32))
            .collect();
        let c = cx.f32_const(
            &format!("{}/divisor_correction", n.name),
            vec![1, h.out, w.out, 1],
            corr,
        )?;
        y = cx.emit1(n, Mul::default(), vec![Some(y), Some(c)], &out)?;
    }
    nhwc_output(cx, n, y, r)
}

/// ONNX GlobalAveragePool → MEAN over the spatial axes, keeping dims.
pub(crate) fn global_average_pool(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = cx.logical_shape(&x).len();
    if r < 3 {
        return Err(n.err(format!("input must have spatial dims, rank {r}")));
    }
    let target = cx.pick_layout(&[&x], r);
    let xi = cx.in_layout(n, &x, &target)?;
    let axes: Vec<i64> = phys_axes(&target, &(2..r).collect::<Vec<_>>())
        .into_iter()
        .map(|a| a as i64)
        .collect();
    let at = cx.i32_const(&format!("{}/axes", n.name), vec![axes.len()], &axes)?;
    let y = cx.emit1(
        n,
        Mean { keep_dims: true },
        vec![Some(xi), Some(at)],
        &out0(n),
    )?;
    Ok(vec![act(y, target)])
}

/// ONNX GlobalMaxPool → MAX_POOL_2D over the whole spatial extent.
pub(crate) fn global_max_pool(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let r = pool_input(cx, n, &x)?;
    let xin = nhwc_input(cx, n, &x)?;
    let s = cx.shape(xin).to_vec();
    let op = MaxPool2d {
        filter: [s[1], s[2]],
        stride: [1, 1],
        padding: Padding::Valid,
        activation: Activation::None,
    };
    let y = cx.emit1(n, op, vec![Some(xin)], &out0(n))?;
    nhwc_output(cx, n, y, r)
}
