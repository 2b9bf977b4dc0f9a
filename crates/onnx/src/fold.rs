//! Import-time evaluation of nodes whose inputs are all constant (ONNX semantics, ONNX layout).
//! Covers the shape arithmetic exporters emit (`Shape → Gather → Concat → Reshape`, ...) and
//! simple float math on constants.

use crate::error::Result;
use crate::node::NodeView;
use crate::tensor::{numel, Const, Data};
use edgequant_ir::ops::normalize_axis;
use edgequant_ir::DType;
use std::rc::Rc;

/// Evaluates node `n` on constant inputs. `None` when the op is not evaluated at import time
/// (it is then converted to IR ops on constant tensors).
pub(crate) fn eval(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Option<Result<Vec<Const>>> {
    let r = match n.op.as_str() {
        "Identity" | "Dropout" => Ok(vec![get(n, ins, 0).ok()?.as_ref().clone()]),
        "Cast" => cast(n, ins),
        "Shape" => shape_of(n, ins),
        "Size" => {
            get(n, ins, 0).map(|c| vec![Const::int(DType::I64, vec![], vec![c.len() as i64])])
        }
        "Gather" => gather(n, ins),
        "Concat" => concat(n, ins),
        "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => reshape_like(n, ins),
        "Transpose" => transpose(n, ins),
        "Slice" => slice(n, ins),
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Equal" | "Less" | "Greater"
        | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Mod" => binary(n, ins),
        "Neg" | "Abs" | "Sqrt" | "Exp" | "Floor" | "Ceil" | "Round" | "Reciprocal" | "Relu"
        | "Sigmoid" | "Tanh" | "Not" | "Log" => unary(n, ins),
        "Range" => range(n, ins),
        "ConstantOfShape" => constant_of_shape(n, ins),
        "Where" => where_(n, ins),
        "Expand" => expand(n, ins),
        "ReduceProd" | "ReduceSum" | "ReduceMin" | "ReduceMax" => reduce_int(n, ins)?,
        _ => return None,
    };
    Some(r)
}

fn get<'a>(n: &NodeView, ins: &'a [Option<Rc<Const>>], i: usize) -> Result<&'a Rc<Const>> {
    ins.get(i)
        .and_then(|c| c.as_ref())
        .ok_or_else(|| n.err(format!("missing input {i}")))
}

fn opt(ins: &[Option<Rc<Const>>], i: usize) -> Option<&Rc<Const>> {
    ins.get(i).and_then(|c| c.as_ref())
}

fn ints(n: &NodeView, c: &Const, what: &str) -> Result<Vec<i64>> {
    c.to_i64(what).map_err(|e| n.err(e))
}

fn axis(n: &NodeView, a: i64, rank: usize) -> Result<usize> {
    if rank == 0 {
        return Err(n.err("the input is a scalar (rank 0)"));
    }
    normalize_axis(a, rank).map_err(|e| n.err(e))
}

/// Largest constant (in elements) evaluated at import time.
pub(crate) const MAX_CONST: usize = 1 << 26;

fn check_size(n: &NodeView, shape: &[usize]) -> Result<()> {
    match numel(shape) {
        Some(t) if t <= MAX_CONST => Ok(()),
        _ => Err(n.err(format!(
            "constant result of shape {shape:?} is too large to evaluate at import time"
        ))),
    }
}

/// Row-major strides.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn pick(data: &Data, idx: &[usize]) -> Data {
    match data {
        Data::F(v) => Data::F(idx.iter().map(|&i| v[i]).collect()),
        Data::I(v) => Data::I(idx.iter().map(|&i| v[i]).collect()),
    }
}

