//! IR → .tflite.

use crate::convert::dtype_to_fb;
use crate::ops::{self, WriteCtx};
use crate::reader::SCHEMA_VERSION;
use crate::schema as fb;
use crate::{Signature, TfliteError, TfliteModel};
use edgequant_ir::{DType, Graph, Op, QuantParams, Tensor, TensorId};
use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};

/// Largest flatbuffer the builder can address, minus headroom for the last tables.
const MAX_FLATBUFFER: usize = (1 << 31) - (1 << 16);

/// Alignment of constant data (TFLite's `force_align: 16` on `Buffer.data`).
const DATA_ALIGN: usize = 16;

/// A zero-sized item pushed to align the builder's head to [`DATA_ALIGN`] and raise the
/// buffer's minimum alignment so the alignment survives `finish`.
struct AlignData;

impl Push for AlignData {
    type Output = AlignData;
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}
    fn size() -> usize {
        0
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(DATA_ALIGN)
    }
}

/// Writes a graph as a .tflite model with the given description (no signature).
///
/// Follows the TFLite converter's conventions: schema version 3, file identifier `TFL3`,
/// buffer 0 empty and one buffer per constant tensor (data 16-byte aligned), operator codes
/// deduplicated in first-use order with both `deprecated_builtin_code` (`min(code, 127)`) and
/// `builtin_code` set, and each code's `version` the highest the converter's versioning rules
/// give for its uses. Nodes are written in topological order (stable). Tensors keep their
/// graph order, so tensor indices equal [`TensorId`]s. Omitted optional operands are written
/// as -1, trailing ones are dropped (except a FULLY_CONNECTED bias), and a node's name is not
/// stored (TFLite operators have none; the reader names nodes after their first output).
/// CONV_2D and DEPTHWISE_CONV_2D nodes without bias get a zero bias (LiteRT requires one), a
/// tensor named `<output>/zero_bias` appended after the graph's tensors. The output is
/// deterministic.
///
/// Fails, naming the node, for ops without a TFLite builtin and for `Padding::Explicit` (lower
/// it first); fails for graphs that violate IR invariants or exceed the 2 GB flatbuffer limit.
pub fn write_model(graph: &Graph, description: &str) -> Result<Vec<u8>, TfliteError> {
    write(graph, description, None)
}

/// Writes a [`TfliteModel`]: its graph and description as [`write_model`] does, plus its
/// signature.
pub fn write_tflite_model(model: &TfliteModel) -> Result<Vec<u8>, TfliteError> {
    write(&model.graph, &model.description, model.signature.as_ref())
}

fn tensor_err(i: usize, t: &Tensor, reason: String) -> TfliteError {
    TfliteError::Tensor {
        index: i,
        tensor: t.name.clone(),
        reason,
    }
}

fn to_i32(v: usize, what: impl FnOnce() -> TfliteError) -> Result<i32, TfliteError> {
    i32::try_from(v).map_err(|_| what())
}

/// Upper bound of the flatbuffer size of a graph (data plus generous per-object overhead).
fn estimated_size(graph: &Graph, description: &str) -> usize {
    let tensors: usize = graph
        .tensors
        .iter()
        .map(|t| {
            let data = t.data.as_ref().map_or(0, |d| d.len() + 2 * DATA_ALIGN + 64);
            let quant = t
                .quant
                .as_ref()
                .map_or(0, |q| 64 + 4 * q.scale.len() + 8 * q.zero_point.len());
            data.saturating_add(quant)
                .saturating_add(t.name.len() + 4 * t.shape.len() + 128)
        })
        .fold(0usize, usize::saturating_add);
    let nodes: usize = graph
        .nodes
        .iter()
        .map(|n| 4 * (n.inputs.len() + n.outputs.len()) + 256)
        .fold(0usize, usize::saturating_add);
    tensors
        .saturating_add(nodes)
        .saturating_add(description.len() + graph.name.len() + 1024)
}

/// Name suffix of the zero bias the writer adds to convolutions without one.
const ZERO_BIAS: &str = "/zero_bias";

