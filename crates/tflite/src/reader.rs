//! .tflite → IR.

use crate::convert::{dtype_from_fb, fb_type_name};
use crate::ops::{self, ReadCtx};
use crate::schema as fb;
use crate::{Signature, TfliteError, TfliteModel, UnsupportedOp};
use edgequant_ir::{DType, Graph, Node, NodeId, QuantParams, Tensor, TensorId};
use flatbuffers::{ForwardsUOffset, Vector, VerifierOptions};
use std::sync::Arc;

/// The schema version edgequant reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = 3;

/// Builtin codes of control-flow operators (they call other subgraphs).
const CONTROL_FLOW: &[fb::BuiltinOperator] = &[
    fb::BuiltinOperator::CALL,
    fb::BuiltinOperator::IF,
    fb::BuiltinOperator::WHILE,
    fb::BuiltinOperator::CALL_ONCE,
];

/// Verifier limits: flatbuffers address at most 2 GiB; the table count and depth bounds keep
/// verification time linear in the file size.
fn verifier_options() -> VerifierOptions {
    VerifierOptions {
        max_depth: 64,
        max_tables: 4_000_000,
        max_apparent_size: 1 << 31,
        ignore_missing_null_terminator: false,
    }
}

/// Reads a .tflite file into an IR graph (its main subgraph).
///
/// The bytes are checked before anything is interpreted: the `TFL3` file identifier, the
/// flatbuffer verifier (bounds, alignment, UTF-8, size limits), the schema version, every
/// buffer/tensor/opcode index, shape products (checked arithmetic), constant data size against
/// shape × dtype, quantization parameters (including the per-channel `quantized_dimension`),
/// the IR graph invariants, and finally that every operator's inferred output types equal the
/// stored ones. Static shapes are used (`shape`; `shape_signature` is ignored). Constant data is
/// taken from `Buffer.data` or, for models stored with the large-model layout, from
/// `Buffer.offset`/`size` relative to the start of the file.
///
/// Unknown operators (unsupported builtins, custom ops, control flow) are collected and reported
/// together in one [`TfliteError::UnsupportedOps`].
pub fn read_model(bytes: &[u8]) -> Result<TfliteModel, TfliteError> {
    if bytes.len() < 8 {
        return Err(TfliteError::Size {
            reason: format!("{} bytes is too short for a flatbuffer header", bytes.len()),
        });
    }
    let ident = bytes.get(4..8).unwrap_or_default();
    if ident != b"TFL3" {
        return Err(TfliteError::Identifier {
            found: ident.escape_ascii().to_string(),
        });
    }
    let model = fb::root_as_model_with_opts(&verifier_options(), bytes)
        .map_err(|e| TfliteError::from_verifier(&e, bytes.len()))?;
    if model.version() != SCHEMA_VERSION {
        return Err(TfliteError::Field {
            field: "Model.version".into(),
            reason: format!(
                "schema version {} is not supported (expected {SCHEMA_VERSION})",
                model.version()
            ),
        });
    }
    let subgraphs = model.subgraphs().ok_or_else(|| TfliteError::Field {
        field: "Model.subgraphs".into(),
        reason: "model has no subgraphs".into(),
    })?;
    if subgraphs.is_empty() {
        return Err(TfliteError::Field {
            field: "Model.subgraphs".into(),
            reason: "model has no subgraphs".into(),
        });
    }
    let sg = subgraphs.get(0);
    let buffers = model.buffers();
    let fb_tensors = sg.tensors();
    let n_file_tensors = fb_tensors.map_or(0, |t| t.len());

    let mut tensors = Vec::with_capacity(n_file_tensors);
    let mut unknown_rank = Vec::with_capacity(n_file_tensors);
    if let Some(ts) = fb_tensors {
        for (i, t) in ts.iter().enumerate() {
            let (tensor, unknown) = read_tensor(i, &t, buffers, bytes)?;
            tensors.push(tensor);
            unknown_rank.push(unknown);
        }
    }

    let opcodes = model.operator_codes();
    let n_opcodes = opcodes.map_or(0, |o| o.len());
    let mut nodes = Vec::new();
    let mut unsupported = Vec::new();
    let mut first_err = None;
    if let Some(operators) = sg.operators() {
        for (index, op) in operators.iter().enumerate() {
            let context = || format!("operator #{index}");
            let opcode_index = usize::try_from(op.opcode_index()).unwrap_or(usize::MAX);
            let oc = opcodes
                .filter(|_| opcode_index < n_opcodes)
                .map(|o| o.get(opcode_index))
                .ok_or_else(|| TfliteError::Index {
                    context: context(),
                    what: "opcode",
                    index: i64::from(op.opcode_index()),
                    count: n_opcodes,
                })?;
            let inputs = tensor_list(op.inputs(), n_file_tensors, true, &context)?;
            let outputs: Vec<TensorId> =
                tensor_list(op.outputs(), n_file_tensors, false, &context)?
                    .into_iter()
                    .flatten()
                    .collect();
            let output_name = outputs
                .first()
                .and_then(|t| tensors.get(t.0))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            let code = i32::from(oc.deprecated_builtin_code()).max(oc.builtin_code().0);
            let builtin = fb::BuiltinOperator(code);
            let op_name =
                ops::builtin_name(code).map_or_else(|| format!("BUILTIN_{code}"), str::to_string);
            let read = if builtin == fb::BuiltinOperator::CUSTOM {
                let custom = oc.custom_code().unwrap_or_default();
                match ops::by_custom_code(custom) {
                    Some(c) => Ok((c.read, c.inputs.clone(), format!("CUSTOM '{custom}'"))),
                    None => Err(format!("CUSTOM '{custom}'")),
                }
            } else if CONTROL_FLOW.contains(&builtin) {
                Err(format!("{op_name} (control flow)"))
            } else {
                match ops::by_code(code) {
                    Some(c) => Ok((c.read, c.inputs.clone(), op_name)),
                    None => Err(op_name),
                }
            };
            let (read, arity, op_name) = match read {
                Ok(r) => r,
                Err(op) => {
                    unsupported.push(UnsupportedOp {
                        index,
                        op,
                        output: output_name,
                    });
                    continue;
                }
            };
            if !arity.contains(&inputs.len()) || outputs.len() != 1 {
                first_err.get_or_insert(TfliteError::Operator {
                    index,
                    op: op_name,
                    output: output_name,
                    reason: format!(
                        "has {} operands and {} results, expected {} operand(s) and 1 result",
                        inputs.len(),
                        outputs.len(),
                        if arity.end() == &usize::MAX {
                            format!("at least {}", arity.start())
                        } else if arity.start() == arity.end() {
                            arity.start().to_string()
                        } else {
                            format!("{} to {}", arity.start(), arity.end())
                        }
                    ),
                });
                continue;
            }
            // Trailing omitted operands carry no information; dropping them keeps read → write
            // → read stable (the writer does not write them either).
            let mut inputs = inputs;
            while inputs.last() == Some(&None) {
                inputs.pop();
            }
            let mut ctx = ReadCtx {
                index,
                op_name,
                op,
                inputs,
                outputs,
                tensors: &mut tensors,
            };
            let ir_op = match read(&mut ctx) {
                Ok(op) => op,
                Err(e) => {
                    // Keep scanning: unsupported operators are reported first, all together.
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            let (inputs, outputs) = (ctx.inputs, ctx.outputs);
            nodes.push((
                index,
                Node {
                    name: if output_name.is_empty() {
                        format!("op{index}")
                    } else {
                        output_name
                    },
                    op: ir_op,
                    inputs,
                    outputs,
                },
            ));
        }
    }
    if !unsupported.is_empty() {
        return Err(TfliteError::UnsupportedOps(unsupported));
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    // Tensors added by custom-op readers have a known shape.
    unknown_rank.resize(tensors.len(), false);

    let graph_inputs = tensor_list(sg.inputs(), n_file_tensors, false, &|| {
        "SubGraph.inputs".to_string()
    })?;
    let graph_outputs = tensor_list(sg.outputs(), n_file_tensors, false, &|| {
        "SubGraph.outputs".to_string()
    })?;
    let op_index: Vec<usize> = nodes.iter().map(|(i, _)| *i).collect();
    let mut graph = Graph {
        name: sg.name().unwrap_or_default().to_string(),
        tensors,
        nodes: nodes.into_iter().map(|(_, n)| n).collect(),
        inputs: graph_inputs.into_iter().flatten().collect(),
        outputs: graph_outputs.into_iter().flatten().collect(),
    };
    mark_empty_constants(&mut graph);
    graph.validate()?;
    check_integer_convolutions(&graph)?;
    check_types(&mut graph, &unknown_rank, &op_index)?;
    // Every model that reads must write: the zero biases the writer adds must be valid.
    crate::writer::zero_biases(&graph)?;

    let signature = model
        .signature_defs()
        .and_then(|sigs| sigs.iter().find(|s| s.subgraph_index() == 0))
        .map(|s| read_signature(&s, n_file_tensors))
        .transpose()?;
    Ok(TfliteModel {
        graph,
        description: model.description().unwrap_or_default().to_string(),
        signature,
    })
}

/// Resolves a list of tensor indices; `-1` is an omitted optional operand where `optional`.
fn tensor_list(
    list: Option<Vector<'_, i32>>,
    count: usize,
    optional: bool,
    context: &dyn Fn() -> String,
) -> Result<Vec<Option<TensorId>>, TfliteError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|i| match usize::try_from(i) {
            Ok(u) if u < count => Ok(Some(TensorId(u))),
            _ if i == -1 && optional => Ok(None),
            _ => Err(TfliteError::Index {
                context: context(),
                what: "tensor",
                index: i64::from(i),
                count,
            }),
        })
        .collect()
}

/// Reads tensor `i`; also returns whether its rank is unknown (empty shape without `has_rank`).
fn read_tensor(
    i: usize,
    t: &fb::Tensor<'_>,
    buffers: Option<Vector<'_, ForwardsUOffset<fb::Buffer<'_>>>>,
    bytes: &[u8],
) -> Result<(Tensor, bool), TfliteError> {
    let name = t
        .name()
        .map_or_else(|| format!("tensor_{i}"), str::to_string);
    let bad = |reason: String| TfliteError::Tensor {
        index: i,
        tensor: name.clone(),
        reason,
    };
    let dtype = dtype_from_fb(t.type_())
        .ok_or_else(|| bad(format!("unsupported dtype {}", fb_type_name(t.type_()))))?;
    let stored: Vec<i32> = t.shape().map(|s| s.iter().collect()).unwrap_or_default();
    let shape = stored
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| bad(format!("shape {stored:?} has a negative dimension")))?;
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} has too many elements")))?;
    let nbytes = numel
        .checked_mul(dtype.size())
        .filter(|&b| b <= edgequant_ir::MAX_TENSOR_BYTES)
        .ok_or_else(|| {
            bad(format!(
                "shape {shape:?} of {dtype} is larger than the {} byte limit of one tensor",
                edgequant_ir::MAX_TENSOR_BYTES
            ))
        })?;
    if t.sparsity().is_some() {
        return Err(bad("sparse tensors are not supported".into()));
    }
    if t.is_variable() {
        return Err(bad("variable tensors are not supported".into()));
    }
    let data = read_buffer(t.buffer(), buffers, bytes, &name, i)?;
    if let Some(d) = &data {
        if d.len() != nbytes {
            return Err(bad(format!(
                "buffer {} has {} bytes, shape {shape:?} of {dtype} needs {nbytes}",
                t.buffer(),
                d.len()
            )));
        }
    }
    let quant = match t.quantization() {
        Some(q) => read_quant(&q, dtype, &shape).map_err(bad)?,
        None => None,
    };
    let unknown_rank = shape.is_empty() && !t.has_rank();
    Ok((
        Tensor {
            name,
            dtype,
            shape,
            data,
            quant,
        },
        unknown_rank,
    ))
}

