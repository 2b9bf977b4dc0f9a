//! Full-integer quantization (int8, and 16x8): assigns parameters from calibrated ranges,
//! quantizes constants, and rewrites the graph so that every op with an integer kernel runs on
//! integers, with QUANTIZE/DEQUANTIZE where the integer and float parts meet.

use crate::error::{FloatNode, QuantError};
use crate::rules::{rule, OutputRule, Rule};
use crate::spec;
use edgequant_ir::ops::Quantize;
use edgequant_ir::{DType, Graph, Node, Op, QuantParams, Tensor, TensorId};
use std::collections::HashMap;

/// Element type of a model input or output at the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IoType {
    #[default]
    Float32,
    Int8,
    Uint8,
    Int16,
}

/// Options of [`quantize_integer`].
#[derive(Clone, Debug)]
pub struct IntegerOptions {
    /// Activation type: `I8` (int8 mode) or `I16` (16x8 mode).
    pub activations: DType,
    pub input_type: IoType,
    pub output_type: IoType,
    /// Fail with the list of ops that have no integer kernel instead of keeping them float.
    pub integer_only: bool,
    /// Per-channel FULLY_CONNECTED weights everywhere (TensorFlow's converter writes
    /// per-tensor).
    pub fc_per_channel: bool,
    /// Per-channel FULLY_CONNECTED weights where they cut the weight quantization error by at
    /// least [`spec::FC_PER_CHANNEL_MIN_GAIN_DB`] (see [`spec::fully_connected_axis`]); the
    /// other FULLY_CONNECTED weights stay per tensor. Default on.
    pub fc_per_channel_auto: bool,
    /// Per-tensor weights everywhere.
    pub per_tensor: bool,
    /// Node names or op names (e.g. `SOFTMAX`, or a custom op's name such as
    /// `Convolution2DTransposeBias`, see [`CUSTOM_OP_ALIASES`]) to keep in float.
    pub keep_float: Vec<String>,
    /// Keep PRELU in float (DEQUANTIZE → PRELU → QUANTIZE) with int8 activations, unless
    /// `integer_only`. Default on: LiteRT's default CPU kernels (the XNNPACK delegate) have no
    /// int8 PRELU, so an int8 PRELU splits the delegated graph at every PRELU and runs in the
    /// builtin kernel (docs/BENCHMARKS.md: iris_landmark 7.5× slower, and less accurate under
    /// those kernels). Integer accelerators get int8 PRELU with `integer_only`.
    pub float_prelu: bool,
}

impl Default for IntegerOptions {
    fn default() -> Self {
        IntegerOptions {
            activations: DType::I8,
            input_type: IoType::Float32,
            output_type: IoType::Float32,
            integer_only: false,
            fc_per_channel: false,
            fc_per_channel_auto: true,
            per_tensor: false,
            keep_float: Vec::new(),
            float_prelu: true,
        }
    }
}

/// The result of [`quantize_integer`].
#[derive(Clone, Debug)]
pub struct Quantized {
    pub graph: Graph,
    /// Nodes that stayed float, with the reason.
    pub float_nodes: Vec<FloatNode>,
    /// For every tensor id of the float graph, the tensor of `graph` that holds the same value
    /// (its integer version for quantized activations; `None` for tensors that are gone, such
    /// as float weights replaced by their integer copies).
    pub tensor_map: Vec<Option<TensorId>>,
}

impl Quantized {
    /// The inverse of [`Quantized::tensor_map`]: for every tensor id of `graph`, the float
    /// graph's tensor that it holds the value of (`None` for tensors the quantization added,
    /// such as integer weights and QUANTIZE outputs).
    pub fn float_sources(&self) -> Vec<Option<TensorId>> {
        let mut source = vec![None; self.graph.tensors.len()];
        for (f, m) in self.tensor_map.iter().enumerate() {
            if let Some(t) = m {
                source[t.0] = Some(TensorId(f));
            }
        }
        source
    }
}

fn is_float_act(t: &Tensor) -> bool {
    t.dtype == DType::F32 && !t.is_const()
}

fn touches_float(g: &Graph, n: &Node) -> bool {
    n.inputs
        .iter()
        .flatten()
        .chain(&n.outputs)
        .any(|&t| g.tensor(t).dtype == DType::F32)
}

