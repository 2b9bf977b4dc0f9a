//! Export of a trained model to an edgequant IR graph (float, batch 1), and to a
//! fully-integer graph through `edgequant_quant::quantize_integer` with the ranges learned by
//! quantization-aware training.

use crate::model::{Kind, Model, ObsKey};
use crate::QatError;
use edgequant_ir::ops::{
    Add, AveragePool2d, Conv2d, DepthwiseConv2d, FullyConnected, MaxPool2d, Mean, Mul, Relu, Relu6,
    Reshape, Softmax, Transpose,
};
use edgequant_ir::{Activation, DType, Graph, Op, Tensor, TensorId};
use edgequant_quant::{quantize_integer, IntegerOptions, Quantized};
use std::collections::BTreeMap;

/// A float export and where each model value ended up.
#[derive(Clone, Debug)]
pub struct Exported {
    pub graph: Graph,
    /// Tensor of each model value (0 = input).
    pub value_tensor: Vec<TensorId>,
    /// The MUL output of each standalone batch norm, by node index.
    pub bn_mul: BTreeMap<usize, TensorId>,
}

struct B {
    g: Graph,
}

impl B {
    fn act(&mut self, name: String, shape: Vec<usize>) -> TensorId {
        self.g.add_tensor(Tensor::new(name, DType::F32, shape))
    }

    fn f32c(&mut self, name: String, shape: Vec<usize>, v: &[f32]) -> Result<TensorId, QatError> {
        Ok(self.g.add_tensor(Tensor::from_f32(name, shape, v)?))
    }

    fn i32c(&mut self, name: String, shape: Vec<usize>, v: &[i32]) -> Result<TensorId, QatError> {
        Ok(self.g.add_tensor(Tensor::from_i32(name, shape, v)?))
    }

    fn node(
        &mut self,
        name: &str,
        op: Op,
        ins: Vec<Option<TensorId>>,
        shape: Vec<usize>,
    ) -> TensorId {
        let out = self.act(name.to_string(), shape);
        self.g.add_node(name, op, ins, vec![out]);
        out
    }
}

fn batched(shape: &[usize]) -> Vec<usize> {
    std::iter::once(1).chain(shape.iter().copied()).collect()
}

