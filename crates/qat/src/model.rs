//! The trainable model: a list of layers over values with static per-sample shapes, with
//! parameters in burn's layouts. Built from a spec ([`crate::spec`]) or lowered from an IR
//! [`Graph`] ([`Model::from_graph`]); exported back to IR by [`crate::export`].

use crate::QatError;
use edgequant_ir::ops::{Activation, Padding};
use edgequant_ir::{Graph, Op, TensorId};
use std::collections::HashMap;

/// A trainable tensor. `data` is row-major in `shape`, which is burn's layout: convolution
/// weights `[O, I/groups, KH, KW]` (depthwise `[C·M, 1, KH, KW]`), dense weights `[O, I]`,
/// vectors `[C]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Activation fused into a layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Act {
    #[default]
    None,
    Relu,
    Relu6,
}

impl Act {
    /// The IR activation.
    pub fn ir(self) -> Activation {
        match self {
            Act::None => Activation::None,
            Act::Relu => Activation::Relu,
            Act::Relu6 => Activation::Relu6,
        }
    }
}

/// Batch normalization state: trainable `gamma`/`beta` (parameter indices) and the moving
/// statistics (Keras semantics: `moving = moving·momentum + batch·(1 − momentum)`,
/// normalization with the biased batch variance), except that the first training step of a
/// freshly built layer sets them to that batch's statistics instead of averaging them with
/// the (0, 1) initial values, so short trainings do not export a stale variance.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    pub gamma: usize,
    pub beta: usize,
    pub moving_mean: Vec<f32>,
    pub moving_var: Vec<f32>,
    pub epsilon: f32,
    pub momentum: f32,
    /// Whether the moving statistics hold data statistics yet (false for a new layer).
    pub stats_seen: bool,
}

/// What a layer computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// 2-D convolution (`groups == channels` with `multiplier` set: depthwise), optionally with
    /// a batch norm folded in (training folds it with the batch-statistics correction).
    Conv {
        weight: usize,
        bias: Option<usize>,
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
        groups: usize,
        multiplier: Option<usize>,
        bn: Option<BatchNorm>,
        act: Act,
    },
    /// `x · Wᵀ + b` on `[N, I]`.
    Dense {
        weight: usize,
        bias: Option<usize>,
        act: Act,
    },
    /// Batch norm not folded into a convolution; exported as MUL + ADD with per-channel
    /// constants.
    BatchNorm(BatchNorm),
    Relu,
    Relu6,
    MaxPool {
        filter: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    },
    AvgPool {
        filter: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    },
    /// Mean over height and width.
    Mean {
        keep_dims: bool,
    },
    /// Reshape (row-major NHWC order) to the node's shape.
    Reshape,
    /// Permutation of the per-sample axes (NHWC semantics, batch fixed).
    Transpose {
        perm: Vec<usize>,
    },
    /// Inverted dropout during training, identity otherwise.
    Dropout {
        rate: f32,
    },
    Add {
        act: Act,
    },
    Mul {
        act: Act,
    },
    /// Elementwise op with a trainable constant operand `param` (IR shape `const_shape`).
    AddConst {
        param: usize,
        const_shape: Vec<usize>,
        act: Act,
    },
    MulConst {
        param: usize,
        const_shape: Vec<usize>,
        act: Act,
    },
    Softmax {
        beta: f32,
    },
}

