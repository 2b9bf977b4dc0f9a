//! The import driver: decode, check opset and ops, create inputs, convert nodes in
//! topological order, bind outputs, validate.

use crate::ctx::{Act, Ctx, Value};
use crate::error::{OnnxError, Result, UnsupportedOp};
use crate::node::NodeView;
use crate::proto::{type_proto, ModelProto, NodeProto, TensorProto};
use crate::tensor::{const_from_proto, ir_dtype, onnx_type_name, Const};
use crate::{fold, layout, ops, ImportOptions};
use edgequant_ir::passes::DeadCode;
use edgequant_ir::{run_passes, Graph, Tensor};
use prost::Message;
use std::collections::HashMap;
use std::rc::Rc;

/// Lowest and highest supported opset of the default ONNX domain. Opsets 22 to 28 only add
/// element types to the ops edgequant converts (checked against the onnx 1.23 schemas).
pub const OPSET_RANGE: (i64, i64) = (7, 28);

/// Decodes a serialized `ModelProto`.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|e| OnnxError::Decode {
        what: "ModelProto",
        reason: shorten_decode_error(&e.to_string()),
    })
}

/// Shortens a protobuf decode error whose field path is long (deeply nested graphs) to its
/// first two and last three path steps, keeping the reason at the end.
fn shorten_decode_error(msg: &str) -> String {
    const KEEP_HEAD: usize = 3;
    const KEEP_TAIL: usize = 4;
    let parts: Vec<&str> = msg.split(": ").collect();
    if parts.len() <= KEEP_HEAD + KEEP_TAIL + 1 {
        return msg.to_string();
    }
    let skipped = parts.len() - KEEP_HEAD - KEEP_TAIL;
    format!(
        "{}: ... {skipped} more levels ...: {}",
        parts[..KEEP_HEAD].join(": "),
        parts[parts.len() - KEEP_TAIL..].join(": ")
    )
}

/// True for the default ONNX domain.
fn default_domain(d: Option<&str>) -> bool {
    matches!(d, None | Some("") | Some("ai.onnx"))
}

/// The opset version of the default domain.
pub(crate) fn default_opset(model: &ModelProto) -> Result<i64> {
    let v = model
        .opset_import
        .iter()
        .find(|o| default_domain(o.domain.as_deref()))
        .and_then(|o| o.version)
        .ok_or_else(|| {
            OnnxError::Model("the model imports no opset of the default ONNX domain".into())
        })?;
    if v < OPSET_RANGE.0 || v > OPSET_RANGE.1 {
        return Err(OnnxError::Model(format!(
            "opset {v} of the default ONNX domain is not supported (supported: {} to {})",
            OPSET_RANGE.0, OPSET_RANGE.1
        )));
    }
    Ok(v)
}

/// Lists every node whose op type is not supported, grouped by op type.
fn unsupported_ops(nodes: &[NodeProto]) -> Vec<UnsupportedOp> {
    let mut out: Vec<UnsupportedOp> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let op = n.op_type.as_deref().unwrap_or("");
        let key = if default_domain(n.domain.as_deref()) {
            if ops::lookup(op).is_some() {
                continue;
            }
            op.to_string()
        } else {
            format!("{}.{op}", n.domain.as_deref().unwrap_or(""))
        };
        let name = NodeView::new(n, i, 0).name;
        match out.iter_mut().find(|u| u.op_type == key) {
            Some(u) => u.nodes.push(name),
            None => out.push(UnsupportedOp {
                op_type: key,
                nodes: vec![name],
            }),
        }
    }
    out
}

