//! An in-memory commit graph of everything reachable from the base and the branch tips,
//! numbered so that alignment is index arithmetic.
//!
//! Commits are numbered depth-first from the base tip, first parent first, parents before
//! children. The base's history is then exactly the prefix `0..base_len`, and for a commit
//! `c` on the base's first-parent chain, the history of `c` is exactly the prefix `0..=c`
//! (its first parent's history is numbered first, then what its other parents add, then `c`).
//! Parents come from the commit-graph file when there is one, else from a parallel scan of the
//! packs (see [`super::packscan`]), and what neither has from decoding commits one by one.

use std::collections::HashSet;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::prelude::Find;

use super::commitgraph;
use super::error::{BoxError, ObjectError, ObjectKind};
use super::facts::Signature;
use super::packscan::{CommitTable, Parent};

/// What the tip commits say about themselves (the rest of the graph keeps only parents).
#[derive(Debug, Clone)]
pub struct TipInfo {
    pub author: Signature,
    pub committer: Signature,
    pub summary: String,
}

/// Commits reachable from the tips it was loaded from.
pub struct CommitGraph {
    /// Where commit `i`'s id is: ids are read only for the few commits reported (merge bases,
    /// diff bases), not copied for every commit loaded.
    keys: Vec<Key>,
    /// The commit-graph file or pack table positions point into.
    known: Option<Positions>,
    /// The ids of commits read from the object database.
    loose_ids: Vec<ObjectId>,
    /// `parents[parent_start[i]..parent_start[i + 1]]` are the parents of commit `i`.
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    /// Commits that could not be read, and why; they have no parents in the graph.
    missing: std::collections::HashMap<u32, String>,
    /// Commits `0..base_len` are the history of the base tip.
    base_len: u32,
    /// Whether commit `i` is on the base's first-parent chain.
    first_parent: Vec<bool>,
    /// Where most parents came from.
    source: ParentSource,
    /// Packs whose commits came from the commit cache, and packs scanned.
    commit_cache: crate::profile::CacheUse,
}

/// Where the parents of most commits were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentSource {
    /// git's commit-graph file.
    CommitGraph,
    /// A scan of the packs (or its cache).
    PackScan,
    /// Decoding commits one by one.
    Objects,
}

impl ParentSource {
    /// Its name in the scan profile.
    pub fn name(self) -> &'static str {
        match self {
            ParentSource::CommitGraph => "commit-graph",
            ParentSource::PackScan => "pack-scan",
            ParentSource::Objects => "objects",
        }
    }
}

/// Commits whose parents are known up front, by position.
enum Positions {
    Graph(Box<gix::commitgraph::Graph>),
    Table(CommitTable),
}

impl Positions {
    fn len(&self) -> usize {
        match self {
            Positions::Graph(g) => g.num_commits() as usize,
            Positions::Table(t) => t.len(),
        }
    }

    fn lookup(&self, id: &gix::oid) -> Option<u32> {
        match self {
            Positions::Graph(g) => g.lookup(id).map(|p| p.0),
            Positions::Table(t) => t.lookup(id),
        }
    }

    fn id_at(&self, pos: u32) -> ObjectId {
        match self {
            Positions::Graph(g) => g.id_at(gix::commitgraph::Position(pos)).to_owned(),
            Positions::Table(t) => t.id_at(pos),
        }
    }
}

/// A commit while loading: a position in the commit-graph file or pack table, or one decoded
/// from the odb.
#[derive(Clone, Copy)]
enum Key {
    Pos(u32),
    Loose(u32),
}

const UNSEEN: u32 = u32::MAX;
/// On the depth-first stack; seeing it again would be a cycle (only in corrupt histories).
const ACTIVE: u32 = u32::MAX - 1;

struct Frame {
    key: Key,
    /// This frame's parents are `keys[start..end]`.
    start: usize,
    end: usize,
    next: usize,
    failure: Option<String>,
}

struct Loader<'r> {
    repo: &'r gix::Repository,
    known: Option<Positions>,
    shallow: HashSet<ObjectId>,
    pos_state: Vec<u32>,
    loose_ids: Vec<ObjectId>,
    loose_state: Vec<u32>,
    loose_index: gix::hashtable::HashMap<ObjectId, u32>,
    frames: Vec<Frame>,
    keys: Vec<Key>,
    scratch: Vec<u32>,
    buf: Vec<u8>,
    out: CommitGraph,
}