fn cast(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let to = n.int("to", 1)? as i32;
    let dtype = crate::tensor::ir_dtype(to).ok_or_else(|| {
        n.attr_err(
            "to",
            format!("unsupported type {}", crate::tensor::onnx_type_name(to)),
        )
    })?;
    let data = match (&c.data, dtype) {
        (d, DType::F32) => Data::F(match d {
            Data::F(v) => v.clone(),
            Data::I(v) => v.iter().map(|&x| x as f32).collect(),
        }),
        (Data::F(v), DType::Bool) => Data::I(v.iter().map(|&x| i64::from(x != 0.0)).collect()),
        (Data::F(v), _) => Data::I(v.iter().map(|&x| wrap_int(x as i64, dtype)).collect()),
        (Data::I(v), _) => Data::I(v.iter().map(|&x| wrap_int(x, dtype)).collect()),
    };
    Ok(vec![Const {
        dtype,
        shape: c.shape.clone(),
        data,
    }])
}

/// Wraps an integer into the range of `dtype` (two's complement), as C casts do.
fn wrap_int(x: i64, dtype: DType) -> i64 {
    match dtype {
        DType::I8 => i64::from(x as i8),
        DType::U8 => i64::from(x as u8),
        DType::I16 => i64::from(x as i16),
        DType::I32 => i64::from(x as i32),
        DType::Bool => i64::from(x != 0),
        _ => x,
    }
}

/// `Shape` of a tensor with logical shape `shape` (opset 15 `start`/`end` attributes).
pub(crate) fn shape_const(n: &NodeView, shape: &[usize]) -> Result<Const> {
    let r = shape.len() as i64;
    let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = norm(n.int("start", 0)?);
    let end = norm(n.int("end", r)?);
    let dims: Vec<i64> = shape
        .get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as i64)
        .collect();
    Ok(Const::int(DType::I64, vec![dims.len()], dims))
}

fn shape_of(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    Ok(vec![shape_const(n, &get(n, ins, 0)?.shape)?])
}