/// A tensor with zero elements that no operator produces and that is not a graph input is a
/// constant (its data is empty, which a .tflite buffer cannot tell apart from "no data").
fn mark_empty_constants(graph: &mut Graph) {
    let mut produced = vec![false; graph.tensors.len()];
    for t in graph.nodes.iter().flat_map(|n| &n.outputs) {
        if let Some(p) = produced.get_mut(t.0) {
            *p = true;
        }
    }
    for t in &graph.inputs {
        if let Some(p) = produced.get_mut(t.0) {
            *p = true;
        }
    }
    for (t, produced) in graph.tensors.iter_mut().zip(produced) {
        if !produced && t.data.is_none() && t.shape.contains(&0) {
            t.data = Some(Arc::from(&[][..]));
        }
    }
}

/// Integer CONV_2D / DEPTHWISE_CONV_2D need quantization parameters on their input and
/// weights (the int32/int64 bias scale is derived from them; TFLite rejects them otherwise).
fn check_integer_convolutions(graph: &Graph) -> Result<(), TfliteError> {
    for node in &graph.nodes {
        let op = match &node.op {
            edgequant_ir::Op::Conv2d(_) => "CONV_2D",
            edgequant_ir::Op::DepthwiseConv2d(_) => "DEPTHWISE_CONV_2D",
            _ => continue,
        };
        let operand = |i: usize| {
            node.inputs
                .get(i)
                .copied()
                .flatten()
                .and_then(|t| graph.tensors.get(t.0))
        };
        let (Some(x), Some(w)) = (operand(0), operand(1)) else {
            continue;
        };
        if !matches!(x.dtype, DType::I8 | DType::U8 | DType::I16) {
            continue;
        }
        let err = |reason: String| TfliteError::Node {
            node: node.name.clone(),
            op: op.to_string(),
            reason,
        };
        for (what, t) in [("input", x), ("weights", w)] {
            if t.quant.is_none() {
                return Err(err(format!(
                    "{} {what} '{}' have no quantization parameters",
                    t.dtype, t.name
                )));
            }
        }
    }
    Ok(())
}