impl CommitGraph {
    /// Loads the history of `base` and of every tip; returns the graph, the base's index and
    /// each tip's index. The shallow boundary is respected (boundary commits have no parents).
    /// Without a commit-graph, the packs are scanned, with per-pack results cached in
    /// `pack_cache` when given.
    pub fn load(
        repo: &gix::Repository,
        base: ObjectId,
        tips: &[ObjectId],
        pack_cache: Option<&std::path::Path>,
    ) -> (Self, Vec<u32>) {
        let known = match commitgraph::open(repo) {
            Some(graph) => Some(Positions::Graph(Box::new(graph))),
            // Shallow histories are small and their boundary must cut parents off.
            None if !repo.is_shallow().unwrap_or(true) => {
                CommitTable::load(repo, pack_cache).map(Positions::Table)
            }
            None => None,
        };
        let commit_cache = match &known {
            Some(Positions::Table(table)) => table.cache_use(),
            _ => Default::default(),
        };
        let source = match &known {
            Some(Positions::Graph(_)) => ParentSource::CommitGraph,
            Some(Positions::Table(_)) => ParentSource::PackScan,
            None => ParentSource::Objects,
        };
        let shallow: HashSet<ObjectId> = repo
            .shallow_commits()
            .ok()
            .flatten()
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default();
        let positions = known.as_ref().map_or(0, Positions::len);
        let mut loader = Loader {
            repo,
            shallow,
            pos_state: vec![UNSEEN; positions],
            loose_ids: Vec::new(),
            loose_state: Vec::new(),
            loose_index: Default::default(),
            frames: Vec::new(),
            keys: Vec::new(),
            scratch: Vec::new(),
            buf: Vec::new(),
            out: CommitGraph {
                keys: Vec::with_capacity(positions),
                known: None,
                loose_ids: Vec::new(),
                parent_start: vec![0],
                parents: Vec::with_capacity(positions + positions / 8),
                missing: Default::default(),
                base_len: 0,
                first_parent: Vec::new(),
                source,
                commit_cache,
            },
            known,
        };
        let base_index = loader.visit(base);
        loader.out.base_len = loader.out.keys.len() as u32;
        let tips = tips.iter().map(|t| loader.visit(*t)).collect();
        let mut graph = loader.out;
        graph.known = loader.known;
        graph.loose_ids = loader.loose_ids;
        graph.first_parent = vec![false; graph.keys.len()];
        let mut c = base_index;
        loop {
            graph.first_parent[c as usize] = true;
            match graph.parents(c).first() {
                Some(&p) => c = p,
                None => break,
            }
        }
        (graph, tips)
    }

    /// Number of commits in the graph.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The number of commits in the base's history; they are numbered `0..base_len`.
    pub fn base_len(&self) -> u32 {
        self.base_len
    }

    /// Whether commit `i` is on the base's first-parent chain.
    pub fn on_first_parent_chain(&self, i: u32) -> bool {
        self.first_parent[i as usize]
    }

    /// Where most parents were read from.
    pub fn parent_source(&self) -> ParentSource {
        self.source
    }

    /// Packs whose commits came from the commit cache, and packs scanned.
    pub fn commit_cache(&self) -> crate::profile::CacheUse {
        self.commit_cache
    }

    /// The object id of commit `i`.
    pub fn id(&self, i: u32) -> ObjectId {
        match self.keys[i as usize] {
            Key::Pos(p) => match &self.known {
                Some(k) => k.id_at(p),
                None => ObjectId::null(gix::hash::Kind::Sha1),
            },
            Key::Loose(l) => self.loose_ids[l as usize],
        }
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

    /// The first commit of the base's history that could not be read, if any.
    pub fn base_history_error(&self) -> Option<&str> {
        self.missing
            .iter()
            .filter(|(i, _)| **i < self.base_len)
            .min_by_key(|(i, _)| **i)
            .map(|(_, reason)| reason.as_str())
    }
}

impl Loader<'_> {
    fn key(&mut self, id: ObjectId) -> Key {
        if let Some(pos) = self.known.as_ref().and_then(|k| k.lookup(&id)) {
            return Key::Pos(pos);
        }
        let next = self.loose_ids.len() as u32;
        let index = *self.loose_index.entry(id).or_insert(next);
        if index == next {
            self.loose_ids.push(id);
            self.loose_state.push(UNSEEN);
        }
        Key::Loose(index)
    }

    fn state(&self, key: Key) -> u32 {
        match key {
            Key::Pos(p) => self.pos_state[p as usize],
            Key::Loose(l) => self.loose_state[l as usize],
        }
    }

    fn set_state(&mut self, key: Key, state: u32) {
        match key {
            Key::Pos(p) => self.pos_state[p as usize] = state,
            Key::Loose(l) => self.loose_state[l as usize] = state,
        }
    }

    /// Numbers everything reachable from `id` that is not numbered yet; returns `id`'s index.
    fn visit(&mut self, id: ObjectId) -> u32 {
        let key = self.key(id);
        if self.state(key) == UNSEEN {
            self.open(key);
        }
        while let Some(frame) = self.frames.last_mut() {
            if frame.start + frame.next < frame.end {
                let parent = self.keys[frame.start + frame.next];
                frame.next += 1;
                if self.state(parent) == UNSEEN {
                    self.open(parent);
                }
                continue;
            }
            let Some(frame) = self.frames.pop() else {
                break;
            };
            let index = self.out.keys.len() as u32;
            for k in frame.start..frame.end {
                let state = self.state(self.keys[k]);
                if state < ACTIVE {
                    self.out.parents.push(state);
                }
            }
            self.keys.truncate(frame.start);
            self.out.keys.push(frame.key);
            self.out.parent_start.push(self.out.parents.len() as u32);
            if let Some(reason) = frame.failure {
                self.out.missing.insert(index, reason);
            }
            self.set_state(frame.key, index);
        }
        self.state(key)
    }