fn gather(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let data = get(n, ins, 0)?;
    let idx = get(n, ins, 1)?;
    let ax = axis(n, n.int("axis", 0)?, data.shape.len())?;
    let dim = data.shape[ax];
    let indices = ints(n, idx, "indices")?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim as i64 } else { i };
            usize::try_from(j).ok().filter(|&j| j < dim).ok_or_else(|| {
                n.err(format!(
                    "index {i} out of range for axis {ax} of size {dim}"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut shape = data.shape[..ax].to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(&data.shape[ax + 1..]);
    check_size(n, &shape)?;
    let outer: usize = data.shape[..ax].iter().product();
    let inner: usize = data.shape[ax + 1..].iter().product();
    let mut src = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in &indices {
            for k in 0..inner {
                src.push((o * dim + i) * inner + k);
            }
        }
    }
    Ok(vec![Const {
        dtype: data.dtype,
        shape,
        data: pick(&data.data, &src),
    }])
}

fn concat(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let parts: Vec<&Rc<Const>> = ins.iter().flatten().collect();
    let first = parts.first().ok_or_else(|| n.err("no inputs"))?;
    let rank = first.shape.len();
    let ax = axis(n, n.int("axis", 0)?, rank)?;
    let mut shape = first.shape.clone();
    shape[ax] = 0;
    for p in &parts {
        let ok =
            p.shape.len() == rank && (0..rank).all(|d| d == ax || p.shape[d] == first.shape[d]);
        if !ok {
            return Err(n.err(format!(
                "input shapes {:?} and {:?} do not concatenate on axis {ax}",
                first.shape, p.shape
            )));
        }
        shape[ax] += p.shape[ax];
    }
    let outer: usize = first.shape[..ax].iter().product();
    let float = parts.iter().any(|p| p.is_float());
    let mut fv = Vec::new();
    let mut iv = Vec::new();
    for o in 0..outer {
        for p in &parts {
            let chunk: usize = p.shape[ax..].iter().product();
            if float {
                fv.extend_from_slice(&p.to_f32()[o * chunk..(o + 1) * chunk]);
            } else if let Data::I(v) = &p.data {
                iv.extend_from_slice(&v[o * chunk..(o + 1) * chunk]);
            }
        }
    }
    Ok(vec![Const {
        dtype: if float { DType::F32 } else { first.dtype },
        shape,
        data: if float { Data::F(fv) } else { Data::I(iv) },
    }])
}

/// Output shape of Reshape/Flatten/Squeeze/Unsqueeze in ONNX semantics.
pub(crate) fn reshape_target(
    n: &NodeView,
    shape: &[usize],
    arg: Option<&Const>,
) -> Result<Vec<usize>> {
    let rank = shape.len();
    let total = numel(shape).ok_or_else(|| n.err("shape overflows"))?;
    match n.op.as_str() {
        "Flatten" => {
            let a = n.int("axis", 1)?;
            let a = if a < 0 { a + rank as i64 } else { a };
            if a < 0 || a > rank as i64 {
                return Err(n.attr_err("axis", format!("{a} out of range for rank {rank}")));
            }
            let outer: usize = shape[..a as usize].iter().product();
            Ok(vec![outer, total / outer.max(1)])
        }
        "Squeeze" => {
            let axes = match arg {
                Some(c) => Some(ints(n, c, "axes")?),
                None => n.ints_opt("axes")?,
            };
            match axes {
                None => Ok(shape.iter().copied().filter(|&d| d != 1).collect()),
                Some(axes) => {
                    let axes = axes
                        .iter()
                        .map(|&a| axis(n, a, rank))
                        .collect::<Result<Vec<_>>>()?;
                    for &a in &axes {
                        if shape[a] != 1 {
                            return Err(
                                n.err(format!("cannot squeeze axis {a} of size {}", shape[a]))
                            );
                        }
                    }
                    Ok((0..rank)
                        .filter(|d| !axes.contains(d))
                        .map(|d| shape[d])
                        .collect())
                }
            }
        }
        "Unsqueeze" => {
            let axes = match arg {
                Some(c) => ints(n, c, "axes")?,
                None => n
                    .ints_opt("axes")?
                    .ok_or_else(|| n.attr_err("axes", "missing"))?,
            };
            let out_rank = rank + axes.len();
            let mut ax = axes
                .iter()
                .map(|&a| axis(n, a, out_rank))
                .collect::<Result<Vec<_>>>()?;
            ax.sort_unstable();
            if ax.windows(2).any(|w| w[0] == w[1]) {
                return Err(n.err(format!("repeated axes {axes:?}")));
            }
            let mut it = shape.iter();
            Ok((0..out_rank)
                .map(|d| {
                    if ax.contains(&d) {
                        1
                    } else {
                        it.next().copied().unwrap_or(1)
                    }
                })
                .collect())
        }
        _ => {
            let target = match arg {
                Some(c) => ints(n, c, "shape")?,
                None => n.ints_opt("shape")?.ok_or_else(|| n.err("missing shape"))?,
            };
            let allow_zero = n.int("allowzero", 0)? != 0;
            let mut t = target.clone();
            for (i, d) in t.iter_mut().enumerate() {
                if *d == 0 && !allow_zero {
                    *d = *shape.get(i).ok_or_else(|| {
                        n.err(format!(
                            "shape {target:?}: 0 at dim {i} beyond input rank {rank}"
                        ))
                    })? as i64;
                }
            }
            edgequant_ir::ops::resolve_shape(&t, total)
                .map_err(|e| n.err(format!("input shape {shape:?}: {e}")))
        }
    }
}

fn reshape_like(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let shape = reshape_target(n, &c.shape, opt(ins, 1).map(|c| c.as_ref()))?;
    Ok(vec![c.reshaped(shape)])
}

/// ONNX Transpose permutation (default: reversed dims).
pub(crate) fn transpose_perm(n: &NodeView, rank: usize) -> Result<Vec<usize>> {
    match n.ints_opt("perm")? {
        None => Ok((0..rank).rev().collect()),
        Some(p) => {
            let mut seen = vec![false; rank];
            let perm = p
                .iter()
                .map(|&v| {
                    usize::try_from(v)
                        .ok()
                        .filter(|&v| v < rank && !std::mem::replace(&mut seen[v], true))
                })
                .collect::<Option<Vec<_>>>()
                .filter(|v| v.len() == rank)
                .ok_or_else(|| {
                    n.attr_err("perm", format!("{p:?} is not a permutation of rank {rank}"))
                })?;
            Ok(perm)
        }
    }
}

fn transpose(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let perm = transpose_perm(n, c.shape.len())?;
    Ok(vec![c.permuted(&perm)])
}

/// One axis of a resolved ONNX slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SliceAxis {
    pub start: i64,
    pub step: i64,
    pub count: usize,
}

/// Resolved per-axis slice parameters (ONNX clamping rules) for every dim of `shape`.
pub(crate) fn slice_axes(
    n: &NodeView,
    shape: &[usize],
    ins: &[Option<Rc<Const>>],
) -> Result<Vec<SliceAxis>> {
    let rank = shape.len();
    let (starts, ends, axes, steps) = if n.has("starts") {
        (
            n.ints_opt("starts")?.unwrap_or_default(),
            n.ints_opt("ends")?.unwrap_or_default(),
            n.ints_opt("axes")?,
            None,
        )
    } else {
        let s = ints(n, get(n, ins, 1)?, "starts")?;
        let e = ints(n, get(n, ins, 2)?, "ends")?;
        let a = opt(ins, 3).map(|c| ints(n, c, "axes")).transpose()?;
        let st = opt(ins, 4).map(|c| ints(n, c, "steps")).transpose()?;
        (s, e, a, st)
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(n.err(format!(
            "starts/ends/axes/steps lengths {}/{}/{}/{} differ",
            starts.len(),
            ends.len(),
            axes.len(),
            steps.len()
        )));
    }
    let mut out: Vec<SliceAxis> = shape
        .iter()
        .map(|&d| SliceAxis {
            start: 0,
            step: 1,
            count: d,
        })
        .collect();
    let mut seen = vec![false; rank];
    for i in 0..starts.len() {
        let a = axis(n, axes[i], rank)?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(n.err(format!("axis {a} sliced twice")));
        }
        let dim = shape[a] as i64;
        let step = steps[i];
        if step == 0 {
            return Err(n.err("slice step 0"));
        }
        let norm = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let step = step.max(-i64::MAX);
        let (s, e) = if step > 0 {
            (norm(starts[i]).clamp(0, dim), norm(ends[i]).clamp(0, dim))
        } else {
            (
                norm(starts[i]).clamp(0, (dim - 1).max(0)),
                norm(ends[i]).clamp(-1, dim - 1),
            )
        };
        let (s128, e128, st128) = (i128::from(s), i128::from(e), i128::from(step));
        let count = if step > 0 {
            (e128 - s128 + st128 - 1).div_euclid(st128)
        } else {
            (s128 - e128 - st128 - 1).div_euclid(-st128)
        }
        .max(0) as usize;
        out[a] = SliceAxis {
            start: s,
            step,
            count,
        };
    }
    Ok(out)
}

