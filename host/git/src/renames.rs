//! Renames as git's merge-ort sees them, where gix's tree merge sees them differently.
//!
//! Directory renames (`merge.directoryRenames = conflict`, git's default): when one side
//! removed a directory and renamed its files into another, a file the other side added inside
//! the old directory moves to the new one, and git reports that move as a conflict
//! (`CONFLICT (file location)`) at the new path. gix's tree merge does not detect directory
//! renames, so conflict prediction adds these paths itself.
//!
//! File renames are paired the way git pairs them: exact matches first, then git's similarity
//! estimate (`diffcore-delta`'s span hashes) of at least 50%, best score first. The same
//! estimate finds the rename/rename (1 to 2) conflicts gix's line-diff similarity misses.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

use super::changes::{Change, FileEntry};
use super::diffstat::is_binary;

/// git's `MAX_SCORE`; the default rename threshold is half of it.
const MAX_SCORE: u64 = 60_000;
const MIN_SCORE: u64 = MAX_SCORE / 2;

/// The trees of a three-way merge.
#[derive(Clone, Copy)]
pub struct MergeTrees {
    pub ancestor: ObjectId,
    pub base: ObjectId,
    pub branch: ObjectId,
}

/// Span hashes of blobs for git's similarity estimate, computed once per blob and kept per
/// worker (the base's added files are scored against every branch's deleted ones).
#[derive(Default)]
pub struct Similarity {
    spans: HashMap<ObjectId, Spans>,
    /// Bytes of span hashes in `spans`.
    span_bytes: usize,
    /// Blob sizes, which git compares before contents: reading one from a pack means decoding
    /// its delta chain's headers, and the same candidates come back branch after branch.
    sizes: HashMap<ObjectId, u64>,
}

/// A blob's size and its span hashes, sorted by hash.
struct Spans {
    size: u64,
    hashes: Vec<(u32, u64)>,
}

impl Spans {
    fn bytes(&self) -> usize {
        size_of_val(self.hashes.as_slice())
    }
}

/// Bytes of span hashes a worker keeps before starting over. A count of blobs was no bound:
/// git/git's big sources have thousands of spans each, and 8,192 blobs' worth grew a full
/// scan's anonymous memory from 100 to 225 MiB.
const SPAN_CACHE_BYTES: usize = 16 << 20;

/// Blob sizes a worker keeps before starting over (about 56 bytes each).
const SIZE_CACHE_BLOBS: usize = 65_536;

impl Similarity {
    /// Computes the spans of blob `id` unless they are kept; `keep` stays if the cache must
    /// start over (the other side of the pair being scored).
    fn load(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        keep: Option<ObjectId>,
    ) -> Result<(), String> {
        if self.spans.contains_key(&id) {
            return Ok(());
        }
        let data = read_blob(repo, id)?;
        let mut hashes: Vec<(u32, u64)> = spans(&data).into_iter().collect();
        hashes.sort_unstable();
        hashes.shrink_to_fit();
        let bytes = size_of_val(hashes.as_slice());
        if self.span_bytes + bytes > SPAN_CACHE_BYTES {
            self.spans.retain(|kept, _| Some(*kept) == keep);
            self.span_bytes = self.spans.values().map(Spans::bytes).sum();
        }
        self.span_bytes += bytes;
        self.spans.insert(
            id,
            Spans {
                size: data.len() as u64,
                hashes,
            },
        );
        Ok(())
    }

    /// The size of blob `id`, cached.
    fn size(&mut self, repo: &gix::Repository, id: ObjectId) -> Result<u64, String> {
        if let Some(size) = self.spans.get(&id).map(|s| s.size) {
            return Ok(size);
        }
        if let Some(size) = self.sizes.get(&id) {
            return Ok(*size);
        }
        let size = repo
            .find_header(id)
            .map(|h| h.size())
            .map_err(|e| format!("cannot read blob {id}: {e}"))?;
        if self.sizes.len() >= SIZE_CACHE_BLOBS {
            self.sizes.clear();
        }
        self.sizes.insert(id, size);
        Ok(size)
    }