/// Custom ops that the model readers import as builtin IR ops, as `(custom code, IR op name)`:
/// a `keep_float` entry naming the custom op matches the nodes it was read as.
pub const CUSTOM_OP_ALIASES: &[(&str, &str)] = &[("Convolution2DTransposeBias", "TRANSPOSE_CONV")];

/// Whether `keep_float` entry `k` names node `n`: its node name, its op name, or the name of a
/// custom op read as that op ([`CUSTOM_OP_ALIASES`]); op names are case-insensitive.
fn keep_float_names(k: &str, n: &Node) -> bool {
    let op = n.op.name();
    k == n.name
        || k.eq_ignore_ascii_case(op)
        || CUSTOM_OP_ALIASES
            .iter()
            .any(|(custom, ir)| k.eq_ignore_ascii_case(custom) && ir.eq_ignore_ascii_case(op))
}

fn keep_float_match(keep: &[String], n: &Node) -> bool {
    keep.iter().any(|k| keep_float_names(k, n))
}

/// Decides whether node `n` can run on integers; `Err(reason)` when it stays float.
fn check_node(
    g: &Graph,
    n: &Node,
    r: &Rule,
    ranges: &[Option<(f32, f32)>],
    opts: &IntegerOptions,
) -> Result<(), String> {
    if keep_float_match(&opts.keep_float, n) {
        return Err("kept float by --keep-float".into());
    }
    if matches!(n.op, Op::Prelu(_))
        && opts.float_prelu
        && !opts.integer_only
        && opts.activations == DType::I8
    {
        return Err(
            "kept float: LiteRT's default CPU kernels (XNNPACK) have no int8 PRELU \
             (--int8-prelu or --int8-only quantizes it)"
                .into(),
        );
    }
    if !r.supports(opts.activations) {
        return Err(format!("no {} kernel", opts.activations));
    }
    let acts = r.activation_operands(n.inputs.len());
    for &i in &acts {
        let Some(t) = n.inputs[i] else { continue };
        let t = g.tensor(t);
        if t.dtype != DType::F32 {
            return Err(format!("operand {i} is {}, not float32", t.dtype));
        }
    }
    if let Some(w) = r.weights {
        match n
            .inputs
            .get(w.operand)
            .copied()
            .flatten()
            .map(|t| g.tensor(t))
        {
            Some(t) if t.is_const() && t.dtype == DType::F32 => {}
            _ => return Err("weights are not a float32 constant".into()),
        }
    }
    if let Some(b) = r.bias {
        if let Some(t) = n.inputs.get(b).copied().flatten().map(|t| g.tensor(t)) {
            if !(t.is_const() && t.dtype == DType::F32) {
                return Err("bias is not a float32 constant".into());
            }
        }
    }
    if matches!(n.op, Op::Pad(_)) && n.inputs.get(2).copied().flatten().is_some() {
        return Err("PAD with an explicit pad value stays float".into());
    }
    if n.outputs.len() != 1 || g.tensor(n.outputs[0]).dtype != DType::F32 {
        return Err("output is not a single float32 tensor".into());
    }
    let needs_out_range = matches!(r.output, OutputRule::Own | OutputRule::Shared);
    if needs_out_range && ranges.get(n.outputs[0].0).copied().flatten().is_none() {
        return Err("output has no calibrated range".into());
    }
    for &i in &acts {
        if let Some(t) = n.inputs[i] {
            if !g.tensor(t).is_const() && ranges.get(t.0).copied().flatten().is_none() {
                return Err(format!("operand {i} has no calibrated range"));
            }
        }
    }
    Ok(())
}

struct Builder<'a> {
    src: &'a Graph,
    ranges: &'a [Option<(f32, f32)>],
    opts: &'a IntegerOptions,
    out: Graph,
    /// Float tensor → its quantized copy (QUANTIZE inserted).
    quantized: HashMap<TensorId, TensorId>,
    /// Integer tensor → its float copy (DEQUANTIZE inserted).
    dequantized: HashMap<TensorId, TensorId>,
    /// (tensor, target params) → requantized copy.
    requantized: Vec<(TensorId, QuantParams, TensorId)>,
    counter: usize,
}