/// Flat source indices of a strided selection.
pub(crate) fn strided_index(shape: &[usize], axes: &[SliceAxis]) -> Vec<usize> {
    let st = strides(shape);
    let mut idx: Vec<usize> = vec![0];
    for (d, a) in axes.iter().enumerate() {
        let mut next = Vec::with_capacity(idx.len() * a.count);
        for &base in &idx {
            for k in 0..a.count {
                let pos = a.start + a.step * k as i64;
                next.push(base + pos as usize * st[d]);
            }
        }
        idx = next;
    }
    idx
}

fn slice(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let axes = slice_axes(n, &c.shape, ins)?;
    let idx = strided_index(&c.shape, &axes);
    Ok(vec![Const {
        dtype: c.dtype,
        shape: axes.iter().map(|a| a.count).collect(),
        data: pick(&c.data, &idx),
    }])
}

/// Flat indices into `from` for each element of the broadcast shape `to`.
pub(crate) fn broadcast_index(from: &[usize], to: &[usize]) -> Vec<usize> {
    let rank = to.len();
    let mut full = vec![1; rank - from.len().min(rank)];
    full.extend_from_slice(from);
    let st = strides(&full);
    let eff: Vec<usize> = (0..rank)
        .map(|d| if full[d] == 1 { 0 } else { st[d] })
        .collect();
    let total: usize = to.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    for _ in 0..total {
        out.push(off);
        for d in (0..rank).rev() {
            idx[d] += 1;
            off += eff[d];
            if idx[d] < to[d] {
                break;
            }
            off -= eff[d] * to[d];
            idx[d] = 0;
        }
    }
    out
}

