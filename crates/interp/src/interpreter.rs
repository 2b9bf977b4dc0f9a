mod fuse;
mod memory;
mod staged;
pub use memory::MemoryPlan;
pub use staged::StagedRun;

use crate::ops::{self, Ctx, Inputs, Io, Kernel, Slot};
use crate::pool::Pool;
use crate::value::numel;
use crate::{InterpError, TensorValue};
use edgequant_ir::{DType, Graph, TensorId};
use edgequant_kernels::Parallelism;
use std::sync::{Arc, Mutex};

/// One prepared node.
struct Step {
    name: String,
    op: &'static str,
    kernel: Box<dyn Kernel>,
    /// Operand ids, `None` for absent operands and operands the kernel does not read.
    inputs: Vec<Option<TensorId>>,
    /// Per operand: this is the value's last use and it is used once here, so the kernel may
    /// take (and reuse) its buffer.
    take: Vec<bool>,
    outputs: Vec<TensorId>,
    /// Values dead after this step.
    frees: Vec<TensorId>,
}

/// Static type of a tensor.
#[derive(Clone, Debug)]
struct Meta {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
}

/// A prepared graph, ready to run any number of times (`run` takes `&self`; concurrent runs
/// are allowed).
///
/// See the [crate documentation](crate) for what preparation does.
pub struct Interpreter {
    meta: Vec<Meta>,
    /// Constant values by tensor id: graph constants and folded node outputs that some step
    /// reads at run time or that are graph outputs.
    consts: Vec<Option<Arc<TensorValue>>>,
    steps: Vec<Step>,
    inputs: Vec<TensorId>,
    outputs: Vec<TensorId>,
    par: Parallelism,
    pool: Mutex<Pool>,
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field(
                "steps",
                &self
                    .steps
                    .iter()
                    .map(|s| (&s.name, s.op))
                    .collect::<Vec<_>>(),
            )
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("parallelism", &self.par)
            .finish()
    }
}

impl Interpreter {
    /// Validates `graph`, orders its nodes topologically and prepares every node once.
    ///
    /// Errors: [`InterpError::Graph`] for a structurally invalid graph or a tensor larger than
    /// [`edgequant_ir::MAX_TENSOR_BYTES`] (checked before anything is allocated);
    /// [`InterpError::Prepare`] when a node's operands, attributes or stored output types are
    /// inconsistent (each node's output types are re-inferred and compared);
    /// [`InterpError::Unsupported`] for ops, dtypes or operand forms this interpreter does not
    /// run (e.g. arithmetic on int8 activations, run-time convolution weights).
    pub fn new(graph: &Graph) -> Result<Interpreter, InterpError> {
        Self::prepare(graph, true)
    }

    /// [`Interpreter::new`] without composing consecutive per-channel table steps, so that
    /// [`Interpreter::run_with_hook`] reports every tensor any node computes (for per-tensor
    /// comparisons). Results are identical; only the composed steps' speed-up is lost.
    pub fn new_unfused(graph: &Graph) -> Result<Interpreter, InterpError> {
        Self::prepare(graph, false)
    }

    fn prepare(graph: &Graph, compose: bool) -> Result<Interpreter, InterpError> {
        graph.validate()?;
        for t in &graph.tensors {
            edgequant_ir::checked_byte_size(&t.name, t.dtype, &t.shape)?;
        }
        let order = graph.topo_order()?;
        let meta: Vec<Meta> = graph
            .tensors
            .iter()
            .map(|t| Meta {
                name: t.name.clone(),
                dtype: t.dtype,
                shape: t.shape.clone(),
            })
            .collect();
        let mut consts: Vec<Option<Arc<TensorValue>>> = Vec::with_capacity(graph.tensors.len());
        for t in &graph.tensors {
            consts.push(match t.data {
                Some(_) => Some(Arc::new(TensorValue::from_tensor(t)?)),
                None => None,
            });
        }
        let mut pool = Pool::default();
        let mut steps = Vec::new();
        for id in order {
            let node = &graph.nodes[id.0];
            let op = node.op.name();
            let ctx = Ctx {
                graph,
                node,
                consts: &consts,
            };
            ctx.check_types()?;
            let kernel = ops::prepare(&ctx)?;
            let inputs: Vec<Option<TensorId>> = node
                .inputs
                .iter()
                .enumerate()
                .map(|(i, t)| t.filter(|_| kernel.reads(i)))
                .collect();
            let foldable = inputs
                .iter()
                .flatten()
                .all(|t| consts.get(t.0).is_some_and(Option::is_some));
            if foldable {
                // All read operands are constants: compute once now.
                let slots = inputs
                    .iter()
                    .map(|t| match t.and_then(|t| consts[t.0].as_deref()) {
                        Some(v) => Slot::Ref(v),
                        None => Slot::None,
                    })
                    .collect();
                let mut io = Io {
                    ins: Inputs { slots },
                    outs: vec![None; node.outputs.len()],
                    pool: &mut pool,
                    par: Parallelism::Rayon,
                };
                kernel.run(&mut io).map_err(|reason| InterpError::Execute {
                    node: node.name.clone(),
                    op: op.to_string(),
                    reason,
                })?;
                let outs = std::mem::take(&mut io.outs);
                drop(io);
                for (&o, v) in node.outputs.iter().zip(outs) {
                    let v = check_output(&meta, o, v).map_err(|reason| InterpError::Execute {
                        node: node.name.clone(),
                        op: op.to_string(),
                        reason,
                    })?;
                    consts[o.0] = Some(Arc::new(v));
                }
                continue;
            }
            steps.push(Step {
                name: node.name.clone(),
                op,
                kernel,
                take: vec![false; inputs.len()],
                inputs,
                outputs: node.outputs.clone(),
                frees: Vec::new(),
            });
        }
        let mut it = Interpreter {
            meta,
            consts,
            steps,
            inputs: graph.inputs.clone(),
            outputs: graph.outputs.clone(),
            par: Parallelism::Rayon,
            pool: Mutex::new(Pool::default()),
        };
        if compose {
            it.fuse_float_islands();
            it.fuse_channel_tables();
        }
        it.plan_lifetimes();
        Ok(it)
    }