impl Kind {
    /// Short layer type name for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Conv {
                multiplier: Some(_),
                ..
            } => "DepthwiseConv2D",
            Kind::Conv { .. } => "Conv2D",
            Kind::Dense { .. } => "Dense",
            Kind::BatchNorm(_) => "BatchNormalization",
            Kind::Relu => "ReLU",
            Kind::Relu6 => "ReLU6",
            Kind::MaxPool { .. } => "MaxPool2D",
            Kind::AvgPool { .. } => "AveragePool2D",
            Kind::Mean { .. } => "GlobalAveragePooling2D",
            Kind::Reshape => "Reshape",
            Kind::Transpose { .. } => "Transpose",
            Kind::Dropout { .. } => "Dropout",
            Kind::Add { .. } | Kind::AddConst { .. } => "Add",
            Kind::Mul { .. } | Kind::MulConst { .. } => "Mul",
            Kind::Softmax { .. } => "Softmax",
        }
    }

    /// True for layers whose output shares its input's quantization parameters (the
    /// exported op is same-scale, or the layer disappears at export).
    pub fn same_scale(&self) -> bool {
        matches!(
            self,
            Kind::MaxPool { .. }
                | Kind::AvgPool { .. }
                | Kind::Reshape
                | Kind::Transpose { .. }
                | Kind::Dropout { .. }
        )
    }
}

/// One layer: reads values `inputs` (0 = model input, `k + 1` = output of node `k`) and
/// produces one value of per-sample shape `shape` (NHWC for rank-3 values).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub inputs: Vec<usize>,
    pub shape: Vec<usize>,
}

/// A trainable model. Values: 0 is the input, `k + 1` the output of `nodes[k]`; nodes are in
/// topological order and the model output is the last node's value.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub input_name: String,
    /// Per-sample input shape (without the batch dimension).
    pub input_shape: Vec<usize>,
    pub nodes: Vec<Node>,
    pub params: Vec<Param>,
    /// Learned activation ranges by [`ObsKey`] (filled by quantization-aware training).
    pub ranges: std::collections::BTreeMap<ObsKey, (f32, f32)>,
}

/// A tensor whose range quantization-aware training observes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObsKey {
    /// A model value (see [`Model`]).
    Value(usize),
    /// The MUL output inside a standalone batch norm (node index).
    BnMul(usize),
}

impl Model {
    /// Shape of value `v` (per sample).
    pub fn value_shape(&self, v: usize) -> &[usize] {
        if v == 0 {
            &self.input_shape
        } else {
            &self.nodes[v - 1].shape
        }
    }

    /// Number of classes (last dimension of the output).
    pub fn num_classes(&self) -> usize {
        self.nodes
            .last()
            .and_then(|n| n.shape.last().copied())
            .unwrap_or(0)
    }

    /// The value whose logits the loss reads: the input of a final Softmax, else the output.
    pub fn logits_value(&self) -> usize {
        match self.nodes.last() {
            Some(n) if matches!(n.kind, Kind::Softmax { .. }) => n.inputs[0],
            _ => self.nodes.len(),
        }
    }

    /// Consumers of each value.
    pub fn consumers(&self) -> Vec<Vec<usize>> {
        let mut c = vec![Vec::new(); self.nodes.len() + 1];
        for (k, n) in self.nodes.iter().enumerate() {
            for &i in &n.inputs {
                c[i].push(k);
            }
        }
        c
    }

    /// The value whose quantization parameters value `v` uses (walks back over same-scale
    /// layers).
    pub fn range_source(&self, mut v: usize) -> usize {
        while v > 0 && self.nodes[v - 1].kind.same_scale() {
            v = self.nodes[v - 1].inputs[0];
        }
        v
    }

