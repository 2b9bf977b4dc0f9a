use crate::{IrError, Op, Result, Tensor, TensorId, TensorType};

/// Index of a node in [`Graph::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// One application of an [`Op`]. `inputs` follow the op's operand order; `None` marks an omitted
/// optional operand (e.g. a convolution without bias).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Option<TensorId>>,
    pub outputs: Vec<TensorId>,
}

/// A dataflow graph: tensors, nodes, and the graph's input and output tensors in order.
///
/// Invariants checked by [`Graph::validate`]: every index is in range, each tensor has at most
/// one producer, graph inputs and constants have none, every non-constant tensor that a node
/// reads is produced or is a graph input, and the nodes form a DAG.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub name: String,
    pub tensors: Vec<Tensor>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

impl Graph {
    /// Adds a tensor and returns its id.
    pub fn add_tensor(&mut self, t: Tensor) -> TensorId {
        self.tensors.push(t);
        TensorId(self.tensors.len() - 1)
    }

    /// Adds a node and returns its id.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<TensorId>>,
        outputs: Vec<TensorId>,
    ) -> NodeId {
        self.nodes.push(Node {
            name: name.into(),
            op,
            inputs,
            outputs,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// The tensor with id `id`. Panics on an out-of-range id: ids come from this graph, and
    /// graphs built from files are checked by [`Graph::validate`] first.
    pub fn tensor(&self, id: TensorId) -> &Tensor {
        &self.tensors[id.0]
    }

    /// Mutable access to a tensor; see [`Graph::tensor`].
    pub fn tensor_mut(&mut self, id: TensorId) -> &mut Tensor {
        &mut self.tensors[id.0]
    }

    /// The producing node of every tensor (`None` for inputs and constants).
    pub fn producers(&self) -> Vec<Option<NodeId>> {
        let mut p = vec![None; self.tensors.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for o in &n.outputs {
                if let Some(slot) = p.get_mut(o.0) {
                    *slot = Some(NodeId(i));
                }
            }
        }
        p
    }

    /// The consuming nodes of every tensor, in node order.
    pub fn consumers(&self) -> Vec<Vec<NodeId>> {
        let mut c = vec![Vec::new(); self.tensors.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for t in n.inputs.iter().flatten() {
                if let Some(slot) = c.get_mut(t.0) {
                    if slot.last() != Some(&NodeId(i)) {
                        slot.push(NodeId(i));
                    }
                }
            }
        }
        c
    }

    fn check_index(&self, node: &Node, what: &'static str, t: TensorId) -> Result<()> {
        if t.0 >= self.tensors.len() {
            return Err(IrError::TensorIndex {
                node: node.name.clone(),
                op: node.op.name().to_string(),
                what,
                index: t.0,
                count: self.tensors.len(),
            });
        }
        Ok(())
    }

    /// Checks the structural invariants listed on [`Graph`] and the quantization parameters of
    /// every tensor.
    pub fn validate(&self) -> Result<()> {
        let count = self.tensors.len();
        for &t in self.inputs.iter().chain(&self.outputs) {
            if t.0 >= count {
                return Err(IrError::TensorIndex {
                    node: "<graph>".into(),
                    op: "graph input/output".into(),
                    what: "graph",
                    index: t.0,
                    count,
                });
            }
        }
        let mut produced = vec![false; count];
        for &t in &self.inputs {
            produced[t.0] = true;
        }
        for (i, t) in self.tensors.iter().enumerate() {
            if t.is_const() {
                produced[i] = true;
            }
            if let Some(q) = &t.quant {
                q.validate(&t.name, t.dtype, &t.shape)?;
            }
        }
        for n in &self.nodes {
            for &t in n.inputs.iter().flatten() {
                self.check_index(n, "input", t)?;
            }
            for &t in &n.outputs {
                self.check_index(n, "output", t)?;
                if produced[t.0] {
                    return Err(IrError::MultipleProducers {
                        tensor: self.tensors[t.0].name.clone(),
                        node: n.name.clone(),
                    });
                }
                produced[t.0] = true;
            }
        }
        for n in &self.nodes {
            for &t in n.inputs.iter().flatten() {
                if !produced[t.0] {
                    return Err(IrError::Dangling {
                        tensor: self.tensors[t.0].name.clone(),
                        node: n.name.clone(),
                    });
                }
            }
        }
        for &t in &self.outputs {
            if !produced[t.0] {
                return Err(IrError::Dangling {
                    tensor: self.tensors[t.0].name.clone(),
                    node: "<graph output>".into(),
                });
            }
        }
        self.topo_order().map(|_| ())
    }

    /// Nodes in an order where every node comes after the producers of its inputs; stable with
    /// respect to the stored order. Errors on a cycle. Assumes in-range indices.
    pub fn topo_order(&self) -> Result<Vec<NodeId>> {
        let producers = self.producers();
        let consumers = self.consumers();
        let mut indeg: Vec<usize> = self
            .nodes
            .iter()
            .map(|n| {
                let mut deps: Vec<usize> = n
                    .inputs
                    .iter()
                    .flatten()
                    .filter_map(|t| producers.get(t.0).copied().flatten().map(|p| p.0))
                    .collect();
                deps.sort_unstable();
                deps.dedup();
                deps.len()
            })
            .collect();
        let mut ready: std::collections::BTreeSet<usize> = indeg
            .iter()
            .enumerate()
            .filter(|(_, &d)| d == 0)
            .map(|(i, _)| i)
            .collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(i) = ready.pop_first() {
            order.push(NodeId(i));
            let mut next: Vec<usize> = self.nodes[i]
                .outputs
                .iter()
                .flat_map(|t| consumers.get(t.0).into_iter().flatten().map(|c| c.0))
                .collect();
            next.sort_unstable();
            next.dedup();
            for c in next {
                indeg[c] -= 1;
                if indeg[c] == 0 {
                    ready.insert(c);
                }
            }
        }
        if order.len() != self.nodes.len() {
            let stuck = indeg.iter().position(|&d| d > 0).unwrap_or(0);
            return Err(IrError::Cycle {
                node: self.nodes[stuck].name.clone(),
            });
        }
        Ok(order)
    }

    /// Reorders `nodes` topologically (see [`Graph::topo_order`]).
    pub fn sort_nodes(&mut self) -> Result<()> {
        let order = self.topo_order()?;
        let mut old: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order.iter().filter_map(|i| old[i.0].take()).collect();
        Ok(())
    }

    /// Infers the output types of node `id` from its op and current input tensors.
    pub fn infer_node(&self, id: NodeId) -> Result<Vec<TensorType>> {
        let n = &self.nodes[id.0];
        let inputs: Vec<Option<&Tensor>> =
            n.inputs.iter().map(|t| t.map(|t| self.tensor(t))).collect();
        n.op.infer(&inputs)
            .map_err(|reason| IrError::op(&n.name, n.op.name(), reason))
    }

    /// Runs shape inference over the whole graph in topological order and stores the inferred
    /// dtype and shape on every node output.
    pub fn infer_shapes(&mut self) -> Result<()> {
        for id in self.topo_order()? {
            let types = self.infer_node(id)?;
            let n = &self.nodes[id.0];
            if types.len() != n.outputs.len() {
                return Err(IrError::op(
                    &n.name,
                    n.op.name(),
                    format!(
                        "has {} outputs, op defines {}",
                        n.outputs.len(),
                        types.len()
                    ),
                ));
            }
            let outs = n.outputs.clone();
            for (t, ty) in outs.into_iter().zip(types) {
                let tensor = self.tensor_mut(t);
                tensor.dtype = ty.dtype;
                tensor.shape = ty.shape;
            }
        }
        Ok(())
    }

    /// Removes tensors that no node, graph input or graph output refers to, renumbering ids.
    pub fn compact(&mut self) {
        self.compact_with_map();
    }

    /// [`Graph::compact`], returning for every old tensor id its new id (`None` for removed
    /// tensors).
    pub fn compact_with_map(&mut self) -> Vec<Option<TensorId>> {
        let mut used = vec![false; self.tensors.len()];
        for &t in self.inputs.iter().chain(&self.outputs) {
            used[t.0] = true;
        }
        for n in &self.nodes {
            for &t in n.inputs.iter().flatten().chain(&n.outputs) {
                used[t.0] = true;
            }
        }
        let mut remap = vec![usize::MAX; self.tensors.len()];
        let mut kept = Vec::new();
        for (i, t) in std::mem::take(&mut self.tensors).into_iter().enumerate() {
            if used[i] {
                remap[i] = kept.len();
                kept.push(t);
            }
        }
        self.tensors = kept;
        let map = |t: &mut TensorId| t.0 = remap[t.0];
        self.inputs.iter_mut().for_each(map);
        self.outputs.iter_mut().for_each(map);
        for n in &mut self.nodes {
            n.inputs.iter_mut().flatten().for_each(map);
            n.outputs.iter_mut().for_each(map);
        }
        remap
            .into_iter()
            .map(|r| (r != usize::MAX).then_some(TensorId(r)))
            .collect()
    }
}
