//! Import state: the IR graph being built, the value of every ONNX name, layout conversions.

use crate::error::{OnnxError, Result};
use crate::layout;
use crate::node::NodeView;
use crate::tensor::Const;
use edgequant_ir::ops::{Reshape, Transpose};
use edgequant_ir::{DType, Graph, Op, Tensor, TensorId};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// An activation: an IR tensor and its layout (physical dim `i` = logical dim `layout[i]`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Act {
    pub id: TensorId,
    pub layout: Vec<usize>,
}

/// The value of an ONNX name during import.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// Known at import time, in ONNX layout.
    Const(Rc<Const>),
    /// Computed by the IR graph.
    Act(Act),
}

impl Value {
    /// A constant value.
    pub fn konst(c: Const) -> Value {
        Value::Const(Rc::new(c))
    }
}

/// The import state.
pub(crate) struct Ctx {
    pub g: Graph,
    pub values: HashMap<String, Value>,
    /// Number of readers of each ONNX name (node inputs plus graph outputs).
    pub uses: HashMap<String, usize>,
    /// Producing IR node of each IR tensor (index into `g.nodes`).
    pub producer: HashMap<TensorId, usize>,
    /// The ONNX name an IR tensor was bound to (as a value in its own layout).
    pub onnx_name: HashMap<TensorId, String>,
    converted: HashMap<(TensorId, Vec<usize>), TensorId>,
    names: HashSet<String>,
}

impl Ctx {
    /// An empty import state.
    pub fn new(name: String) -> Ctx {
        Ctx {
            g: Graph {
                name,
                ..Graph::default()
            },
            values: HashMap::new(),
            uses: HashMap::new(),
            producer: HashMap::new(),
            onnx_name: HashMap::new(),
            converted: HashMap::new(),
            names: HashSet::new(),
        }
    }

    /// A tensor name not used yet, derived from `base`.
    pub fn unique(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "t" } else { base };
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Adds a tensor under a unique name derived from its name.
    pub fn add_tensor(&mut self, mut t: Tensor) -> TensorId {
        t.name = self.unique(&t.name);
        self.g.add_tensor(t)
    }

    /// Adds a constant IR tensor.
    pub fn add_const(&mut self, name: &str, c: &Const) -> Result<TensorId> {
        let t = c.to_ir(name)?;
        Ok(self.add_tensor(t))
    }

    /// Adds an int32 constant (shapes, permutations, axes).
    pub fn i32_const(&mut self, name: &str, shape: Vec<usize>, v: &[i64]) -> Result<TensorId> {
        self.add_const(name, &Const::int(DType::I32, shape, v.to_vec()))
    }

    /// Adds a float32 constant.
    pub fn f32_const(&mut self, name: &str, shape: Vec<usize>, v: Vec<f32>) -> Result<TensorId> {
        self.add_const(name, &Const::f32(shape, v))
    }

    /// Adds an IR node for ONNX node `n`, inferring its output types. `outs` are the output
    /// tensor names. Shape-inference errors are reported against the ONNX node.
    pub fn emit(
        &mut self,
        n: &NodeView,
        op: impl Into<Op>,
        inputs: Vec<Option<TensorId>>,
        outs: &[&str],
    ) -> Result<Vec<TensorId>> {
        let op = op.into();
        let types = {
            let ins: Vec<Option<&Tensor>> =
                inputs.iter().map(|t| t.map(|t| self.g.tensor(t))).collect();
            op.infer(&ins)
                .map_err(|r| n.err(format!("{} ({}): {r}", op.name(), "IR shape inference")))?
        };
        if types.len() != outs.len() {
            return Err(n.err(format!(
                "{} produces {} outputs, expected {}",
                op.name(),
                types.len(),
                outs.len()
            )));
        }
        for ty in &types {
            if edgequant_ir::checked_byte_size("", ty.dtype, &ty.shape).is_err() {
                return Err(n.err(format!(
                    "{} output shape {:?} of {} is larger than the {} byte limit of one tensor",
                    op.name(),
                    ty.shape,
                    ty.dtype,
                    edgequant_ir::MAX_TENSOR_BYTES
                )));
            }
        }
        let mut ids = Vec::with_capacity(outs.len());
        for (ty, name) in types.into_iter().zip(outs) {
            ids.push(self.add_tensor(Tensor::new(*name, ty.dtype, ty.shape)));
        }
        let node_name = if outs.len() == 1 && outs[0] != n.name {
            format!("{}:{}", n.name, op.name())
        } else {
            n.name.clone()
        };
        self.g.add_node(node_name, op, inputs, ids.clone());
        let idx = self.g.nodes.len() - 1;
        for &id in &ids {
            self.producer.insert(id, idx);
        }
        Ok(ids)
    }