fn binary(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let a = get(n, ins, 0)?;
    let b = get(n, ins, 1)?;
    let shape = edgequant_ir::ops::broadcast_shapes(&a.shape, &b.shape).map_err(|e| n.err(e))?;
    check_size(n, &shape)?;
    let ia = broadcast_index(&a.shape, &shape);
    let ib = broadcast_index(&b.shape, &shape);
    let op = n.op.as_str();
    let cmp = matches!(
        op,
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or"
    );
    if a.is_float() || b.is_float() {
        let (va, vb) = (a.to_f32(), b.to_f32());
        let f = |x: f32, y: f32| -> f32 {
            match op {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                "Div" => x / y,
                "Pow" => x.powf(y),
                "Max" => x.max(y),
                "Min" => x.min(y),
                "Mod" => x % y,
                "Equal" => f32::from(u8::from(x == y)),
                "Less" => f32::from(u8::from(x < y)),
                "Greater" => f32::from(u8::from(x > y)),
                "LessOrEqual" => f32::from(u8::from(x <= y)),
                "GreaterOrEqual" => f32::from(u8::from(x >= y)),
                _ => f32::from(u8::from(if op == "And" {
                    x != 0.0 && y != 0.0
                } else {
                    x != 0.0 || y != 0.0
                })),
            }
        };
        let v: Vec<f32> = ia.iter().zip(&ib).map(|(&i, &j)| f(va[i], vb[j])).collect();
        return Ok(vec![if cmp {
            Const::int(DType::Bool, shape, v.iter().map(|&x| x as i64).collect())
        } else {
            Const::f32(shape, v)
        }]);
    }
    let (va, vb) = (ints(n, a, "lhs")?, ints(n, b, "rhs")?);
    let mut out = Vec::with_capacity(ia.len());
    for (&i, &j) in ia.iter().zip(&ib) {
        let (x, y) = (va[i], vb[j]);
        out.push(match op {
            "Add" => x.wrapping_add(y),
            "Sub" => x.wrapping_sub(y),
            "Mul" => x.wrapping_mul(y),
            "Div" => {
                if y == 0 {
                    return Err(n.err("integer division by zero"));
                }
                x.wrapping_div(y)
            }
            "Mod" => {
                if y == 0 {
                    return Err(n.err("integer modulo by zero"));
                }
                if n.int("fmod", 0)? != 0 {
                    x.wrapping_rem(y)
                } else {
                    let r = x.wrapping_rem_euclid(y);
                    if y < 0 && r != 0 {
                        r.wrapping_add(y)
                    } else {
                        r
                    }
                }
            }
            "Pow" => (x as f64).powf(y as f64) as i64,
            "Max" => x.max(y),
            "Min" => x.min(y),
            "Equal" => i64::from(x == y),
            "Less" => i64::from(x < y),
            "Greater" => i64::from(x > y),
            "LessOrEqual" => i64::from(x <= y),
            "GreaterOrEqual" => i64::from(x >= y),
            "And" => i64::from(x != 0 && y != 0),
            _ => i64::from(x != 0 || y != 0),
        });
    }
    Ok(vec![Const::int(
        if cmp { DType::Bool } else { a.dtype },
        shape,
        out,
    )])
}

