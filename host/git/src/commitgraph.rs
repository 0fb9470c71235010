//! The commit-graph fast path: parents read from git's `commit-graph` file (and chain) as
//! positions, so loading a history of 80k commits needs no object decoding at all.

use gix::commitgraph::{Graph, Position};

/// The repository's commit-graph, when git would use it too: present, enabled by
/// `core.commitGraph`, no object replacements, and not a shallow repository (whose graph may
/// list parents beyond the shallow boundary).
pub fn open(repo: &gix::Repository) -> Option<Graph> {
    if repo.is_shallow().unwrap_or(true) {
        return None;
    }
    match repo.commit_graph_if_enabled() {
        Ok(graph) => graph,
        Err(e) => {
            // A broken commit-graph only costs speed: decoding commits gives the same answers.
            tracing::debug!("ignoring the commit-graph: {e}");
            None
        }
    }
}

/// The parents of the commit at `pos`, appended to `out`; an error names the corrupt entry.
pub fn parents(graph: &Graph, pos: u32, out: &mut Vec<u32>) -> Result<(), String> {
    for parent in graph.commit_at(Position(pos)).iter_parents() {
        match parent {
            Ok(p) => out.push(p.0),
            Err(e) => {
                return Err(format!(
                    "corrupt commit-graph entry of {}: {e}",
                    graph.id_at(Position(pos))
                ));
            }
        }
    }
    Ok(())
}
