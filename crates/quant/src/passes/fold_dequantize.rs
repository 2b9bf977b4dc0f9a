use edgequant_ir::{DType, Graph, IrError, Op, Pass, Result, Tensor};

/// Replaces every DEQUANTIZE of a constant (float16 weights as the mediapipe models store
/// them, or int8 weights with quantization parameters) by the float32 constant it computes,
/// so later passes see plain float weights. The float32 tensor keeps the DEQUANTIZE output's
/// name.
pub struct FoldConstantDequantize;

fn dequantized(t: &Tensor) -> Result<Option<Vec<f32>>> {
    Ok(match t.dtype {
        DType::F16 => Some(t.float_data()?),
        DType::I8 | DType::U8 | DType::I16 | DType::I32 => {
            let Some(q) = &t.quant else { return Ok(None) };
            let v = t.int_data()?;
            let (axis, inner) = match q.axis {
                Some(a) if q.scale.len() > 1 => (a, t.shape[a + 1..].iter().product::<usize>()),
                _ => (0, usize::MAX),
            };
            let channels = if inner == usize::MAX {
                1
            } else {
                t.shape[axis]
            };
            Some(
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let c = if channels == 1 {
                            0
                        } else {
                            (i / inner) % channels
                        };
                        (x - q.zero_point[c] as i64) as f32 * q.scale[c]
                    })
                    .collect(),
            )
        }
        _ => None,
    })
}

impl Pass for FoldConstantDequantize {
    fn name(&self) -> &'static str {
        "fold-constant-dequantize"
    }

    fn run(&self, g: &mut Graph) -> Result<bool> {
        let mut changed = false;
        let mut keep = Vec::with_capacity(g.nodes.len());
        for n in std::mem::take(&mut g.nodes) {
            let folded = match (
                &n.op,
                n.inputs.first().copied().flatten(),
                n.outputs.first(),
            ) {
                (Op::Dequantize(_), Some(src), Some(&dst)) if g.tensor(src).is_const() => {
                    match dequantized(g.tensor(src)) {
                        Ok(Some(values)) => {
                            let out = g.tensor(dst);
                            let t = Tensor::from_f32(out.name.clone(), out.shape.clone(), &values)
                                .map_err(|e| IrError::op(&n.name, n.op.name(), e.to_string()))?;
                            *g.tensor_mut(dst) = t;
                            true
                        }
                        Ok(None) => false,
                        Err(e) => return Err(IrError::op(&n.name, n.op.name(), e.to_string())),
                    }
                }
                _ => false,
            };
            if folded {
                changed = true;
            } else {
                keep.push(n);
            }
        }
        g.nodes = keep;
        if changed {
            g.compact();
        }
        Ok(changed)
    }
}
