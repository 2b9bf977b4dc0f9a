//! float16 quantization: float32 constants stored as float16 behind DEQUANTIZE; compute stays
//! float32 (TensorFlow's `target_spec.supported_types = [tf.float16]`).

use crate::error::QuantError;
use edgequant_ir::{DType, Graph, Op, Tensor, TensorId};
use half::f16;
use std::collections::HashMap;

/// Converts every float32 constant read by a node to a float16 constant plus a DEQUANTIZE
/// node. Constants shared by several nodes get one DEQUANTIZE.
pub fn quantize_float16(graph: &Graph) -> Result<Graph, QuantError> {
    graph.validate()?;
    let mut g = graph.clone();
    let mut converted: HashMap<TensorId, TensorId> = HashMap::new();
    let mut new_nodes = Vec::new();
    for ni in 0..g.nodes.len() {
        for oi in 0..g.nodes[ni].inputs.len() {
            let Some(t) = g.nodes[ni].inputs[oi] else {
                continue;
            };
            let src = g.tensor(t);
            if !(src.is_const() && src.dtype == DType::F32) {
                continue;
            }
            let f = match converted.get(&t) {
                Some(&f) => f,
                None => {
                    let values = src.f32_data()?;
                    let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
                    let name = src.name.clone();
                    let shape = src.shape.clone();
                    let h = Tensor::constant(
                        format!("{name}_float16"),
                        DType::F16,
                        shape.clone(),
                        bytemuck::cast_slice(&halves).to_vec(),
                    )?;
                    let h = g.add_tensor(h);
                    *g.tensor_mut(t) = Tensor::new(name.clone(), DType::F32, shape);
                    new_nodes.push((format!("{name}_dequantize"), h, t));
                    converted.insert(t, t);
                    t
                }
            };
            g.nodes[ni].inputs[oi] = Some(f);
        }
    }
    for (name, h, t) in new_nodes {
        g.add_node(
            name,
            Op::Dequantize(Default::default()),
            vec![Some(h)],
            vec![t],
        );
    }
    g.sort_nodes()?;
    g.validate()?;
    Ok(g)
}
