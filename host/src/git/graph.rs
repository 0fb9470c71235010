//! An in-memory commit graph: every commit reachable from a set of tips, numbered densely,
//! with parents in compressed rows so walks are index arithmetic.

use std::collections::HashSet;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::facts::Signature;

/// What the tip commits say about themselves (the rest of the graph keeps only parents).
#[derive(Debug, Clone)]
pub struct TipInfo {
    pub author: Signature,
    pub committer: Signature,
    pub summary: String,
}

/// Commits reachable from the tips it was loaded from.
pub struct CommitGraph {
    ids: Vec<ObjectId>,
    index: gix::hashtable::HashMap<ObjectId, u32>,
    /// `parents[parent_start[i]..parent_start[i + 1]]` are the parents of commit `i`.
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    /// Commits that could not be read, and why; they have no parents in the graph.
    missing: gix::hashtable::HashMap<u32, String>,
}

impl CommitGraph {
    /// Loads every commit reachable from `tips`, stopping at the shallow boundary.
    pub fn load(repo: &gix::Repository, tips: &[ObjectId]) -> Self {
        let shallow: HashSet<ObjectId> = repo
            .shallow_commits()
            .ok()
            .flatten()
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default();
        let mut graph = CommitGraph {
            ids: Vec::new(),
            index: Default::default(),
            parent_start: vec![0],
            parents: Vec::new(),
            missing: Default::default(),
        };
        for tip in tips {
            graph.intern(*tip);
        }
        // Breadth-first in index order, so each commit's parent row is appended in turn.
        let mut next = 0usize;
        while next < graph.ids.len() {
            let id = graph.ids[next];
            match repo.find_commit(id) {
                Ok(commit) if !shallow.contains(&id) => {
                    let parent_ids: Vec<ObjectId> =
                        commit.parent_ids().map(|p| p.detach()).collect();
                    for parent in parent_ids {
                        let p = graph.intern(parent);
                        graph.parents.push(p);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    graph
                        .missing
                        .insert(next as u32, format!("cannot read commit {id}: {e}"));
                }
            }
            graph.parent_start.push(graph.parents.len() as u32);
            next += 1;
        }
        graph
    }

    fn intern(&mut self, id: ObjectId) -> u32 {
        let next = self.ids.len() as u32;
        *self.index.entry(id).or_insert_with(|| {
            self.ids.push(id);
            next
        })
    }

    /// Number of commits in the graph.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The dense index of a commit loaded into the graph.
    pub fn index_of(&self, id: &ObjectId) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The object id of commit `i`.
    pub fn id(&self, i: u32) -> ObjectId {
        self.ids[i as usize]
    }

    /// The parents of commit `i`.
    pub fn parents(&self, i: u32) -> &[u32] {
        let start = self.parent_start[i as usize] as usize;
        let end = self.parent_start[i as usize + 1] as usize;
        &self.parents[start..end]
    }

    /// Why commit `i` could not be read, if it could not.
    pub fn missing(&self, i: u32) -> Option<&str> {
        self.missing.get(&i).map(String::as_str)
    }
}

/// Reads the signatures and summary of a tip commit.
pub fn tip_info(repo: &gix::Repository, id: ObjectId) -> Result<TipInfo, String> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| format!("cannot read commit {id}: {e}"))?;
    let author = commit
        .author()
        .map_err(|e| format!("commit {id} has a malformed author: {e}"))?;
    let author = signature(&author);
    let committer = commit
        .committer()
        .map_err(|e| format!("commit {id} has a malformed committer: {e}"))?;
    let committer = signature(&committer);
    let summary = commit
        .message()
        .map(|m| m.summary().to_str_lossy().into_owned())
        .unwrap_or_default();
    Ok(TipInfo {
        author,
        committer,
        summary,
    })
}

/// Converts gix's signature into the facts model.
pub fn signature(sig: &gix::actor::SignatureRef<'_>) -> Signature {
    let time = sig.time().unwrap_or_default();
    let sig = sig.trim();
    Signature {
        name: sig.name.to_str_lossy().into_owned(),
        email: sig.email.to_str_lossy().into_owned(),
        time: time.seconds,
        offset: time.offset,
    }
}
