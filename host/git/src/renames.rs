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

use std::collections::{BTreeSet, HashMap};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

use super::changes::Change;
use super::diffstat::is_binary;
use super::error::{MergeError, ObjectError, ObjectKind};

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

/// The new paths of the files at `added` (added by one side) that land in directories the
/// other side — the renamer, with tree `renamer_tree` and changes `renamer` since `ancestor` —
/// removed after renaming their files elsewhere: where git moves them and reports a
/// file-location conflict. `candidates` are the directories worth checking (those holding both
/// an added path and a path the renamer deleted); the rest cannot be directory renames.
pub fn file_location_conflicts(
    repo: &gix::Repository,
    ancestor: ObjectId,
    renamer_tree: ObjectId,
    renamer: &[Change],
    added: &[&BStr],
    candidates: &BTreeSet<BString>,
) -> Result<BTreeSet<BString>, MergeError> {
    if candidates.is_empty() {
        return Ok(BTreeSet::new());
    }
    let read = |id: ObjectId| {
        repo.find_tree(id)
            .map_err(|e| ObjectError::read(ObjectKind::Tree, id, e))
    };
    let (ancestor_tree, renamer_tree) = (read(ancestor)?, read(renamer_tree)?);
    let is_dir = |tree: &gix::Tree<'_>, dir: &BStr| -> Result<bool, ObjectError> {
        let entry = tree
            .lookup_entry(dir.split_str("/"))
            .map_err(|e| ObjectError::read(ObjectKind::Tree, tree.id, e))?;
        Ok(entry.is_some_and(|e| e.mode().is_tree()))
    };
    let mut removed: HashMap<BString, bool> = HashMap::new();
    let mut is_removed = |dir: &BStr| -> Result<bool, ObjectError> {
        if let Some(known) = removed.get(dir) {
            return Ok(*known);
        }
        let gone = is_dir(&ancestor_tree, dir)? && !is_dir(&renamer_tree, dir)?;
        removed.insert(dir.into(), gone);
        Ok(gone)
    };
    let mut removed_dirs = Vec::new();
    for dir in candidates {
        if is_removed(dir.as_bstr())? {
            removed_dirs.push(dir.clone());
        }
    }
    if removed_dirs.is_empty() {
        return Ok(BTreeSet::new());
    }
    let under_removed =
        |path: &BStr| parent_dirs(path).any(|d| removed_dirs.iter().any(|r| r.as_bstr() == d));
    let pairs = renames(repo, renamer, &under_removed)?;
    let mut counts: HashMap<BString, HashMap<BString, u32>> = HashMap::new();
    for (old, new) in &pairs {
        let (mut old_dir, mut new_dir) = (dirname(old.as_bstr()), dirname(new.as_bstr()));
        // "a/b/c/e/f.c" -> "a/x/e/f.c" suggests a/b/c/e -> a/x/e and a/b/c -> a/x.
        loop {
            if old_dir != new_dir && !old_dir.is_empty() && is_removed(old_dir)? {
                *counts
                    .entry(old_dir.into())
                    .or_default()
                    .entry(new_dir.into())
                    .or_default() += 1;
            }
            if old_dir.is_empty() || new_dir.is_empty() || basename(old_dir) != basename(new_dir) {
                break;
            }
            (old_dir, new_dir) = (dirname(old_dir), dirname(new_dir));
        }
    }
    // A directory goes where most of its files went; a tie is git's "directory rename split",
    // which moves nothing.
    let targets: HashMap<BString, BString> = counts
        .into_iter()
        .filter_map(|(old, news)| {
            let best = news.values().copied().max()?;
            let mut winners = news.into_iter().filter(|(_, n)| *n == best);
            let (target, _) = winners.next()?;
            winners.next().is_none().then_some((old, target))
        })
        .collect();
    let mut moved = BTreeSet::new();
    for &path in added {
        // The deepest renamed directory holding the path decides, as in git.
        let Some((dir, target)) = parent_dirs(path)
            .rev()
            .find_map(|d| targets.get(d).map(|t| (d, t)))
        else {
            continue;
        };
        let rest = &path[dir.len() + 1..];
        let mut new_path = target.clone();
        if !new_path.is_empty() {
            new_path.push(b'/');
        }
        new_path.extend_from_slice(rest);
        moved.insert(new_path);
    }
    Ok(moved)
}

/// What git reports for a rename/rename (1 to 2) of each path in `sources`, which both sides
/// deleted: when git's similarity pairs it with a different new path on each side, the source
/// and both destinations. gix pairs renames by a line diff instead, and can miss such a pair.
pub fn split_renames(
    repo: &gix::Repository,
    base: &[Change],
    branch: &[Change],
    sources: &[&Change],
) -> Result<BTreeSet<BString>, MergeError> {
    let mut out = BTreeSet::new();
    for source in sources {
        let Some(old) = source.old.filter(|o| o.mode.is_blob()) else {
            continue;
        };
        let (Some(to_base), Some(to_branch)) = (
            rename_destination(repo, old.id, base)?,
            rename_destination(repo, old.id, branch)?,
        ) else {
            continue;
        };
        if to_base != to_branch {
            out.extend([source.path.clone(), to_base, to_branch]);
        }
    }
    Ok(out)
}