/// Zero biases for CONV_2D / DEPTHWISE_CONV_2D nodes that have none: LiteRT's CONV_2D refuses a
/// convolution without bias and its DEPTHWISE_CONV_2D crashes on one, so the writer adds the
/// operand the TFLite converter would have created: float32 zeros for float and hybrid
/// convolutions, int32 (int8/uint8 activations) or int64 (int16 activations) zeros with scale
/// `input_scale × weight_scale` otherwise. Returns the new tensors (appended after the graph's)
/// and, per node, the id of its added bias.
pub(crate) fn zero_biases(
    graph: &Graph,
) -> Result<(Vec<Tensor>, Vec<Option<TensorId>>), TfliteError> {
    let mut extra = Vec::new();
    let mut per_node = vec![None; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        let channel_dim = match &node.op {
            Op::Conv2d(_) => 0,
            Op::DepthwiseConv2d(_) => 3,
            _ => continue,
        };
        if node.inputs.get(2).copied().flatten().is_some() {
            continue;
        }
        let ctx = WriteCtx { graph, node };
        let (Some(x), Some(w)) = (ctx.input(0), ctx.input(1)) else {
            continue;
        };
        let channels = w.shape.get(channel_dim).copied().unwrap_or(0);
        let out_name = ctx
            .output(0)
            .map_or(node.name.as_str(), |t| t.name.as_str());
        let name = format!("{out_name}{ZERO_BIAS}");
        let bias = match x.dtype {
            DType::F32 | DType::F16 => {
                Tensor::from_f32(name, vec![channels], &vec![0.0; channels])?
            }
            DType::I8 | DType::U8 | DType::I16 => {
                let (Some(xq), Some(wq)) = (&x.quant, &w.quant) else {
                    return Err(ctx.err(
                        "quantized convolution without bias and without quantization \
                         parameters on input and weights: cannot create the bias TFLite needs",
                    ));
                };
                let s_in = xq.scale.first().copied().unwrap_or(0.0);
                let scale: Vec<f32> = wq.scale.iter().map(|s| s * s_in).collect();
                let axis = (scale.len() > 1).then_some(0);
                let mut t = if x.dtype == DType::I16 {
                    Tensor::from_i64(name, vec![channels], &vec![0; channels])?
                } else {
                    Tensor::from_i32(name, vec![channels], &vec![0; channels])?
                };
                t.quant = Some(QuantParams {
                    zero_point: vec![0; scale.len()],
                    scale,
                    axis,
                });
                t
            }
            other => {
                return Err(ctx.err(format!(
                    "convolution of {other} without bias: cannot create the bias TFLite needs"
                )))
            }
        };
        if let Some(q) = &bias.quant {
            if let Err(e) = q.validate(&bias.name, bias.dtype, &bias.shape) {
                return Err(ctx.err(format!("cannot create the zero bias TFLite needs: {e}")));
            }
        }
        per_node[i] = Some(TensorId(graph.tensors.len() + extra.len()));
        extra.push(bias);
    }
    Ok((extra, per_node))
}