    /// Emits a single-output IR node.
    pub fn emit1(
        &mut self,
        n: &NodeView,
        op: impl Into<Op>,
        inputs: Vec<Option<TensorId>>,
        out: &str,
    ) -> Result<TensorId> {
        let ids = self.emit(n, op, inputs, &[out])?;
        ids.into_iter()
            .next()
            .ok_or_else(|| n.err("op produced no output"))
    }

    /// Physical shape of an IR tensor.
    pub fn shape(&self, id: TensorId) -> &[usize] {
        &self.g.tensor(id).shape
    }

    /// Logical (ONNX) shape of a value.
    pub fn logical_shape(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Const(c) => c.shape.clone(),
            Value::Act(a) => layout::logical_shape(self.shape(a.id), &a.layout),
        }
    }

    /// IR dtype of a value.
    pub fn dtype(&self, v: &Value) -> DType {
        match v {
            Value::Const(c) => c.dtype,
            Value::Act(a) => self.g.tensor(a.id).dtype,
        }
    }

    /// Input `i` of node `n`; `None` when absent. Errors when the name has no value.
    pub fn input(&self, n: &NodeView, i: usize) -> Result<Option<Value>> {
        match n.input_name(i) {
            None => Ok(None),
            Some(name) => {
                self.values
                    .get(name)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| OnnxError::Dangling {
                        node: n.name.clone(),
                        op: n.op.clone(),
                        value: name.to_string(),
                    })
            }
        }
    }

    /// Required input `i` of node `n`.
    pub fn req(&self, n: &NodeView, i: usize, what: &str) -> Result<Value> {
        self.input(n, i)?
            .ok_or_else(|| n.err(format!("missing input {i} ({what})")))
    }

    /// Optional constant input `i`; errors when present but computed at run time.
    pub fn const_opt(&self, n: &NodeView, i: usize, what: &str) -> Result<Option<Rc<Const>>> {
        match self.input(n, i)? {
            None => Ok(None),
            Some(Value::Const(c)) => Ok(Some(c)),
            Some(Value::Act(_)) => Err(n.err(format!(
                "input {i} ('{}', {what}) must be a constant (initializer or foldable subgraph)",
                n.input_name(i).unwrap_or("")
            ))),
        }
    }

    /// Required constant input `i`.
    pub fn const_req(&self, n: &NodeView, i: usize, what: &str) -> Result<Rc<Const>> {
        self.const_opt(n, i, what)?
            .ok_or_else(|| n.err(format!("missing input {i} ({what})")))
    }

    /// Number of readers of an ONNX name.
    pub fn use_count(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    /// True when IR tensor `id` holds an ONNX value read by exactly one node and is no graph
    /// input or output, so its producer may be rewritten.
    pub fn single_use(&self, id: TensorId) -> bool {
        self.onnx_name
            .get(&id)
            .is_some_and(|n| self.use_count(n) == 1)
            && !self.g.inputs.contains(&id)
            && !self.g.outputs.contains(&id)
    }

    /// The value as an IR tensor in layout `target` (same rank). Constants are permuted at
    /// import time; activations get a TRANSPOSE (or a RESHAPE when only size-1 dims move).
    pub fn in_layout(&mut self, n: &NodeView, v: &Value, target: &[usize]) -> Result<TensorId> {
        match v {
            Value::Const(c) => {
                if c.shape.len() != target.len() {
                    return Err(n.err(format!(
                        "constant of shape {:?} where rank {} is needed",
                        c.shape,
                        target.len()
                    )));
                }
                let name = format!("{}/const", n.name);
                self.add_const(&name, &c.permuted(target))
            }
            Value::Act(a) => self.convert_layout(n, a, target),
        }
    }

    /// The activation converted to layout `target` (cached per tensor and layout).
    pub fn convert_layout(&mut self, n: &NodeView, a: &Act, target: &[usize]) -> Result<TensorId> {
        if a.layout == target {
            return Ok(a.id);
        }
        if a.layout.len() != target.len() {
            return Err(n.err(format!(
                "internal: layout {:?} vs {:?} rank mismatch",
                a.layout, target
            )));
        }
        if let Some(&id) = self.converted.get(&(a.id, target.to_vec())) {
            return Ok(id);
        }
        let perm = layout::transition(&a.layout, target);
        let shape = self.shape(a.id).to_vec();
        let new_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let base = self.g.tensor(a.id).name.clone();
        let suffix = if layout::is_identity(target) {
            "onnx_layout"
        } else if target == layout::NHWC {
            "nhwc"
        } else {
            "transposed"
        };
        let out_name = format!("{base}/{suffix}");
        let id = if layout::is_trivial_transpose(&shape, &perm) {
            self.reshape(n, a.id, &new_shape, &out_name)?
        } else {
            let p: Vec<i64> = perm.iter().map(|&x| x as i64).collect();
            let pt = self.i32_const(&format!("{out_name}/perm"), vec![p.len()], &p)?;
            self.emit1(n, Transpose, vec![Some(a.id), Some(pt)], &out_name)?
        };
        self.converted.insert((a.id, target.to_vec()), id);
        Ok(id)
    }

    /// Emits a RESHAPE of `x` to `shape` (no-op when the shape is already that).
    pub fn reshape(
        &mut self,
        n: &NodeView,
        x: TensorId,
        shape: &[usize],
        out: &str,
    ) -> Result<TensorId> {
        if self.shape(x) == shape {
            return Ok(x);
        }
        let s: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let st = self.i32_const(&format!("{out}/shape"), vec![s.len()], &s)?;
        self.emit1(
            n,
            Reshape { new_shape: Some(s) },
            vec![Some(x), Some(st)],
            out,
        )
    }

    /// The value in plain (ONNX) layout as an IR tensor.
    pub fn plain(&mut self, n: &NodeView, v: &Value) -> Result<TensorId> {
        let r = self.logical_shape(v).len();
        self.in_layout(n, v, &layout::identity(r))
    }

    /// An operand broadcast against a result of rank `rank` in layout `target`: constants are
    /// extended with leading 1s, permuted, then stripped of leading 1s; lower-rank activations
    /// are reshaped to full rank first.
    pub fn operand(&mut self, n: &NodeView, v: &Value, target: &[usize]) -> Result<TensorId> {
        let rank = target.len();
        let shape = self.logical_shape(v);
        if shape.len() > rank {
            return Err(n.err(format!(
                "operand of rank {} exceeds result rank {rank}",
                shape.len()
            )));
        }
        let mut full = vec![1; rank - shape.len()];
        full.extend_from_slice(&shape);
        match v {
            Value::Const(c) => {
                let mut p = c.reshaped(full).permuted(target);
                let lead = p.shape.iter().take_while(|&&d| d == 1).count();
                if lead == p.shape.len() && !p.shape.is_empty() {
                    p.shape = vec![1];
                } else {
                    p.shape.drain(..lead);
                }
                let name = format!("{}/const", n.name);
                self.add_const(&name, &p)
            }
            Value::Act(a) if a.layout.len() == rank => self.convert_layout(n, a, target),
            Value::Act(_) => {
                let x = self.plain(n, v)?;
                let name = format!("{}/expanded", self.g.tensor(x).name);
                let r = self.reshape(n, x, &full, &name)?;
                self.convert_layout(
                    n,
                    &Act {
                        id: r,
                        layout: layout::identity(rank),
                    },
                    target,
                )
            }
        }
    }

    /// The layout of the first activation among `vals` whose rank is `rank`, else plain.
    pub fn pick_layout(&self, vals: &[&Value], rank: usize) -> Vec<usize> {
        vals.iter()
            .find_map(|v| match v {
                Value::Act(a) if a.layout.len() == rank => Some(a.layout.clone()),
                _ => None,
            })
            .unwrap_or_else(|| layout::identity(rank))
    }
}