    /// git's `estimate_similarity` of blob `src` renamed to `dst` (0 to `MAX_SCORE`).
    pub fn score(
        &mut self,
        repo: &gix::Repository,
        src: ObjectId,
        dst: ObjectId,
    ) -> Result<u64, String> {
        // git rules out pairs whose sizes differ too much before reading their contents.
        let (src_size, dst_size) = (self.size(repo, src)?, self.size(repo, dst)?);
        let (max, min) = (src_size.max(dst_size), src_size.min(dst_size));
        if max == 0 || max * (MAX_SCORE - MIN_SCORE) < (max - min) * MAX_SCORE {
            return Ok(0);
        }
        self.load(repo, src, None)?;
        self.load(repo, dst, Some(src))?;
        let (s, d) = (&self.spans[&src], &self.spans[&dst]);
        Ok(copied(&s.hashes, &d.hashes) * MAX_SCORE / s.size.max(d.size))
    }
}

/// The bytes of `src` found in `dst`, by span hash (`diffcore_count_changes`).
fn copied(src: &[(u32, u64)], dst: &[(u32, u64)]) -> u64 {
    let (mut i, mut j, mut copied) = (0, 0, 0);
    while i < src.len() && j < dst.len() {
        match src[i].0.cmp(&dst[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                copied += src[i].1.min(dst[j].1);
                i += 1;
                j += 1;
            }
        }
    }
    copied
}

/// The file renames of one side, paired as git's rename detection pairs them: source and
/// destination paths.
pub type Renames = Vec<(BString, BString)>;

/// The order merge-ort meets one side's deleted and added files in: its tree walk (path
/// order), except below directories the other side left as they were in the ancestor, and
/// directories only this side has, which it visits afterwards in hash-table order (its
/// deferred "trivial directory merges", see [`deferred_order`]). Among identical or equally
/// similar files, git pairs the first it meets.
pub struct Traversal<'r> {
    ancestor: gix::Tree<'r>,
    other: gix::Tree<'r>,
    deferred_dirs: HashMap<BString, bool>,
}

impl<'r> Traversal<'r> {
    /// The traversal of one side's changes against `other`, the other side's tree.
    pub fn new(
        repo: &'r gix::Repository,
        ancestor: ObjectId,
        other: ObjectId,
    ) -> Result<Self, String> {
        let read = |id: ObjectId| {
            repo.find_tree(id)
                .map_err(|e| format!("cannot read tree {id}: {e}"))
        };
        Ok(Traversal {
            ancestor: read(ancestor)?,
            other: read(other)?,
            deferred_dirs: HashMap::new(),
        })
    }

    fn tree_id(tree: &gix::Tree<'_>, dir: &BStr) -> Result<Option<ObjectId>, String> {
        let entry = tree
            .lookup_entry(dir.split_str("/"))
            .map_err(|e| format!("cannot look up {dir}: {e}"))?;
        Ok(entry.filter(|e| e.mode().is_tree()).map(|e| e.object_id()))
    }

    /// The directory among whose deferred entries git visits `path`, if any: the top-most of
    /// its directories git defers.
    fn deferred_dir<'p>(&mut self, path: &'p BStr) -> Result<Option<&'p BStr>, String> {
        for dir in parent_dirs(path) {
            let known = match self.deferred_dirs.get(dir) {
                Some(known) => *known,
                None => {
                    let deferred = match (
                        Self::tree_id(&self.ancestor, dir)?,
                        Self::tree_id(&self.other, dir)?,
                    ) {
                        (Some(a), Some(o)) => a == o,
                        (None, None) => true,
                        _ => false,
                    };
                    self.deferred_dirs.insert(dir.to_owned(), deferred);
                    deferred
                }
            };
            if known {
                return Ok(Some(dir));
            }
        }
        Ok(None)
    }
}

