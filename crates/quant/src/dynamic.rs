//! Dynamic-range quantization: int8 weights, float activations, hybrid kernels
//! (TensorFlow's `optimizations = [Optimize.DEFAULT]` without a representative dataset).

use crate::error::QuantError;
use crate::spec;
use edgequant_ir::{DType, Graph, Op, Tensor};

/// Options of [`quantize_dynamic`].
#[derive(Clone, Debug)]
pub struct DynamicOptions {
    /// Weights with fewer elements stay float (TensorFlow: 1024).
    pub min_elements: usize,
    /// Per-tensor weights for convolutions too.
    pub per_tensor: bool,
    /// Per-channel FULLY_CONNECTED weights everywhere (TensorFlow writes per-tensor).
    pub fc_per_channel: bool,
    /// Per-channel FULLY_CONNECTED weights where they cut the weight quantization error by at
    /// least [`spec::FC_PER_CHANNEL_MIN_GAIN_DB`]; default on.
    pub fc_per_channel_auto: bool,
}

impl Default for DynamicOptions {
    fn default() -> Self {
        DynamicOptions {
            min_elements: 1024,
            per_tensor: false,
            fc_per_channel: false,
            fc_per_channel_auto: true,
        }
    }
}

/// Quantizes the constant weights of CONV_2D (per channel, axis 0), DEPTHWISE_CONV_2D (per
/// channel, axis 3) and FULLY_CONNECTED (per tensor, or per channel on axis 0 as
/// [`spec::fully_connected_axis`] decides) to symmetric int8 when they have at least
/// `min_elements` elements; the runtime's hybrid kernels quantize activations on the fly.
/// Returns the graph and the names of the quantized weight tensors.
pub fn quantize_dynamic(
    graph: &Graph,
    opts: &DynamicOptions,
) -> Result<(Graph, Vec<String>), QuantError> {
    graph.validate()?;
    let mut g = graph.clone();
    let mut done = Vec::new();
    for ni in 0..g.nodes.len() {
        let axis = match g.nodes[ni].op {
            Op::Conv2d(_) => Some(0),
            Op::DepthwiseConv2d(_) => Some(3),
            Op::FullyConnected(_) => None,
            _ => continue,
        };
        let axis = if opts.per_tensor { None } else { axis };
        let Some(w) = g.nodes[ni].inputs.get(1).copied().flatten() else {
            continue;
        };
        let src = g.tensor(w);
        if !(src.is_const() && src.dtype == DType::F32) || src.numel() < opts.min_elements {
            continue;
        }
        if g.nodes
            .iter()
            .enumerate()
            .any(|(j, n)| j != ni && n.inputs.contains(&Some(w)))
        {
            continue;
        }
        let values = src.f32_data()?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(QuantError::NonFinite {
                tensor: src.name.clone(),
                node: g.nodes[ni].name.clone(),
                what: "NaN or infinite values",
            });
        }
        let axis = match g.nodes[ni].op {
            Op::FullyConnected(_) if !opts.per_tensor => spec::fully_connected_axis(
                &values,
                &src.shape,
                opts.fc_per_channel,
                opts.fc_per_channel_auto,
            )?,
            _ => axis,
        };
        let (q, p) = spec::quantize_weights(&values, &src.shape, axis)?;
        let mut t = Tensor::constant(
            src.name.clone(),
            DType::I8,
            src.shape.clone(),
            q.iter().map(|&x| x as u8).collect(),
        )?;
        t.quant = Some(p);
        done.push(t.name.clone());
        *g.tensor_mut(w) = t;
    }
    g.validate()?;
    Ok((g, done))
}
