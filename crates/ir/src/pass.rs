use crate::{Graph, Result};

/// A graph rewrite. `run` returns whether it changed the graph; it must leave the graph valid
/// (see [`Graph::validate`]).
pub trait Pass {
    /// Short name used in logs and errors.
    fn name(&self) -> &'static str;
    /// Applies the rewrite once.
    fn run(&self, graph: &mut Graph) -> Result<bool>;
}

/// Runs each pass in order, each repeated until it reports no change (at most 64 rounds).
/// Returns whether anything changed.
pub fn run_passes(graph: &mut Graph, passes: &[&dyn Pass]) -> Result<bool> {
    let mut any = false;
    for p in passes {
        for _ in 0..64 {
            if !p.run(graph)? {
                break;
            }
            any = true;
        }
    }
    Ok(any)
}
