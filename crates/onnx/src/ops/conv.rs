//! Conv (1-D and 2-D, grouped, depthwise, dilated, padded) and ConvTranspose.

use super::common::{act, out0, pad_nhwc, spatial, PadChoice};
use crate::ctx::{Ctx, Value};
use crate::error::Result;
use crate::layout::NHWC;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{Add, Concatenation, Conv2d, DepthwiseConv2d, StridedSlice, TransposeConv};
use edgequant_ir::{Activation, Padding, TensorId};

/// The NCW layout of 1-D convolutions, stored NWC.
const NWC: [usize; 3] = [0, 2, 1];

/// The input of a 1-D or 2-D spatial op as an NHWC IR tensor (1-D: `[N, 1, W, C]`).
pub(crate) fn nhwc_input(cx: &mut Ctx, n: &NodeView, x: &Value) -> Result<TensorId> {
    let s = cx.logical_shape(x);
    match s.len() {
        4 => cx.in_layout(n, x, &NHWC),
        3 => {
            let t = cx.in_layout(n, x, &NWC)?;
            let name = format!("{}/as_2d", n.name);
            cx.reshape(n, t, &[s[0], 1, s[2], s[1]], &name)
        }
        r => Err(n.err(format!(
            "input must be rank 3 or 4 (N, C, spatial...), got rank {r}"
        ))),
    }
}

/// The NHWC result of a spatial op as a value of rank `rank` (1-D results drop the unit H).
pub(crate) fn nhwc_output(
    cx: &mut Ctx,
    n: &NodeView,
    id: TensorId,
    rank: usize,
) -> Result<Vec<Value>> {
    if rank == 4 {
        return Ok(vec![act(id, NHWC.to_vec())]);
    }
    let s = cx.shape(id).to_vec();
    let name = format!("{}/as_1d", n.name);
    let r = cx.reshape(n, id, &[s[0], s[2], s[3]], &name)?;
    Ok(vec![act(r, NWC.to_vec())])
}

fn param_name(n: &NodeView, i: usize, fallback: &str) -> String {
    n.input_name(i)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/{fallback}", n.name))
}

/// ONNX Conv → CONV_2D (groups = 1 or grouped) or DEPTHWISE_CONV_2D (groups = channels),
/// with a PAD in front when the pads are neither SAME nor VALID.
pub(crate) fn conv(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let w = cx.const_req(n, 1, "W (weights)")?;
    let b = cx.const_opt(n, 2, "B (bias)")?;
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if !(r == 3 || r == 4) || w.shape.len() != r {
        return Err(n.err(format!(
            "only 1-D and 2-D convolutions are supported: input {xs:?}, weights {:?}",
            w.shape
        )));
    }
    if !w.is_float() {
        return Err(n.err("weights must be float"));
    }
    let (m, cg) = (w.shape[0], w.shape[1]);
    let kernel = w.shape[2..].to_vec();
    if let Some(ks) = n.ints_opt("kernel_shape")? {
        if ks.iter().map(|&k| k as usize).ne(kernel.iter().copied()) {
            return Err(n.attr_err(
                "kernel_shape",
                format!("{ks:?} disagrees with weights {:?}", w.shape),
            ));
        }
    }
    let group = usize::try_from(n.int("group", 1)?)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| n.attr_err("group", "must be positive"))?;
    let c = xs[1];
    if cg.checked_mul(group) != Some(c) || m % group != 0 || kernel.contains(&0) {
        return Err(n.err(format!(
            "input has {c} channels; weights {:?} with group {group} need {} and a multiple of {group} outputs",
            w.shape,
            cg * group
        )));
    }
    let sp = spatial(n, &xs[2..], &kernel, false)?;
    let mut xin = nhwc_input(cx, n, &x)?;
    let padding = match sp.choice() {
        PadChoice::Same => Padding::Same,
        PadChoice::Valid => Padding::Valid,
        PadChoice::Explicit(p) => {
            xin = pad_nhwc(cx, n, xin, p, 0.0)?;
            Padding::Valid
        }
    };
    let w4 = if r == 4 {
        std::borrow::Cow::Borrowed(&*w)
    } else {
        std::borrow::Cow::Owned(w.reshaped(vec![m, cg, sp.kernel[0], sp.kernel[1]]))
    };
    let bias = match b {
        Some(b) if b.len() == m => {
            Some(cx.add_const(&param_name(n, 2, "bias"), &b.reshaped(vec![m]))?)
        }
        Some(b) => return Err(n.err(format!("bias has shape {:?}, expected [{m}]", b.shape))),
        None => None,
    };
    let out = out0(n);
    let wname = param_name(n, 1, "weights");
    let id = if group > 1 && cg == 1 && group == c {
        let wt = cx.add_const(&wname, &w4.permuted(&[1, 2, 3, 0]))?;
        let op = DepthwiseConv2d {
            stride: sp.stride,
            dilation: sp.dilation,
            padding,
            depth_multiplier: m / c,
            activation: Activation::None,
        };
        cx.emit1(n, op, vec![Some(xin), Some(wt), bias], &out)?
    } else {
        let wt = cx.add_const(&wname, &w4.permuted(&[0, 2, 3, 1]))?;
        let op = Conv2d {
            stride: sp.stride,
            dilation: sp.dilation,
            padding,
            activation: Activation::None,
        };
        cx.emit1(n, op, vec![Some(xin), Some(wt), bias], &out)?
    };
    nhwc_output(cx, n, id, r)
}