/// Where `changes` renamed the blob `id` to by git's rules: an addition of the same blob, else
/// the most similar addition scoring at least 50% — leaving out additions that are exact
/// renames of other deleted files, which git pairs first.
fn rename_destination(
    repo: &gix::Repository,
    id: ObjectId,
    changes: &[Change],
) -> Result<Option<BString>, MergeError> {
    let additions = || {
        changes
            .iter()
            .filter(|c| c.old.is_none())
            .filter_map(|c| c.new.filter(|n| n.mode.is_blob()).map(|n| (c, n.id)))
    };
    if let Some((c, _)) = additions().find(|(_, new)| *new == id) {
        return Ok(Some(c.path.clone()));
    }
    let deleted: std::collections::HashSet<ObjectId> = changes
        .iter()
        .filter(|c| c.new.is_none())
        .filter_map(|c| c.old.map(|o| o.id))
        .collect();
    let source = read_blob(repo, id)?;
    let mut best: Option<(u64, &Change)> = None;
    for (change, new) in additions().filter(|(_, new)| !deleted.contains(new)) {
        let score = similarity(&source, &read_blob(repo, new)?);
        if score >= MIN_SCORE && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, change));
        }
    }
    Ok(best.map(|(_, c)| c.path.clone()))
}

/// The file renames among `changes` whose source passes `source`: exact ones first, then git's
/// similarity of at least 50%, best score first, each file used once.
fn renames(
    repo: &gix::Repository,
    changes: &[Change],
    source: &dyn Fn(&BStr) -> bool,
) -> Result<Vec<(BString, BString)>, MergeError> {
    let mut deleted: Vec<&Change> = changes
        .iter()
        .filter(|c| c.new.is_none() && c.old.is_some_and(|o| o.mode.is_blob()))
        .filter(|c| source(c.path.as_bstr()))
        .collect();
    let mut added: Vec<&Change> = changes
        .iter()
        .filter(|c| c.old.is_none() && c.new.is_some_and(|n| n.mode.is_blob()))
        .collect();
    let mut pairs = Vec::new();
    let mut by_id: HashMap<ObjectId, Vec<usize>> = HashMap::new();
    for (i, d) in deleted.iter().enumerate() {
        if let Some(old) = d.old {
            by_id.entry(old.id).or_default().push(i);
        }
    }
    let mut used = vec![false; deleted.len()];
    added.retain(|a| {
        let Some(new) = a.new else { return true };
        let source = by_id
            .get(&new.id)
            .and_then(|ids| ids.iter().copied().find(|&i| !used[i]));
        match source {
            Some(i) => {
                used[i] = true;
                pairs.push((deleted[i].path.clone(), a.path.clone()));
                false
            }
            None => true,
        }
    });
    let mut remaining = Vec::new();
    for (i, d) in deleted.drain(..).enumerate() {
        if !used[i] {
            remaining.push(d);
        }
    }
    if remaining.is_empty() || added.is_empty() {
        return Ok(pairs);
    }
    let sources: Vec<Vec<u8>> = remaining
        .iter()
        .filter_map(|d| d.old.map(|o| read_blob(repo, o.id)))
        .collect::<Result<_, _>>()?;
    let mut scored = Vec::new();
    for (a, dst) in added.iter().enumerate() {
        let Some(new) = dst.new else { continue };
        let dst_data = read_blob(repo, new.id)?;
        for (s, src_data) in sources.iter().enumerate() {
            let score = similarity(src_data, &dst_data);
            if score >= MIN_SCORE {
                scored.push((score, a, s));
            }
        }
    }
    scored.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut dst_used = vec![false; added.len()];
    let mut src_used = vec![false; remaining.len()];
    for (_, a, s) in scored {
        if !dst_used[a] && !src_used[s] {
            dst_used[a] = true;
            src_used[s] = true;
            pairs.push((remaining[s].path.clone(), added[a].path.clone()));
        }
    }
    Ok(pairs)
}

fn read_blob(repo: &gix::Repository, id: ObjectId) -> Result<Vec<u8>, ObjectError> {
    repo.find_blob(id)
        .map(|mut b| b.take_data())
        .map_err(|e| ObjectError::read(ObjectKind::Blob, id, e))
}

/// git's similarity estimate of two files (0 to `MAX_SCORE`): the bytes of `dst` found in
/// `src`, counted by hashes of spans (lines, or 64 bytes), over the larger size.
pub fn similarity(src: &[u8], dst: &[u8]) -> u64 {
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