/// Builds the float IR graph of the model in inference form: batch norms that follow a
/// convolution folded into its weights and bias (moving statistics), standalone batch norms as
/// MUL + ADD with per-channel constants, dropout removed, flatten as RESHAPE, the tensors named
/// after their layers. Input and output have batch 1.
pub fn export_graph(model: &Model) -> Result<Exported, QatError> {
    let mut b = B {
        g: Graph {
            name: model.name.clone(),
            ..Graph::default()
        },
    };
    let input = b.act(model.input_name.clone(), batched(&model.input_shape));
    b.g.inputs.push(input);
    let mut vt: Vec<TensorId> = vec![input];
    let mut bn_mul = BTreeMap::new();
    let p = |i: usize| &model.params[i];
    for (k, n) in model.nodes.iter().enumerate() {
        let shape = batched(&n.shape);
        let x = vt[n.inputs[0]];
        let name = n.name.as_str();
        let out = match &n.kind {
            Kind::Conv {
                weight,
                bias,
                stride,
                dilation,
                padding,
                multiplier,
                bn,
                act,
                ..
            } => {
                let w = p(*weight);
                let [o, i, kh, kw] = <[usize; 4]>::try_from(w.shape.as_slice())
                    .map_err(|_| QatError::Unsupported(format!("layer '{name}': bad weights")))?;
                let mut scale = vec![1f32; o];
                let mut shift: Vec<f32> = match bias {
                    Some(bi) => p(*bi).data.clone(),
                    None => vec![0.0; o],
                };
                if let Some(bn) = bn {
                    let (g, be) = (&p(bn.gamma).data, &p(bn.beta).data);
                    for c in 0..o {
                        let s = g[c] / (bn.moving_var[c] + bn.epsilon).sqrt();
                        scale[c] = s;
                        shift[c] = be[c] + s * (shift[c] - bn.moving_mean[c]);
                    }
                }
                let has_bias = bias.is_some() || bn.is_some();
                let mut data = vec![0f32; w.data.len()];
                let (wshape, op): (Vec<usize>, Op) = if let Some(m) = multiplier {
                    for c in 0..o {
                        for y in 0..kh {
                            for xx in 0..kw {
                                data[(y * kw + xx) * o + c] =
                                    w.data[(c * kh + y) * kw + xx] * scale[c];
                            }
                        }
                    }
                    (
                        vec![1, kh, kw, o],
                        DepthwiseConv2d {
                            stride: *stride,
                            dilation: *dilation,
                            padding: *padding,
                            depth_multiplier: *m,
                            activation: act.ir(),
                        }
                        .into(),
                    )
                } else {
                    for oo in 0..o {
                        for ii in 0..i {
                            for y in 0..kh {
                                for xx in 0..kw {
                                    data[((oo * kh + y) * kw + xx) * i + ii] =
                                        w.data[((oo * i + ii) * kh + y) * kw + xx] * scale[oo];
                                }
                            }
                        }
                    }
                    (
                        vec![o, kh, kw, i],
                        Conv2d {
                            stride: *stride,
                            dilation: *dilation,
                            padding: *padding,
                            activation: act.ir(),
                        }
                        .into(),
                    )
                };
                let wt = b.f32c(format!("{name}/weights"), wshape, &data)?;
                let bt = if has_bias {
                    Some(b.f32c(format!("{name}/bias"), vec![o], &shift)?)
                } else {
                    None
                };
                b.node(name, op, vec![Some(x), Some(wt), bt], shape)
            }
            Kind::Dense { weight, bias, act } => {
                let w = p(*weight);
                let wt = b.f32c(format!("{name}/weights"), w.shape.clone(), &w.data)?;
                let bt = match bias {
                    Some(bi) => {
                        Some(b.f32c(format!("{name}/bias"), p(*bi).shape.clone(), &p(*bi).data)?)
                    }
                    None => None,
                };
                b.node(
                    name,
                    FullyConnected {
                        activation: act.ir(),
                        keep_num_dims: false,
                    }
                    .into(),
                    vec![Some(x), Some(wt), bt],
                    shape,
                )
            }
            Kind::BatchNorm(bn) => {
                let c = *n.shape.last().unwrap_or(&1);
                let (g, be) = (&p(bn.gamma).data, &p(bn.beta).data);
                let scale: Vec<f32> = (0..c)
                    .map(|i| g[i] / (bn.moving_var[i] + bn.epsilon).sqrt())
                    .collect();
                let shift: Vec<f32> = (0..c)
                    .map(|i| be[i] - bn.moving_mean[i] * scale[i])
                    .collect();
                let st = b.f32c(format!("{name}/scale"), vec![c], &scale)?;
                let sh = b.f32c(format!("{name}/shift"), vec![c], &shift)?;
                let m = b.node(
                    &format!("{name}/mul"),
                    Mul::default().into(),
                    vec![Some(x), Some(st)],
                    shape.clone(),
                );
                bn_mul.insert(k, m);
                b.node(name, Add::default().into(), vec![Some(m), Some(sh)], shape)
            }
            Kind::Relu => b.node(name, Relu.into(), vec![Some(x)], shape),
            Kind::Relu6 => b.node(name, Relu6.into(), vec![Some(x)], shape),
            Kind::MaxPool {
                filter,
                stride,
                padding,
            } => b.node(
                name,
                MaxPool2d {
                    filter: *filter,
                    stride: *stride,
                    padding: *padding,
                    activation: Activation::None,
                }
                .into(),
                vec![Some(x)],
                shape,
            ),
            Kind::AvgPool {
                filter,
                stride,
                padding,
            } => b.node(
                name,
                AveragePool2d {
                    filter: *filter,
                    stride: *stride,
                    padding: *padding,
                    activation: Activation::None,
                }
                .into(),
                vec![Some(x)],
                shape,
            ),
            Kind::Mean { keep_dims } => {
                let axes = b.i32c(format!("{name}/axes"), vec![2], &[1, 2])?;
                b.node(
                    name,
                    Mean {
                        keep_dims: *keep_dims,
                    }
                    .into(),
                    vec![Some(x), Some(axes)],
                    shape,
                )
            }
            Kind::Reshape => {
                // Batch dimension -1: LiteRT can resize the input to any batch.
                let target: Vec<i32> = std::iter::once(-1)
                    .chain(n.shape.iter().map(|&d| d as i32))
                    .collect();
                let st = b.i32c(format!("{name}/shape"), vec![target.len()], &target)?;
                b.node(
                    name,
                    Reshape {
                        new_shape: Some(target.iter().map(|&d| i64::from(d)).collect()),
                    }
                    .into(),
                    vec![Some(x), Some(st)],
                    shape,
                )
            }
            Kind::Transpose { perm } => {
                let full: Vec<i32> = std::iter::once(0)
                    .chain(perm.iter().map(|&q| q as i32 + 1))
                    .collect();
                let pt = b.i32c(format!("{name}/perm"), vec![full.len()], &full)?;
                b.node(name, Transpose.into(), vec![Some(x), Some(pt)], shape)
            }
            Kind::Dropout { .. } => x,
            Kind::Add { act } | Kind::Mul { act } => {
                let y = vt[n.inputs[1]];
                let op: Op = if matches!(n.kind, Kind::Add { .. }) {
                    Add {
                        activation: act.ir(),
                    }
                    .into()
                } else {
                    Mul {
                        activation: act.ir(),
                    }
                    .into()
                };
                b.node(name, op, vec![Some(x), Some(y)], shape)
            }
            Kind::AddConst {
                param,
                const_shape,
                act,
            }
            | Kind::MulConst {
                param,
                const_shape,
                act,
            } => {
                let c = b.f32c(
                    format!("{name}/const"),
                    const_shape.clone(),
                    &p(*param).data,
                )?;
                let op: Op = if matches!(n.kind, Kind::AddConst { .. }) {
                    Add {
                        activation: act.ir(),
                    }
                    .into()
                } else {
                    Mul {
                        activation: act.ir(),
                    }
                    .into()
                };
                b.node(name, op, vec![Some(x), Some(c)], shape)
            }
            Kind::Softmax { beta } => {
                b.node(name, Softmax { beta: *beta }.into(), vec![Some(x)], shape)
            }
        };
        vt.push(out);
    }
    let output = *vt.last().unwrap_or(&input);
    b.g.outputs.push(output);
    b.g.validate()?;
    // Shapes recorded by the model must agree with the IR's shape inference.
    for node in &b.g.nodes {
        let ins: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|t| t.map(|t| b.g.tensor(t)))
            .collect();
        let inferred = node
            .op
            .infer(&ins)
            .map_err(|e| QatError::Unsupported(format!("layer '{}': {e}", node.name)))?;
        let got = &b.g.tensor(node.outputs[0]).shape;
        if inferred.first().map(|t| &t.shape) != Some(got) {
            return Err(QatError::Unsupported(format!(
                "layer '{}': exported shape {got:?} disagrees with {} shape inference {:?}",
                node.name,
                node.op.name(),
                inferred.first().map(|t| t.shape.clone())
            )));
        }
    }
    Ok(Exported {
        graph: b.g,
        value_tensor: vt,
        bn_mul,
    })
}