/// Where merge-ort visits the deferred directories of one side's changes: `dirs` (with
/// repeats) ranked in the order git's `strintmap` of possible trivial merges lists them.
///
/// merge-ort records each directory it defers in that map as its tree walk meets it (tree
/// order), and walks them afterwards in the map's order, which is `hashmap.c`'s: buckets in
/// index order, each chain newest first; the bucket is the FNV-1 `strhash` of the path masked
/// by the table size, which starts at 64 and grows 4× past 80% load, re-chaining entries
/// bucket by bucket.
fn deferred_order<'a>(dirs: impl IntoIterator<Item = &'a BStr>) -> HashMap<&'a BStr, u32> {
    let mut walk: Vec<&BStr> = dirs.into_iter().collect();
    // Tree order: a directory sorts as its name with a slash.
    walk.sort_by(|a, b| a.iter().chain(b"/").cmp(b.iter().chain(b"/")));
    walk.dedup();
    let strhash = |dir: &BStr| {
        dir.iter().fold(0x811c_9dc5u32, |hash, &c| {
            hash.wrapping_mul(0x0100_0193) ^ u32::from(c)
        })
    };
    // Chains as deques: names chosen to share a bucket must not make this quadratic.
    let mut table: Vec<VecDeque<usize>> = vec![VecDeque::new(); 64];
    for (i, dir) in walk.iter().enumerate() {
        let mask = table.len() - 1;
        table[strhash(dir) as usize & mask].push_front(i);
        if i + 1 > table.len() * 80 / 100 {
            let mut grown: Vec<VecDeque<usize>> = vec![VecDeque::new(); table.len() << 2];
            let mask = grown.len() - 1;
            for entry in table.into_iter().flatten() {
                grown[strhash(walk[entry]) as usize & mask].push_front(entry);
            }
            table = grown;
        }
    }
    table
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(rank, i)| (walk[i], rank as u32))
        .collect()
}

/// git's candidates kept per destination in the similarity matrix (`NUM_CANDIDATE_PER_DST`).
const CANDIDATES_PER_DESTINATION: usize = 4;
/// merge-ort's rename limit: sources times destinations above its square skip inexact pairing.
const RENAME_LIMIT: u64 = 7000;