impl Builder<'_> {
    fn range(&self, t: TensorId) -> Option<(f32, f32)> {
        self.ranges.get(t.0).copied().flatten()
    }

    fn act_params(&self, t: TensorId) -> Result<Option<QuantParams>, QuantError> {
        self.range(t)
            .map(|(a, b)| spec::activation_params(a, b, self.opts.activations))
            .transpose()
    }

    fn fresh_name(&mut self, base: &str, suffix: &str) -> String {
        self.counter += 1;
        let mut name = format!("{base}{suffix}");
        while self.out.tensors.iter().any(|t| t.name == name) {
            name = format!("{base}{suffix}_{}", self.counter);
        }
        name
    }

    fn add_node(&mut self, name: String, op: Op, input: TensorId, output: TensorId) {
        self.out.add_node(name, op, vec![Some(input)], vec![output]);
    }

    /// The float copy of integer tensor `t`.
    fn float_copy(&mut self, t: TensorId) -> TensorId {
        if let Some(&f) = self.dequantized.get(&t) {
            return f;
        }
        let src = self.out.tensor(t).clone();
        let name = self.fresh_name(&src.name, "_dequantized");
        let f = self
            .out
            .add_tensor(Tensor::new(name.clone(), DType::F32, src.shape.clone()));
        self.add_node(name, Op::Dequantize(Default::default()), t, f);
        self.dequantized.insert(t, f);
        f
    }

    /// The quantized copy of float tensor `t` with `params`.
    fn int_copy(&mut self, t: TensorId, params: QuantParams, dtype: DType) -> TensorId {
        if let Some(&q) = self.quantized.get(&t) {
            return q;
        }
        let src = self.out.tensor(t).clone();
        let name = self.fresh_name(&src.name, "_quantized");
        let mut q = Tensor::new(name.clone(), dtype, src.shape.clone());
        q.quant = Some(params);
        let q = self.out.add_tensor(q);
        self.add_node(name, Op::Quantize(Quantize { to: dtype }), t, q);
        self.quantized.insert(t, q);
        q
    }

    /// Integer tensor `t` requantized to `params`.
    fn requant(&mut self, t: TensorId, params: QuantParams) -> TensorId {
        if let Some((_, _, r)) = self
            .requantized
            .iter()
            .find(|(s, p, _)| *s == t && *p == params)
        {
            return *r;
        }
        let src = self.out.tensor(t).clone();
        let name = self.fresh_name(&src.name, "_requantized");
        let mut q = Tensor::new(name.clone(), src.dtype, src.shape.clone());
        q.quant = Some(params.clone());
        let r = self.out.add_tensor(q);
        self.add_node(name, Op::Quantize(Quantize { to: src.dtype }), t, r);
        self.requantized.push((t, params, r));
        r
    }

    fn const_values(&self, node: &Node, t: TensorId) -> Result<Vec<f32>, QuantError> {
        let tensor = self.src.tensor(t);
        let v = tensor.f32_data()?;
        if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
            return Err(QuantError::NonFinite {
                tensor: tensor.name.clone(),
                node: node.name.clone(),
                what: if bad.is_nan() {
                    "NaN"
                } else {
                    "infinite values"
                },
            });
        }
        Ok(v)
    }

    fn add_const(
        &mut self,
        base: &str,
        dtype: DType,
        shape: Vec<usize>,
        bytes: Vec<u8>,
        params: QuantParams,
    ) -> Result<TensorId, QuantError> {
        let name = self.fresh_name(base, "");
        let mut t = Tensor::constant(name, dtype, shape, bytes)?;
        t.quant = Some(params);
        Ok(self.out.add_tensor(t))
    }

    fn int_bytes(values: &[i32], dtype: DType) -> Vec<u8> {
        match dtype {
            DType::I16 => values
                .iter()
                .flat_map(|&v| (v as i16).to_le_bytes())
                .collect(),
            DType::U8 => values.iter().map(|&v| v as u8).collect(),
            _ => values.iter().map(|&v| v as i8 as u8).collect(),
        }
    }
}