fn write(
    graph: &Graph,
    description: &str,
    signature: Option<&Signature>,
) -> Result<Vec<u8>, TfliteError> {
    graph.validate()?;
    for (i, t) in graph.tensors.iter().enumerate() {
        if let Some(d) = &t.data {
            let want = t
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .and_then(|n| n.checked_mul(t.dtype.size()));
            if want != Some(d.len()) {
                return Err(tensor_err(
                    i,
                    t,
                    format!(
                        "has {} data bytes, shape {:?} of {} needs {}",
                        d.len(),
                        t.shape,
                        t.dtype,
                        want.map_or_else(|| "too many".to_string(), |w| w.to_string())
                    ),
                ));
            }
        }
    }
    let size = estimated_size(graph, description);
    if size > MAX_FLATBUFFER {
        return Err(TfliteError::Field {
            field: "Model".into(),
            reason: format!(
                "model of about {size} bytes exceeds the 2 GB flatbuffer limit (large-model \
                 layout is not written)"
            ),
        });
    }
    let order = graph.topo_order()?;
    let (extra_tensors, added_bias) = zero_biases(graph)?;
    let all_tensors: Vec<&Tensor> = graph.tensors.iter().chain(&extra_tensors).collect();

    let mut fbb = FlatBufferBuilder::with_capacity(size.min(1 << 30));

    // Buffers first: the builder writes back to front, so constant data ends up at the end of
    // the file, after all tables (as the TFLite converter lays it out).
    let mut buffers = Vec::with_capacity(all_tensors.len() + 1);
    buffers.push(fb::Buffer::create(&mut fbb, &fb::BufferArgs::default()));
    let mut buffer_of = vec![0u32; all_tensors.len()];
    for (i, t) in all_tensors.iter().enumerate() {
        let Some(data) = &t.data else { continue };
        fbb.push(AlignData);
        let pad = (DATA_ALIGN - data.len() % DATA_ALIGN) % DATA_ALIGN;
        for _ in 0..pad {
            fbb.push(0u8);
        }
        let v = fbb.create_vector(&data[..]);
        let b = fb::Buffer::create(
            &mut fbb,
            &fb::BufferArgs {
                data: Some(v),
                ..Default::default()
            },
        );
        buffer_of[i] = u32::try_from(buffers.len())
            .map_err(|_| tensor_err(i, t, "too many buffers".into()))?;
        buffers.push(b);
    }

    let mut tensors = Vec::with_capacity(all_tensors.len());
    for (i, t) in all_tensors.iter().enumerate() {
        let dims = t
            .shape
            .iter()
            .map(|&d| {
                to_i32(d, || {
                    tensor_err(i, t, format!("dimension {d} does not fit in int32"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shape = fbb.create_vector(&dims);
        let name = fbb.create_string(&t.name);
        let quantization = match &t.quant {
            Some(q) => {
                let zp: Vec<i64> = q.zero_point.iter().map(|&z| i64::from(z)).collect();
                let scale = fbb.create_vector(&q.scale);
                let zero_point = fbb.create_vector(&zp);
                let quantized_dimension = to_i32(q.axis.unwrap_or(0), || {
                    tensor_err(i, t, "quantized dimension does not fit in int32".into())
                })?;
                Some(fb::QuantizationParameters::create(
                    &mut fbb,
                    &fb::QuantizationParametersArgs {
                        scale: Some(scale),
                        zero_point: Some(zero_point),
                        quantized_dimension,
                        ..Default::default()
                    },
                ))
            }
            None => None,
        };
        tensors.push(fb::Tensor::create(
            &mut fbb,
            &fb::TensorArgs {
                shape: Some(shape),
                type_: dtype_to_fb(t.dtype),
                buffer: buffer_of.get(i).copied().unwrap_or(0),
                name: Some(name),
                quantization,
                has_rank: true,
                ..Default::default()
            },
        ));
    }

    // Operators, with operator codes assigned in first-use order.
    let mut codes: Vec<(fb::BuiltinOperator, i32)> = Vec::new();
    let mut operators = Vec::with_capacity(graph.nodes.len());
    for id in order {
        let node = graph.nodes.get(id.0).ok_or_else(|| TfliteError::Field {
            field: "Graph.nodes".into(),
            reason: format!("node id {} out of range", id.0),
        })?;
        let ctx = WriteCtx { graph, node };
        let write = ops::by_ir_name(node.op.name())
            .and_then(|c| c.write)
            .ok_or_else(|| ctx.err("no TFLite builtin operator for this op"))?;
        let enc = write(&ctx, &mut fbb)?;
        let opcode_index = match codes.iter().position(|(c, _)| *c == enc.code) {
            Some(p) => {
                if let Some(entry) = codes.get_mut(p) {
                    entry.1 = entry.1.max(enc.version);
                }
                p
            }
            None => {
                codes.push((enc.code, enc.version));
                codes.len() - 1
            }
        };
        let index = |t: &TensorId| to_i32(t.0, || ctx.err("tensor index does not fit in int32"));
        // Omitted optional operands are -1. Trailing ones are dropped, except for
        // FULLY_CONNECTED (whose kernel accepts a -1 bias, as the converter writes it): CONV_2D,
        // DEPTHWISE_CONV_2D and TRANSPOSE_CONV detect a bias by the operand count alone.
        let mut n_inputs = node.inputs.len();
        if enc.code != fb::BuiltinOperator::FULLY_CONNECTED {
            while n_inputs > 0 && node.inputs.get(n_inputs - 1).is_some_and(Option::is_none) {
                n_inputs -= 1;
            }
        }
        let mut inputs = node
            .inputs
            .iter()
            .take(n_inputs)
            .map(|t| t.as_ref().map_or(Ok(-1), index))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(bias) = added_bias.get(id.0).copied().flatten() {
            inputs.resize(2, -1);
            inputs.push(index(&bias)?);
        }
        let outputs = node
            .outputs
            .iter()
            .map(index)
            .collect::<Result<Vec<_>, _>>()?;
        let inputs = fbb.create_vector(&inputs);
        let outputs = fbb.create_vector(&outputs);
        operators.push(fb::Operator::create(
            &mut fbb,
            &fb::OperatorArgs {
                opcode_index: u32::try_from(opcode_index).unwrap_or(u32::MAX),
                inputs: Some(inputs),
                outputs: Some(outputs),
                builtin_options_type: enc.options_type,
                builtin_options: enc.options,
                ..Default::default()
            },
        ));
    }

    let graph_index = |t: &TensorId| {
        to_i32(t.0, || TfliteError::Field {
            field: "SubGraph.inputs/outputs".into(),
            reason: "tensor index does not fit in int32".into(),
        })
    };
    let inputs = graph
        .inputs
        .iter()
        .map(graph_index)
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = graph
        .outputs
        .iter()
        .map(graph_index)
        .collect::<Result<Vec<_>, _>>()?;
    let tensors = fbb.create_vector(&tensors);
    let inputs = fbb.create_vector(&inputs);
    let outputs = fbb.create_vector(&outputs);
    let operators = fbb.create_vector(&operators);
    let sg_name = fbb.create_string(&graph.name);
    let subgraph = fb::SubGraph::create(
        &mut fbb,
        &fb::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(operators),
            name: Some(sg_name),
        },
    );

    let opcodes = codes
        .iter()
        .map(|&(code, version)| {
            let deprecated = i8::try_from(code.0.min(127)).unwrap_or(127);
            fb::OperatorCode::create(
                &mut fbb,
                &fb::OperatorCodeArgs {
                    deprecated_builtin_code: deprecated,
                    custom_code: None,
                    version,
                    builtin_code: code,
                },
            )
        })
        .collect::<Vec<_>>();

    let signature_defs = match signature {
        Some(s) => Some(write_signature(&mut fbb, s, graph.tensors.len())?),
        None => None,
    };

    let opcodes = fbb.create_vector(&opcodes);
    let subgraphs = fbb.create_vector(&[subgraph]);
    let description = fbb.create_string(description);
    let buffers = fbb.create_vector(&buffers);
    let model = fb::Model::create(
        &mut fbb,
        &fb::ModelArgs {
            version: SCHEMA_VERSION,
            operator_codes: Some(opcodes),
            subgraphs: Some(subgraphs),
            description: Some(description),
            buffers: Some(buffers),
            metadata_buffer: None,
            metadata: None,
            signature_defs,
        },
    );
    fb::finish_model_buffer(&mut fbb, model);
    Ok(fbb.finished_data().to_vec())
}

type SignatureVec<'a> =
    WIPOffset<flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::SignatureDef<'a>>>>;

fn write_signature<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    s: &Signature,
    count: usize,
) -> Result<SignatureVec<'a>, TfliteError> {
    let mut maps = |list: &[(String, TensorId)]| {
        let mut out = Vec::with_capacity(list.len());
        for (name, t) in list {
            let index = u32::try_from(t.0)
                .ok()
                .filter(|_| t.0 < count)
                .ok_or_else(|| TfliteError::Field {
                    field: format!("signature '{}'", s.key),
                    reason: format!("alias '{name}' names tensor {} of {count}", t.0),
                })?;
            let name = fbb.create_string(name);
            out.push(fb::TensorMap::create(
                fbb,
                &fb::TensorMapArgs {
                    name: Some(name),
                    tensor_index: index,
                },
            ));
        }
        Ok::<_, TfliteError>(fbb.create_vector(&out))
    };
    let inputs = maps(&s.inputs)?;
    let outputs = maps(&s.outputs)?;
    let key = fbb.create_string(&s.key);
    let def = fb::SignatureDef::create(
        fbb,
        &fb::SignatureDefArgs {
            inputs: Some(inputs),
            outputs: Some(outputs),
            signature_key: Some(key),
            subgraph_index: 0,
        },
    );
    Ok(fbb.create_vector(&[def]))
}