/// The renames among `changes` (one side's changes since the ancestor), as git's
/// `diffcore_rename` finds them: exact renames among all deletions and additions (a source
/// with the destination's basename first), then, for the sources `relevant` accepts, sources
/// and destinations with a basename unique on both sides if at least 75% similar, then the
/// rest by similarity (at least 50%), best first, each file used once. Empty files are
/// neither sources nor destinations.
pub fn find_renames(
    repo: &gix::Repository,
    similarity: &mut Similarity,
    traversal: &mut Traversal<'_>,
    changes: &[Change],
    relevant: &dyn Fn(&BStr) -> bool,
) -> Result<Renames, String> {
    let empty = ObjectId::empty_blob(repo.object_hash());
    let file = |e: Option<FileEntry>| {
        e.filter(|e| !e.mode.is_tree() && !e.mode.is_commit() && e.id != empty)
    };
    // Each change's deferred directory, ranked in the order git visits them.
    let mut deferred: Vec<Option<&BStr>> = Vec::with_capacity(changes.len());
    for c in changes {
        deferred.push(traversal.deferred_dir(c.path.as_bstr())?);
    }
    let rank = deferred_order(deferred.iter().flatten().copied());
    let visit = |i: usize| deferred[i].map(|dir| rank[dir]);
    // (path, file, rank of its deferred directory), in git's order: the tree walk first
    // (path order), then the deferred directories, each in path order.
    let mut sources: Vec<(&BStr, FileEntry, Option<u32>)> = Vec::new();
    let mut dests: Vec<(&BStr, FileEntry, Option<u32>)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        match (file(c.old), file(c.new)) {
            (Some(old), None) if c.new.is_none() => sources.push((c.path.as_bstr(), old, visit(i))),
            (None, Some(new)) if c.old.is_none() => dests.push((c.path.as_bstr(), new, visit(i))),
            _ => {}
        }
    }
    sources.sort_by_key(|s| s.2);
    dests.sort_by_key(|d| d.2);
    let mut pairs = Vec::new();
    if sources.is_empty() || dests.is_empty() {
        return Ok(pairs);
    }
    let mut src_used = vec![false; sources.len()];
    let mut dst_used = vec![false; dests.len()];
    // Exact renames: destinations in order, each taking the first unused identical source,
    // preferring one with the same basename.
    let mut by_id: HashMap<ObjectId, Vec<usize>> = HashMap::new();
    for (i, (_, e, _)) in sources.iter().enumerate() {
        by_id.entry(e.id).or_default().push(i);
    }
    let compatible =
        |a: FileEntry, b: FileEntry| (a.mode.is_blob() && b.mode.is_blob()) || a.mode == b.mode;
    for (d, &(dst_path, dst, _)) in dests.iter().enumerate() {
        let Some(candidates) = by_id.get(&dst.id) else {
            continue;
        };
        let scored: Vec<(usize, u8)> = candidates
            .iter()
            .filter(|&&s| !src_used[s] && compatible(sources[s].1, dst))
            .map(|&s| {
                (
                    s,
                    1 + u8::from(basename(sources[s].0) == basename(dst_path)),
                )
            })
            .collect();
        let Some(best) = scored.iter().map(|(_, score)| *score).max() else {
            continue;
        };
        // The first of the best, in git's order.
        let Some(&(s, _)) = scored.iter().find(|(_, score)| *score == best) else {
            continue;
        };
        src_used[s] = true;
        dst_used[d] = true;
        pairs.push((sources[s].0.to_owned(), dst_path.to_owned()));
    }
    // Basename matches.
    let mut src_names: HashMap<&BStr, Option<usize>> = HashMap::new();
    for (i, (path, _, _)) in sources.iter().enumerate().filter(|(i, _)| !src_used[*i]) {
        src_names
            .entry(basename(path))
            .and_modify(|v| *v = None)
            .or_insert(Some(i));
    }
    let mut dst_names: HashMap<&BStr, Option<usize>> = HashMap::new();
    for (i, (path, _, _)) in dests.iter().enumerate().filter(|(i, _)| !dst_used[*i]) {
        dst_names
            .entry(basename(path))
            .and_modify(|v| *v = None)
            .or_insert(Some(i));
    }
    const MIN_BASENAME_SCORE: u64 = MIN_SCORE + (MAX_SCORE - MIN_SCORE) / 2;
    for s in 0..sources.len() {
        let (src_path, src, _) = sources[s];
        if src_used[s] || !relevant(src_path) {
            continue;
        }
        let (Some(Some(_)), Some(&Some(d))) = (
            src_names.get(basename(src_path)),
            dst_names.get(basename(src_path)),
        ) else {
            continue;
        };
        if dst_used[d] || !src.mode.is_blob() || !dests[d].1.mode.is_blob() {
            continue;
        }
        if similarity.score(repo, src.id, dests[d].1.id)? >= MIN_BASENAME_SCORE {
            src_used[s] = true;
            dst_used[d] = true;
            pairs.push((src_path.to_owned(), dests[d].0.to_owned()));
        }
    }
    // The similarity matrix.
    let remaining: Vec<usize> = (0..sources.len())
        .filter(|&s| !src_used[s] && relevant(sources[s].0) && sources[s].1.mode.is_blob())
        .collect();
    let open_dests: Vec<usize> = (0..dests.len())
        .filter(|&d| !dst_used[d] && dests[d].1.mode.is_blob())
        .collect();
    if remaining.is_empty()
        || open_dests.is_empty()
        || (remaining.len() as u64) * (open_dests.len() as u64) > RENAME_LIMIT * RENAME_LIMIT
    {
        return Ok(pairs);
    }
    // (score, same basename, destination, source), the best few per destination.
    let mut candidates: Vec<(u64, bool, usize, usize)> = Vec::new();
    for &d in &open_dests {
        let mut best: Vec<(u64, bool, usize, usize)> = Vec::new();
        for &s in &remaining {
            let score = similarity.score(repo, sources[s].1.id, dests[d].1.id)?;
            if score < MIN_SCORE {
                continue;
            }
            let entry = (score, basename(sources[s].0) == basename(dests[d].0), d, s);
            if best.len() < CANDIDATES_PER_DESTINATION {
                best.push(entry);
            } else if let Some(worst) = (0..best.len())
                .min_by(|&a, &b| (best[a].0, best[a].1).cmp(&(best[b].0, best[b].1)))
                .filter(|&w| (entry.0, entry.1) > (best[w].0, best[w].1))
            {
                // git replaces the first of the worst candidates, and only with a better one.
                best[worst] = entry;
            }
        }
        candidates.extend(best);
    }
    // Best first; a stable sort keeps destination order among equals, as git's does.
    candidates.sort_by_key(|&(score, same_name, _, _)| std::cmp::Reverse((score, same_name)));
    for &(_, _, d, s) in &candidates {
        if dst_used[d] || src_used[s] {
            continue;
        }
        dst_used[d] = true;
        src_used[s] = true;
        pairs.push((sources[s].0.to_owned(), dests[d].0.to_owned()));
    }
    Ok(pairs)
}

