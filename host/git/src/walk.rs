//! Ahead, behind and merge bases of one branch against the base, on a [`CommitGraph`] whose
//! base history is the index prefix `0..base_len`.
//!
//! A branch is walked in two phases. First its own commits (indices `>= base_len`): they are
//! the `ahead` commits, and the base commits they reach form the frontier. Then the frontier is
//! walked through the base history in descending index order (parents always have smaller
//! indices), until the first commit on the base's first-parent chain: its history is exactly
//! the prefix up to it, so everything below is common without being visited.

use std::collections::BinaryHeap;

use super::graph::CommitGraph;

/// How one branch lines up with the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    pub ahead: u32,
    pub behind: u32,
    /// Best common ancestors, as graph indices.
    pub merge_bases: Vec<u32>,
}

/// Walk state reused across branches: marks are generation stamps, so resetting is O(1).
pub struct Walker {
    seen: Vec<u32>,
    /// Stamped when a commit is the parent of a common commit (so not a best one).
    below_common: Vec<u32>,
    generation: u32,
    stack: Vec<u32>,
    heap: BinaryHeap<u32>,
}

impl Walker {
    /// A walker for graphs of `len` commits.
    pub fn new(len: usize) -> Self {
        Walker {
            seen: vec![0; len],
            below_common: vec![0; len],
            generation: 0,
            stack: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// Aligns the branch whose tip is commit `tip`; fails on a commit it needs but cannot read.
    pub fn align(&mut self, graph: &CommitGraph, tip: u32) -> Result<Alignment, String> {
        self.generation += 1;
        let generation = self.generation;
        let base_len = graph.base_len();
        self.heap.clear();
        self.stack.clear();

        // Phase 1: the branch's own commits.
        let mut ahead = 0u32;
        self.seen[tip as usize] = generation;
        if tip < base_len {
            self.heap.push(tip);
        } else {
            self.stack.push(tip);
        }
        while let Some(c) = self.stack.pop() {
            if let Some(reason) = graph.missing(c) {
                return Err(reason.to_string());
            }
            ahead += 1;
            for &p in graph.parents(c) {
                if self.seen[p as usize] != generation {
                    self.seen[p as usize] = generation;
                    if p < base_len {
                        self.heap.push(p);
                    } else {
                        self.stack.push(p);
                    }
                }
            }
        }

        // Phase 2: the common history, highest index first.
        let mut common = 0u32;
        let mut merge_bases = Vec::new();
        while let Some(c) = self.heap.pop() {
            let best = self.below_common[c as usize] != generation;
            if best {
                merge_bases.push(c);
            }
            if graph.on_first_parent_chain(c) {
                // Everything left in the heap is below `c`, hence in its history.
                common += c + 1;
                break;
            }
            common += 1;
            for &p in graph.parents(c) {
                self.below_common[p as usize] = generation;
                if self.seen[p as usize] != generation {
                    self.seen[p as usize] = generation;
                    self.heap.push(p);
                }
            }
        }
        Ok(Alignment {
            ahead,
            behind: base_len - common,
            merge_bases,
        })
    }
}