/// The weights of a dilated kernel: zeros between the taps (exact for transposed convolution).
fn dilate_kernel(w: &Const, d: [usize; 2]) -> Const {
    if d == [1, 1] {
        return w.clone();
    }
    let [a, b, kh, kw] = [w.shape[0], w.shape[1], w.shape[2], w.shape[3]];
    let (eh, ew) = ((kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1);
    let v = w.to_f32();
    let mut out = vec![0f32; a * b * eh * ew];
    for o in 0..a * b {
        for y in 0..kh {
            for x in 0..kw {
                out[(o * eh + y * d[0]) * ew + x * d[1]] = v[(o * kh + y) * kw + x];
            }
        }
    }
    Const::f32(vec![a, b, eh, ew], out)
}

/// ONNX ConvTranspose (1-D or 2-D; groups, dilations, pads, output_padding, output_shape,
/// auto_pad) → TRANSPOSE_CONV per group (SAME when TFLite's SAME reproduces the crop, else
/// VALID followed by a STRIDED_SLICE crop and, for output_padding past the full output, a PAD
/// and the bias as an ADD), CONCATENATION of the groups.
pub(crate) fn conv_transpose(cx: &mut Ctx, n: &NodeView) -> Result<Vec<Value>> {
    let x = cx.req(n, 0, "X")?;
    let w = cx.const_req(n, 1, "W (weights)")?;
    let b = cx.const_opt(n, 2, "B (bias)")?;
    let xs = cx.logical_shape(&x);
    let r = xs.len();
    if !(r == 3 || r == 4) || w.shape.len() != r || !w.is_float() {
        return Err(n.err(format!(
            "only 1-D and 2-D transposed convolutions with float weights are supported: input {xs:?}, weights {:?}",
            w.shape
        )));
    }
    let sr = r - 2;
    let group = usize::try_from(n.int("group", 1)?)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| n.attr_err("group", "must be positive"))?;
    let (c, mg) = (w.shape[0], w.shape[1]);
    let m = mg * group;
    if c != xs[1] || c % group != 0 || w.shape[2..].contains(&0) {
        return Err(n.err(format!(
            "input has {} channels, weights {:?} with group {group} expect {c}",
            xs[1], w.shape
        )));
    }
    let get = |name: &str, default: usize| -> Result<Vec<usize>> {
        let v = n.usizes(name, vec![default; sr])?;
        if v.len() != sr {
            return Err(n.attr_err(name, format!("expected {sr} values, got {v:?}")));
        }
        Ok(v)
    };
    let to2 = |v: Vec<usize>, unit: usize| -> [usize; 2] {
        if sr == 1 {
            [unit, v[0]]
        } else {
            [v[0], v[1]]
        }
    };
    let s = to2(get("strides", 1)?, 1);
    let d = to2(get("dilations", 1)?, 1);
    let op_pad = to2(get("output_padding", 0)?, 0);
    let limit = super::common::MAX_WINDOW_ATTR;
    if s.contains(&0) || d.contains(&0) || s.iter().chain(&d).chain(&op_pad).any(|&v| v > limit) {
        return Err(n.err(format!(
            "strides and dilations must be in 1..={limit}, output_padding at most {limit}"
        )));
    }
    if xs[2..].contains(&0) {
        return Err(n.err(format!("empty spatial input {xs:?}")));
    }
    let w4 = if sr == 1 {
        w.reshaped(vec![c, mg, 1, w.shape[2]])
    } else {
        (*w).clone()
    };
    let w4 = dilate_kernel(&w4, d);
    let k = [w4.shape[2], w4.shape[3]];
    let inp = if sr == 1 { [1, xs[2]] } else { [xs[2], xs[3]] };
    let full: [usize; 2] = [(inp[0] - 1) * s[0] + k[0], (inp[1] - 1) * s[1] + k[1]];
    let auto = n.string("auto_pad", "NOTSET")?;
    let out_shape = n.ints_opt("output_shape")?;
    let decl = n.ints_opt("pads")?.unwrap_or_else(|| vec![0; 2 * sr]);
    if decl.len() != 2 * sr || decl.iter().any(|&v| v < 0) {
        return Err(n.attr_err(
            "pads",
            format!("expected {} non-negative values, got {decl:?}", 2 * sr),
        ));
    }
    // Per axis (crop before, crop after) of the full output; a negative crop after extends it.
    let mut crop = [[0i64; 2]; 2];
    let mut out = [0usize; 2];
    for i in 0..2 {
        let spatial_i = (i + sr).saturating_sub(2); // ONNX spatial attribute index (1-D: i = 1)
        let unit = sr == 1 && i == 0;
        let fulli = (full[i] + op_pad[i]) as i64;
        let target = match &out_shape {
            _ if unit => None,
            Some(o) if o.len() >= sr => Some(o[o.len() - sr + spatial_i]),
            Some(o) => {
                return Err(n.attr_err("output_shape", format!("{o:?} needs {sr} spatial values")))
            }
            None if auto.starts_with("SAME") => Some((inp[i] * s[i]) as i64),
            None => None,
        };
        let (pb, pe) = match target {
            Some(t) => {
                let total = fulli.saturating_sub(t);
                if auto == "SAME_UPPER" {
                    (total.div_euclid(2), total - total.div_euclid(2))
                } else {
                    (total - total.div_euclid(2), total.div_euclid(2))
                }
            }
            None if unit || auto == "VALID" => (0, 0),
            None => (decl[spatial_i], decl[spatial_i + sr]),
        };
        let o = fulli.saturating_sub(pb).saturating_sub(pe);
        if pb < 0 || o <= 0 {
            return Err(n.err(format!(
                "pads ({pb}, {pe}) leave no valid output on spatial dim {spatial_i}"
            )));
        }
        out[i] = o as usize;
        crop[i] = [pb, pe.saturating_sub(op_pad[i] as i64)];
    }
    let xin = nhwc_input(cx, n, &x)?;
    let bias_c = match b {
        Some(b) if b.len() == m => Some(b.reshaped(vec![m])),
        Some(b) => return Err(n.err(format!("bias has shape {:?}, expected [{m}]", b.shape))),
        None => None,
    };
    let nb = xs[0];
    let name = out0(n);
    let same_total = |i: usize| full[i] as i64 - out[i] as i64;
    // TFLite derives SAME padding from ceil(out / stride), which must be the input size.
    let is_same = (0..2).all(|i| {
        let t = same_total(i);
        t >= 0 && out[i].div_ceil(s[i]) == inp[i] && crop[i][0] == t / 2 && crop[i][1] == t - t / 2
    });
    let is_valid = crop.iter().all(|p| p[0] == 0 && p[1] == 0);
    let direct = is_same || is_valid;
    let extra: Vec<usize> = (0..2).map(|i| (-crop[i][1]).max(0) as usize).collect();
    let bias_in_op = direct || extra.iter().all(|&e| e == 0);
    let op_out = if direct { [out[0], out[1]] } else { full };
    let op = TransposeConv {
        stride: s,
        padding: if is_same && !is_valid {
            Padding::Same
        } else {
            Padding::Valid
        },
        activation: Activation::None,
    };
    let conv_name = if direct && group == 1 {
        name.clone()
    } else {
        format!("{name}/conv")
    };
    let wname = param_name(n, 1, "weights");
    let mut parts = Vec::with_capacity(group);
    let cg = c / group;
    for g in 0..group {
        let gx = if group == 1 {
            xin
        } else {
            let xs4 = cx.shape(xin).to_vec();
            let begin = [0, 0, 0, (g * cg) as i64];
            let end = [
                xs4[0] as i64,
                xs4[1] as i64,
                xs4[2] as i64,
                ((g + 1) * cg) as i64,
            ];
            let pre = format!("{name}/group{g}");
            let bt = cx.i32_const(&format!("{pre}/begin"), vec![4], &begin)?;
            let et = cx.i32_const(&format!("{pre}/end"), vec![4], &end)?;
            let st = cx.i32_const(&format!("{pre}/strides"), vec![4], &[1, 1, 1, 1])?;
            cx.emit1(
                n,
                StridedSlice::default(),
                vec![Some(xin), Some(bt), Some(et), Some(st)],
                &format!("{pre}/input"),
            )?
        };
        // Weights of this group: rows [g*cg, (g+1)*cg) of [C, M/g, kh, kw] → OHWI [M/g, kh, kw, cg].
        let per = mg * k[0] * k[1];
        let wv = w4.to_f32();
        let wg = Const::f32(
            vec![cg, mg, k[0], k[1]],
            wv[g * cg * per..(g + 1) * cg * per].to_vec(),
        );
        let wn = if group == 1 {
            wname.clone()
        } else {
            format!("{wname}/group{g}")
        };
        let wt = cx.add_const(&wn, &wg.permuted(&[1, 2, 3, 0]))?;
        let bias = match (&bias_c, bias_in_op) {
            (Some(bc), true) => {
                let bv = bc.to_f32()[g * mg..(g + 1) * mg].to_vec();
                let bn = if group == 1 {
                    param_name(n, 2, "bias")
                } else {
                    format!("{}/group{g}", param_name(n, 2, "bias"))
                };
                Some(cx.f32_const(&bn, vec![mg], bv)?)
            }
            _ => None,
        };
        let shape = [nb, op_out[0], op_out[1], mg].map(|v| v as i64);
        let oname = if group == 1 {
            conv_name.clone()
        } else {
            format!("{name}/group{g}")
        };
        let st = cx.i32_const(&format!("{oname}/output_shape"), vec![4], &shape)?;
        parts.push(cx.emit1(n, op, vec![Some(st), Some(wt), Some(gx), bias], &oname)?);
    }
    let mut id = if group == 1 {
        parts[0]
    } else {
        let cat_name = if direct {
            name.clone()
        } else {
            conv_name.clone()
        };
        let op = Concatenation {
            axis: 3,
            activation: Activation::None,
        };
        cx.emit1(n, op, parts.into_iter().map(Some).collect(), &cat_name)?
    };
    if !direct {
        let begin = [0, crop[0][0], crop[1][0], 0];
        let end = [
            nb as i64,
            full[0] as i64 - crop[0][1].max(0),
            full[1] as i64 - crop[1][1].max(0),
            m as i64,
        ];
        if begin[1] != 0 || begin[2] != 0 || end[1] != full[0] as i64 || end[2] != full[1] as i64 {
            let bt = cx.i32_const(&format!("{name}/begin"), vec![4], &begin)?;
            let et = cx.i32_const(&format!("{name}/end"), vec![4], &end)?;
            let stt = cx.i32_const(&format!("{name}/strides"), vec![4], &[1, 1, 1, 1])?;
            let crop_name = if bias_in_op {
                name.clone()
            } else {
                format!("{name}/cropped")
            };
            id = cx.emit1(
                n,
                StridedSlice::default(),
                vec![Some(id), Some(bt), Some(et), Some(stt)],
                &crop_name,
            )?;
        }
        if !bias_in_op {
            id = pad_nhwc(cx, n, id, [0, extra[0], 0, extra[1]], 0.0)?;
            if let Some(bc) = bias_c {
                let bt = cx.add_const(&param_name(n, 2, "bias"), &bc)?;
                id = cx.emit1(n, Add::default(), vec![Some(id), Some(bt)], &name)?;
            }
        }
    }
    nhwc_output(cx, n, id, r)
}

/// Scales the output channels of a folded convolution: `w[.., o, ..] *= scale[o]` along `axis`.
pub(crate) fn scale_channels(w: &Const, axis: usize, scale: &[f32]) -> Const {
    let mut v = w.to_f32();
    let inner: usize = w.shape[axis + 1..].iter().product();
    let block = w.shape[axis] * inner;
    if block > 0 {
        for b in v.chunks_mut(block) {
            for (ch, s) in b.chunks_mut(inner).zip(scale) {
                ch.iter_mut().for_each(|x| *x *= s);
            }
        }
    }
    Const::f32(w.shape.clone(), v)
}
