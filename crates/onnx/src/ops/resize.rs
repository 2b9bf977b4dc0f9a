//! Resize and Upsample (nearest, linear) of the two spatial dims → RESIZE_NEAREST_NEIGHBOR /
//! RESIZE_BILINEAR. The TFLite coordinate mode (plain, align_corners, half_pixel_centers) is
//! chosen by checking that it samples exactly the source pixels and weights ONNX does for the
//! model's static sizes.

use super::common::act;
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::layout::NHWC;
use crate::node::NodeView;
use edgequant_ir::ops::{ResizeBilinear, ResizeNearestNeighbor};

/// How one output coordinate samples the input along one axis: (index, weight) pairs.
type Taps = Vec<(usize, f32)>;

/// ONNX coordinate transform of output index `x` (f32 arithmetic). `resized` is the
/// resized length the spec's formulas use: `in_len * scale` when scales are given (not
/// rounded), else the requested size.
fn onnx_coord(ctm: &str, x: usize, scale: f32, in_len: usize, resized: f32) -> Option<f32> {
    let x = x as f32;
    let out_len = resized;
    Some(match ctm {
        "half_pixel" => (x + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => {
            if out_len > 1.0 {
                (x + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        "align_corners" => {
            if out_len == 1.0 {
                0.0
            } else {
                x * (in_len as f32 - 1.0) / (out_len - 1.0)
            }
        }
        "asymmetric" => x / scale,
        "tf_half_pixel_for_nn" => (x + 0.5) / scale,
        _ => return None,
    })
}

fn merge(taps: Taps) -> Taps {
    let mut out: Taps = Vec::new();
    for (i, w) in taps {
        if w == 0.0 {
            continue;
        }
        match out.iter_mut().find(|t| t.0 == i) {
            Some(t) => t.1 += w,
            None => out.push((i, w)),
        }
    }
    out.sort_by_key(|t| t.0);
    out
}

/// ONNX sampling along one axis.
fn onnx_taps(
    ctm: &str,
    nearest: Option<&str>,
    scale: f32,
    resized: f32,
    in_len: usize,
    out_len: usize,
) -> Option<Vec<Taps>> {
    let last = in_len as f32 - 1.0;
    (0..out_len)
        .map(|x| {
            let c = onnx_coord(ctm, x, scale, in_len, resized)?;
            Some(match nearest {
                Some(mode) => {
                    let i = match mode {
                        "round_prefer_floor" => {
                            if c.fract() == 0.5 {
                                c.floor()
                            } else {
                                c.round()
                            }
                        }
                        "round_prefer_ceil" => c.round(),
                        "floor" => c.floor(),
                        "ceil" => c.ceil(),
                        // onnxruntime's opset < 11 behaviour.
                        "simple" => {
                            if scale < 1.0 {
                                c.ceil()
                            } else {
                                c.floor()
                            }
                        }
                        _ => return None,
                    };
                    vec![(i.clamp(0.0, last) as usize, 1.0)]
                }
                None => {
                    let c = c.clamp(0.0, last);
                    let x0 = c.floor();
                    let x1 = (x0 + 1.0).min(last);
                    let f = c - x0;
                    merge(vec![(x0 as usize, 1.0 - f), (x1 as usize, f)])
                }
            })
        })
        .collect()
}

/// TFLite sampling along one axis.
fn tflite_taps(align: bool, half: bool, nearest: bool, in_len: usize, out_len: usize) -> Vec<Taps> {
    let scale = if align && out_len > 1 {
        (in_len as f32 - 1.0) / (out_len as f32 - 1.0)
    } else {
        in_len as f32 / out_len as f32
    };
    let last = in_len as i64 - 1;
    (0..out_len)
        .map(|y| {
            let y = y as f32;
            if nearest {
                let off = if half { 0.5 } else { 0.0 };
                let v = (y + off) * scale;
                let i = if align { v.round() } else { v.floor() } as i64;
                let i = i.min(last);
                let i = if half { i.max(0) } else { i };
                vec![(i.max(0) as usize, 1.0)]
            } else {
                let v = if half {
                    (y + 0.5) * scale - 0.5
                } else {
                    y * scale
                };
                let lo = (v.floor() as i64).max(0);
                let hi = (v.ceil() as i64).min(last);
                let f = v - v.floor();
                merge(vec![(lo as usize, 1.0 - f), (hi.max(0) as usize, f)])
            }
        })
        .collect()
}

fn same(a: &[Taps], b: &[Taps]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.0 == q.0 && (p.1 - q.1).abs() <= 1e-5)
        })
}

struct Plan<'a> {
    mode: &'a str,
    ctm: &'a str,
    nearest: &'a str,
    scales: [f32; 2],
    /// Resized lengths for the coordinate formulas (see [`onnx_coord`]).
    resized: [f32; 2],
    out: [usize; 2],
}

