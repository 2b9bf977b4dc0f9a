use crate::{Graph, Pass, Result};

/// Removes nodes whose outputs reach no graph output, then unused tensors.
pub struct DeadCode;

impl Pass for DeadCode {
    fn name(&self) -> &'static str {
        "dead-code"
    }

    fn run(&self, graph: &mut Graph) -> Result<bool> {
        let producers = graph.producers();
        let mut live_t = vec![false; graph.tensors.len()];
        let mut live_n = vec![false; graph.nodes.len()];
        let mut stack: Vec<usize> = graph.outputs.iter().map(|t| t.0).collect();
        while let Some(t) = stack.pop() {
            if std::mem::replace(&mut live_t[t], true) {
                continue;
            }
            if let Some(n) = producers[t] {
                if !std::mem::replace(&mut live_n[n.0], true) {
                    stack.extend(graph.nodes[n.0].inputs.iter().flatten().map(|t| t.0));
                }
            }
        }
        let before = graph.nodes.len();
        let mut i = 0;
        graph.nodes.retain(|_| {
            i += 1;
            live_n[i - 1]
        });
        let before_t = graph.tensors.len();
        graph.compact();
        Ok(graph.nodes.len() != before || graph.tensors.len() != before_t)
    }
}