    /// Sets whether kernels may use rayon's thread pool (default [`Parallelism::Rayon`]).
    pub fn with_parallelism(mut self, par: Parallelism) -> Self {
        self.par = par;
        self
    }

    /// The graph's input tensor ids, in order.
    pub fn inputs(&self) -> &[TensorId] {
        &self.inputs
    }

    /// The graph's output tensor ids, in order.
    pub fn outputs(&self) -> &[TensorId] {
        &self.outputs
    }

    /// Number of nodes executed per run (nodes folded at preparation excluded).
    pub fn num_steps(&self) -> usize {
        self.steps.len()
    }

    /// Computes, per step, which values die there and which operands the kernel may take;
    /// drops constants that no step reads and no output needs.
    fn plan_lifetimes(&mut self) {
        let n = self.meta.len();
        let mut last_use: Vec<Option<usize>> = vec![None; n];
        for (s, step) in self.steps.iter().enumerate() {
            for t in step.inputs.iter().flatten() {
                last_use[t.0] = Some(s);
            }
        }
        let mut keep = vec![false; n];
        for t in &self.outputs {
            keep[t.0] = true;
        }
        for (s, step) in self.steps.iter_mut().enumerate() {
            for (i, t) in step.inputs.iter().enumerate() {
                let Some(t) = t else { continue };
                let once = step.inputs.iter().flatten().filter(|u| *u == t).count() == 1;
                let is_const = self.consts[t.0].is_some();
                if last_use[t.0] == Some(s) && !keep[t.0] && !is_const {
                    step.take[i] = once;
                    if !step.frees.contains(t) {
                        step.frees.push(*t);
                    }
                }
            }
            // Outputs nobody reads die right away (after the hook saw them).
            for o in &step.outputs {
                if last_use[o.0].is_none() && !keep[o.0] {
                    step.frees.push(*o);
                }
            }
        }
        let mut needed = keep;
        for step in &self.steps {
            for t in step.inputs.iter().flatten() {
                needed[t.0] = true;
            }
        }
        for (c, need) in self.consts.iter_mut().zip(needed) {
            if !need {
                *c = None;
            }
        }
    }

    /// Runs the graph on `inputs` (one value per graph input, in order) and returns the
    /// graph outputs in order. Errors name the offending input or node.
    pub fn run(&self, inputs: Vec<TensorValue>) -> Result<Vec<TensorValue>, InterpError> {
        self.run_with_hook(inputs, &mut |_, _| {})
    }