/// The float IR graph of the model (see [`export_graph`]).
pub fn export_float(model: &Model) -> Result<Graph, QatError> {
    Ok(export_graph(model)?.graph)
}

/// The learned ranges of the exported graph's tensors (indexed by tensor id), for
/// `quantize_integer`: every value gets the range observed on it, or, for same-scale layers
/// (pooling, reshape, dropout), that of the value whose parameters it shares.
pub fn learned_ranges(model: &Model, ex: &Exported) -> Vec<Option<(f32, f32)>> {
    let mut r = vec![None; ex.graph.tensors.len()];
    for (v, &t) in ex.value_tensor.iter().enumerate() {
        if r[t.0].is_none() {
            r[t.0] = model
                .ranges
                .get(&ObsKey::Value(model.range_source(v)))
                .copied();
        }
    }
    for (&k, &t) in &ex.bn_mul {
        r[t.0] = model.ranges.get(&ObsKey::BnMul(k)).copied();
    }
    r
}

/// The fully-integer graph of a quantization-aware-trained model: the float export quantized
/// with the learned ranges (no representative data). `opts` as for `quantize_integer`
/// (activations must be int8); per-channel FULLY_CONNECTED weights are used, as in training.
/// Errors when the model has no learned ranges.
pub fn export_int8(model: &Model, opts: &IntegerOptions) -> Result<Quantized, QatError> {
    if model.ranges.is_empty() {
        return Err(QatError::Options(
            "the model has no learned activation ranges: run quantization-aware training first"
                .into(),
        ));
    }
    let ex = export_graph(model)?;
    let ranges = learned_ranges(model, &ex);
    let mut o = opts.clone();
    o.fc_per_channel = true;
    Ok(quantize_integer(&ex.graph, &ranges, &o)?)
}

/// Serializes a graph as .tflite bytes.
pub fn to_tflite(graph: &Graph, description: &str) -> Result<Vec<u8>, QatError> {
    Ok(edgequant_tflite::write_model(graph, description)?)
}