    /// Number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.params.iter().map(|p| p.data.len()).sum()
    }

    /// Fuses layers the way the exported graph runs them: a batch norm that is the only
    /// consumer of a convolution without activation folds into it; a ReLU/ReLU6 that is the
    /// only consumer of a convolution, dense or add without activation fuses into it.
    pub fn fuse(&mut self) {
        loop {
            let consumers = self.consumers();
            let last = self.nodes.len();
            let mut merged = None;
            for (k, n) in self.nodes.iter().enumerate() {
                let v = k + 1;
                if v == last || consumers[v].len() != 1 {
                    continue;
                }
                let c = consumers[v][0];
                let next = &self.nodes[c].kind;
                let ok = matches!(
                    (&n.kind, next),
                    (
                        Kind::Conv {
                            act: Act::None,
                            bn: None,
                            ..
                        },
                        Kind::BatchNorm(_),
                    ) | (
                        Kind::Conv { act: Act::None, .. }
                            | Kind::Dense { act: Act::None, .. }
                            | Kind::Add { act: Act::None }
                            | Kind::AddConst { act: Act::None, .. },
                        Kind::Relu | Kind::Relu6,
                    )
                );
                if ok {
                    merged = Some((k, c));
                    break;
                }
            }
            let Some((k, c)) = merged else { break };
            let next = self.nodes[c].clone();
            let node = &mut self.nodes[k];
            let new_act = match next.kind {
                Kind::Relu => Some(Act::Relu),
                Kind::Relu6 => Some(Act::Relu6),
                _ => None,
            };
            match (&mut node.kind, next.kind) {
                (Kind::Conv { bn, .. }, Kind::BatchNorm(b)) => *bn = Some(b),
                (
                    Kind::Conv { act, .. }
                    | Kind::Dense { act, .. }
                    | Kind::Add { act }
                    | Kind::AddConst { act, .. },
                    _,
                ) => {
                    if let Some(a) = new_act {
                        *act = a;
                    }
                }
                _ => {}
            }
            self.remove_node(c, k + 1);
        }
    }

    /// Removes node `k`, rewiring its consumers to value `replacement` (< k + 1).
    fn remove_node(&mut self, k: usize, replacement: usize) {
        self.nodes.remove(k);
        let removed = k + 1;
        for n in &mut self.nodes {
            for i in &mut n.inputs {
                if *i == removed {
                    *i = replacement;
                } else if *i > removed {
                    *i -= 1;
                }
            }
        }
    }

    /// Lowers a float IR graph (one input, one output; the ops edgequant can train) into a
    /// trainable model, e.g. to fine-tune or quantization-aware-train an imported .tflite or
    /// ONNX model. Constant DEQUANTIZE must be folded first (`edgequant_quant::prepare_float`).
    /// Shape-computation nodes (SHAPE, STRIDED_SLICE, PACK feeding a RESHAPE) are dropped.
    /// Errors list every node that cannot be lowered.
    pub fn from_graph(graph: &Graph) -> Result<Model, QatError> {
        graph.validate()?;
        if graph.inputs.len() != 1 || graph.outputs.len() != 1 {
            return Err(QatError::Unsupported(format!(
                "training needs a model with one input and one output, this one has {} inputs and {} outputs",
                graph.inputs.len(),
                graph.outputs.len()
            )));
        }
        let input = graph.tensor(graph.inputs[0]);
        if input.dtype != edgequant_ir::DType::F32 {
            return Err(QatError::Unsupported(format!(
                "model input '{}' is {}, training needs a float32 model",
                input.name, input.dtype
            )));
        }
        let Some((&batch, input_shape)) = input.shape.split_first() else {
            return Err(QatError::Unsupported(format!(
                "model input '{}' has no batch dimension",
                input.name
            )));
        };
        if batch != 1 {
            return Err(QatError::Unsupported(format!(
                "model input '{}' has batch size {batch}; training lowers batch-1 models",
                input.name
            )));
        }
        let mut m = Model {
            name: graph.name.clone(),
            input_name: input.name.clone(),
            input_shape: input_shape.to_vec(),
            nodes: Vec::new(),
            params: Vec::new(),
            ranges: Default::default(),
        };
        let mut value_of: HashMap<TensorId, usize> = HashMap::new();
        value_of.insert(graph.inputs[0], 0);
        let mut errors = Vec::new();
        // Nodes needed by the output through data (not shape) operands.
        let producers = graph.producers();
        let mut needed = vec![false; graph.nodes.len()];
        let mut stack = vec![graph.outputs[0]];
        while let Some(t) = stack.pop() {
            let Some(p) = producers[t.0] else { continue };
            if needed[p.0] {
                continue;
            }
            needed[p.0] = true;
            let n = &graph.nodes[p.0];
            let data_operands: &[usize] = match n.op {
                Op::Reshape(_) | Op::Mean(_) | Op::Transpose(_) => &[0],
                _ => &[0, 1, 2],
            };
            for &i in data_operands {
                if let Some(Some(t)) = n.inputs.get(i) {
                    stack.push(*t);
                }
            }
        }
        for id in graph.topo_order()? {
            if !needed[id.0] {
                continue;
            }
            let n = &graph.nodes[id.0];
            match lower_node(graph, n, &value_of, &mut m) {
                Ok(Some(v)) => {
                    value_of.insert(n.outputs[0], v);
                }
                Ok(None) => {}
                Err(e) => errors.push(format!("node '{}' ({}): {e}", n.name, n.op.name())),
            }
        }
        if !errors.is_empty() {
            return Err(QatError::Unsupported(format!(
                "cannot train this model: {}",
                errors.join("; ")
            )));
        }
        match value_of.get(&graph.outputs[0]) {
            Some(&v) if v == m.nodes.len() && v > 0 => {}
            _ => {
                return Err(QatError::Unsupported(
                    "the model output is not produced by its last trainable node".into(),
                ))
            }
        }
        m.fuse();
        Ok(m)
    }

    fn push(&mut self, name: &str, kind: Kind, inputs: Vec<usize>, shape: Vec<usize>) -> usize {
        self.nodes.push(Node {
            name: name.to_string(),
            kind,
            inputs,
            shape,
        });
        self.nodes.len()
    }

    fn add_param(&mut self, name: String, shape: Vec<usize>, data: Vec<f32>) -> usize {
        self.params.push(Param { name, shape, data });
        self.params.len() - 1
    }
}

