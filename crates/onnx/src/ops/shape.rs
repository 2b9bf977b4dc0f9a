//! Shape and data movement: Flatten, Reshape, Transpose, Concat, Squeeze, Unsqueeze, Slice,
//! Split, Gather, Identity, Dropout, Shape, Size, Cast, Expand.

use super::common::{act, out0, relabel};
use super::elementwise::broadcast_op;
use crate::ctx::{Act, Ctx, Value};
use crate::error::Result;
use crate::fold::{reshape_target, shape_const, slice_axes, transpose_perm, SliceAxis};
use crate::layout;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{
    broadcast_shapes, normalize_axis, Concatenation, Gather, Mul, StridedSlice,
};
use edgequant_ir::{DType, TensorId};
use std::rc::Rc;

fn axis(n: &NodeView, a: i64, rank: usize) -> Result<usize> {
    if rank == 0 {
        return Err(n.err("the input is a scalar (rank 0)"));
    }
    normalize_axis(a, rank).map_err(|e| n.attr_err("axis", e))
}

/// An IR tensor holding the value's elements in ONNX (row-major logical) order, with any
/// shape: the physical tensor itself when its layout differs only in size-1 dims.
pub(crate) fn flat(cx: &mut Ctx, n: &NodeView, v: &Value) -> Result<TensorId> {
    if let Value::Act(a) = v {
        let to_plain = layout::transition(&a.layout, &layout::identity(a.layout.len()));
        if layout::is_trivial_transpose(cx.shape(a.id), &to_plain) {
            return Ok(a.id);
        }
    }
    cx.plain(n, v)
}

