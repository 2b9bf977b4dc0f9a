//! The model description format (docs/SPEC.md): one layer per line, Keras-like layer names
//! and attributes. Parsing checks every layer's shape and names the line and layer on error.

use crate::model::{Act, BatchNorm, Kind, Model, Node, Param};
use crate::QatError;
use edgequant_ir::Padding;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};

/// The layer types of the format (spelling of the first word, case-insensitive aliases in
/// [`layer_type`]).
pub const LAYER_TYPES: &[&str] = &[
    "Input",
    "Conv2D",
    "DepthwiseConv2D",
    "Dense",
    "BatchNormalization",
    "ReLU",
    "ReLU6",
    "MaxPool2D",
    "AveragePool2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Dropout",
    "Add",
    "Softmax",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Input,
    Conv,
    Depthwise,
    Dense,
    BatchNorm,
    Relu,
    Relu6,
    MaxPool,
    AvgPool,
    GlobalAvgPool,
    Flatten,
    Dropout,
    Add,
    Softmax,
}

fn layer_type(word: &str) -> Option<Ty> {
    Some(match word.to_ascii_lowercase().as_str() {
        "input" | "inputlayer" => Ty::Input,
        "conv2d" | "convolution2d" => Ty::Conv,
        "depthwiseconv2d" => Ty::Depthwise,
        "dense" => Ty::Dense,
        "batchnormalization" | "batchnorm" => Ty::BatchNorm,
        "relu" => Ty::Relu,
        "relu6" => Ty::Relu6,
        "maxpool2d" | "maxpooling2d" => Ty::MaxPool,
        "averagepool2d" | "averagepooling2d" | "avgpool2d" => Ty::AvgPool,
        "globalaveragepooling2d" | "globalavgpool2d" => Ty::GlobalAvgPool,
        "flatten" => Ty::Flatten,
        "dropout" => Ty::Dropout,
        "add" => Ty::Add,
        "softmax" => Ty::Softmax,
        _ => return None,
    })
}

/// One parsed layer with its checked output shape.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecLayer {
    /// 1-based line number in the spec file.
    pub line: usize,
    pub name: String,
    /// The layer type as written.
    pub type_name: String,
    ty_index: usize,
    attrs: BTreeMap<String, String>,
    /// Indices into [`Spec::layers`] (0 is the Input layer).
    pub inputs: Vec<usize>,
    /// Per-sample output shape (NHWC for images).
    pub shape: Vec<usize>,
}

/// A parsed, shape-checked model description.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// File name used in messages.
    pub file: String,
    pub name: String,
    /// `layers[0]` is the Input layer.
    pub layers: Vec<SpecLayer>,
}

const TYS: [Ty; 14] = [
    Ty::Input,
    Ty::Conv,
    Ty::Depthwise,
    Ty::Dense,
    Ty::BatchNorm,
    Ty::Relu,
    Ty::Relu6,
    Ty::MaxPool,
    Ty::AvgPool,
    Ty::GlobalAvgPool,
    Ty::Flatten,
    Ty::Dropout,
    Ty::Add,
    Ty::Softmax,
];

fn allowed_keys(ty: Ty) -> &'static [&'static str] {
    match ty {
        Ty::Input => &["shape", "name"],
        Ty::Conv => &[
            "filters",
            "kernel",
            "kernel_size",
            "strides",
            "padding",
            "activation",
            "use_bias",
            "dilation",
            "dilation_rate",
            "name",
            "inputs",
        ],
        Ty::Depthwise => &[
            "kernel",
            "kernel_size",
            "strides",
            "padding",
            "activation",
            "use_bias",
            "depth_multiplier",
            "dilation",
            "dilation_rate",
            "name",
            "inputs",
        ],
        Ty::Dense => &["units", "activation", "use_bias", "name", "inputs"],
        Ty::BatchNorm => &["momentum", "epsilon", "name", "inputs"],
        Ty::MaxPool | Ty::AvgPool => &["pool", "pool_size", "strides", "padding", "name", "inputs"],
        Ty::Dropout => &["rate", "name", "inputs"],
        Ty::Add => &["activation", "name", "inputs"],
        _ => &["name", "inputs"],
    }
}