/// Constant data of buffer `index` (`None` when the buffer is empty).
fn read_buffer(
    index: u32,
    buffers: Option<Vector<'_, ForwardsUOffset<fb::Buffer<'_>>>>,
    bytes: &[u8],
    tensor: &str,
    tensor_index: usize,
) -> Result<Option<Arc<[u8]>>, TfliteError> {
    let count = buffers.map_or(0, |b| b.len());
    let idx = usize::try_from(index).unwrap_or(usize::MAX);
    let Some(buffer) = buffers.filter(|_| idx < count).map(|b| b.get(idx)) else {
        if index == 0 {
            // No buffer table at all: the sentinel is implied.
            return Ok(None);
        }
        return Err(TfliteError::Index {
            context: format!("tensor #{tensor_index} '{tensor}'"),
            what: "buffer",
            index: i64::from(index),
            count,
        });
    };
    if let Some(d) = buffer.data() {
        if !d.is_empty() {
            return Ok(Some(Arc::from(d.bytes())));
        }
    }
    if buffer.offset() > 1 {
        let range = usize::try_from(buffer.offset())
            .ok()
            .zip(usize::try_from(buffer.size()).ok())
            .and_then(|(o, s)| Some(o..o.checked_add(s)?));
        let slice = range.and_then(|r| bytes.get(r));
        return match slice {
            Some(s) if !s.is_empty() => Ok(Some(Arc::from(s))),
            Some(_) => Ok(None),
            None => Err(TfliteError::Tensor {
                index: tensor_index,
                tensor: tensor.to_string(),
                reason: format!(
                    "buffer {index} offset {} + size {} is outside the {}-byte file",
                    buffer.offset(),
                    buffer.size(),
                    bytes.len()
                ),
            }),
        };
    }
    Ok(None)
}