/// A directory one side renamed, as merge-ort infers it.
#[derive(Default)]
pub struct DirectoryRenames {
    /// Old directory to new directory.
    pub targets: HashMap<BString, BString>,
    /// Directories renamed to several places equally often (git's "directory rename split",
    /// a conflict without a path).
    pub split: bool,
}

/// The directories the renamer side (changes `renamer` since `ancestor`, tree
/// `renamer_tree`) renamed that matter to the files the other side added at `added`, as
/// merge-ort infers them. A directory the renamer removed counts only when the other side
/// added a file directly in it, or in a directory above it (git's `RELEVANT_FOR_SELF` and
/// `RELEVANT_FOR_ANCESTOR`): a file added in a new subdirectory of a removed directory does
/// not make that directory's rename relevant. Its files' renames vote; deeper renames vote
/// for the directories above as long as the trailing path components agree.
pub fn directory_renames(
    repo: &gix::Repository,
    similarity: &mut Similarity,
    ancestor: ObjectId,
    renamer_tree: ObjectId,
    other_tree: ObjectId,
    renamer: &[Change],
    added: &[&BStr],
) -> Result<DirectoryRenames, String> {
    let mut out = DirectoryRenames {
        targets: HashMap::new(),
        split: false,
    };
    if added.is_empty() {
        return Ok(out);
    }
    let read = |id: ObjectId| {
        repo.find_tree(id)
            .map_err(|e| format!("cannot read tree {id}: {e}"))
    };
    let (ancestor_tree, renamer_tree) = (read(ancestor)?, read(renamer_tree)?);
    let is_dir = |tree: &gix::Tree<'_>, dir: &BStr| -> Result<bool, String> {
        let entry = tree
            .lookup_entry(dir.split_str("/"))
            .map_err(|e| format!("cannot look up {dir}: {e}"))?;
        Ok(entry.is_some_and(|e| e.mode().is_tree()))
    };
    let mut removed: HashMap<BString, bool> = HashMap::new();
    let mut is_removed = |dir: &BStr| -> Result<bool, String> {
        if dir.is_empty() {
            return Ok(false);
        }
        if let Some(known) = removed.get(dir) {
            return Ok(*known);
        }
        let gone = is_dir(&ancestor_tree, dir)? && !is_dir(&renamer_tree, dir)?;
        removed.insert(dir.into(), gone);
        Ok(gone)
    };
    // Removed directories holding an added file directly.
    let mut own: BTreeSet<BString> = BTreeSet::new();
    for &path in added {
        let dir = dirname(path);
        if is_removed(dir)? {
            own.insert(dir.to_owned());
        }
    }
    if own.is_empty() {
        return Ok(out);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Relevance {
        NotRelevant,
        Ancestor,
        Own,
    }
    let relevance = |dir: &BStr,
                     is_removed: &mut dyn FnMut(&BStr) -> Result<bool, String>|
     -> Result<Relevance, String> {
        if own.contains(dir) {
            return Ok(Relevance::Own);
        }
        if !is_removed(dir)? {
            return Ok(Relevance::NotRelevant);
        }
        Ok(if parent_dirs(dir).any(|d| own.contains(d)) {
            Relevance::Ancestor
        } else {
            Relevance::NotRelevant
        })
    };
    let under_own = |path: &BStr| parent_dirs(path).any(|d| own.contains(d));
    let mut traversal = Traversal::new(repo, ancestor, other_tree)?;
    let renames = find_renames(repo, similarity, &mut traversal, renamer, &under_own)?;
    let mut counts: BTreeMap<BString, BTreeMap<BString, u32>> = BTreeMap::new();
    for (old, new) in &renames {
        let (mut old_dir, mut new_dir) = (dirname(old.as_bstr()), dirname(new.as_bstr()));
        let mut first = true;
        loop {
            if !is_removed(old_dir)? {
                break;
            }
            if !first {
                // Only while the stripped trailing components agree.
                let (old_sub, new_sub) = (&old[old_dir.len()..], &new[new_dir.len()..]);
                let component = |s: &[u8]| -> BString {
                    let s = s.strip_prefix(b"/").unwrap_or(s);
                    BString::from(s.split(|b| *b == b'/').next().unwrap_or_default())
                };
                if component(old_sub) != component(new_sub) {
                    break;
                }
            }
            let r = relevance(old_dir, &mut is_removed)?;
            if r == Relevance::Own || (first && r != Relevance::NotRelevant) {
                *counts
                    .entry(old_dir.to_owned())
                    .or_default()
                    .entry(new_dir.to_owned())
                    .or_default() += 1;
            }
            first = false;
            if r == Relevance::NotRelevant || old_dir.is_empty() || new_dir.is_empty() {
                break;
            }
            (old_dir, new_dir) = (dirname(old_dir), dirname(new_dir));
        }
    }
    // Only directories that can hold an added file matter.
    let matters = |dir: &BStr| added.iter().any(|p| parent_dirs(p).any(|d| d == dir));
    for (old, news) in counts {
        if !matters(old.as_bstr()) {
            continue;
        }
        let best = news.values().copied().max().unwrap_or(0);
        if best == 0 {
            continue;
        }
        let mut winners = news.into_iter().filter(|(_, n)| *n == best);
        let (target, _) = winners.next().expect("a best target");
        if winners.next().is_some() {
            out.split = true;
        } else {
            out.targets.insert(old, target);
        }
    }
    Ok(out)
}