fn default_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Input => "input",
        Ty::Conv => "conv2d",
        Ty::Depthwise => "depthwise_conv2d",
        Ty::Dense => "dense",
        Ty::BatchNorm => "batch_normalization",
        Ty::Relu => "re_lu",
        Ty::Relu6 => "re_lu6",
        Ty::MaxPool => "max_pooling2d",
        Ty::AvgPool => "average_pooling2d",
        Ty::GlobalAvgPool => "global_average_pooling2d",
        Ty::Flatten => "flatten",
        Ty::Dropout => "dropout",
        Ty::Add => "add",
        Ty::Softmax => "softmax",
    }
}

struct Ctx<'a> {
    file: &'a str,
    line: usize,
    layer: String,
    type_name: String,
}

impl Ctx<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> QatError {
        QatError::Spec {
            file: self.file.to_string(),
            line: self.line,
            message: if self.layer.is_empty() {
                msg.to_string()
            } else {
                format!("layer '{}' ({}): {msg}", self.layer, self.type_name)
            },
        }
    }
}

fn parse_usize(ctx: &Ctx, key: &str, v: &str) -> Result<usize, QatError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|&x| x > 0)
        .ok_or_else(|| ctx.err(format!("{key}={v}: expected a positive integer")))
}

fn parse_pair(ctx: &Ctx, key: &str, v: &str) -> Result<[usize; 2], QatError> {
    let parts: Vec<&str> = v.split([',', 'x']).collect();
    match parts.as_slice() {
        [a] => {
            let a = parse_usize(ctx, key, a)?;
            Ok([a, a])
        }
        [a, b] => Ok([parse_usize(ctx, key, a)?, parse_usize(ctx, key, b)?]),
        _ => Err(ctx.err(format!("{key}={v}: expected N or H,W"))),
    }
}

fn parse_f32(ctx: &Ctx, key: &str, v: &str, lo: f32, hi: f32) -> Result<f32, QatError> {
    v.trim()
        .parse::<f32>()
        .ok()
        .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
        .ok_or_else(|| ctx.err(format!("{key}={v}: expected a number in [{lo}, {hi}]")))
}

fn parse_bool(ctx: &Ctx, key: &str, v: &str) -> Result<bool, QatError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ctx.err(format!("{key}={v}: expected true or false"))),
    }
}

/// Activation attribute: `(fused activation, followed by softmax)`.
fn parse_activation(ctx: &Ctx, v: Option<&String>) -> Result<(Act, bool), QatError> {
    match v.map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("none") | Some("linear") => Ok((Act::None, false)),
        Some("relu") => Ok((Act::Relu, false)),
        Some("relu6") => Ok((Act::Relu6, false)),
        Some("softmax") => Ok((Act::None, true)),
        Some(other) => Err(ctx.err(format!(
            "activation={other}: expected none, relu, relu6 or softmax"
        ))),
    }
}

fn parse_padding(ctx: &Ctx, v: Option<&String>, default: Padding) -> Result<Padding, QatError> {
    match v.map(|s| s.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("same") => Ok(Padding::Same),
        Some("valid") => Ok(Padding::Valid),
        Some(other) => Err(ctx.err(format!("padding={other}: expected same or valid"))),
    }
}