/// Node indices in an order where producers come first. Errors on dangling edges, values
/// produced twice and cycles.
fn topo_order(nodes: &[NodeProto], known: &HashMap<String, Value>) -> Result<Vec<usize>> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if known.contains_key(o.as_str()) {
                return Err(NodeView::new(n, i, 0).err(format!(
                    "output '{o}' redefines a graph input or initializer"
                )));
            }
            if let Some(&j) = producer.get(o.as_str()) {
                return Err(NodeView::new(n, i, 0).err(format!(
                    "output '{o}' is also produced by node '{}'",
                    NodeView::new(&nodes[j], j, 0).name
                )));
            }
            producer.insert(o, i);
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let mut d = Vec::new();
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            if let Some(&p) = producer.get(inp.as_str()) {
                d.push(p);
            } else if !known.contains_key(inp.as_str()) {
                let v = NodeView::new(n, i, 0);
                return Err(OnnxError::Dangling {
                    node: v.name,
                    op: v.op,
                    value: inp.clone(),
                });
            }
        }
        d.sort_unstable();
        d.dedup();
        deps.push(d);
    }
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut indeg: Vec<usize> = vec![0; nodes.len()];
    for (i, d) in deps.iter().enumerate() {
        indeg[i] = d.len();
        for &p in d {
            users[p].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..nodes.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() != nodes.len() {
        let stuck = (0..nodes.len()).find(|&i| indeg[i] > 0).unwrap_or(0);
        return Err(
            NodeView::new(&nodes[stuck], stuck, 0).err("the graph has a cycle through this node")
        );
    }
    Ok(order)
}

/// Logical shape of a graph input from its declared shape and the overrides.
fn input_shape(name: &str, tt: &type_proto::Tensor, opts: &ImportOptions) -> Result<Vec<usize>> {
    use crate::proto::tensor_shape_proto::dimension::Value as Dim;
    let declared = tt.shape.as_ref().map(|s| &s.dim);
    if let Some(o) = opts.input_shapes.get(name) {
        if let Some(dims) = declared {
            if dims.len() != o.len() {
                return Err(OnnxError::ShapeOverride {
                    input: name.to_string(),
                    reason: format!(
                        "the model declares rank {}, the override {o:?} has rank {}",
                        dims.len(),
                        o.len()
                    ),
                });
            }
            for (i, (d, &v)) in dims.iter().zip(o).enumerate() {
                if let Some(Dim::DimValue(s)) = d.value {
                    if s >= 0 && s as u64 != v as u64 {
                        return Err(OnnxError::ShapeOverride {
                            input: name.to_string(),
                            reason: format!(
                                "dimension {i} is fixed to {s} by the model, override says {v}"
                            ),
                        });
                    }
                }
            }
        }
        return Ok(o.clone());
    }
    let dims = declared.ok_or_else(|| OnnxError::DynamicDim {
        input: name.to_string(),
        dim: 0,
        param: "the model declares no shape".into(),
    })?;
    dims.iter()
        .enumerate()
        .map(|(i, d)| match &d.value {
            Some(Dim::DimValue(v)) if *v >= 0 => Ok(*v as usize),
            Some(Dim::DimValue(v)) => Err(OnnxError::DynamicDim {
                input: name.to_string(),
                dim: i,
                param: format!("size {v}"),
            }),
            Some(Dim::DimParam(p)) => Err(OnnxError::DynamicDim {
                input: name.to_string(),
                dim: i,
                param: format!("'{p}'"),
            }),
            None => Err(OnnxError::DynamicDim {
                input: name.to_string(),
                dim: i,
                param: "unknown size".into(),
            }),
        })
        .collect()
}

/// The layout of a rank-`r` graph input or output.
fn boundary_layout(rank: usize, opts: &ImportOptions) -> Vec<usize> {
    if rank == 4 && !opts.keep_io_layout {
        layout::NHWC.to_vec()
    } else {
        layout::identity(rank)
    }
}

/// Imports a decoded model (see [`crate::read_onnx`]).
pub fn import_model(model: &ModelProto, opts: &ImportOptions) -> Result<Graph> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Model("the model has no graph".into()))?;
    let opset = default_opset(model)?;
    let unsupported = unsupported_ops(&graph.node);
    if !unsupported.is_empty() {
        return Err(OnnxError::Unsupported(unsupported));
    }
    if let Some(s) = graph.sparse_initializer.first() {
        let name = s
            .values
            .as_ref()
            .and_then(|v| v.name.clone())
            .unwrap_or_default();
        return Err(OnnxError::Tensor {
            tensor: name,
            reason: "sparse initializers are not supported".into(),
        });
    }
    let mut cx = Ctx::new(graph.name.clone().unwrap_or_else(|| "onnx".into()));
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(OnnxError::Tensor {
                tensor: "<unnamed>".into(),
                reason: "initializer without a name".into(),
            });
        }
        cx.values.insert(name, Value::konst(const_from_proto(t)?));
    }
    for name in opts.input_shapes.keys() {
        let is_input = graph
            .input
            .iter()
            .any(|vi| vi.name.as_deref() == Some(name) && !cx.values.contains_key(name));
        if !is_input {
            let inputs: Vec<&str> = graph
                .input
                .iter()
                .filter_map(|vi| vi.name.as_deref())
                .filter(|n| !cx.values.contains_key(*n))
                .collect();
            return Err(OnnxError::ShapeOverride {
                input: name.clone(),
                reason: format!(
                    "the model has no such input (inputs: {})",
                    inputs.join(", ")
                ),
            });
        }
    }
    for vi in &graph.input {
        let name = vi.name.clone().unwrap_or_default();
        if cx.values.contains_key(&name) {
            continue; // IR < 4 lists initializers among the inputs.
        }
        let tt = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(type_proto::Value::TensorType(tt)) => tt,
            None => {
                return Err(OnnxError::Model(format!(
                    "graph input '{name}' is not a tensor"
                )));
            }
        };
        let et = tt.elem_type.unwrap_or(0);
        let dtype = ir_dtype(et).ok_or_else(|| {
            OnnxError::Model(format!(
                "graph input '{name}' has unsupported element type {}",
                onnx_type_name(et)
            ))
        })?;
        let logical = input_shape(&name, tt, opts)?;
        if edgequant_ir::checked_byte_size(&name, dtype, &logical).is_err() {
            return Err(OnnxError::Model(format!(
                "graph input '{name}' of shape {logical:?} of {dtype} is larger than the {} byte \
                 limit of one tensor",
                edgequant_ir::MAX_TENSOR_BYTES
            )));
        }
        let lay = boundary_layout(logical.len(), opts);
        let id = cx.add_tensor(Tensor::new(
            &name,
            dtype,
            layout::physical_shape(&logical, &lay),
        ));
        cx.g.inputs.push(id);
        cx.values.insert(name, Value::Act(Act { id, layout: lay }));
    }
    for n in &graph.node {
        for i in n.input.iter().filter(|s| !s.is_empty()) {
            *cx.uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *cx.uses
            .entry(o.name.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let order = topo_order(&graph.node, &cx.values)?;
    for i in order {
        let proto = &graph.node[i];
        let n = NodeView::new(proto, i, opset);
        convert_node(&mut cx, &n)?;
    }
    bind_outputs(&mut cx, graph, opts)?;
    run_passes(&mut cx.g, &[&DeadCode])?;
    cx.g.validate()?;
    Ok(cx.g)
}

/// Converts one node (folding it when all its inputs are constant) and binds its outputs.
fn convert_node(cx: &mut Ctx, n: &NodeView) -> Result<()> {
    let mut consts: Vec<Option<Rc<Const>>> = Vec::new();
    let mut all_const = true;
    for i in 0..n.inputs().len() {
        match cx.input(n, i)? {
            None => consts.push(None),
            Some(Value::Const(c)) => consts.push(Some(c)),
            Some(Value::Act(_)) => {
                all_const = false;
                break;
            }
        }
    }
    let outs: Vec<Value> = match (all_const && !n.inputs().is_empty())
        .then(|| fold::eval(n, &consts))
        .flatten()
    {
        Some(r) => r?.into_iter().map(Value::konst).collect(),
        None => {
            let convert = ops::lookup(&n.op).ok_or_else(|| n.err("unsupported op"))?;
            convert(cx, n)?
        }
    };
    for (i, name) in n.outputs().iter().enumerate() {
        if name.is_empty() {
            continue;
        }
        match outs.get(i) {
            Some(v) => {
                if let Value::Act(a) = v {
                    cx.onnx_name.entry(a.id).or_insert_with(|| name.clone());
                }
                cx.values.insert(name.clone(), v.clone());
            }
            None if cx.use_count(name) == 0 => {}
            None => return Err(n.err(format!("output {i} ('{name}') is not supported"))),
        }
    }
    Ok(())
}

/// Binds the graph outputs, converting them to the boundary layout and naming them as in
/// the model.
fn bind_outputs(
    cx: &mut Ctx,
    graph: &crate::proto::GraphProto,
    opts: &ImportOptions,
) -> Result<()> {
    let out_node = crate::proto::NodeProto {
        name: Some("<graph outputs>".into()),
        op_type: Some("output".into()),
        ..Default::default()
    };
    let n = NodeView::new(&out_node, 0, 0);
    for vo in &graph.output {
        let name = vo.name.clone().unwrap_or_default();
        let v = cx
            .values
            .get(&name)
            .cloned()
            .ok_or_else(|| OnnxError::Dangling {
                node: n.name.clone(),
                op: n.op.clone(),
                value: name.clone(),
            })?;
        let rank = cx.logical_shape(&v).len();
        let target = boundary_layout(rank, opts);
        let id = match &v {
            Value::Const(c) => {
                let t = c.permuted(&target).to_ir(&name)?;
                cx.add_tensor(t)
            }
            Value::Act(a) => cx.convert_layout(&n, a, &target)?,
        };
        if cx.g.tensor(id).name != name && !cx.g.inputs.contains(&id) {
            let clash: Vec<usize> = (0..cx.g.tensors.len())
                .filter(|&i| cx.g.tensors[i].name == name)
                .collect();
            for i in clash {
                let renamed = cx.unique(&format!("{name}/internal"));
                cx.g.tensors[i].name = renamed;
            }
            cx.g.tensor_mut(id).name = name.clone();
        }
        cx.g.outputs.push(id);
    }
    Ok(())
}

/// Decodes a serialized `TensorProto` (e.g. the `input_0.pb` files of the ONNX backend tests)
/// into an IR constant tensor in ONNX layout. Float16, bfloat16 and double data become float32.
pub fn read_tensor_proto(bytes: &[u8]) -> Result<Tensor> {
    let t = TensorProto::decode(bytes).map_err(|e| OnnxError::Decode {
        what: "TensorProto",
        reason: shorten_decode_error(&e.to_string()),
    })?;
    let c = const_from_proto(&t)?;
    c.to_ir(t.name.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::shorten_decode_error;

    #[test]
    fn long_decode_paths_are_shortened_short_ones_kept() {
        let short = "failed to decode Protobuf message: GraphProto.node: invalid wire type";
        assert_eq!(shorten_decode_error(short), short);
        let long = format!(
            "failed to decode Protobuf message: {}recursion limit reached",
            "A.b: C.d: ".repeat(10)
        );
        assert_eq!(
            shorten_decode_error(&long),
            "failed to decode Protobuf message: A.b: C.d: ... 15 more levels ...: C.d: A.b: C.d: recursion limit reached"
        );
    }
}