/// Where git moves the files at `added` (added by one side) because the other side renamed
/// their directory (`renamed`), from and to, except into a directory the adding side renamed
/// itself (`own`); and whether several added files map to one path (git then moves none of
/// them and reports a conflict without a path).
pub fn moved_paths(
    added: &[&BStr],
    renamed: &HashMap<BString, BString>,
    own: &HashMap<BString, BString>,
) -> (Vec<(BString, BString)>, bool) {
    let mut targets: BTreeMap<BString, Vec<BString>> = BTreeMap::new();
    for &path in added {
        // The deepest renamed directory holding the path decides, as in git.
        let Some((dir, target)) = parent_dirs(path)
            .rev()
            .find_map(|d| renamed.get(d).map(|t| (d, t)))
        else {
            continue;
        };
        if own.contains_key(target) {
            continue;
        }
        let rest = &path[dir.len() + 1..];
        let mut new_path = target.clone();
        if !new_path.is_empty() {
            new_path.push(b'/');
        }
        new_path.extend_from_slice(rest);
        targets.entry(new_path).or_default().push(path.to_owned());
    }
    let collision = targets.values().any(|from| from.len() > 1);
    let moved = targets
        .into_iter()
        .filter(|(_, from)| from.len() == 1)
        .map(|(to, mut from)| (from.remove(0), to))
        .collect();
    (moved, collision)
}

/// Where git's rename detection pairs the files one side deleted and the other changed
/// (`contested`): what decides where the other side's change (or its rename/delete conflict)
/// lands. Among several identical files, or equally similar candidates, git's choice follows
/// its traversal order, which [`Traversal`] reproduces.
pub fn contested_renames(
    repo: &gix::Repository,
    similarity: &mut Similarity,
    traversal: &mut Traversal<'_>,
    side: &[Change],
    contested: &BTreeSet<&BStr>,
) -> Result<Vec<(BString, BString)>, String> {
    if contested.is_empty() {
        return Ok(Vec::new());
    }
    let renames = find_renames(repo, similarity, traversal, side, &|p| {
        contested.contains(p)
    })?;
    Ok(renames
        .into_iter()
        .filter(|(source, _)| contested.contains(source.as_bstr()))
        .collect())
}