    /// [`Interpreter::run`], calling `hook(id, value)` for every graph input and then for
    /// every tensor computed at run time, in execution order, as soon as it is computed
    /// (before its buffer can be reused). Outputs of nodes folded at preparation (constant
    /// subgraphs such as DEQUANTIZE of weights, SHAPE of static tensors) are not reported, nor,
    /// unless prepared by [`Interpreter::new_unfused`], the intermediates of composed
    /// per-channel table steps (an int8 MUL by a per-channel constant read only by an ADD of
    /// one).
    pub fn run_with_hook(
        &self,
        inputs: Vec<TensorValue>,
        hook: &mut dyn FnMut(TensorId, &TensorValue),
    ) -> Result<Vec<TensorValue>, InterpError> {
        self.check_inputs(&inputs)?;
        let mut store: Vec<Option<TensorValue>> = (0..self.meta.len()).map(|_| None).collect();
        for (&id, v) in self.inputs.iter().zip(inputs) {
            hook(id, &v);
            store[id.0] = Some(v);
        }
        let mut pool = match self.pool.try_lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => Pool::default(),
        };
        let result = self.execute(0..self.steps.len(), &mut store, &mut pool, hook);
        let outputs = result.and_then(|()| self.collect_outputs(&mut store));
        for v in store.into_iter().flatten() {
            pool.recycle(v);
        }
        if let Ok(mut p) = self.pool.try_lock() {
            p.merge(pool);
        }
        outputs
    }

    fn check_inputs(&self, inputs: &[TensorValue]) -> Result<(), InterpError> {
        if inputs.len() != self.inputs.len() {
            return Err(InterpError::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        for (index, (id, v)) in self.inputs.iter().zip(inputs).enumerate() {
            let m = &self.meta[id.0];
            if v.dtype() != m.dtype {
                return Err(InterpError::InputType {
                    name: m.name.clone(),
                    index,
                    expected: m.dtype,
                    got: v.dtype(),
                });
            }
            if v.shape != m.shape || numel(&v.shape) != Some(v.data.len()) {
                return Err(InterpError::InputShape {
                    name: m.name.clone(),
                    index,
                    expected: m.shape.clone(),
                    got: if numel(&v.shape) == Some(v.data.len()) {
                        v.shape.clone()
                    } else {
                        vec![v.data.len()]
                    },
                });
            }
        }
        Ok(())
    }

    fn execute(
        &self,
        range: std::ops::Range<usize>,
        store: &mut [Option<TensorValue>],
        pool: &mut Pool,
        hook: &mut dyn FnMut(TensorId, &TensorValue),
    ) -> Result<(), InterpError> {
        for step in &self.steps[range] {
            let fail = |reason: String| InterpError::Execute {
                node: step.name.clone(),
                op: step.op.to_string(),
                reason,
            };
            // Move out the operands that die here, then borrow the rest.
            let mut owned: Vec<Option<TensorValue>> = step
                .inputs
                .iter()
                .zip(&step.take)
                .map(|(t, &take)| match t {
                    Some(t) if take => store[t.0].take(),
                    _ => None,
                })
                .collect();
            let outs = {
                let mut slots = Vec::with_capacity(step.inputs.len());
                for (i, t) in step.inputs.iter().enumerate() {
                    let slot = match (t, owned[i].take()) {
                        (None, _) => Slot::None,
                        (Some(_), Some(v)) => Slot::Owned(v),
                        (Some(t), None) => {
                            match self.consts[t.0].as_deref().or(store[t.0].as_ref()) {
                                Some(v) => Slot::Ref(v),
                                None => {
                                    return Err(fail(format!(
                                        "operand {i} ('{}') has no value",
                                        self.meta[t.0].name
                                    )))
                                }
                            }
                        }
                    };
                    slots.push(slot);
                }
                let mut io = Io {
                    ins: Inputs { slots },
                    outs: vec![None; step.outputs.len()],
                    pool: &mut *pool,
                    par: self.par,
                };
                step.kernel.run(&mut io).map_err(&fail)?;
                let Io {
                    ins, outs, pool, ..
                } = io;
                // Recycle operands the kernel did not consume.
                for s in ins.slots {
                    if let Slot::Owned(v) = s {
                        pool.recycle(v);
                    }
                }
                outs
            };
            for (&o, v) in step.outputs.iter().zip(outs) {
                let v = check_output(&self.meta, o, v).map_err(&fail)?;
                hook(o, &v);
                store[o.0] = Some(v);
            }
            for t in &step.frees {
                if let Some(v) = store[t.0].take() {
                    pool.recycle(v);
                }
            }
        }
        Ok(())
    }

    fn collect_outputs(
        &self,
        store: &mut [Option<TensorValue>],
    ) -> Result<Vec<TensorValue>, InterpError> {
        let mut out = Vec::with_capacity(self.outputs.len());
        for (i, &t) in self.outputs.iter().enumerate() {
            let repeated = self.outputs[i + 1..].contains(&t);
            let v = match (repeated, store[t.0].take()) {
                (false, Some(v)) => v,
                (true, Some(v)) => {
                    let c = v.clone();
                    store[t.0] = Some(v);
                    c
                }
                (_, None) => match self.consts[t.0].as_deref() {
                    Some(c) => c.clone(),
                    None => {
                        return Err(InterpError::Value(format!(
                            "graph output '{}' was not computed",
                            self.meta[t.0].name
                        )))
                    }
                },
            };
            out.push(v);
        }
        Ok(out)
    }
}

/// Checks that a kernel produced output `o` with its static type.
fn check_output(meta: &[Meta], o: TensorId, v: Option<TensorValue>) -> Result<TensorValue, String> {
    let m = &meta[o.0];
    let v = v.ok_or_else(|| format!("produced no value for '{}'", m.name))?;
    if v.dtype() != m.dtype || v.shape != m.shape || numel(&v.shape) != Some(v.data.len()) {
        return Err(format!(
            "produced {} {:?} ({} elements) for '{}', expected {} {:?}",
            v.dtype(),
            v.shape,
            v.data.len(),
            m.name,
            m.dtype,
            m.shape
        ));
    }
    Ok(v)
}
