//! Helpers shared by the op converters: spatial padding resolution, activation fusion, layout
//! relabeling.

use crate::ctx::{Act, Ctx, Value};
use crate::error::Result;
use crate::layout;
use crate::node::NodeView;
use edgequant_ir::{Activation, Op, TensorId};

/// An activation value.
pub(crate) fn act(id: TensorId, layout: Vec<usize>) -> Value {
    Value::Act(Act { id, layout })
}

/// Name of the node's first output (the node name when it has none).
pub(crate) fn out0(n: &NodeView) -> String {
    let o = n.output_name(0);
    if o.is_empty() {
        n.name.clone()
    } else {
        o.to_string()
    }
}

/// Physical positions of logical axes in `layout`.
pub(crate) fn phys_axes(layout: &[usize], axes: &[usize]) -> Vec<usize> {
    axes.iter().map(|&a| layout::phys_axis(layout, a)).collect()
}

/// ONNX `Transpose` by `perm` without moving data: the result is the same IR tensor with a
/// new layout (constants are permuted).
pub(crate) fn relabel(v: &Value, perm: &[usize]) -> Value {
    match v {
        Value::Const(c) => Value::konst(c.permuted(perm)),
        Value::Act(a) => {
            let inv = layout::inverse(perm);
            Value::Act(Act {
                id: a.id,
                layout: a.layout.iter().map(|&l| inv[l]).collect(),
            })
        }
    }
}

/// Resolved padding of one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisPad {
    pub input: usize,
    /// Effective (dilated) kernel extent.
    pub extent: usize,
    pub stride: usize,
    pub before: usize,
    /// Declared padding after.
    pub after: usize,
    /// Padding after that windows actually reach (ceil mode may need more than declared).
    pub used_after: usize,
    pub out: usize,
}

impl AxisPad {
    fn same_total(&self) -> usize {
        ((self.input.div_ceil(self.stride).max(1) - 1) * self.stride + self.extent)
            .saturating_sub(self.input)
    }

    /// True when TFLite SAME selects the same windows.
    pub fn is_same(&self) -> bool {
        let total = self.same_total();
        self.out == self.input.div_ceil(self.stride)
            && self.before == total / 2
            && self.used_after == total - total / 2
    }

    /// True when TFLite VALID selects the same windows.
    pub fn is_valid(&self) -> bool {
        self.before == 0
            && self.used_after == 0
            && self.input >= self.extent
            && self.out == (self.input - self.extent) / self.stride + 1
    }
}

/// Spatial attributes of a convolution or pool over the two spatial dims.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spatial {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub axes: [AxisPad; 2],
}

/// Padding choice for TFLite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PadChoice {
    Same,
    Valid,
    /// Explicit `[top, bottom, left, right]` padding that neither SAME nor VALID reproduces.
    Explicit([usize; 4]),
}

impl Spatial {
    /// The TFLite padding that reproduces the ONNX windows, or the explicit pads.
    pub fn choice(&self) -> PadChoice {
        if self.axes.iter().all(AxisPad::is_valid) {
            PadChoice::Valid
        } else if self.axes.iter().all(AxisPad::is_same) {
            PadChoice::Same
        } else {
            let [h, w] = self.axes;
            PadChoice::Explicit([h.before, h.used_after, w.before, w.used_after])
        }
    }
}

/// Largest stride, dilation or pad accepted (far above any real model).
pub(crate) const MAX_WINDOW_ATTR: usize = 1 << 20;

fn pair(n: &NodeView, name: &str, v: Vec<usize>, rank: usize) -> Result<Vec<usize>> {
    if v.len() != rank || v.contains(&0) || v.iter().any(|&x| x > MAX_WINDOW_ATTR) {
        return Err(n.attr_err(
            name,
            format!("expected {rank} positive values up to {MAX_WINDOW_ATTR}, got {v:?}"),
        ));
    }
    Ok(v)
}