/// Quantizes a float graph to integers.
///
/// `ranges[t]` is the calibrated `(min, max)` of float tensor `t` of `graph` (from running
/// the float graph on representative data). Parameters follow [`crate::spec`]; per-op
/// behaviour follows [`crate::rules`]. Ops without an integer kernel (or listed in
/// `keep_float`) stay float with DEQUANTIZE/QUANTIZE around them, or, with `integer_only`,
/// the call fails listing all of them. Model inputs/outputs get the requested boundary types:
/// float boundaries keep the original tensor names; the integer tensors inside get
/// `_quantized`/`_dequantized` suffixes.
pub fn quantize_integer(
    graph: &Graph,
    ranges: &[Option<(f32, f32)>],
    opts: &IntegerOptions,
) -> Result<Quantized, QuantError> {
    graph.validate()?;
    let act_dt = opts.activations;
    let unknown: Vec<String> = opts
        .keep_float
        .iter()
        .filter(|k| !graph.nodes.iter().any(|n| keep_float_names(k, n)))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(QuantError::UnknownKeepFloat(unknown));
    }

    let order = graph.topo_order()?;
    let mut rules: Vec<Option<Rule>> = vec![None; graph.nodes.len()];
    let mut float_nodes = Vec::new();
    for &id in &order {
        let n = &graph.nodes[id.0];
        if !touches_float(graph, n) {
            continue;
        }
        let verdict = match rule(&n.op, opts.fc_per_channel) {
            None if matches!(n.op, Op::Shape(_)) => continue,
            None => Err(format!("no integer kernel for {}", n.op.name())),
            Some(r) => check_node(graph, n, &r, ranges, opts).map(|_| r),
        };
        match verdict {
            Ok(r) => rules[id.0] = Some(r),
            Err(reason) => float_nodes.push(FloatNode {
                node: n.name.clone(),
                op: n.op.name().to_string(),
                reason,
            }),
        }
    }
    if opts.integer_only && !float_nodes.is_empty() {
        return Err(QuantError::NotFullyInteger(float_nodes));
    }

    let mut b = Builder {
        src: graph,
        ranges,
        opts,
        out: Graph {
            name: graph.name.clone(),
            tensors: graph.tensors.clone(),
            nodes: Vec::new(),
            inputs: graph.inputs.clone(),
            outputs: graph.outputs.clone(),
        },
        quantized: HashMap::new(),
        dequantized: HashMap::new(),
        requantized: Vec::new(),
        counter: 0,
    };

    // Parameters of integer tensors, and operands needing requantization.
    let mut params: Vec<Option<QuantParams>> = vec![None; graph.tensors.len()];
    let mut is_int: Vec<bool> = vec![false; graph.tensors.len()];
    let mut requant: HashMap<(usize, usize), QuantParams> = HashMap::new();
    let producers = graph.producers();
    let consumers = graph.consumers();
    for &id in &order {
        let Some(r) = rules[id.0] else { continue };
        let n = &graph.nodes[id.0];
        let acts = r.activation_operands(n.inputs.len());
        for &i in &acts {
            if let Some(t) = n.inputs[i] {
                if params[t.0].is_none() && !graph.tensor(t).is_const() {
                    params[t.0] = b.act_params(t)?;
                }
            }
        }
        let out = n.outputs[0];
        let first = acts.iter().find_map(|&i| n.inputs[i]);
        let p = match r.output {
            OutputRule::Own => b.act_params(out)?,
            OutputRule::Fixed { int8, int16 } => {
                let (s, z) = if act_dt == DType::I16 { int16 } else { int8 };
                Some(QuantParams::per_tensor(s, z))
            }
            OutputRule::SameAsInput => match first {
                Some(t) if !graph.tensor(t).is_const() => params[t.0].clone(),
                _ => b.act_params(out)?,
            },
            OutputRule::Shared => {
                // The output's calibrated range covers every value the op can produce:
                // concatenation/pack outputs contain all their inputs, and MINIMUM/MAXIMUM
                // outputs are clamps, so input values outside the output range do not change
                // the result and may saturate. Constant operands are quantized with these
                // parameters (saturating), so a clamp bound never widens the range.
                let Some((lo, hi)) = b.range(out) else {
                    return Err(QuantError::MissingRange {
                        tensor: graph.tensor(out).name.clone(),
                        node: n.name.clone(),
                    });
                };
                let shared = spec::activation_params(lo, hi, act_dt)?;
                for &i in &acts {
                    let Some(t) = n.inputs[i] else { continue };
                    if graph.tensor(t).is_const() {
                        continue;
                    }
                    let producer = producers[t.0];
                    let from_int_producer = producer.is_some_and(|p| rules[p.0].is_some());
                    // A producer with its own output parameters whose only reader is this
                    // node writes the shared parameters directly (one rounding, no
                    // requantization op).
                    let retarget = producer.is_some_and(|p| {
                        rules[p.0].is_some_and(|r| r.output == OutputRule::Own)
                            && graph.nodes[p.0].outputs.len() == 1
                    }) && consumers[t.0].len() == 1
                        && !graph.outputs.contains(&t);
                    if from_int_producer && !retarget && params[t.0].as_ref() != Some(&shared) {
                        requant.insert((id.0, i), shared.clone());
                    } else {
                        params[t.0] = Some(shared.clone());
                    }
                }
                Some(shared)
            }
        };
        params[out.0] = p;
        is_int[out.0] = true;
    }

    // Graph inputs.
    let (in_dt, in_shift) = boundary(opts.input_type, act_dt);
    for k in 0..graph.inputs.len() {
        let t = graph.inputs[k];
        if !is_float_act(graph.tensor(t)) {
            continue;
        }
        if params[t.0].is_none() && opts.input_type != IoType::Float32 {
            params[t.0] = b.act_params(t)?;
        }
        let Some(p) = params[t.0].clone() else {
            continue;
        };
        let name = graph.tensor(t).name.clone();
        {
            let it = b.out.tensor_mut(t);
            it.dtype = act_dt;
            it.quant = Some(p.clone());
        }
        is_int[t.0] = true;
        if in_dt == act_dt {
            continue;
        }
        b.out.tensor_mut(t).name = format!("{name}_quantized");
        let mut outer = Tensor::new(name.clone(), in_dt, graph.tensor(t).shape.clone());
        outer.quant = if in_dt == DType::F32 {
            None
        } else {
            Some(QuantParams::per_tensor(
                p.scale[0],
                p.zero_point[0] + in_shift,
            ))
        };
        let outer = b.out.add_tensor(outer);
        b.out.inputs[k] = outer;
        b.add_node(
            format!("{name}_quantize"),
            Op::Quantize(Quantize { to: act_dt }),
            outer,
            t,
        );
    }
    for (t, p) in params.iter().enumerate() {
        if let (true, Some(p)) = (is_int[t], p) {
            let tensor = b.out.tensor_mut(TensorId(t));
            tensor.dtype = act_dt;
            tensor.quant = Some(p.clone());
        }
    }

    for &id in &order {
        let n = &graph.nodes[id.0];
        match rules[id.0] {
            Some(r) => {
                let inputs = lower_operands(&mut b, n, id.0, &r, &params, &is_int, &requant)?;
                b.out.nodes.push(Node {
                    name: n.name.clone(),
                    op: n.op.clone(),
                    inputs,
                    outputs: n.outputs.clone(),
                });
            }
            None => {
                let keep_int = matches!(n.op, Op::Shape(_));
                let inputs = n
                    .inputs
                    .iter()
                    .map(|o| {
                        o.map(|t| {
                            if is_int[t.0] && !keep_int && graph.tensor(t).dtype == DType::F32 {
                                b.float_copy(t)
                            } else {
                                t
                            }
                        })
                    })
                    .collect();
                b.out.nodes.push(Node {
                    name: n.name.clone(),
                    op: n.op.clone(),
                    inputs,
                    outputs: n.outputs.clone(),
                });
            }
        }
    }

    // Graph outputs.
    let (out_dt, out_shift) = boundary(opts.output_type, act_dt);
    for k in 0..graph.outputs.len() {
        let t = graph.outputs[k];
        if graph.tensor(t).dtype != DType::F32 {
            continue;
        }
        let name = graph.tensor(t).name.clone();
        if !is_int[t.0] {
            if out_dt == DType::F32 {
                continue;
            }
            let Some(p) = b.act_params(t)? else { continue };
            b.out.tensor_mut(t).name = format!("{name}_float");
            let mut q = Tensor::new(name.clone(), out_dt, graph.tensor(t).shape.clone());
            q.quant = Some(QuantParams::per_tensor(
                p.scale[0],
                p.zero_point[0] + out_shift,
            ));
            let q = b.out.add_tensor(q);
            b.add_node(
                format!("{name}_quantize"),
                Op::Quantize(Quantize { to: out_dt }),
                t,
                q,
            );
            b.out.outputs[k] = q;
            continue;
        }
        if out_dt == act_dt {
            continue;
        }
        b.out.tensor_mut(t).name = format!("{name}_quantized");
        let Some(p) = params[t.0].clone() else {
            continue;
        };
        let mut o = Tensor::new(name.clone(), out_dt, graph.tensor(t).shape.clone());
        let op = if out_dt == DType::F32 {
            Op::Dequantize(Default::default())
        } else {
            o.quant = Some(QuantParams::per_tensor(
                p.scale[0],
                p.zero_point[0] + out_shift,
            ));
            Op::Quantize(Quantize { to: out_dt })
        };
        let o = b.out.add_tensor(o);
        b.add_node(
            format!("{name}_{}", op.name().to_ascii_lowercase()),
            op,
            t,
            o,
        );
        b.out.outputs[k] = o;
    }

    let mut g = b.out;
    g.sort_nodes()?;
    let remap = g.compact_with_map();
    g.validate()?;
    Ok(Quantized {
        graph: g,
        float_nodes,
        tensor_map: remap.into_iter().take(graph.tensors.len()).collect(),
    })
}