    /// Reads the parents of `key` and pushes its frame.
    fn open(&mut self, key: Key) {
        self.set_state(key, ACTIVE);
        let start = self.keys.len();
        let failure = match key {
            Key::Pos(p) => match &self.known {
                Some(Positions::Graph(g)) => {
                    self.scratch.clear();
                    let result = commitgraph::parents(g, p, &mut self.scratch);
                    self.keys.extend(self.scratch.iter().map(|p| Key::Pos(*p)));
                    result.err()
                }
                Some(Positions::Table(t)) => {
                    // Parents outside the table are looked up after, keeping their order.
                    let parents: Vec<Parent> = t.parents(p).collect();
                    for parent in parents {
                        let k = match parent {
                            Parent::Pos(p) => Key::Pos(p),
                            Parent::Outside(id) => self.key(id),
                        };
                        self.keys.push(k);
                    }
                    None
                }
                None => None,
            },
            Key::Loose(l) => {
                let id = self.loose_ids[l as usize];
                if self.shallow.contains(&id) {
                    None
                } else {
                    match self.decode_parents(id) {
                        Ok(parents) => {
                            for parent in parents {
                                let k = self.key(parent);
                                self.keys.push(k);
                            }
                            None
                        }
                        Err(reason) => Some(reason),
                    }
                }
            }
        };
        self.frames.push(Frame {
            key,
            start,
            end: self.keys.len(),
            next: 0,
            failure,
        });
    }

    /// The parents of commit `id`, decoded from the object database.
    fn decode_parents(&mut self, id: ObjectId) -> Result<Vec<ObjectId>, String> {
        let data = match self.repo.objects.try_find(&id, &mut self.buf) {
            Ok(Some(data)) => data,
            Ok(None) => return Err(format!("commit {id} is missing from the object database")),
            Err(e) => return Err(format!("cannot read commit {id}: {e}")),
        };
        if data.kind != gix::object::Kind::Commit {
            return Err(format!("{id} is a {}, not a commit", data.kind));
        }
        let mut parents = Vec::new();
        for token in gix::objs::CommitRefIter::from_bytes(data.data, data.object_hash) {
            match token {
                Ok(gix::objs::commit::ref_iter::Token::Tree { .. }) => {}
                Ok(gix::objs::commit::ref_iter::Token::Parent { id }) => parents.push(id),
                Ok(_) => return Ok(parents),
                Err(e) => return Err(format!("commit {id} is corrupt: {e}")),
            }
        }
        Err(format!("commit {id} is corrupt: it has no author"))
    }
}

/// Reads the signatures and summary of a tip commit into `buf` (reused across calls).
///
/// Decodes the header only up to the committer: signed commits carry a signature of a
/// kilobyte or more after it, which gix would copy out to parse. The message starts after the
/// first blank line, as git finds it.
pub fn tip_info(
    repo: &gix::Repository,
    id: ObjectId,
    buf: &mut Vec<u8>,
) -> Result<TipInfo, ObjectError> {
    use gix::objs::commit::ref_iter::Token;
    let read = |e: BoxError| ObjectError::read(ObjectKind::Commit, id, e);
    let data = repo
        .objects
        .try_find(&id, buf)
        .map_err(|e| read(e.into()))?
        .ok_or(ObjectError::Missing {
            kind: ObjectKind::Commit,
            id,
        })?;
    if data.kind != gix::object::Kind::Commit {
        return Err(read(format!("it is a {}", data.kind).into()));
    }
    let mut author = None;
    let mut committer = None;
    for token in gix::objs::CommitRefIter::from_bytes(data.data, data.object_hash) {
        match token.map_err(|e| read(e.into()))? {
            Token::Author { signature } => author = Some(signature),
            Token::Committer { signature } => {
                committer = Some(signature);
                break;
            }
            _ => {}
        }
    }
    let (Some(author), Some(committer)) = (author, committer) else {
        return Err(read("it has no author or no committer".into()));
    };
    let message = data
        .data
        .find(b"\n\n")
        .map_or(&[][..], |end| &data.data[end + 2..]);
    Ok(TipInfo {
        author: signature(&author),
        committer: signature(&committer),
        summary: gix::objs::commit::MessageRef::from_bytes(message)
            .summary()
            .to_str_lossy()
            .into_owned(),
    })
}

/// Converts gix's signature into the facts model.
///
/// Name and email are trimmed of ASCII whitespace, as git's `split_ident_line` does (gix's
/// `trim` also takes Unicode spaces, through a regex automaton that showed in profiles).
pub fn signature(sig: &gix::actor::SignatureRef<'_>) -> Signature {
    let time = sig.time().unwrap_or_default();
    Signature {
        name: sig.name.trim_ascii().to_str_lossy().into_owned(),
        email: sig.email.trim_ascii().to_str_lossy().into_owned(),
        time: time.seconds,
        offset: time.offset,
    }
}