/// Resolves kernel, strides, dilations, pads/auto_pad and ceil_mode of a 1-D or 2-D
/// convolution or pool with spatial input size `input` (1-D ops are treated as H = 1).
pub(crate) fn spatial(
    n: &NodeView,
    input: &[usize],
    kernel: &[usize],
    ceil_mode: bool,
) -> Result<Spatial> {
    let r = input.len();
    if !(1..=2).contains(&r) || kernel.len() != r {
        return Err(n.err(format!(
            "only 1-D and 2-D spatial ops are supported, input spatial dims {input:?}"
        )));
    }
    let strides = pair(n, "strides", n.usizes("strides", vec![1; r])?, r)?;
    let dil = pair(n, "dilations", n.usizes("dilations", vec![1; r])?, r)?;
    let auto = n.string("auto_pad", "NOTSET")?;
    let pads = n.ints_opt("pads")?.unwrap_or_else(|| vec![0; 2 * r]);
    if pads.len() != 2 * r || pads.iter().any(|&p| p < 0 || p as usize > MAX_WINDOW_ATTR) {
        return Err(n.attr_err(
            "pads",
            format!("expected {} non-negative values, got {pads:?}", 2 * r),
        ));
    }
    let mut axes = Vec::with_capacity(2);
    for i in 0..r {
        let (inp, k, s, d) = (input[i], kernel[i], strides[i], dil[i]);
        let extent = k
            .checked_sub(1)
            .and_then(|v| v.checked_mul(d))
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| n.attr_err("dilations", "kernel extent is empty or overflows"))?;
        let (before, after) = match auto.as_str() {
            "NOTSET" | "" => (pads[i] as usize, pads[i + r] as usize),
            "VALID" => (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let out = inp.div_ceil(s);
                let total = ((out.max(1) - 1) * s + extent).saturating_sub(inp);
                if auto == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            other => return Err(n.attr_err("auto_pad", format!("unknown value '{other}'"))),
        };
        let total = inp
            .checked_add(before + after)
            .ok_or_else(|| n.err("padded size overflows"))?;
        if total < extent {
            return Err(n.err(format!(
                "kernel extent {extent} does not fit padded input size {total} (spatial dim {i})"
            )));
        }
        let mut out = if ceil_mode {
            (total - extent).div_ceil(s) + 1
        } else {
            (total - extent) / s + 1
        };
        if ceil_mode && (out - 1) * s >= inp + before {
            out -= 1;
        }
        let used_after = ((out - 1) * s + extent).saturating_sub(inp + before);
        axes.push(AxisPad {
            input: inp,
            extent,
            stride: s,
            before,
            after,
            used_after,
            out,
        });
    }
    if r == 1 {
        // 1-D: a height of 1 with a 1-tall kernel.
        let unit = AxisPad {
            input: 1,
            extent: 1,
            stride: 1,
            before: 0,
            after: 0,
            used_after: 0,
            out: 1,
        };
        return Ok(Spatial {
            kernel: [1, kernel[0]],
            stride: [1, strides[0]],
            dilation: [1, dil[0]],
            axes: [unit, axes[0]],
        });
    }
    Ok(Spatial {
        kernel: [kernel[0], kernel[1]],
        stride: [strides[0], strides[1]],
        dilation: [dil[0], dil[1]],
        axes: [axes[0], axes[1]],
    })
}

/// Emits a PAD of an NHWC tensor by `[top, bottom, left, right]` with constant `value`.
pub(crate) fn pad_nhwc(
    cx: &mut Ctx,
    n: &NodeView,
    x: TensorId,
    p: [usize; 4],
    value: f32,
) -> Result<TensorId> {
    let name = format!("{}/pad", n.name);
    let pads = [0, 0, p[0], p[1], p[2], p[3], 0, 0].map(|v| v as i64);
    let pt = cx.i32_const(&format!("{name}/paddings"), vec![4, 2], &pads)?;
    let mut inputs = vec![Some(x), Some(pt)];
    if value != 0.0 {
        inputs.push(Some(cx.f32_const(
            &format!("{name}/value"),
            vec![],
            vec![value],
        )?));
    }
    cx.emit1(n, edgequant_ir::ops::Pad, inputs, &name)
}