fn read_blob(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>, String> {
    repo.find_blob(id)
        .map(|mut b| b.take_data())
        .map_err(|e| format!("cannot read blob {id}: {e}"))
}

/// git's similarity estimate of two files (0 to `MAX_SCORE`): the bytes of `dst` found in
/// `src`, counted by hashes of spans (lines, or 64 bytes), over the larger size.
#[cfg(test)]
fn similarity(src: &[u8], dst: &[u8]) -> u64 {
    let (max, min) = (
        src.len().max(dst.len()) as u64,
        src.len().min(dst.len()) as u64,
    );
    // git does not consider edits that change the size this much.
    if max == 0 || max * (MAX_SCORE - MIN_SCORE) < (max - min) * MAX_SCORE {
        return 0;
    }
    let (src_spans, dst_spans) = (spans(src), spans(dst));
    let copied: u64 = src_spans
        .iter()
        .map(|(hash, count)| (*count).min(dst_spans.get(hash).copied().unwrap_or(0)))
        .sum();
    copied * MAX_SCORE / max
}

/// Bytes per span hash, as git's `hash_chars` counts them.
fn spans(data: &[u8]) -> HashMap<u32, u64> {
    const HASHBASE: u32 = 107_927;
    let is_text = !is_binary(data);
    let mut out = HashMap::new();
    let (mut accum1, mut accum2, mut n) = (0u32, 0u32, 0u64);
    let mut i = 0;
    while i < data.len() {
        let c = u32::from(data[i]);
        i += 1;
        if is_text && c == u32::from(b'\r') && data.get(i) == Some(&b'\n') {
            continue;
        }
        let old1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old1 >> 25);
        accum1 = accum1.wrapping_add(c);
        n += 1;
        if n < 64 && c != u32::from(b'\n') {
            continue;
        }
        let hash = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *out.entry(hash).or_default() += n;
        (accum1, accum2, n) = (0, 0, 0);
    }
    if n > 0 {
        let hash = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *out.entry(hash).or_default() += n;
    }
    out
}

/// The directory of `path` (`""` for the top level).
fn dirname(path: &BStr) -> &BStr {
    path.rfind_byte(b'/')
        .map_or(b"".as_bstr(), |i| path[..i].as_bstr())
}

fn basename(path: &BStr) -> &BStr {
    path.rfind_byte(b'/')
        .map_or(path, |i| path[i + 1..].as_bstr())
}

/// The directories containing `path`, outermost first.
pub fn parent_dirs(path: &BStr) -> impl DoubleEndedIterator<Item = &BStr> {
    path.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(move |(i, _)| path[..i].as_bstr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_follows_git() {
        let a = b"one\ntwo\nthree\nfour\n";
        assert_eq!(similarity(a, a), MAX_SCORE);
        // One of four equal-sized lines changed: 3/4 of the bytes are copied.
        let b = b"one\ntwo\nthree\nfive\n";
        assert_eq!(similarity(a, b), 14 * MAX_SCORE / 19);
        assert_eq!(similarity(a, b"something else entirely\n"), 0);
        // Sizes too different to be a rename.
        assert_eq!(similarity(b"x\n", a), 0);
    }

    #[test]
    fn a_full_span_cache_keeps_the_pair_being_scored() {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        let a = b"one\ntwo\nthree\nfour\n";
        let b = b"one\ntwo\nthree\nfive\n";
        let (src, dst) = (
            repo.write_blob(a).unwrap().detach(),
            repo.write_blob(b).unwrap().detach(),
        );
        // Room for `src` only: loading `dst` starts the cache over, which must not drop `src`.
        let mut cache = Similarity {
            span_bytes: SPAN_CACHE_BYTES - spans(a).len() * size_of::<(u32, u64)>(),
            ..Similarity::default()
        };
        assert_eq!(cache.score(&repo, src, dst), Ok(similarity(a, b)));
        assert!(cache.spans.contains_key(&src) && cache.spans.contains_key(&dst));
        assert_eq!(
            cache.span_bytes,
            cache.spans.values().map(Spans::bytes).sum::<usize>()
        );
    }

    #[test]
    fn paths_split_like_git() {
        assert_eq!(dirname(b"a/b/c.txt".as_bstr()), "a/b");
        assert_eq!(dirname(b"c.txt".as_bstr()), "");
        assert_eq!(basename(b"a/b".as_bstr()), "b");
        let dirs: Vec<&BStr> = parent_dirs(b"a/b/c".as_bstr()).collect();
        assert_eq!(dirs, ["a", "a/b"]);
    }
}

#[cfg(test)]
mod git_scores {
    use super::*;

    fn stamped(path: &str) -> Vec<u8> {
        (0..12)
            .map(|i| format!("{path} line {i} version 0\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn scores_match_what_git_diff_reports() {
        // `git diff -M` calls this a 62% rename ...
        let score = similarity(&stamped("src/d4/f8292.txt"), &stamped("src/d29/f10463.txt"));
        assert_eq!(score * 100 / MAX_SCORE, 62, "{score}");
        // ... and this no rename at all.
        let score = similarity(&stamped("notes/list.txt"), &stamped("archive/old-list.txt"));
        assert!(score < MIN_SCORE, "{score}");
    }
}