/// Affine quantization parameters (`None` when the table carries no scales).
fn read_quant(
    q: &fb::QuantizationParameters<'_>,
    dtype: DType,
    shape: &[usize],
) -> Result<Option<QuantParams>, String> {
    if q.details_type() != fb::QuantizationDetails::NONE {
        return Err("custom quantization details are not supported".into());
    }
    let scale: Vec<f32> = q.scale().map(|s| s.iter().collect()).unwrap_or_default();
    if scale.is_empty() {
        return Ok(None);
    }
    let zp64: Vec<i64> = q
        .zero_point()
        .map(|z| z.iter().collect())
        .unwrap_or_default();
    let zero_point: Vec<i32> = if zp64.is_empty() {
        vec![0; scale.len()]
    } else {
        zp64.iter()
            .map(|&z| i32::try_from(z).map_err(|_| format!("zero point {z} out of int32 range")))
            .collect::<Result<_, _>>()?
    };
    let qd = q.quantized_dimension();
    let axis = match usize::try_from(qd) {
        Ok(a) if scale.len() > 1 || (a != 0 && a < shape.len()) => Some(a),
        _ if scale.len() > 1 => {
            return Err(format!("quantized_dimension {qd} is negative"));
        }
        _ => None,
    };
    let params = QuantParams {
        scale,
        zero_point,
        axis,
    };
    params.validate("", dtype, shape).map_err(|e| match e {
        edgequant_ir::IrError::InvalidQuant { reason, .. } => {
            format!("invalid quantization parameters: {reason}")
        }
        other => other.to_string(),
    })?;
    Ok(Some(params))
}