/// The fused activation of an op, if it has one.
pub(crate) fn fused_activation(op: &mut Op) -> Option<&mut Activation> {
    match op {
        Op::Conv2d(o) => Some(&mut o.activation),
        Op::DepthwiseConv2d(o) => Some(&mut o.activation),
        Op::TransposeConv(o) => Some(&mut o.activation),
        Op::FullyConnected(o) => Some(&mut o.activation),
        Op::Add(o) => Some(&mut o.activation),
        Op::Sub(o) => Some(&mut o.activation),
        Op::Mul(o) => Some(&mut o.activation),
        Op::Div(o) => Some(&mut o.activation),
        _ => None,
    }
}

/// The IR node that produced the activation `v` when `v` is read only by node `n` (its first
/// input) and by nothing else, so that `n` may be merged into it.
pub(crate) fn sole_producer(cx: &Ctx, n: &NodeView, v: &Value) -> Option<(usize, Act)> {
    sole_producer_of(cx, n, 0, v)
}

/// [`sole_producer`] for the node's input `i`.
pub(crate) fn sole_producer_of(
    cx: &Ctx,
    n: &NodeView,
    i: usize,
    v: &Value,
) -> Option<(usize, Act)> {
    let Value::Act(a) = v else {
        return None;
    };
    let name = n.input_name(i)?;
    if cx.use_count(name) != 1 || cx.g.outputs.contains(&a.id) || cx.g.inputs.contains(&a.id) {
        return None;
    }
    let idx = *cx.producer.get(&a.id)?;
    (cx.g.nodes[idx].outputs == [a.id]).then(|| (idx, a.clone()))
}

/// Fuses `activation` into the producer of `v` when possible; returns the fused value.
pub(crate) fn try_fuse(
    cx: &mut Ctx,
    n: &NodeView,
    v: &Value,
    activation: Activation,
) -> Option<Value> {
    let (idx, a) = sole_producer(cx, n, v)?;
    let slot = fused_activation(&mut cx.g.nodes[idx].op)?;
    if *slot != Activation::None {
        return None;
    }
    *slot = activation;
    let new_name = cx.unique(&out0(n));
    cx.g.tensor_mut(a.id).name = new_name;
    Some(Value::Act(a))
}

/// Adds `delta` to the constant bias (operand `bias_in`) of IR node `idx`, creating the bias
/// when the node has none. Returns false (changing nothing) when the bias is not a float
/// constant of the right size or is shared with another node.
pub(crate) fn add_to_bias(
    cx: &mut Ctx,
    n: &NodeView,
    idx: usize,
    bias_in: usize,
    delta: &[f32],
) -> Result<bool> {
    let bias_id = cx.g.nodes[idx].inputs.get(bias_in).copied().flatten();
    match bias_id {
        Some(b) => {
            let shared =
                cx.g.nodes
                    .iter()
                    .filter(|nd| nd.inputs.contains(&Some(b)))
                    .count()
                    > 1;
            let t = cx.g.tensor(b);
            if shared
                || !t.is_const()
                || t.dtype != edgequant_ir::DType::F32
                || t.numel() != delta.len()
            {
                return Ok(false);
            }
            let v: Vec<f32> = t
                .f32_data()?
                .iter()
                .zip(delta)
                .map(|(a, d)| a + d)
                .collect();
            let name = t.name.clone();
            *cx.g.tensor_mut(b) = edgequant_ir::Tensor::from_f32(name, vec![v.len()], &v)?;
        }
        None => {
            let b = cx.f32_const(
                &format!("{}/bias", n.name),
                vec![delta.len()],
                delta.to_vec(),
            )?;
            let node = &mut cx.g.nodes[idx];
            if node.inputs.len() <= bias_in {
                node.inputs.resize(bias_in + 1, None);
            }
            node.inputs[bias_in] = Some(b);
        }
    }
    Ok(true)
}