fn unary(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let op = n.op.as_str();
    if let Data::I(v) = &c.data {
        let out: Option<Vec<i64>> = match op {
            "Neg" => Some(v.iter().map(|x| x.wrapping_neg()).collect()),
            "Abs" => Some(v.iter().map(|x| x.wrapping_abs()).collect()),
            "Not" => Some(v.iter().map(|&x| i64::from(x == 0)).collect()),
            "Relu" => Some(v.iter().map(|&x| x.max(0)).collect()),
            "Floor" | "Ceil" | "Round" => Some(v.clone()),
            _ => None,
        };
        if let Some(out) = out {
            return Ok(vec![Const::int(c.dtype, c.shape.clone(), out)]);
        }
    }
    let v = c.to_f32();
    let f = |x: f32| -> f32 {
        match op {
            "Neg" => -x,
            "Abs" => x.abs(),
            "Sqrt" => x.sqrt(),
            "Exp" => x.exp(),
            "Log" => x.ln(),
            "Floor" => x.floor(),
            "Ceil" => x.ceil(),
            "Round" => x.round_ties_even(),
            "Reciprocal" => 1.0 / x,
            "Relu" => x.max(0.0),
            "Sigmoid" => 1.0 / (1.0 + (-x).exp()),
            "Tanh" => x.tanh(),
            _ => f32::from(u8::from(x == 0.0)),
        }
    };
    Ok(vec![Const::f32(
        c.shape.clone(),
        v.into_iter().map(f).collect(),
    )])
}

fn range(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let (s, l, d) = (get(n, ins, 0)?, get(n, ins, 1)?, get(n, ins, 2)?);
    if s.is_float() {
        let (s, l, d) = (
            s.scalar_f32("start").map_err(|e| n.err(e))?,
            l.scalar_f32("limit").map_err(|e| n.err(e))?,
            d.scalar_f32("delta").map_err(|e| n.err(e))?,
        );
        let count = ((l - s) / d).ceil().max(0.0);
        if !count.is_finite() || count > 1e7 {
            return Err(n.err("range too long"));
        }
        let v: Vec<f32> = (0..count as usize).map(|i| s + i as f32 * d).collect();
        return Ok(vec![Const::f32(vec![v.len()], v)]);
    }
    let one = |c: &Const, w: &str| -> Result<i64> {
        match ints(n, c, w)?.as_slice() {
            [x] => Ok(*x),
            _ => Err(n.err(format!("{w} must be a scalar"))),
        }
    };
    let (st, li, de) = (one(s, "start")?, one(l, "limit")?, one(d, "delta")?);
    if de == 0 {
        return Err(n.err("delta 0"));
    }
    let count = ((li as f64 - st as f64) / de as f64).ceil().max(0.0);
    if count > 1e7 {
        return Err(n.err("range too long"));
    }
    let v: Vec<i64> = (0..count as i64)
        .map(|i| st.wrapping_add(i.wrapping_mul(de)))
        .collect();
    Ok(vec![Const::int(s.dtype, vec![v.len()], v)])
}

fn constant_of_shape(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let shape = ints(n, get(n, ins, 0)?, "shape")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| n.err(format!("negative dim {d}"))))
        .collect::<Result<Vec<_>>>()?;
    let total = numel(&shape)
        .filter(|&t| t <= MAX_CONST)
        .ok_or_else(|| n.err(format!("shape {shape:?} too large")))?;
    let value = match n.tensor_opt("value")? {
        Some(t) => crate::tensor::const_from_proto(t)?,
        None => Const::f32(vec![1], vec![0.0]),
    };
    let data = match &value.data {
        Data::F(v) => Data::F(vec![v.first().copied().unwrap_or(0.0); total]),
        Data::I(v) => Data::I(vec![v.first().copied().unwrap_or(0); total]),
    };
    Ok(vec![Const {
        dtype: value.dtype,
        shape,
        data,
    }])
}