/// The boundary dtype of an I/O type and the zero-point shift from the internal type
/// (+128 from int8 to uint8).
fn boundary(io: IoType, act: DType) -> (DType, i32) {
    match io {
        IoType::Float32 => (DType::F32, 0),
        IoType::Int8 => (DType::I8, 0),
        IoType::Uint8 => (DType::U8, if act == DType::I8 { 128 } else { 0 }),
        IoType::Int16 => (DType::I16, 0),
    }
}

#[allow(clippy::too_many_arguments)]
fn lower_operands(
    b: &mut Builder<'_>,
    n: &Node,
    node_idx: usize,
    r: &Rule,
    params: &[Option<QuantParams>],
    is_int: &[bool],
    requant: &HashMap<(usize, usize), QuantParams>,
) -> Result<Vec<Option<TensorId>>, QuantError> {
    let act_dt = b.opts.activations;
    let acts = r.activation_operands(n.inputs.len());
    let shared = matches!(r.output, OutputRule::Shared)
        .then(|| params[n.outputs[0].0].clone())
        .flatten();
    let mut inputs = n.inputs.clone();
    for &i in &acts {
        let Some(t) = n.inputs[i] else { continue };
        let src = b.src.tensor(t);
        inputs[i] = Some(if src.is_const() {
            let v = b.const_values(n, t)?;
            let (q, p) = match &shared {
                Some(p) => (spec::quantize_with(&v, p, act_dt), p.clone()),
                None => spec::quantize_asymmetric(&v, act_dt)?,
            };
            let bytes = Builder::int_bytes(&q, act_dt);
            b.add_const(
                &format!("{}_quantized", src.name),
                act_dt,
                src.shape.clone(),
                bytes,
                p,
            )?
        } else if let Some(p) = requant.get(&(node_idx, i)) {
            b.requant(t, p.clone())
        } else if is_int[t.0] {
            t
        } else {
            let p = params[t.0]
                .clone()
                .ok_or_else(|| QuantError::MissingRange {
                    tensor: src.name.clone(),
                    node: n.name.clone(),
                })?;
            b.int_copy(t, p, act_dt)
        });
    }
    if let Some(w) = r.weights {
        if let Some(t) = n.inputs.get(w.operand).copied().flatten() {
            let src = b.src.tensor(t);
            let v = b.const_values(n, t)?;
            let axis = if b.opts.per_tensor {
                None
            } else if matches!(n.op, Op::FullyConnected(_)) {
                spec::fully_connected_axis(
                    &v,
                    &src.shape,
                    b.opts.fc_per_channel,
                    b.opts.fc_per_channel_auto,
                )?
            } else {
                w.axis
            };
            let bias = r
                .bias
                .and_then(|bi| n.inputs.get(bi).copied().flatten().map(|bt| (bi, bt)));
            let (q, wp) = match bias {
                None => spec::quantize_weights(&v, &src.shape, axis)?,
                Some((bi, bt)) => {
                    let bsrc = b.src.tensor(bt);
                    let bv = b.const_values(n, bt)?;
                    let in_t = acts.first().and_then(|&i| inputs[i]).ok_or_else(|| {
                        QuantError::Operand {
                            node: n.name.clone(),
                            op: n.op.name().to_string(),
                            reason: "no input operand".into(),
                        }
                    })?;
                    let in_scale = b
                        .out
                        .tensor(in_t)
                        .quant
                        .as_ref()
                        .map(|p| p.scale[0])
                        .ok_or_else(|| QuantError::MissingRange {
                            tensor: b.out.tensor(in_t).name.clone(),
                            node: n.name.clone(),
                        })?;
                    let wide = act_dt == DType::I16;
                    let (q, wp, qb, bp) =
                        spec::quantize_weights_and_bias(&v, &src.shape, axis, &bv, in_scale, wide)?;
                    let (dt, bytes): (DType, Vec<u8>) = if wide {
                        (
                            DType::I64,
                            qb.iter().flat_map(|x| x.to_le_bytes()).collect(),
                        )
                    } else {
                        (
                            DType::I32,
                            qb.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect(),
                        )
                    };
                    let name = format!("{}_{}", bsrc.name, dt.name());
                    inputs[bi] = Some(b.add_const(&name, dt, bsrc.shape.clone(), bytes, bp)?);
                    (q, wp)
                }
            };
            let bytes = q.iter().map(|&x| x as u8).collect();
            inputs[w.operand] = Some(b.add_const(
                &format!("{}_int8", src.name),
                DType::I8,
                src.shape.clone(),
                bytes,
                wp,
            )?);
        }
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgequant_ir::ops::{Add, Minimum};

    /// `y = min(x + c, 1)` where `x + c` never reaches 1 on the calibration data.
    fn clamp_graph() -> (Graph, Vec<Option<(f32, f32)>>) {
        let mut g = Graph::default();
        let x = g.add_tensor(Tensor::new("x", DType::F32, vec![1, 4]));
        let c = g.add_tensor(Tensor::from_f32("c", vec![1], &[0.5]).expect("const"));
        let one = g.add_tensor(Tensor::from_f32("one", vec![1], &[1.0]).expect("const"));
        let s = g.add_tensor(Tensor::new("shifted", DType::F32, vec![1, 4]));
        let y = g.add_tensor(Tensor::new("y", DType::F32, vec![1, 4]));
        g.add_node(
            "add",
            Op::Add(Add::default()),
            vec![Some(x), Some(c)],
            vec![s],
        );
        g.add_node(
            "min",
            Op::Minimum(Minimum::default()),
            vec![Some(s), Some(one)],
            vec![y],
        );
        g.inputs = vec![x];
        g.outputs = vec![y];
        let mut ranges = vec![None; g.tensors.len()];
        ranges[x.0] = Some((-0.4, -0.1));
        ranges[s.0] = Some((0.1, 0.4));
        ranges[y.0] = Some((0.1, 0.4));
        (g, ranges)
    }

    #[test]
    fn clamp_bound_outside_the_data_does_not_widen_the_shared_range() {
        let (g, ranges) = clamp_graph();
        let q = quantize_integer(&g, &ranges, &IntegerOptions::default()).expect("quantize");
        assert!(q.float_nodes.is_empty(), "{:?}", q.float_nodes);
        let out = q.graph.nodes.iter().find(|n| n.name == "min").expect("min");
        let want = spec::activation_params(0.1, 0.4, DType::I8).expect("params");
        for &t in out.inputs.iter().flatten().take(1).chain(&out.outputs) {
            assert_eq!(q.graph.tensor(t).quant.as_ref(), Some(&want));
        }
        // The ADD writes the shared parameters itself: no requantization op.
        let requants = q
            .graph
            .nodes
            .iter()
            .filter(|n| {
                matches!(n.op, Op::Quantize(_))
                    && n.inputs
                        .iter()
                        .flatten()
                        .all(|&t| q.graph.tensor(t).dtype == DType::I8)
            })
            .count();
        assert_eq!(requants, 0);
        // The bound 1.0 saturates to the top of the range, so min() leaves x + c unchanged.
        let bound = out.inputs[1].expect("bound");
        let t = q.graph.tensor(bound);
        assert_eq!(t.data.as_deref().map(|d| d[0] as i8), Some(127));
    }
}
