//! Replays the single-op integer models recorded by `tests-py/int_op_golden.py` (LiteRT 2.3,
//! `OpResolverType.BUILTIN_REF`) with edgequant's integer kernels and requires every output
//! byte to equal LiteRT's.
//!
//! Each `fixtures/int_golden/<case>.npz` holds a JSON `meta` (operators, builtin options,
//! tensor shapes and quantization) and the data of every tensor the operators touch, so each
//! operator is checked on LiteRT's own inputs — including intermediate tensors of multi-op
//! cases.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use edgequant_kernels::int::add::{add, AddParams};
use edgequant_kernels::int::concatenation::concatenation;
use edgequant_kernels::int::conv::{
    conv2d_per_channel, conv2d_per_channel_16x8, conv2d_per_channel_ref, Conv2dParams, ConvOptions,
    PackedConvFilter,
};
use edgequant_kernels::int::depthwise_conv::{
    depthwise_conv_per_channel, depthwise_conv_per_channel_16x8, depthwise_conv_per_channel_ref,
    DepthwiseOptions, DepthwiseParams,
};
use edgequant_kernels::int::dequantize::dequantize;
use edgequant_kernels::int::fully_connected::{
    fully_connected, fully_connected_16x8, fully_connected_ref, FcRescale, FullyConnectedParams,
    PackedFcWeights,
};
use edgequant_kernels::int::hard_swish::{hard_swish, HardSwishParams};
use edgequant_kernels::int::leaky_relu::{leaky_relu, LeakyReluParams};
use edgequant_kernels::int::logistic::{logistic, LogisticParams};
use edgequant_kernels::int::mean::{mean, MeanParams};
use edgequant_kernels::int::mul::{mul, MulParams};
use edgequant_kernels::int::pad::pad;
use edgequant_kernels::int::pooling::{average_pool, max_pool, PoolOptions, PoolParams};
use edgequant_kernels::int::prelu::{prelu, PreluParams};
use edgequant_kernels::int::quantize::{quantize, requantize, RequantizeParams};
use edgequant_kernels::int::resize_bilinear::{resize_bilinear, ResizeOptions};
use edgequant_kernels::int::resize_nearest::resize_nearest;
use edgequant_kernels::int::softmax::{softmax, SoftmaxParams};
use edgequant_kernels::int::tanh::{tanh, TanhParams};
use edgequant_kernels::int::{FusedActivation, Padding, QParams, QuantInt};
use edgequant_kernels::Parallelism;
use serde_json::Value;

type TestResult<T> = Result<T, String>;

struct Golden {
    name: String,
    meta: Value,
    raw: BTreeMap<String, Vec<u8>>,
}

impl Golden {
    fn load(path: &Path) -> TestResult<Self> {
        let file = std::fs::File::open(path).map_err(|e| format!("{path:?}: {e}"))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{path:?}: {e}"))?;
        let mut raw = BTreeMap::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).map_err(|e| e.to_string())?;
            let name = f
                .name()
                .map_err(|e| e.to_string())?
                .trim_end_matches(".npy")
                .to_string();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            raw.insert(name, bytes);
        }
        let meta_bytes: Vec<u8> = npy_vec(raw.get("meta").ok_or("no meta")?)?;
        let meta: Value = serde_json::from_slice(&meta_bytes).map_err(|e| e.to_string())?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        Ok(Self { name, meta, raw })
    }

    fn tensor(&self, idx: i64) -> TestResult<&Value> {
        self.meta["tensors"]
            .get(idx.to_string())
            .ok_or_else(|| format!("{}: no tensor {idx}", self.name))
    }

    fn shape(&self, idx: i64) -> TestResult<Vec<usize>> {
        Ok(self.tensor(idx)?["shape"]
            .as_array()
            .ok_or("shape")?
            .iter()
            .map(|v| v.as_u64().unwrap_or(0) as usize)
            .collect())
    }

    fn dtype(&self, idx: i64) -> TestResult<String> {
        Ok(self.tensor(idx)?["dtype"]
            .as_str()
            .unwrap_or("")
            .to_string())
    }

    fn scales(&self, idx: i64) -> TestResult<Vec<f32>> {
        Ok(self.tensor(idx)?["scales"]
            .as_array()
            .ok_or("scales")?
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0) as f32)
            .collect())
    }

    fn q(&self, idx: i64) -> TestResult<QParams> {
        let t = self.tensor(idx)?;
        let scale = t["scales"][0].as_f64().ok_or("missing scale")? as f32;
        let zp = t["zero_points"][0].as_i64().unwrap_or(0) as i32;
        Ok(QParams::new(scale, zp))
    }

    fn data<T: npyz::Deserialize>(&self, idx: i64) -> TestResult<Vec<T>> {
        npy_vec(
            self.raw
                .get(&format!("t{idx}"))
                .ok_or_else(|| format!("{}: no data for tensor {idx}", self.name))?,
        )
    }
}