fn emit(cx: &mut Ctx, n: &NodeView, x: &Value, p: Plan) -> Result<Vec<Value>> {
    let xs = cx.logical_shape(x);
    let linear = match p.mode {
        "nearest" => false,
        "linear" | "bilinear" => true,
        other => {
            return Err(n.attr_err(
                "mode",
                format!("'{other}' is not supported (nearest, linear)"),
            ))
        }
    };
    let nearest = (!linear).then_some(p.nearest);
    let mut found = None;
    'modes: for (align, half) in [(false, false), (false, true), (true, false)] {
        for i in 0..2 {
            let (inl, outl) = (xs[2 + i], p.out[i]);
            let Some(want) = onnx_taps(p.ctm, nearest, p.scales[i], p.resized[i], inl, outl) else {
                return Err(n.err(format!(
                    "coordinate_transformation_mode '{}' with nearest_mode '{}' is not supported",
                    p.ctm, p.nearest
                )));
            };
            if !same(&want, &tflite_taps(align, half, !linear, inl, outl)) {
                continue 'modes;
            }
        }
        found = Some((align, half));
        break;
    }
    let Some((align_corners, half_pixel_centers)) = found else {
        return Err(n.err(format!(
            "no TFLite resize reproduces mode '{}', coordinate_transformation_mode '{}'{} for {:?} -> {:?}",
            p.mode,
            p.ctm,
            if linear { String::new() } else { format!(", nearest_mode '{}'", p.nearest) },
            &xs[2..],
            p.out
        )));
    };
    let xi = cx.in_layout(n, x, &NHWC)?;
    let out = super::common::out0(n);
    let size = cx.i32_const(
        &format!("{out}/size"),
        vec![2],
        &[p.out[0] as i64, p.out[1] as i64],
    )?;
    let y = if linear {
        let op = ResizeBilinear {
            align_corners,
            half_pixel_centers,
        };
        cx.emit1(n, op, vec![Some(xi), Some(size)], &out)?
    } else {
        let op = ResizeNearestNeighbor {
            align_corners,
            half_pixel_centers,
        };
        cx.emit1(n, op, vec![Some(xi), Some(size)], &out)?
    };
    Ok(vec![act(y, NHWC.to_vec())])
}

/// Spatial scales, resized lengths and output sizes; errors when N or C would change.
/// `axes` lists the dims that `scales`/`sizes` cover (all four by default).
#[allow(clippy::type_complexity)]
fn sizes(
    n: &NodeView,
    xs: &[usize],
    axes: &[usize],
    policy: &str,
    scales: Option<Vec<f32>>,
    sizes: Option<Vec<i64>>,
) -> Result<([f32; 2], [f32; 2], [usize; 2])> {
    let mut out: Vec<usize> = xs.to_vec();
    let mut sc = [1f32; 4];
    let mut resized: Vec<f32> = xs.iter().map(|&d| d as f32).collect();
    match (sizes, scales) {
        (Some(s), _) => {
            if s.len() != axes.len() || s.iter().any(|&v| v <= 0) {
                return Err(n.err(format!(
                    "sizes {s:?} must be {} positive values",
                    axes.len()
                )));
            }
            for (&a, &v) in axes.iter().zip(&s) {
                out[a] = v as usize;
                sc[a] = v as f32 / xs[a] as f32;
                resized[a] = v as f32;
            }
            if policy != "stretch" {
                // One scale for all axes (the smallest or largest), sizes rounded half up.
                let ratios = axes.iter().map(|&a| sc[a]);
                let k = if policy == "not_larger" {
                    ratios.fold(f32::INFINITY, f32::min)
                } else {
                    ratios.fold(0.0, f32::max)
                };
                for &a in axes {
                    sc[a] = k;
                    resized[a] = k * xs[a] as f32;
                    out[a] = (resized[a] + 0.5) as usize;
                }
            }
        }
        (None, Some(s)) => {
            if s.len() != axes.len() || s.iter().any(|&v| v.is_nan() || v <= 0.0 || !v.is_finite())
            {
                return Err(n.err(format!(
                    "scales {s:?} must be {} positive values",
                    axes.len()
                )));
            }
            for (&a, &v) in axes.iter().zip(&s) {
                resized[a] = xs[a] as f32 * v;
                out[a] = resized[a].floor() as usize;
                sc[a] = v;
            }
        }
        (None, None) => return Err(n.err("neither scales nor sizes given")),
    }
    if xs[2] == 0 || xs[3] == 0 || out[2] > 1 << 20 || out[3] > 1 << 20 {
        return Err(n.err(format!("cannot resize {xs:?} to {out:?}")));
    }
    if out[0] != xs[0] || out[1] != xs[1] || out[2] == 0 || out[3] == 0 {
        return Err(n.err(format!(
            "only the two spatial dims may be resized: {xs:?} -> {out:?}"
        )));
    }
    Ok(([sc[2], sc[3]], [resized[2], resized[3]], [out[2], out[3]]))
}