/// Splits a reshape `from → to` into groups of consecutive dims with equal products:
/// `(from range, to range)` pairs. `None` when a shape has a zero dim or the products differ.
fn reshape_groups(
    from: &[usize],
    to: &[usize],
) -> Option<Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>> {
    if from.contains(&0) || to.contains(&0) {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let mut groups = Vec::new();
    while i < from.len() || j < to.len() {
        let (si, sj) = (i, j);
        let (mut pi, mut pj) = (1usize, 1usize);
        if i < from.len() {
            pi = from[i];
            i += 1;
        }
        if j < to.len() {
            pj = to[j];
            j += 1;
        }
        while pi != pj {
            if pi < pj && i < from.len() {
                pi = pi.checked_mul(from[i])?;
                i += 1;
            } else if pj < pi && j < to.len() {
                pj = pj.checked_mul(to[j])?;
                j += 1;
            } else {
                return None;
            }
        }
        groups.push((si..i, sj..j));
    }
    Some(groups)
}

/// Reshapes a value to `target` (ONNX semantics) keeping its layout where possible: when each
/// group of merged/split dims is contiguous and in order in the physical tensor, a RESHAPE of
/// the physical tensor suffices; otherwise one transpose first regroups only those dims.
fn reshape_to(cx: &mut Ctx, n: &NodeView, v: &Value, target: Vec<usize>) -> Result<Vec<Value>> {
    let from = cx.logical_shape(v);
    let (Value::Act(a), Some(groups)) = (v, reshape_groups(&from, &target)) else {
        let xi = flat(cx, n, v)?;
        let y = cx.reshape(n, xi, &target, &out0(n))?;
        return Ok(vec![act(y, layout::identity(target.len()))]);
    };
    let group_of: Vec<usize> = (0..from.len())
        .map(|d| groups.iter().position(|(f, _)| f.contains(&d)).unwrap_or(0))
        .collect();
    // The input layout with every group's dims consecutive and in order.
    let mut regrouped = Vec::with_capacity(from.len());
    let mut placed = vec![false; groups.len()];
    for &l in &a.layout {
        let g = group_of[l];
        if !std::mem::replace(&mut placed[g], true) {
            regrouped.extend(groups[g].0.clone());
        }
    }
    let x = cx.convert_layout(n, a, &regrouped)?;
    // Output layout: the groups' target dims in the same physical order; groups made only of
    // new unit dims go last.
    let mut out_layout = Vec::with_capacity(target.len());
    let mut emitted = vec![false; groups.len()];
    for &l in &regrouped {
        let g = group_of[l];
        if !std::mem::replace(&mut emitted[g], true) {
            out_layout.extend(groups[g].1.clone());
        }
    }
    for (g, (f, t)) in groups.iter().enumerate() {
        if f.is_empty() && !emitted[g] {
            out_layout.extend(t.clone());
        }
    }
    let phys = layout::physical_shape(&target, &out_layout);
    let y = cx.reshape(n, x, &phys, &out0(n))?;
    Ok(vec![act(y, out_layout)])
}

/// ONNX Reshape (constant target shape; 0 copies a dim unless `allowzero`) → RESHAPE of the
/// tensor in ONNX element order.
pub(crate) fn reshape(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let shape = cx.const_opt(n, 1, "shape")?;
    let xs = cx.logical_shape(&x);
    let target = reshape_target(n, &xs, shape.as_deref())?;
    reshape_to(cx, n, &x, target)
}

/// ONNX Flatten → RESHAPE to 2-D.
pub(crate) fn flatten(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let xs = cx.logical_shape(&x);
    let target = reshape_target(n, &xs, None)?;
    reshape_to(cx, n, &x, target)
}

fn axes_arg(cx: &Ctx, n: &NodeView) -> Result<Option<Rc<Const>>> {
    cx.const_opt(n, 1, "axes")
}

/// ONNX Squeeze → RESHAPE of the physical tensor; the layout drops the squeezed dims.
pub(crate) fn squeeze(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let axes = axes_arg(cx, n)?;
    let target = reshape_target(n, &xs, axes.as_deref())?;
    let Value::Act(a) = &x else {
        return Err(n.err("internal: constant input not folded"));
    };
    let removed: Vec<usize> = match axes.as_deref() {
        Some(c) => c.to_i64("axes").map_err(|e| n.err(e))?,
        None => n.ints_opt("axes")?.unwrap_or_default(),
    }
    .into_iter()
    .map(|v| axis(n, v, xs.len()))
    .collect::<Result<_>>()?;
    let removed: Vec<usize> = if removed.is_empty() {
        (0..xs.len()).filter(|&d| xs[d] == 1).collect()
    } else {
        removed
    };
    let new_layout = layout::after_removing(&a.layout, &removed);
    let phys = layout::physical_shape(&target, &new_layout);
    let y = cx.reshape(n, a.id, &phys, &out0(n))?;
    Ok(vec![act(y, new_layout)])
}

/// ONNX Unsqueeze → RESHAPE of the physical tensor; new unit dims lead the layout.
pub(crate) fn unsqueeze(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let axes = axes_arg(cx, n)?;
    let target = reshape_target(n, &xs, axes.as_deref())?;
    let Value::Act(a) = &x else {
        return Err(n.err("internal: constant input not folded"));
    };
    if layout::is_identity(&a.layout) {
        let y = cx.reshape(n, a.id, &target, &out0(n))?;
        return Ok(vec![act(y, layout::identity(target.len()))]);
    }
    let added: Vec<i64> = match axes.as_deref() {
        Some(c) => c.to_i64("axes").map_err(|e| n.err(e))?,
        None => n.ints_opt("axes")?.unwrap_or_default(),
    };
    let out_rank = target.len();
    let mut added: Vec<usize> = added
        .iter()
        .map(|&v| axis(n, v, out_rank))
        .collect::<Result<_>>()?;
    added.sort_unstable();
    let kept: Vec<usize> = (0..out_rank).filter(|d| !added.contains(d)).collect();
    let mut new_layout = added.clone();
    new_layout.extend(a.layout.iter().map(|&l| kept[l]));
    let phys = layout::physical_shape(&target, &new_layout);
    let y = cx.reshape(n, a.id, &phys, &out0(n))?;
    Ok(vec![act(y, new_layout)])
}

/// ONNX Transpose: relabels the layout, moving no data.
pub(crate) fn transpose(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let perm = transpose_perm(n, cx.logical_shape(&x).len())?;
    Ok(vec![relabel(&x, &perm)])
}

/// ONNX Concat → CONCATENATION on the physical axis of a common layout.
pub(crate) fn concat(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let mut vals = Vec::new();
    for i in 0..n.inputs().len() {
        if let Some(v) = cx.input(n, i)? {
            vals.push(v);
        }
    }
    let first = vals.first().ok_or_else(|| n.err("no inputs"))?;
    let rank = cx.logical_shape(first).len();
    let ax = axis(n, n.int("axis", if n.opset < 4 { 1 } else { 0 })?, rank)?;
    // Empty inputs contribute nothing.
    let vals: Vec<Value> = vals
        .into_iter()
        .filter(|v| cx.logical_shape(v).get(ax) != Some(&0))
        .collect();
    if vals.len() == 1 {
        return Ok(vals);
    }
    let refs: Vec<&Value> = vals.iter().collect();
    let target = cx.pick_layout(&refs, rank);
    let mut ids = Vec::with_capacity(vals.len());
    for v in &vals {
        if cx.logical_shape(v).len() != rank {
            return Err(n.err("inputs have different ranks"));
        }
        ids.push(Some(cx.in_layout(n, v, &target)?));
    }
    let op = Concatenation {
        axis: layout::phys_axis(&target, ax),
        activation: edgequant_ir::Activation::None,
    };
    let y = cx.emit1(n, op, ids, &out0(n))?;
    Ok(vec![act(y, target)])
}

/// Emits a STRIDED_SLICE of activation `a` selecting `sel` (per logical dim), shrinking the
/// logical dims in `shrink`. Returns the value.
fn strided(
    cx: &mut Ctx,
    n: &NodeView,
    a: &Act,
    sel: &[SliceAxis],
    shrink: &[usize],
    out: &str,
) -> Result<Value> {
    let r = cx.shape(a.id).len();
    if r > 32 {
        return Err(n.err("rank above 32 is not supported"));
    }
    let (mut b, mut e, mut s) = (vec![0i64; r], vec![0i64; r], vec![1i64; r]);
    let (mut end_mask, mut shrink_mask) = (0u32, 0u32);
    for i in 0..r {
        let l = a.layout[i];
        let ax = sel[l];
        b[i] = ax.start;
        s[i] = ax.step;
        e[i] = ax
            .start
            .saturating_add(ax.step.saturating_mul(ax.count as i64));
        if e[i] < 0 {
            end_mask |= 1 << i;
        }
        if shrink.contains(&l) {
            shrink_mask |= 1 << i;
        }
    }
    let bt = cx.i32_const(&format!("{out}/begin"), vec![r], &b)?;
    let et = cx.i32_const(&format!("{out}/end"), vec![r], &e)?;
    let st = cx.i32_const(&format!("{out}/strides"), vec![r], &s)?;
    let op = StridedSlice {
        end_mask,
        shrink_axis_mask: shrink_mask,
        ..StridedSlice::default()
    };
    let y = cx.emit1(n, op, vec![Some(a.id), Some(bt), Some(et), Some(st)], out)?;
    Ok(act(y, layout::after_removing(&a.layout, shrink)))
}

fn require_act(n: &NodeView, v: &Value) -> Result<Act> {
    match v {
        Value::Act(a) => Ok(a.clone()),
        Value::Const(_) => Err(n.err("internal: constant input not folded")),
    }
}

/// ONNX Slice (attributes or constant inputs, any steps) → STRIDED_SLICE in the input's layout.
pub(crate) fn slice(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let mut ins = vec![None];
    for i in 1..5 {
        ins.push(cx.const_opt(n, i, "slice parameter")?);
    }
    let sel = slice_axes(n, &xs, &ins)?;
    if sel
        .iter()
        .zip(&xs)
        .all(|(a, &d)| a.start == 0 && a.step == 1 && a.count == d)
    {
        return Ok(vec![x]);
    }
    let a = require_act(n, &x)?;
    Ok(vec![strided(cx, n, &a, &sel, &[], &out0(n))?])
}

/// ONNX Split (sizes from the attribute, the input, `num_outputs` or the output count) →
/// one STRIDED_SLICE per output.
pub(crate) fn split(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let xs = cx.logical_shape(&x);
    let ax = axis(n, n.int("axis", 0)?, xs.len())?;
    let dim = xs[ax];
    let count = n.outputs().len();
    let sizes: Vec<i64> = if let Some(c) = cx.const_opt(n, 1, "split")? {
        c.to_i64("split").map_err(|e| n.err(e))?
    } else if let Some(s) = n.ints_opt("split")? {
        s
    } else {
        let parts = n.int("num_outputs", count as i64)?.max(1) as usize;
        let chunk = dim.div_ceil(parts);
        (0..parts)
            .map(|i| (dim.saturating_sub(chunk * i)).min(chunk) as i64)
            .collect()
    };
    let total: i128 = sizes.iter().map(|&s| i128::from(s)).sum();
    if sizes.len() != count || sizes.iter().any(|&s| s < 0) || total != dim as i128 {
        return Err(n.err(format!(
            "split sizes {sizes:?} do not cover axis {ax} of size {dim} in {count} outputs"
        )));
    }
    let mut outs = Vec::with_capacity(count);
    let mut start = 0i64;
    for (i, &s) in sizes.iter().enumerate() {
        let mut sel: Vec<SliceAxis> = xs
            .iter()
            .map(|&d| SliceAxis {
                start: 0,
                step: 1,
                count: d,
            })
            .collect();
        sel[ax] = SliceAxis {
            start,
            step: 1,
            count: s as usize,
        };
        start += s;
        let name = match n.output_name(i) {
            "" => format!("{}/{i}", n.name),
            o => o.to_string(),
        };
        match &x {
            Value::Const(c) => {
                let idx = crate::fold::strided_index(&c.shape, &sel);
                let all = c.to_f32();
                let data = if c.is_float() {
                    crate::tensor::Data::F(idx.iter().map(|&k| all[k]).collect())
                } else {
                    let iv = c.to_i64("input").map_err(|e| n.err(e))?;
                    crate::tensor::Data::I(idx.iter().map(|&k| iv[k]).collect())
                };
                outs.push(Value::konst(Const {
                    dtype: c.dtype,
                    shape: sel.iter().map(|a| a.count).collect(),
                    data,
                }));
            }
            Value::Act(a) => outs.push(strided(cx, n, a, &sel, &[], &name)?),
        }
    }
    Ok(outs)
}

/// ONNX Gather → GATHER on the ONNX layout (run-time or arbitrary indices).
fn gather_op(cx: &mut Ctx, n: &NodeView, x: &Value, ax: usize, idx: &Value) -> Result<Vec<Value>> {
    let xs = cx.logical_shape(x);
    let xi = cx.plain(n, x)?;
    let ii = match idx {
        Value::Const(c) => {
            let dim = xs[ax] as i64;
            let v: Vec<i64> = c
                .to_i64("indices")
                .map_err(|e| n.err(e))?
                .into_iter()
                .map(|i| if i < 0 { i + dim } else { i })
                .collect();
            if v.iter().any(|&i| i < 0 || i >= dim) {
                return Err(n.err(format!(
                    "indices {v:?} out of range for axis {ax} of size {dim}"
                )));
            }
            cx.add_const(
                &format!("{}/indices", n.name),
                &Const::int(DType::I32, c.shape.clone(), v),
            )?
        }
        Value::Act(_) => {
            if !matches!(cx.dtype(idx), DType::I32 | DType::I64) {
                return Err(n.err("indices must be int32 or int64"));
            }
            cx.plain(n, idx)?
        }
    };
    let rank = xs.len() - 1 + cx.logical_shape(idx).len();
    let y = cx.emit1(n, Gather { axis: ax }, vec![Some(xi), Some(ii)], &out0(n))?;
    Ok(vec![act(y, layout::identity(rank))])
}

/// ONNX Gather: constant indices forming an arithmetic progression (a scalar index shrinks the
/// axis) → STRIDED_SLICE in the input's layout; other indices → GATHER.
pub(crate) fn gather(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let xs = cx.logical_shape(&x);
    let ax = axis(n, n.int("axis", 0)?, xs.len())?;
    let idx = match cx.req(n, 1, "indices")? {
        Value::Const(c) => c,
        v @ Value::Act(_) => return gather_op(cx, n, &x, ax, &v),
    };
    let dim = xs[ax] as i64;
    let ind: Vec<i64> = idx
        .to_i64("indices")
        .map_err(|e| n.err(e))?
        .into_iter()
        .map(|i| if i < 0 { i + dim } else { i })
        .collect();
    if ind.iter().any(|&i| i < 0 || i >= dim) {
        return Err(n.err(format!(
            "indices {ind:?} out of range for axis {ax} of size {dim}"
        )));
    }
    let step = if ind.len() > 1 { ind[1] - ind[0] } else { 1 };
    let progression = step != 0 && ind.windows(2).all(|w| w[1] - w[0] == step);
    if idx.shape.len() > 1 || ind.is_empty() || !progression || matches!(x, Value::Const(_)) {
        return gather_op(cx, n, &x, ax, &Value::Const(idx));
    }
    let a = require_act(n, &x)?;
    let mut sel: Vec<SliceAxis> = xs
        .iter()
        .map(|&d| SliceAxis {
            start: 0,
            step: 1,
            count: d,
        })
        .collect();
    sel[ax] = SliceAxis {
        start: ind[0],
        step,
        count: ind.len(),
    };
    let shrink = if idx.shape.is_empty() {
        vec![ax]
    } else {
        vec![]
    };
    Ok(vec![strided(cx, n, &a, &sel, &shrink, &out0(n))?])
}

/// ONNX Identity: the input value.
pub(crate) fn identity(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    Ok(vec![cx.req(n, 0, "input")?])
}

/// ONNX Dropout (inference): the input value; the mask output is not supported.
pub(crate) fn dropout(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    if n.outputs()
        .get(1)
        .is_some_and(|m| !m.is_empty() && cx.use_count(m) > 0)
    {
        return Err(n.err("the mask output is not supported"));
    }
    if let Some(t) = cx.const_opt(n, 2, "training_mode")? {
        if t.to_f32().iter().any(|&v| v != 0.0) {
            return Err(n.err("training mode is not supported"));
        }
    }
    Ok(vec![cx.req(n, 0, "data")?])
}

/// ONNX Shape: a constant, since every shape is static.
pub(crate) fn shape(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    Ok(vec![Value::konst(shape_const(n, &cx.logical_shape(&x))?)])
}

/// ONNX Size: a constant.
pub(crate) fn size(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "data")?;
    let count: usize = cx.logical_shape(&x).iter().product();
    Ok(vec![Value::konst(Const::int(
        DType::I64,
        vec![],
        vec![count as i64],
    ))])
}