impl Spec {
    /// Parses and shape-checks a model description. `file` names the source in errors
    /// (`file:line: layer 'name' (Type): problem`).
    pub fn parse(text: &str, file: &str) -> Result<Spec, QatError> {
        let mut layers: Vec<SpecLayer> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut counters: HashMap<&'static str, usize> = HashMap::new();
        let mut model_name = String::from("model");
        for (ln, raw) in text.lines().enumerate() {
            let line = ln + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut words = content.split_whitespace();
            let Some(word) = words.next() else { continue };
            let mut ctx = Ctx {
                file,
                line,
                layer: String::new(),
                type_name: word.to_string(),
            };
            if word.eq_ignore_ascii_case("model") {
                model_name = words.collect::<Vec<_>>().join("_");
                continue;
            }
            let ty = layer_type(word).ok_or_else(|| {
                ctx.err(format!(
                    "unknown layer '{word}' (known: {})",
                    LAYER_TYPES.join(", ")
                ))
            })?;
            let mut attrs = BTreeMap::new();
            for w in words {
                let Some((k, v)) = w.split_once('=') else {
                    return Err(ctx.err(format!("'{w}' is not key=value")));
                };
                let k = k.to_ascii_lowercase();
                if !allowed_keys(ty).contains(&k.as_str()) {
                    return Err(ctx.err(format!(
                        "{word} has no attribute '{k}' (allowed: {})",
                        allowed_keys(ty).join(", ")
                    )));
                }
                if attrs.insert(k.clone(), v.to_string()).is_some() {
                    return Err(ctx.err(format!("attribute '{k}' given twice")));
                }
            }
            let name = match attrs.get("name") {
                Some(n) => n.clone(),
                None => {
                    let base = default_name(ty);
                    let c = counters.entry(base).or_insert(0);
                    let n = if *c == 0 {
                        base.to_string()
                    } else {
                        format!("{base}_{c}")
                    };
                    *c += 1;
                    n
                }
            };
            ctx.layer = name.clone();
            if by_name.contains_key(&name) {
                return Err(ctx.err("a layer with this name already exists"));
            }
            if (ty == Ty::Input) != layers.is_empty() {
                return Err(ctx.err(if layers.is_empty() {
                    "the first layer must be Input shape=H,W,C"
                } else {
                    "only the first layer can be Input"
                }));
            }
            let inputs: Vec<usize> = match attrs.get("inputs") {
                Some(list) => {
                    list.split(',')
                        .map(|s| {
                            by_name.get(s.trim()).copied().ok_or_else(|| {
                                ctx.err(format!("input '{s}' is not an earlier layer"))
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                None if ty == Ty::Input => Vec::new(),
                None => vec![layers.len() - 1],
            };
            let want_inputs = match ty {
                Ty::Input => 0,
                Ty::Add => 2,
                _ => 1,
            };
            if inputs.len() != want_inputs {
                return Err(ctx.err(format!(
                    "takes {want_inputs} input(s), got {}",
                    inputs.len()
                )));
            }
            let in_shapes: Vec<&[usize]> =
                inputs.iter().map(|&i| layers[i].shape.as_slice()).collect();
            let shape = infer(&ctx, ty, &attrs, &in_shapes, &inputs, &layers)?;
            by_name.insert(name.clone(), layers.len());
            layers.push(SpecLayer {
                line,
                name,
                type_name: word.to_string(),
                ty_index: TYS.iter().position(|t| *t == ty).unwrap_or(0),
                attrs,
                inputs,
                shape,
            });
        }
        if layers.len() < 2 {
            return Err(QatError::Spec {
                file: file.to_string(),
                line: text.lines().count().max(1),
                message: "the model needs an Input line and at least one layer".into(),
            });
        }
        Ok(Spec {
            file: file.to_string(),
            name: model_name,
            layers,
        })
    }

    /// The per-sample input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.layers[0].shape
    }

    /// Builds the trainable model with Keras's initial values: Glorot-uniform kernels, zero
    /// biases, batch norm gamma 1, beta 0, moving mean 0, moving variance 1. `seed` fixes the
    /// kernels.
    pub fn build(&self, seed: u64) -> Result<Model, QatError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params: Vec<Param> = Vec::new();
        let mut nodes: Vec<Node> = Vec::new();
        // value index of each spec layer (0 = input)
        let mut value = vec![0usize; self.layers.len()];
        let mut glorot = |shape: Vec<usize>, fan_in: usize, fan_out: usize, name: String| {
            let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|_| rng.random_range(-limit..limit) as f32)
                .collect();
            Param { name, shape, data }
        };
        for (li, l) in self.layers.iter().enumerate().skip(1) {
            let ty = TYS[l.ty_index];
            let ctx = Ctx {
                file: &self.file,
                line: l.line,
                layer: l.name.clone(),
                type_name: l.type_name.clone(),
            };
            let ins: Vec<usize> = l.inputs.iter().map(|&i| value[i]).collect();
            let in_shape = self.layers[l.inputs[0]].shape.clone();
            let (act, softmax) = parse_activation(&ctx, l.attrs.get("activation"))?;
            let use_bias = match l.attrs.get("use_bias") {
                Some(v) => parse_bool(&ctx, "use_bias", v)?,
                None => true,
            };
            let kind = match ty {
                Ty::Conv | Ty::Depthwise => {
                    let k = kernel(&ctx, &l.attrs)?;
                    let cin = in_shape[2];
                    let (wshape, fan_in, fan_out, groups, multiplier) = if ty == Ty::Conv {
                        let f = *l.shape.last().unwrap_or(&1);
                        (
                            vec![f, cin, k[0], k[1]],
                            cin * k[0] * k[1],
                            f * k[0] * k[1],
                            1,
                            None,
                        )
                    } else {
                        let mult = l.shape[2] / cin.max(1);
                        (
                            vec![cin * mult, 1, k[0], k[1]],
                            k[0] * k[1],
                            k[0] * k[1] * mult,
                            cin,
                            Some(mult),
                        )
                    };
                    let oc = wshape[0];
                    params.push(glorot(
                        wshape,
                        fan_in,
                        fan_out,
                        format!("{}/kernel", l.name),
                    ));
                    let weight = params.len() - 1;
                    let bias = use_bias.then(|| {
                        params.push(Param {
                            name: format!("{}/bias", l.name),
                            shape: vec![oc],
                            data: vec![0.0; oc],
                        });
                        params.len() - 1
                    });
                    Kind::Conv {
                        weight,
                        bias,
                        stride: strides(&ctx, &l.attrs, [1, 1])?,
                        dilation: dilation(&ctx, &l.attrs)?,
                        padding: parse_padding(&ctx, l.attrs.get("padding"), Padding::Valid)?,
                        groups,
                        multiplier,
                        bn: None,
                        act,
                    }
                }
                Ty::Dense => {
                    let i = in_shape[0];
                    let o = l.shape[0];
                    params.push(glorot(vec![o, i], i, o, format!("{}/kernel", l.name)));
                    let weight = params.len() - 1;
                    let bias = use_bias.then(|| {
                        params.push(Param {
                            name: format!("{}/bias", l.name),
                            shape: vec![o],
                            data: vec![0.0; o],
                        });
                        params.len() - 1
                    });
                    Kind::Dense { weight, bias, act }
                }
                Ty::BatchNorm => {
                    let c = *in_shape.last().unwrap_or(&1);
                    params.push(Param {
                        name: format!("{}/gamma", l.name),
                        shape: vec![c],
                        data: vec![1.0; c],
                    });
                    params.push(Param {
                        name: format!("{}/beta", l.name),
                        shape: vec![c],
                        data: vec![0.0; c],
                    });
                    Kind::BatchNorm(BatchNorm {
                        gamma: params.len() - 2,
                        beta: params.len() - 1,
                        moving_mean: vec![0.0; c],
                        moving_var: vec![1.0; c],
                        epsilon: match l.attrs.get("epsilon") {
                            Some(v) => parse_f32(&ctx, "epsilon", v, 1e-12, 1.0)?,
                            None => 1e-3,
                        },
                        momentum: match l.attrs.get("momentum") {
                            Some(v) => parse_f32(&ctx, "momentum", v, 0.0, 1.0)?,
                            None => 0.99,
                        },
                        stats_seen: false,
                    })
                }
                Ty::Relu => Kind::Relu,
                Ty::Relu6 => Kind::Relu6,
                Ty::MaxPool | Ty::AvgPool => {
                    let (filter, stride, padding) = pool(&ctx, &l.attrs)?;
                    if ty == Ty::MaxPool {
                        Kind::MaxPool {
                            filter,
                            stride,
                            padding,
                        }
                    } else {
                        Kind::AvgPool {
                            filter,
                            stride,
                            padding,
                        }
                    }
                }
                Ty::GlobalAvgPool => Kind::Mean { keep_dims: false },
                Ty::Flatten => Kind::Reshape,
                Ty::Dropout => Kind::Dropout {
                    rate: match l.attrs.get("rate") {
                        Some(v) => parse_f32(&ctx, "rate", v, 0.0, 0.99)?,
                        None => 0.5,
                    },
                },
                Ty::Add => Kind::Add { act },
                Ty::Softmax => Kind::Softmax { beta: 1.0 },
                Ty::Input => continue,
            };
            nodes.push(Node {
                name: l.name.clone(),
                kind,
                inputs: ins,
                shape: l.shape.clone(),
            });
            value[li] = nodes.len();
            if softmax {
                nodes.push(Node {
                    name: format!("{}/softmax", l.name),
                    kind: Kind::Softmax { beta: 1.0 },
                    inputs: vec![nodes.len()],
                    shape: l.shape.clone(),
                });
                value[li] = nodes.len();
            }
        }
        let mut m = Model {
            name: self.name.clone(),
            input_name: self.layers[0].name.clone(),
            input_shape: self.layers[0].shape.clone(),
            nodes,
            params,
            ranges: Default::default(),
        };
        m.fuse();
        Ok(m)
    }
}

fn kernel(ctx: &Ctx, a: &BTreeMap<String, String>) -> Result<[usize; 2], QatError> {
    match a.get("kernel").or_else(|| a.get("kernel_size")) {
        Some(v) => parse_pair(ctx, "kernel", v),
        None => Err(ctx.err("needs kernel=K or kernel=KH,KW")),
    }
}

fn strides(
    ctx: &Ctx,
    a: &BTreeMap<String, String>,
    default: [usize; 2],
) -> Result<[usize; 2], QatError> {
    match a.get("strides") {
        Some(v) => parse_pair(ctx, "strides", v),
        None => Ok(default),
    }
}

fn dilation(ctx: &Ctx, a: &BTreeMap<String, String>) -> Result<[usize; 2], QatError> {
    match a.get("dilation").or_else(|| a.get("dilation_rate")) {
        Some(v) => parse_pair(ctx, "dilation", v),
        None => Ok([1, 1]),
    }
}

fn pool(
    ctx: &Ctx,
    a: &BTreeMap<String, String>,
) -> Result<([usize; 2], [usize; 2], Padding), QatError> {
    let filter = match a.get("pool").or_else(|| a.get("pool_size")) {
        Some(v) => parse_pair(ctx, "pool", v)?,
        None => [2, 2],
    };
    Ok((
        filter,
        strides(ctx, a, filter)?,
        parse_padding(ctx, a.get("padding"), Padding::Valid)?,
    ))
}

fn need_rank(ctx: &Ctx, shape: &[usize], rank: usize, what: &str) -> Result<(), QatError> {
    if shape.len() != rank {
        return Err(ctx.err(format!(
            "input has shape {shape:?}; {} needs {what}",
            ctx.type_name
        )));
    }
    Ok(())
}

fn infer(
    ctx: &Ctx,
    ty: Ty,
    a: &BTreeMap<String, String>,
    ins: &[&[usize]],
    input_ids: &[usize],
    layers: &[SpecLayer],
) -> Result<Vec<usize>, QatError> {
    let spatial = |x: &[usize], k: [usize; 2], s: [usize; 2], d: [usize; 2], p: Padding| {
        let h = p
            .window(0, x[0], k[0], s[0], d[0])
            .map_err(|e| ctx.err(format!("input {x:?}: {e}")))?;
        let w = p
            .window(1, x[1], k[1], s[1], d[1])
            .map_err(|e| ctx.err(format!("input {x:?}: {e}")))?;
        if h.out == 0 || w.out == 0 {
            return Err(ctx.err(format!("input {x:?} gives an empty output")));
        }
        Ok::<_, QatError>([h.out, w.out])
    };
    Ok(match ty {
        Ty::Input => {
            let v = a
                .get("shape")
                .ok_or_else(|| ctx.err("Input needs shape=H,W,C (or shape=N for flat data)"))?;
            let shape = v
                .split([',', 'x'])
                .map(|d| parse_usize(ctx, "shape", d))
                .collect::<Result<Vec<_>, _>>()?;
            if shape.len() != 1 && shape.len() != 3 {
                return Err(ctx.err(format!(
                    "shape={v}: expected H,W,C (images) or N (flat features)"
                )));
            }
            shape
        }
        Ty::Conv | Ty::Depthwise => {
            let x = ins[0];
            need_rank(ctx, x, 3, "an H,W,C input")?;
            let k = kernel(ctx, a)?;
            let s = strides(ctx, a, [1, 1])?;
            let d = dilation(ctx, a)?;
            let p = parse_padding(ctx, a.get("padding"), Padding::Valid)?;
            parse_activation(ctx, a.get("activation"))?;
            if let Some(v) = a.get("use_bias") {
                parse_bool(ctx, "use_bias", v)?;
            }
            let [h, w] = spatial(x, k, s, d, p)?;
            let c = if ty == Ty::Conv {
                let f = a.get("filters").ok_or_else(|| ctx.err("needs filters=N"))?;
                parse_usize(ctx, "filters", f)?
            } else {
                let m = match a.get("depth_multiplier") {
                    Some(v) => parse_usize(ctx, "depth_multiplier", v)?,
                    None => 1,
                };
                x[2] * m
            };
            vec![h, w, c]
        }
        Ty::Dense => {
            let x = ins[0];
            if x.len() != 1 {
                return Err(ctx.err(format!(
                    "input '{}' has shape {x:?}; Dense needs a flat input (add Flatten or GlobalAveragePooling2D before it)",
                    layers[input_ids[0]].name
                )));
            }
            parse_activation(ctx, a.get("activation"))?;
            let u = a.get("units").ok_or_else(|| ctx.err("needs units=N"))?;
            vec![parse_usize(ctx, "units", u)?]
        }
        Ty::BatchNorm => {
            for k in ["momentum", "epsilon"] {
                if let Some(v) = a.get(k) {
                    parse_f32(ctx, k, v, 0.0, 1.0)?;
                }
            }
            ins[0].to_vec()
        }
        Ty::Relu | Ty::Relu6 | Ty::Softmax => ins[0].to_vec(),
        Ty::Dropout => {
            if let Some(v) = a.get("rate") {
                parse_f32(ctx, "rate", v, 0.0, 0.99)?;
            }
            ins[0].to_vec()
        }
        Ty::MaxPool | Ty::AvgPool => {
            let x = ins[0];
            need_rank(ctx, x, 3, "an H,W,C input")?;
            let (f, s, p) = pool(ctx, a)?;
            let [h, w] = spatial(x, f, s, [1, 1], p)?;
            vec![h, w, x[2]]
        }
        Ty::GlobalAvgPool => {
            need_rank(ctx, ins[0], 3, "an H,W,C input")?;
            vec![ins[0][2]]
        }
        Ty::Flatten => vec![ins[0].iter().product()],
        Ty::Add => {
            parse_activation(ctx, a.get("activation"))?;
            if ins[0] != ins[1] {
                return Err(ctx.err(format!(
                    "inputs '{}' {:?} and '{}' {:?} have different shapes",
                    layers[input_ids[0]].name, ins[0], layers[input_ids[1]].name, ins[1]
                )));
            }
            ins[0].to_vec()
        }
    })
}