fn npy_vec<T: npyz::Deserialize>(bytes: &[u8]) -> TestResult<Vec<T>> {
    npyz::NpyFile::new(bytes)
        .map_err(|e| e.to_string())?
        .into_vec::<T>()
        .map_err(|e| e.to_string())
}

fn opt_i(op: &Value, key: &str) -> i64 {
    op["options"][key].as_i64().unwrap_or(0)
}

fn opt_f(op: &Value, key: &str) -> f64 {
    op["options"][key].as_f64().unwrap_or(0.0)
}

fn opt_b(op: &Value, key: &str) -> bool {
    op["options"][key].as_bool().unwrap_or(false)
}

fn activation(op: &Value) -> TestResult<FusedActivation> {
    Ok(match opt_i(op, "FusedActivationFunction") {
        0 => FusedActivation::None,
        1 => FusedActivation::Relu,
        2 => FusedActivation::ReluN1To1,
        3 => FusedActivation::Relu6,
        a => return Err(format!("unsupported fused activation {a}")),
    })
}

fn padding(op: &Value) -> Padding {
    if opt_i(op, "Padding") == 1 {
        Padding::Valid
    } else {
        Padding::Same
    }
}

fn shape4(s: &[usize]) -> TestResult<[usize; 4]> {
    s.try_into()
        .map_err(|_| format!("expected a 4-D shape, got {s:?}"))
}

/// Outcome of replaying one operator.
enum Outcome {
    Exact(usize),
    Mismatch {
        differ: usize,
        total: usize,
        detail: String,
    },
    Unsupported(String),
}

fn compare<T: PartialEq + Copy + std::fmt::Debug>(got: &[T], want: &[T]) -> Outcome {
    if got.len() != want.len() {
        return Outcome::Mismatch {
            differ: got.len().max(want.len()),
            total: want.len(),
            detail: format!("length {} vs {}", got.len(), want.len()),
        };
    }
    let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    if bad.is_empty() {
        Outcome::Exact(got.len())
    } else {
        let i = bad[0];
        Outcome::Mismatch {
            differ: bad.len(),
            total: got.len(),
            detail: format!("first at {i}: got {:?}, LiteRT {:?}", got[i], want[i]),
        }
    }
}

/// Runs `f` on a fresh output buffer and compares it to LiteRT's output tensor.
fn check<T: QuantInt + npyz::Deserialize + PartialEq + std::fmt::Debug>(
    g: &Golden,
    out_idx: i64,
    f: impl FnOnce(&mut [T]) -> edgequant_kernels::Result<()>,
) -> TestResult<Outcome> {
    let want: Vec<T> = g.data(out_idx)?;
    let mut got = vec![T::default(); want.len()];
    f(&mut got).map_err(|e| e.to_string())?;
    Ok(compare(&got, &want))
}

fn both(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Exact(n), Outcome::Exact(_)) => Outcome::Exact(n),
        (Outcome::Exact(_), other) | (other, _) => other,
    }
}