/// ONNX Resize (opset 10+) of a rank-4 NCHW tensor.
pub(crate) fn resize(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let xs = cx.logical_shape(&x);
    if xs.len() != 4 {
        return Err(n.err(format!(
            "only rank-4 (NCHW) inputs are supported, got {xs:?}"
        )));
    }
    if n.int("antialias", 0)? != 0 {
        return Err(n.attr_err("antialias", "antialiasing is not supported"));
    }
    let axes: Vec<usize> = match n.ints_opt("axes")? {
        None => (0..4).collect(),
        Some(a) => a
            .iter()
            .map(|&v| edgequant_ir::ops::normalize_axis(v, 4).map_err(|e| n.attr_err("axes", e)))
            .collect::<Result<_>>()?,
    };
    let policy = n.string("keep_aspect_ratio_policy", "stretch")?;
    if !matches!(policy.as_str(), "stretch" | "not_larger" | "not_smaller") {
        return Err(n.attr_err(
            "keep_aspect_ratio_policy",
            format!("unknown value '{policy}'"),
        ));
    }
    let nonempty = |c: Option<std::rc::Rc<crate::tensor::Const>>| c.filter(|c| c.len() > 0);
    let (scales, sz) = if n.opset < 11 {
        (nonempty(cx.const_opt(n, 1, "scales")?), None)
    } else {
        (
            nonempty(cx.const_opt(n, 2, "scales")?),
            nonempty(cx.const_opt(n, 3, "sizes")?),
        )
    };
    let scales = scales.map(|c| c.to_f32());
    let sz = sz
        .map(|c| c.to_i64("sizes").map_err(|e| n.err(e)))
        .transpose()?;
    let (sc, resized, out) = sizes(n, &xs, &axes, &policy, scales, sz)?;
    let mode = n.string("mode", "nearest")?;
    let (ctm, nearest) = if n.opset < 11 {
        ("asymmetric".to_string(), "simple".to_string())
    } else {
        (
            n.string("coordinate_transformation_mode", "half_pixel")?,
            n.string("nearest_mode", "round_prefer_floor")?,
        )
    };
    emit(
        cx,
        n,
        &x,
        Plan {
            mode: &mode,
            ctm: &ctm,
            nearest: &nearest,
            scales: sc,
            resized,
            out,
        },
    )
}

/// ONNX Upsample (opsets 7 to 9): asymmetric coordinates, floor for nearest.
pub(crate) fn upsample(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let xs = cx.logical_shape(&x);
    if xs.len() != 4 {
        return Err(n.err(format!(
            "only rank-4 (NCHW) inputs are supported, got {xs:?}"
        )));
    }
    let scales = match n.floats_opt("scales")? {
        Some(s) => s,
        None => cx.const_req(n, 1, "scales")?.to_f32(),
    };
    let (sc, resized, out) = sizes(n, &xs, &[0, 1, 2, 3], "stretch", Some(scales), None)?;
    let mode = n.string("mode", "nearest")?;
    emit(
        cx,
        n,
        &x,
        Plan {
            mode: &mode,
            ctm: "asymmetric",
            nearest: "floor",
            scales: sc,
            resized,
            out,
        },
    )
}