/// Checks that every node's inferred output types equal the stored ones; adopts the inferred
/// shape for outputs stored with unknown rank.
fn check_types(
    graph: &mut Graph,
    unknown_rank: &[bool],
    op_index: &[usize],
) -> Result<(), TfliteError> {
    for id in graph.topo_order()? {
        let NodeId(n) = id;
        let node_err = |graph: &Graph, reason: String| {
            let node = graph.nodes.get(n);
            TfliteError::Operator {
                index: op_index.get(n).copied().unwrap_or(n),
                op: node.map_or("?", |x| x.op.name()).to_string(),
                output: node.map(|x| x.name.clone()).unwrap_or_default(),
                reason,
            }
        };
        let node = graph
            .nodes
            .get(n)
            .ok_or_else(|| node_err(graph, "missing".into()))?;
        let inputs: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|t| t.and_then(|t| graph.tensors.get(t.0)))
            .collect();
        let types = match node.op.infer(&inputs) {
            Ok(t) => t,
            Err(reason) => return Err(node_err(graph, reason)),
        };
        if types.len() != node.outputs.len() {
            let reason = format!(
                "has {} outputs, the op defines {}",
                node.outputs.len(),
                types.len()
            );
            return Err(node_err(graph, reason));
        }
        let outputs = node.outputs.clone();
        for (t, ty) in outputs.into_iter().zip(types) {
            let unknown = unknown_rank.get(t.0).copied().unwrap_or(false);
            let Some(tensor) = graph.tensors.get_mut(t.0) else {
                continue;
            };
            if tensor.dtype == ty.dtype && tensor.shape == ty.shape {
                continue;
            }
            if unknown && tensor.dtype == ty.dtype {
                if let Err(e) = edgequant_ir::checked_byte_size(&tensor.name, ty.dtype, &ty.shape) {
                    return Err(node_err(graph, format!("inferred output shape: {e}")));
                }
                if let Some(d) = ty.shape.iter().find(|&&d| i32::try_from(d).is_err()) {
                    let reason = format!(
                        "inferred output shape {:?} of '{}': dimension {d} does not fit in the \
                         int32 of a .tflite shape",
                        ty.shape, tensor.name
                    );
                    return Err(node_err(graph, reason));
                }
                tensor.shape = ty.shape;
                continue;
            }
            let reason = format!(
                "output '{}' is stored as {} {:?} but the op computes {} {:?}",
                tensor.name, tensor.dtype, tensor.shape, ty.dtype, ty.shape
            );
            return Err(node_err(graph, reason));
        }
    }
    Ok(())
}

fn read_signature(s: &fb::SignatureDef<'_>, count: usize) -> Result<Signature, TfliteError> {
    let key = s.signature_key().unwrap_or_default().to_string();
    let maps = |list: Option<Vector<'_, ForwardsUOffset<fb::TensorMap<'_>>>>| {
        list.map(|l| {
            l.iter()
                .map(|m| {
                    let idx = usize::try_from(m.tensor_index()).unwrap_or(usize::MAX);
                    if idx >= count {
                        return Err(TfliteError::Index {
                            context: format!("signature '{key}'"),
                            what: "tensor",
                            index: i64::from(m.tensor_index()),
                            count,
                        });
                    }
                    Ok((m.name().unwrap_or_default().to_string(), TensorId(idx)))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map(Option::unwrap_or_default)
    };
    Ok(Signature {
        inputs: maps(s.inputs())?,
        outputs: maps(s.outputs())?,
        key: key.clone(),
    })
}