/// ONNX Cast of a run-time tensor: only casts that keep the IR dtype (e.g. float to float).
pub(crate) fn cast(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let to = n.int("to", 0)? as i32;
    let target = crate::tensor::ir_dtype(to).ok_or_else(|| {
        n.attr_err(
            "to",
            format!("unsupported type {}", crate::tensor::onnx_type_name(to)),
        )
    })?;
    let from = cx.dtype(&x);
    if from == target {
        return Ok(vec![x]);
    }
    Err(n.err(format!(
        "casting a run-time tensor from {from} to {target} is not supported"
    )))
}

/// ONNX Expand of a run-time float tensor → MUL by ones of the expanded dims.
pub(crate) fn expand(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "input")?;
    let s = cx.const_req(n, 1, "shape")?;
    let xs = cx.logical_shape(&x);
    let target: Vec<usize> = s
        .to_i64("shape")
        .map_err(|e| n.err(e))?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| n.err(format!("negative dim {d}"))))
        .collect::<Result<_>>()?;
    let out = broadcast_shapes(&xs, &target).map_err(|e| n.err(e))?;
    if out == xs {
        return Ok(vec![x]);
    }
    if !cx.dtype(&x).is_float() {
        return Err(n.err("expanding a run-time non-float tensor is not supported"));
    }
    let mut full = vec![1; out.len() - xs.len()];
    full.extend_from_slice(&xs);
    let ones_shape: Vec<usize> = out
        .iter()
        .zip(&full)
        .map(|(&o, &i)| if i == 1 { o } else { 1 })
        .collect();
    let count = crate::tensor::numel(&ones_shape)
        .filter(|&c| c <= crate::fold::MAX_CONST)
        .ok_or_else(|| n.err(format!("expanded shape {out:?} is too large")))?;
    let ones = Value::konst(Const::f32(ones_shape, vec![1.0; count]));
    let (y, l) = broadcast_op(cx, n, Mul::default().into(), &x, &ones, &out0(n))?;
    Ok(vec![act(y, l)])
}