fn act_of(a: Activation) -> Result<Act, String> {
    match a {
        Activation::None => Ok(Act::None),
        Activation::Relu => Ok(Act::Relu),
        Activation::Relu6 => Ok(Act::Relu6),
        other => Err(format!("fused activation {other:?} is not trainable")),
    }
}

/// Per-sample shape from an IR shape with batch 1.
fn per_sample(shape: &[usize]) -> Result<Vec<usize>, String> {
    match shape.split_first() {
        Some((1, rest)) => Ok(rest.to_vec()),
        _ => Err(format!("shape {shape:?} does not have batch dimension 1")),
    }
}

/// A constant operand: its IR shape and values.
type ShapedData = (Vec<usize>, Vec<f32>);

fn lower_node(
    g: &Graph,
    n: &edgequant_ir::Node,
    value_of: &HashMap<TensorId, usize>,
    m: &mut Model,
) -> Result<Option<usize>, String> {
    let out_shape = per_sample(&g.tensor(n.outputs[0]).shape)?;
    let value = |i: usize| -> Result<usize, String> {
        let t = n
            .inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| format!("missing operand {i}"))?;
        value_of.get(&t).copied().ok_or_else(|| {
            format!(
                "operand {i} ('{}') is not a trainable value",
                g.tensor(t).name
            )
        })
    };
    let constant = |i: usize| -> Result<Option<ShapedData>, String> {
        match n.inputs.get(i).copied().flatten() {
            None => Ok(None),
            Some(t) => {
                let t = g.tensor(t);
                if !t.is_const() {
                    return Ok(None);
                }
                let d = t.float_data().map_err(|e| e.to_string())?;
                Ok(Some((t.shape.clone(), d)))
            }
        }
    };
    let name = n.name.clone();
    let v = match &n.op {
        Op::Conv2d(c) => {
            let x = value(0)?;
            let (ws, w) = constant(1)?.ok_or("weights are not a constant")?;
            let [o, kh, kw, i] =
                <[usize; 4]>::try_from(ws.as_slice()).map_err(|_| "bad weights")?;
            let cin = *m.value_shape(x).last().unwrap_or(&0);
            let groups = cin.checked_div(i).unwrap_or(0);
            // OHWI -> OIHW
            let mut data = vec![0f32; w.len()];
            for oo in 0..o {
                for y in 0..kh {
                    for xx in 0..kw {
                        for ii in 0..i {
                            data[((oo * i + ii) * kh + y) * kw + xx] =
                                w[((oo * kh + y) * kw + xx) * i + ii];
                        }
                    }
                }
            }
            let weight = m.add_param(format!("{name}/weights"), vec![o, i, kh, kw], data);
            let bias = constant(2)?.map(|(_, b)| m.add_param(format!("{name}/bias"), vec![o], b));
            m.push(
                &name,
                Kind::Conv {
                    weight,
                    bias,
                    stride: c.stride,
                    dilation: c.dilation,
                    padding: c.padding,
                    groups,
                    multiplier: None,
                    bn: None,
                    act: act_of(c.activation)?,
                },
                vec![x],
                out_shape,
            )
        }
        Op::DepthwiseConv2d(c) => {
            let x = value(0)?;
            let (ws, w) = constant(1)?.ok_or("weights are not a constant")?;
            let [_, kh, kw, oc] =
                <[usize; 4]>::try_from(ws.as_slice()).map_err(|_| "bad weights")?;
            let cin = *m.value_shape(x).last().unwrap_or(&0);
            // 1HW(C·M) -> (C·M)1HW
            let mut data = vec![0f32; w.len()];
            for y in 0..kh {
                for xx in 0..kw {
                    for cc in 0..oc {
                        data[(cc * kh + y) * kw + xx] = w[(y * kw + xx) * oc + cc];
                    }
                }
            }
            let weight = m.add_param(format!("{name}/weights"), vec![oc, 1, kh, kw], data);
            let bias = constant(2)?.map(|(_, b)| m.add_param(format!("{name}/bias"), vec![oc], b));
            m.push(
                &name,
                Kind::Conv {
                    weight,
                    bias,
                    stride: c.stride,
                    dilation: c.dilation,
                    padding: c.padding,
                    groups: cin,
                    multiplier: Some(c.depth_multiplier.max(1)),
                    bn: None,
                    act: act_of(c.activation)?,
                },
                vec![x],
                out_shape,
            )
        }
        Op::FullyConnected(f) => {
            let mut x = value(0)?;
            let (ws, w) = constant(1)?.ok_or("weights are not a constant")?;
            let [o, i] = <[usize; 2]>::try_from(ws.as_slice()).map_err(|_| "bad weights")?;
            let xs = m.value_shape(x).to_vec();
            if xs.iter().product::<usize>() != i {
                return Err(format!(
                    "input has per-sample shape {xs:?}, weights expect {i} features"
                ));
            }
            if xs.len() != 1 {
                x = m.push(&format!("{name}/flatten"), Kind::Reshape, vec![x], vec![i]);
            }
            let weight = m.add_param(format!("{name}/weights"), vec![o, i], w);
            let bias = constant(2)?.map(|(_, b)| m.add_param(format!("{name}/bias"), vec![o], b));
            m.push(
                &name,
                Kind::Dense {
                    weight,
                    bias,
                    act: act_of(f.activation)?,
                },
                vec![x],
                vec![o],
            )
        }
        Op::Add(_) | Op::Mul(_) => {
            let act = act_of(match &n.op {
                Op::Add(a) => a.activation,
                Op::Mul(a) => a.activation,
                _ => Activation::None,
            })?;
            let is_add = matches!(n.op, Op::Add(_));
            match (constant(0)?, constant(1)?) {
                (None, None) => {
                    let (a, b) = (value(0)?, value(1)?);
                    if m.value_shape(a) != m.value_shape(b) {
                        return Err("operands of different shapes (broadcasting two activations is not trainable)".into());
                    }
                    let kind = if is_add {
                        Kind::Add { act }
                    } else {
                        Kind::Mul { act }
                    };
                    m.push(&name, kind, vec![a, b], out_shape)
                }
                (Some((cs, cd)), None) | (None, Some((cs, cd))) => {
                    let x = if constant(0)?.is_some() {
                        value(1)?
                    } else {
                        value(0)?
                    };
                    let xs = m.value_shape(x).to_vec();
                    let ch = *xs.last().unwrap_or(&1);
                    if !(cd.len() == 1 || (cd.len() == ch && cs.last() == Some(&ch))) {
                        return Err(format!(
                            "constant operand of shape {cs:?} is neither a scalar nor per-channel for {xs:?}"
                        ));
                    }
                    if out_shape != xs {
                        return Err("the constant operand changes the shape".into());
                    }
                    let param = m.add_param(format!("{name}/const"), vec![cd.len()], cd);
                    let kind = if is_add {
                        Kind::AddConst {
                            param,
                            const_shape: cs,
                            act,
                        }
                    } else {
                        Kind::MulConst {
                            param,
                            const_shape: cs,
                            act,
                        }
                    };
                    m.push(&name, kind, vec![x], out_shape)
                }
                (Some(_), Some(_)) => return Err("both operands are constants".into()),
            }
        }
        Op::Relu(_) => m.push(&name, Kind::Relu, vec![value(0)?], out_shape),
        Op::Relu6(_) => m.push(&name, Kind::Relu6, vec![value(0)?], out_shape),
        Op::MaxPool2d(p) if p.activation == Activation::None => m.push(
            &name,
            Kind::MaxPool {
                filter: p.filter,
                stride: p.stride,
                padding: p.padding,
            },
            vec![value(0)?],
            out_shape,
        ),
        Op::AveragePool2d(p) if p.activation == Activation::None => m.push(
            &name,
            Kind::AvgPool {
                filter: p.filter,
                stride: p.stride,
                padding: p.padding,
            },
            vec![value(0)?],
            out_shape,
        ),
        Op::Mean(mean) => {
            let x = value(0)?;
            let axes = n
                .inputs
                .get(1)
                .copied()
                .flatten()
                .and_then(|t| g.tensor(t).int_data().ok())
                .ok_or("axes are not a constant")?;
            let mut axes: Vec<i64> = axes
                .iter()
                .map(|&a| if a < 0 { a + 4 } else { a })
                .collect();
            axes.sort_unstable();
            if m.value_shape(x).len() != 3 || axes != [1, 2] {
                return Err(
                    "only the mean over height and width of NHWC values is trainable".into(),
                );
            }
            m.push(
                &name,
                Kind::Mean {
                    keep_dims: mean.keep_dims,
                },
                vec![x],
                out_shape,
            )
        }
        Op::Reshape(_) | Op::Squeeze(_) => m.push(&name, Kind::Reshape, vec![value(0)?], out_shape),
        Op::Transpose(_) => {
            let x = value(0)?;
            let perm = n
                .inputs
                .get(1)
                .copied()
                .flatten()
                .and_then(|t| g.tensor(t).int_data().ok())
                .ok_or("permutation is not a constant")?;
            if perm.first() != Some(&0) {
                return Err("a transpose that moves the batch axis is not trainable".into());
            }
            let perm: Vec<usize> = perm[1..].iter().map(|&p| (p - 1).max(0) as usize).collect();
            m.push(&name, Kind::Transpose { perm }, vec![x], out_shape)
        }
        Op::Softmax(s) => m.push(
            &name,
            Kind::Softmax { beta: s.beta },
            vec![value(0)?],
            out_shape,
        ),
        Op::Shape(_) | Op::StridedSlice(_) | Op::Pack(_) => return Ok(None),
        other => return Err(format!("{} is not trainable", other.name())),
    };
    Ok(Some(v))
}