fn run_op(g: &Golden, op: &Value, notes: &mut Vec<String>) -> TestResult<Outcome> {
    let ins: Vec<i64> = op["inputs"]
        .as_array()
        .ok_or("inputs")?
        .iter()
        .map(|v| v.as_i64().unwrap_or(-1))
        .collect();
    let out = op["outputs"][0].as_i64().ok_or("outputs")?;
    let opcode = op["opcode"].as_i64().unwrap_or(-1);
    let in0 = ins.first().copied().unwrap_or(-1);
    let dt = g.dtype(in0)?;
    match opcode {
        // ADD, SUB, MUL
        0 | 41 | 18 => {
            let (a, b) = (ins[0], ins[1]);
            let (sa, sb) = (g.shape(a)?, g.shape(b)?);
            let act = activation(op)?;
            macro_rules! binary {
                ($t:ty) => {{
                    let (x, y): (Vec<$t>, Vec<$t>) = (g.data(a)?, g.data(b)?);
                    if opcode == 18 {
                        let p = MulParams::prepare::<$t>(g.q(a)?, g.q(b)?, g.q(out)?, act)
                            .map_err(|e| e.to_string())?;
                        check::<$t>(g, out, |o| mul(&p, &x, &sa, &y, &sb, o))
                    } else {
                        let p = AddParams::prepare::<$t>(
                            g.q(a)?,
                            g.q(b)?,
                            g.q(out)?,
                            act,
                            opcode == 41,
                        )
                        .map_err(|e| e.to_string())?;
                        check::<$t>(g, out, |o| add(&p, &x, &sa, &y, &sb, o))
                    }
                }};
            }
            match dt.as_str() {
                "int8" => binary!(i8),
                "int16" => binary!(i16),
                "uint8" => binary!(u8),
                d => Ok(Outcome::Unsupported(format!("dtype {d}"))),
            }
        }
        // CONV_2D
        3 => {
            let (x, w, b) = (ins[0], ins[1], ins.get(2).copied().unwrap_or(-1));
            let opts = ConvOptions {
                padding: padding(op),
                stride_h: opt_i(op, "StrideH") as usize,
                stride_w: opt_i(op, "StrideW") as usize,
                dilation_h: opt_i(op, "DilationHFactor") as usize,
                dilation_w: opt_i(op, "DilationWFactor") as usize,
                activation: activation(op)?,
            };
            let (is, ws) = (shape4(&g.shape(x)?)?, shape4(&g.shape(w)?)?);
            let filter: Vec<i8> = g.data(w)?;
            if dt == "int8" {
                let p =
                    Conv2dParams::prepare::<i8>(opts, is, ws, g.q(x)?, &g.scales(w)?, g.q(out)?)
                        .map_err(|e| e.to_string())?;
                let input: Vec<i8> = g.data(x)?;
                let bias: Option<Vec<i32>> = if b >= 0 { Some(g.data(b)?) } else { None };
                let r = check::<i8>(g, out, |o| {
                    conv2d_per_channel_ref(&p, &input, &filter, bias.as_deref(), o)
                })?;
                let packed = PackedConvFilter::new(&p, &filter).map_err(|e| e.to_string())?;
                let f = check::<i8>(g, out, |o| {
                    conv2d_per_channel(
                        &p,
                        &packed,
                        &filter,
                        &input,
                        bias.as_deref(),
                        o,
                        Parallelism::Rayon,
                    )
                })?;
                notes.push("conv int8: reference and optimized (im2col+GEMM) both checked".into());
                Ok(both(r, f))
            } else if dt == "int16" {
                let p =
                    Conv2dParams::prepare::<i16>(opts, is, ws, g.q(x)?, &g.scales(w)?, g.q(out)?)
                        .map_err(|e| e.to_string())?;
                let input: Vec<i16> = g.data(x)?;
                match (b >= 0).then(|| g.dtype(b)).transpose()?.as_deref() {
                    Some("int64") => {
                        let bias: Vec<i64> = g.data(b)?;
                        check::<i16>(g, out, |o| {
                            conv2d_per_channel_16x8(&p, &input, &filter, Some(&bias), o)
                        })
                    }
                    Some("int32") => {
                        let bias: Vec<i32> = g.data(b)?;
                        check::<i16>(g, out, |o| {
                            conv2d_per_channel_16x8(&p, &input, &filter, Some(&bias), o)
                        })
                    }
                    _ => check::<i16>(g, out, |o| {
                        conv2d_per_channel_16x8::<i64>(&p, &input, &filter, None, o)
                    }),
                }
            } else {
                Ok(Outcome::Unsupported(format!("conv dtype {dt}")))
            }
        }
        // DEPTHWISE_CONV_2D
        4 => {
            let (x, w, b) = (ins[0], ins[1], ins.get(2).copied().unwrap_or(-1));
            let (is, ws) = (shape4(&g.shape(x)?)?, shape4(&g.shape(w)?)?);
            let opts = DepthwiseOptions {
                padding: padding(op),
                stride_h: opt_i(op, "StrideH") as usize,
                stride_w: opt_i(op, "StrideW") as usize,
                dilation_h: opt_i(op, "DilationHFactor") as usize,
                dilation_w: opt_i(op, "DilationWFactor") as usize,
                depth_multiplier: ws[3] / is[3].max(1),
                activation: activation(op)?,
            };
            let filter: Vec<i8> = g.data(w)?;
            if dt == "int8" {
                let p =
                    DepthwiseParams::prepare::<i8>(opts, is, ws, g.q(x)?, &g.scales(w)?, g.q(out)?)
                        .map_err(|e| e.to_string())?;
                let input: Vec<i8> = g.data(x)?;
                let bias: Option<Vec<i32>> = if b >= 0 { Some(g.data(b)?) } else { None };
                let r = check::<i8>(g, out, |o| {
                    depthwise_conv_per_channel_ref(&p, &input, &filter, bias.as_deref(), o)
                })?;
                let f = check::<i8>(g, out, |o| {
                    depthwise_conv_per_channel(&p, &input, &filter, bias.as_deref(), o)
                })?;
                Ok(both(r, f))
            } else if dt == "int16" {
                let p = DepthwiseParams::prepare::<i16>(
                    opts,
                    is,
                    ws,
                    g.q(x)?,
                    &g.scales(w)?,
                    g.q(out)?,
                )
                .map_err(|e| e.to_string())?;
                let input: Vec<i16> = g.data(x)?;
                if b >= 0 && g.dtype(b)? == "int32" {
                    let bias: Vec<i32> = g.data(b)?;
                    check::<i16>(g, out, |o| {
                        depthwise_conv_per_channel_16x8(&p, &input, &filter, Some(&bias), o)
                    })
                } else {
                    let bias: Option<Vec<i64>> = if b >= 0 { Some(g.data(b)?) } else { None };
                    check::<i16>(g, out, |o| {
                        depthwise_conv_per_channel_16x8(&p, &input, &filter, bias.as_deref(), o)
                    })
                }
            } else {
                Ok(Outcome::Unsupported(format!("depthwise dtype {dt}")))
            }
        }
        // FULLY_CONNECTED
        9 => {
            let (x, w, b) = (ins[0], ins[1], ins.get(2).copied().unwrap_or(-1));
            let ws = g.shape(w)?;
            let (units, depth) = (ws[0], ws[1]);
            let batches = g.shape(x)?.iter().product::<usize>() / depth.max(1);
            let wq = g.tensor(w)?["zero_points"][0].as_i64().unwrap_or(0) as i32;
            let filter: Vec<i8> = g.data(w)?;
            let scales = g.scales(w)?;
            let act = activation(op)?;
            if dt == "int8" {
                let p = FullyConnectedParams::prepare::<i8>(
                    batches,
                    depth,
                    units,
                    g.q(x)?,
                    &scales,
                    wq,
                    g.q(out)?,
                    act,
                )
                .map_err(|e| e.to_string())?;
                let input: Vec<i8> = g.data(x)?;
                let bias: Option<Vec<i32>> = if b >= 0 { Some(g.data(b)?) } else { None };
                let mut modes = Vec::new();
                // Default first (DoubleScale, LiteRT's reference), then the alternative.
                for mode in [FcRescale::DoubleScale, FcRescale::QuantizedMultiplier] {
                    let pm = p.clone().with_rescale(mode);
                    let o = check::<i8>(g, out, |o| {
                        fully_connected_ref(&pm, &input, &filter, bias.as_deref(), o)
                    })?;
                    modes.push((mode, o));
                }
                let kind = if scales.len() > 1 {
                    "per-channel"
                } else {
                    "per-tensor"
                };
                for (mode, o) in &modes {
                    let s = match o {
                        Outcome::Exact(_) => "exact".to_string(),
                        Outcome::Mismatch { differ, total, .. } => {
                            format!("{differ}/{total} differ")
                        }
                        Outcome::Unsupported(u) => u.clone(),
                    };
                    notes.push(format!("fc {kind} int8 with {mode:?}: {s}"));
                }
                let weights = PackedFcWeights::new(&p, &filter).map_err(|e| e.to_string())?;
                let default_opt = check::<i8>(g, out, |o| {
                    fully_connected(
                        &p,
                        &weights,
                        filter.len(),
                        &input,
                        bias.as_deref(),
                        o,
                        Parallelism::Rayon,
                    )
                })?;
                let default_ref = modes.swap_remove(0).1;
                Ok(both(default_ref, default_opt))
            } else if dt == "int16" {
                let p = FullyConnectedParams::prepare::<i16>(
                    batches,
                    depth,
                    units,
                    g.q(x)?,
                    &scales,
                    wq,
                    g.q(out)?,
                    act,
                )
                .map_err(|e| e.to_string())?;
                let input: Vec<i16> = g.data(x)?;
                let mut results = Vec::new();
                for mode in [FcRescale::DoubleScale, FcRescale::QuantizedMultiplier] {
                    let pm = p.clone().with_rescale(mode);
                    let o = if b >= 0 && g.dtype(b)? == "int32" {
                        let bias: Vec<i32> = g.data(b)?;
                        check::<i16>(g, out, |o| {
                            fully_connected_16x8(&pm, &input, &filter, Some(&bias), o)
                        })?
                    } else {
                        let bias: Option<Vec<i64>> = if b >= 0 { Some(g.data(b)?) } else { None };
                        check::<i16>(g, out, |o| {
                            fully_connected_16x8(&pm, &input, &filter, bias.as_deref(), o)
                        })?
                    };
                    notes.push(format!(
                        "fc 16x8 with {mode:?}: {}",
                        if matches!(o, Outcome::Exact(_)) {
                            "exact"
                        } else {
                            "differs"
                        }
                    ));
                    results.push(o);
                }
                Ok(results.swap_remove(0))
            } else {
                Ok(Outcome::Unsupported(format!("fc dtype {dt}")))
            }
        }
        // AVERAGE_POOL_2D, MAX_POOL_2D
        1 | 17 => {
            let opts = PoolOptions {
                padding: padding(op),
                stride_h: opt_i(op, "StrideH") as usize,
                stride_w: opt_i(op, "StrideW") as usize,
                filter_h: opt_i(op, "FilterHeight") as usize,
                filter_w: opt_i(op, "FilterWidth") as usize,
                activation: activation(op)?,
            };
            let is = shape4(&g.shape(in0)?)?;
            let input: Vec<i8> = g.data(in0)?;
            let p = PoolParams::prepare::<i8>(opts, is, g.q(out)?).map_err(|e| e.to_string())?;
            check::<i8>(g, out, |o| {
                if opcode == 1 {
                    average_pool(&p, &input, o)
                } else {
                    max_pool(&p, &input, o)
                }
            })
        }
        // MEAN
        40 => {
            let axes: Vec<i64> = g.data::<i32>(ins[1])?.into_iter().map(i64::from).collect();
            let input: Vec<i8> = g.data(in0)?;
            let p = MeanParams::prepare::<i8>(&g.shape(in0)?, &axes, g.q(in0)?, g.q(out)?, false)
                .map_err(|e| e.to_string())?;
            check::<i8>(g, out, |o| mean(&p, &input, o))
        }
        // SOFTMAX
        25 => {
            let shape = g.shape(in0)?;
            let depth = *shape.last().unwrap_or(&1);
            let p = SoftmaxParams::prepare(opt_f(op, "Beta") as f32, g.q(in0)?.scale)
                .map_err(|e| e.to_string())?;
            let input: Vec<i8> = g.data(in0)?;
            check::<i8>(g, out, |o| softmax(&p, &input, depth, o))
        }
        // LOGISTIC
        14 => {
            let p =
                LogisticParams::prepare::<i8>(g.q(in0)?, g.q(out)?).map_err(|e| e.to_string())?;
            let input: Vec<i8> = g.data(in0)?;
            check::<i8>(g, out, |o| logistic(&p, &input, o))
        }
        // TANH
        28 => {
            let p = TanhParams::prepare::<i8>(g.q(in0)?, g.q(out)?).map_err(|e| e.to_string())?;
            let input: Vec<i8> = g.data(in0)?;
            check::<i8>(g, out, |o| tanh(&p, &input, o))
        }
        // HARD_SWISH
        117 => {
            let p =
                HardSwishParams::prepare::<i8>(g.q(in0)?, g.q(out)?).map_err(|e| e.to_string())?;
            let input: Vec<i8> = g.data(in0)?;
            check::<i8>(g, out, |o| hard_swish(&p, &input, o))
        }
        // LEAKY_RELU
        98 => {
            let p = LeakyReluParams::prepare::<i8>(g.q(in0)?, g.q(out)?, opt_f(op, "Alpha") as f32)
                .map_err(|e| e.to_string())?;
            let input: Vec<i8> = g.data(in0)?;
            check::<i8>(g, out, |o| leaky_relu(&p, &input, o))
        }
        // PRELU
        54 => {
            let a = ins[1];
            let p = PreluParams::prepare::<i8>(g.q(in0)?, g.q(a)?, g.q(out)?)
                .map_err(|e| e.to_string())?;
            let (input, alpha): (Vec<i8>, Vec<i8>) = (g.data(in0)?, g.data(a)?);
            let (si, sa) = (g.shape(in0)?, g.shape(a)?);
            check::<i8>(g, out, |o| prelu(&p, &input, &si, &alpha, &sa, o))
        }
        // CONCATENATION
        2 => {
            let rank = g.shape(in0)?.len() as i64;
            let mut axis = opt_i(op, "Axis");
            if axis < 0 {
                axis += rank;
            }
            let datas: Vec<Vec<i8>> = ins.iter().map(|&i| g.data(i)).collect::<TestResult<_>>()?;
            let shapes: Vec<Vec<usize>> =
                ins.iter().map(|&i| g.shape(i)).collect::<TestResult<_>>()?;
            let qs: Vec<QParams> = ins.iter().map(|&i| g.q(i)).collect::<TestResult<_>>()?;
            let inputs: Vec<(&[i8], &[usize], QParams)> = datas
                .iter()
                .zip(&shapes)
                .zip(&qs)
                .map(|((d, s), q)| (d.as_slice(), s.as_slice(), *q))
                .collect();
            let oq = g.q(out)?;
            check::<i8>(g, out, |o| concatenation(&inputs, axis as usize, o, oq))
        }
        // PAD, PADV2
        34 | 60 => {
            let pads: Vec<i64> = match g.dtype(ins[1])?.as_str() {
                "int64" => g.data::<i64>(ins[1])?,
                _ => g.data::<i32>(ins[1])?.into_iter().map(i64::from).collect(),
            };
            let paddings: Vec<(usize, usize)> = pads
                .chunks(2)
                .map(|c| (c[0] as usize, c[1] as usize))
                .collect();
            let value = if opcode == 60 && ins.len() > 2 {
                g.data::<i8>(ins[2])?[0]
            } else {
                g.q(out)?.zero_point as i8
            };
            let input: Vec<i8> = g.data(in0)?;
            let shape = g.shape(in0)?;
            check::<i8>(g, out, |o| pad(&input, &shape, &paddings, value, o))
        }
        // RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR
        23 | 97 => {
            let size: Vec<i32> = g.data(ins[1])?;
            let options = ResizeOptions {
                align_corners: opt_b(op, "AlignCorners"),
                half_pixel_centers: opt_b(op, "HalfPixelCenters"),
            };
            let is = shape4(&g.shape(in0)?)?;
            let input: Vec<i8> = g.data(in0)?;
            let hw = (size[0] as usize, size[1] as usize);
            check::<i8>(g, out, |o| {
                if opcode == 23 {
                    resize_bilinear(options, &input, is, o, hw)
                } else {
                    resize_nearest(options, &input, is, o, hw)
                }
            })
        }
        // QUANTIZE
        114 => {
            let oq = g.q(out)?;
            match (dt.as_str(), g.dtype(out)?.as_str()) {
                ("float32", "int8") => {
                    let x: Vec<f32> = g.data(in0)?;
                    check::<i8>(g, out, |o| quantize(oq, &x, o))
                }
                ("float32", "int16") => {
                    let x: Vec<f32> = g.data(in0)?;
                    check::<i16>(g, out, |o| quantize(oq, &x, o))
                }
                ("int8", "int8") => {
                    let p = RequantizeParams::prepare::<i8, i8>(g.q(in0)?, oq)
                        .map_err(|e| e.to_string())?;
                    let x: Vec<i8> = g.data(in0)?;
                    check::<i8>(g, out, |o| requantize(&p, &x, o))
                }
                ("uint8", "int8") => {
                    let p = RequantizeParams::prepare::<u8, i8>(g.q(in0)?, oq)
                        .map_err(|e| e.to_string())?;
                    let x: Vec<u8> = g.data(in0)?;
                    check::<i8>(g, out, |o| requantize(&p, &x, o))
                }
                ("int8", "uint8") => {
                    let p = RequantizeParams::prepare::<i8, u8>(g.q(in0)?, oq)
                        .map_err(|e| e.to_string())?;
                    let x: Vec<i8> = g.data(in0)?;
                    check::<u8>(g, out, |o| requantize(&p, &x, o))
                }
                (a, b) => Ok(Outcome::Unsupported(format!("quantize {a} -> {b}"))),
            }
        }
        // DEQUANTIZE
        6 => {
            let want: Vec<f32> = g.data(out)?;
            let mut got = vec![0f32; want.len()];
            match dt.as_str() {
                "int8" => dequantize(g.q(in0)?, &g.data::<i8>(in0)?, &mut got),
                "int16" => dequantize(g.q(in0)?, &g.data::<i16>(in0)?, &mut got),
                d => return Ok(Outcome::Unsupported(format!("dequantize {d}"))),
            }
            .map_err(|e| e.to_string())?;
            let gb: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            let wb: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            Ok(compare(&gb, &wb))
        }
        _ => Ok(Outcome::Unsupported(format!(
            "{} has no integer kernel in this test",
            op["name"].as_str().unwrap_or("?")
        ))),
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/int_golden")
}

#[test]
fn int_kernels_bit_exact_with_litert_reference() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("fixtures/int_golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "npz"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files");
    let mut failures = Vec::new();
    let mut exact_ops = 0;
    let mut notes = Vec::new();
    let mut exact_kinds = std::collections::BTreeSet::new();
    for path in &files {
        let g = match Golden::load(path) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{path:?}: {e}"));
                continue;
            }
        };
        let ops = g.meta["ops"].as_array().cloned().unwrap_or_default();
        for op in &ops {
            let name = op["name"].as_str().unwrap_or("?").to_string();
            let label = format!("{}/{}", g.name, name);
            match run_op(&g, op, &mut notes) {
                Ok(Outcome::Exact(n)) => {
                    exact_ops += 1;
                    exact_kinds.insert(name);
                    println!("{label:40} exact ({n} values)");
                }
                Ok(Outcome::Mismatch {
                    differ,
                    total,
                    detail,
                }) => {
                    println!("{label:40} MISMATCH {differ}/{total}: {detail}");
                    failures.push(format!("{label}: {differ}/{total} differ ({detail})"));
                }
                Ok(Outcome::Unsupported(why)) => println!("{label:40} skipped: {why}"),
                Err(e) => {
                    println!("{label:40} ERROR {e}");
                    failures.push(format!("{label}: {e}"));
                }
            }
        }
    }
    notes.sort();
    notes.dedup();
    for n in &notes {
        println!("note: {n}");
    }
    println!(
        "{exact_ops} operators bit-exact with LiteRT BUILTIN_REF; op kinds: {}",
        exact_kinds.into_iter().collect::<Vec<_>>().join(", ")
    );
    assert!(
        failures.is_empty(),
        "not bit-exact:\n{}",
        failures.join("\n")
    );
}