fn where_(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let (c, x, y) = (get(n, ins, 0)?, get(n, ins, 1)?, get(n, ins, 2)?);
    let s1 = edgequant_ir::ops::broadcast_shapes(&c.shape, &x.shape).map_err(|e| n.err(e))?;
    let shape = edgequant_ir::ops::broadcast_shapes(&s1, &y.shape).map_err(|e| n.err(e))?;
    check_size(n, &shape)?;
    let (ic, ix, iy) = (
        broadcast_index(&c.shape, &shape),
        broadcast_index(&x.shape, &shape),
        broadcast_index(&y.shape, &shape),
    );
    let cv = c.to_f32();
    let data = match (&x.data, &y.data) {
        (Data::I(a), Data::I(b)) => Data::I(
            (0..ic.len())
                .map(|k| if cv[ic[k]] != 0.0 { a[ix[k]] } else { b[iy[k]] })
                .collect(),
        ),
        _ => {
            let (a, b) = (x.to_f32(), y.to_f32());
            Data::F(
                (0..ic.len())
                    .map(|k| if cv[ic[k]] != 0.0 { a[ix[k]] } else { b[iy[k]] })
                    .collect(),
            )
        }
    };
    Ok(vec![Const {
        dtype: x.dtype,
        shape,
        data,
    }])
}

fn expand(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Result<Vec<Const>> {
    let c = get(n, ins, 0)?;
    let s = ints(n, get(n, ins, 1)?, "shape")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| n.err(format!("negative dim {d}"))))
        .collect::<Result<Vec<_>>>()?;
    let shape = edgequant_ir::ops::broadcast_shapes(&c.shape, &s).map_err(|e| n.err(e))?;
    check_size(n, &shape)?;
    let idx = broadcast_index(&c.shape, &shape);
    Ok(vec![Const {
        dtype: c.dtype,
        shape,
        data: pick(&c.data, &idx),
    }])
}

/// Integer reductions over constants (shape arithmetic); float reductions are not folded.
fn reduce_int(n: &NodeView, ins: &[Option<Rc<Const>>]) -> Option<Result<Vec<Const>>> {
    let c = opt(ins, 0)?;
    let Data::I(v) = &c.data else {
        return None;
    };
    Some((|| {
        let rank = c.shape.len();
        let axes = match opt(ins, 1) {
            Some(a) => Some(ints(n, a, "axes")?),
            None => n.ints_opt("axes")?,
        };
        let keep = n.int("keepdims", 1)? != 0;
        let axes: Vec<usize> = match axes {
            Some(a) if !a.is_empty() => {
                a.iter().map(|&x| axis(n, x, rank)).collect::<Result<_>>()?
            }
            _ if n.int("noop_with_empty_axes", 0)? != 0 => return Ok(vec![c.as_ref().clone()]),
            _ => (0..rank).collect(),
        };
        let out_full: Vec<usize> = (0..rank)
            .map(|d| if axes.contains(&d) { 1 } else { c.shape[d] })
            .collect();
        let total: usize = out_full.iter().product();
        let init = match n.op.as_str() {
            "ReduceProd" => 1,
            "ReduceSum" => 0,
            "ReduceMin" => i64::MAX,
            _ => i64::MIN,
        };
        let mut out = vec![init; total];
        let ost = strides(&out_full);
        let ist = strides(&c.shape);
        for (flat, &x) in v.iter().enumerate() {
            let mut o = 0;
            for d in 0..rank {
                let i = (flat / ist[d]) % c.shape[d].max(1);
                if !axes.contains(&d) {
                    o += i * ost[d];
                }
            }
            out[o] = match n.op.as_str() {
                "ReduceProd" => out[o].wrapping_mul(x),
                "ReduceSum" => out[o].wrapping_add(x),
                "ReduceMin" => out[o].min(x),
                _ => out[o].max(x),
            };
        }
        let shape = if keep {
            out_full
        } else {
            (0..rank)
                .filter(|d| !axes.contains(d))
                .map(|d| c.shape[d])
                .collect()
        };
        Ok(vec![Const::int(c.dtype, shape, out)])
    })())
}
