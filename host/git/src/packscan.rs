//! The parents of every commit stored whole in the repository's packs, read by scanning the
//! packs in parallel — the fallback when there is no commit-graph file.
//!
//! Walking a history without a commit-graph decodes one commit after the other, and a long
//! first-parent chain cannot be split between threads. A pack, though, lists its commits in its
//! index: their headers say which entries are commits, and each can be inflated on any thread,
//! only as far as its parent lines. Deltified commits, loose commits and alternates are left to
//! the walker, which decodes what the table lacks.
//!
//! A pack never changes and its name is its checksum, so the parents of its commits are cached
//! per pack: after a fetch only the new pack is scanned.

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::odb::pack;
use rayon::prelude::*;

/// Bumped whenever the cache file layout changes, so old files are ignored.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 16] = b"trellis-commits\0";
/// Enough output for the tree line and two parent lines of a SHA-1 commit; commits with more
/// parents, or SHA-256 ones, are inflated whole.
const PREFIX: usize = 160;

/// A parent as the table stores it: a position in the table, or an id outside it.
pub enum Parent {
    Pos(u32),
    Outside(ObjectId),
}

/// Marks a `parents` entry that indexes `outside` instead of the table.
const OUTSIDE: u32 = 1 << 31;

/// Commits and their parents, sorted by id.
#[derive(Default)]
pub struct CommitTable {
    ids: Vec<ObjectId>,
    /// `parents[parent_start[i]..parent_start[i + 1]]` are the parents of commit `i`.
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    outside: Vec<ObjectId>,
    /// Packs read from the commit cache (hits) and scanned (misses).
    cache_use: crate::profile::CacheUse,
}

/// The commits of one pack (sorted by id, as the pack index lists them) with parent ids.
#[derive(Default, Debug, PartialEq)]
struct PackCommits {
    ids: Vec<ObjectId>,
    parent_start: Vec<u32>,
    parents: Vec<ObjectId>,
}

impl PackCommits {
    fn empty() -> Self {
        PackCommits {
            parent_start: vec![0],
            ..Default::default()
        }
    }

    fn parents_of(&self, i: usize) -> &[ObjectId] {
        &self.parents[self.parent_start[i] as usize..self.parent_start[i + 1] as usize]
    }

    /// The commits of several packs, sorted by id; a commit in more than one pack once.
    fn combine(packs: &[PackCommits]) -> Self {
        let mut entries: Vec<(&ObjectId, &[ObjectId])> = packs
            .iter()
            .flat_map(|p| {
                p.ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id, p.parents_of(i)))
            })
            .collect();
        entries.par_sort_unstable_by_key(|(id, _)| *id);
        entries.dedup_by_key(|(id, _)| *id);
        let mut out = PackCommits::empty();
        for (id, parents) in entries {
            out.ids.push(*id);
            out.parents.extend_from_slice(parents);
            out.parent_start.push(out.parents.len() as u32);
        }
        out
    }
}

impl CommitTable {
    /// Reads the commits of every pack of `repo`, from the per-pack cache under `cache_dir`
    /// when an earlier run wrote it. `None` when the repository has no packs worth reading or
    /// rewrites its history (replace refs or grafts change what a commit's parents are).
    pub fn load(repo: &gix::Repository, cache_dir: Option<&Path>) -> Option<Self> {
        if rewrites_parents(repo) {
            return None;
        }
        let hash = repo.object_hash();
        let pack_dir = repo.objects.store_ref().path().join("pack");
        let mut indices: Vec<PathBuf> = std::fs::read_dir(&pack_dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        indices.sort();
        let started = std::time::Instant::now();
        let mut cache_use = crate::profile::CacheUse::default();
        let packs: Vec<PackCommits> = indices
            .iter()
            .filter_map(|idx| match read_pack(idx, hash, cache_dir) {
                Ok((commits, cached)) => {
                    if cache_dir.is_some() {
                        cache_use.add(crate::profile::CacheUse {
                            hits: u64::from(cached),
                            misses: u64::from(!cached),
                        });
                    }
                    Some(commits)
                }
                Err(e) => {
                    // The walker decodes whatever the table lacks, so this only costs time.
                    tracing::debug!("not scanning {}: {e}", idx.display());
                    None
                }
            })
            .collect();
        if packs.iter().all(|p| p.ids.is_empty()) {
            return None;
        }
        let mut table = Self::merge(packs);
        table.cache_use = cache_use;
        tracing::debug!(
            commits = table.len(),
            packs = indices.len(),
            elapsed = ?started.elapsed(),
            "pack commit table loaded"
        );
        Some(table)
    }

    /// Joins the packs' commits into one table with parents as positions.
    fn merge(packs: Vec<PackCommits>) -> Self {
        let mut packs = packs;
        let all = if packs.len() == 1 {
            packs.pop().unwrap_or_else(PackCommits::empty)
        } else {
            PackCommits::combine(&packs)
        };
        let found: Vec<Option<u32>> = all
            .parents
            .par_iter()
            .map(|p| all.ids.binary_search(p).ok().map(|pos| pos as u32))
            .collect();
        let mut outside = Vec::new();
        let parents = found
            .into_iter()
            .zip(&all.parents)
            .map(|(pos, id)| {
                pos.unwrap_or_else(|| {
                    outside.push(*id);
                    OUTSIDE | (outside.len() as u32 - 1)
                })
            })
            .collect();
        CommitTable {
            ids: all.ids,
            parent_start: all.parent_start,
            parents,
            outside,
            cache_use: Default::default(),
        }
    }

    /// Packs whose commits came from the commit cache, and packs scanned.
    pub fn cache_use(&self) -> crate::profile::CacheUse {
        self.cache_use
    }

    /// Number of commits in the table.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of commit `id`, if the table has it.
    pub fn lookup(&self, id: &gix::oid) -> Option<u32> {
        self.ids
            .binary_search_by(|probe| probe.as_ref().cmp(id))
            .ok()
            .map(|p| p as u32)
    }

    /// The id of the commit at `pos`.
    pub fn id_at(&self, pos: u32) -> ObjectId {
        self.ids[pos as usize]
    }

    /// The parents of the commit at `pos`.
    pub fn parents(&self, pos: u32) -> impl Iterator<Item = Parent> + '_ {
        let range =
            self.parent_start[pos as usize] as usize..self.parent_start[pos as usize + 1] as usize;
        self.parents[range].iter().map(|&p| {
            if p & OUTSIDE == 0 {
                Parent::Pos(p)
            } else {
                Parent::Outside(self.outside[(p & !OUTSIDE) as usize])
            }
        })
    }
}

/// Whether replace refs or grafts may give commits other parents than their objects say.
fn rewrites_parents(repo: &gix::Repository) -> bool {
    let grafts = repo.common_dir().join("info").join("grafts");
    if grafts.exists() {
        return true;
    }
    let Ok(refs) = repo.references() else {
        return true;
    };
    match refs.prefixed("refs/replace/") {
        Ok(mut iter) => iter.next().is_some(),
        Err(_) => true,
    }
}

/// The commits of the pack indexed by `idx`, from the cache or by scanning the pack.
fn read_pack(
    idx: &Path,
    hash: gix::hash::Kind,
    cache_dir: Option<&Path>,
) -> Result<(PackCommits, bool), String> {
    let bundle = pack::Bundle::at(idx, hash).map_err(|e| format!("cannot open the pack: {e}"))?;
    let cache_file = cache_dir.map(|d| d.join(format!("{}.bin", bundle.pack.checksum())));
    if let Some(cached) = cache_file.as_deref().and_then(|f| read_cache(f, hash)) {
        return Ok((cached, true));
    }
    let commits = scan_pack(&bundle);
    if let Some(file) = cache_file {
        let write = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| trellis_os::write_atomically(&file, &encode(&commits, hash)));
        if let Err(e) = write {
            tracing::warn!("cannot write the commit cache {}: {e}", file.display());
        }
    }
    Ok((commits, false))
}

/// Inflates the start of every whole commit in the pack, on all threads.
fn scan_pack(bundle: &pack::Bundle) -> PackCommits {
    let index = &bundle.index;
    let data = &bundle.pack;
    let hash = index.object_hash();
    let end = data.pack_end() as u64;
    // Index order is id order, so each thread's commits come out sorted and are joined in order.
    (0..index.num_objects())
        .into_par_iter()
        .fold(
            || {
                (
                    PackCommits::empty(),
                    gix::zlib::Inflate::default(),
                    Vec::new(),
                )
            },
            |(mut out, mut inflate, mut buf), i| {
                let offset = index.pack_offset_at_index(i);
                // Bits 4..7 of an entry's first byte are its type; 1 is a whole commit.
                // Checking it first skips parsing the headers of every tree and blob.
                let is_commit = data
                    .entry_slice(offset..offset + 1)
                    .is_some_and(|b| (b[0] >> 4) & 7 == 1);
                if is_commit
                    && let Ok(entry) = data.entry(offset)
                    && let Some(input) = data.entry_slice(entry.data_offset..end)
                    && let Some(parents) =
                        commit_parents(input, entry.decompressed_size, &mut inflate, &mut buf, hash)
                {
                    out.ids.push(index.oid_at_index(i).to_owned());
                    out.parents.extend(parents);
                    out.parent_start.push(out.parents.len() as u32);
                }
                (out, inflate, buf)
            },
        )
        .map(|(out, _, _)| out)
        .reduce(PackCommits::empty, |mut left, right| {
            let offset = left.parents.len() as u32;
            left.ids.extend(right.ids);
            left.parents.extend(right.parents);
            left.parent_start
                .extend(right.parent_start[1..].iter().map(|s| s + offset));
            left
        })
}

/// The parents of the commit whose zlib stream starts `input`, inflating only as much as the
/// parent lines need; `None` when the entry is corrupt (the walker then reports it).
fn commit_parents(
    input: &[u8],
    size: u64,
    inflate: &mut gix::zlib::Inflate,
    buf: &mut Vec<u8>,
    hash: gix::hash::Kind,
) -> Option<Vec<ObjectId>> {
    let size = usize::try_from(size).ok()?;
    let prefix = size.min(PREFIX);
    buf.resize(prefix, 0);
    inflate.reset();
    let (_, _, written) = inflate.prefix(input, buf).ok()?;
    if let Some(parents) = parse_parents(&buf[..written], written == size, hash) {
        return parents;
    }
    // Many parents: inflate the whole commit.
    buf.resize(size, 0);
    inflate.reset();
    let (_, _, written) = inflate.prefix(input, buf).ok()?;
    parse_parents(&buf[..written], true, hash).flatten()
}

/// Parses the `tree` and `parent` lines at the start of a commit. `Some(None)` is a corrupt
/// commit; `None` means `data` ends before the parent lines do and `complete` is false.
fn parse_parents(
    data: &[u8],
    complete: bool,
    hash: gix::hash::Kind,
) -> Option<Option<Vec<ObjectId>>> {
    let hex = hash.len_in_hex();
    let line = |rest: &[u8], key: &[u8]| -> Option<Option<ObjectId>> {
        let len = key.len() + hex + 1;
        if rest.len() < len {
            return if complete { Some(None) } else { None };
        }
        if !rest.starts_with(key) || rest[len - 1] != b'\n' {
            return Some(None);
        }
        Some(ObjectId::from_hex(&rest[key.len()..len - 1]).ok())
    };
    let tree_len = 5 + hex + 1;
    match line(data, b"tree ")? {
        Some(_) => {}
        None => return Some(None),
    }
    let mut rest = &data[tree_len..];
    let mut parents = Vec::new();
    loop {
        if rest.len() < 7 && !complete && b"parent ".starts_with(rest) {
            return None;
        }
        if !rest.starts_with(b"parent ") {
            return Some(Some(parents));
        }
        match line(rest, b"parent ")? {
            Some(id) => parents.push(id),
            None => return Some(None),
        }
        rest = &rest[7 + hex + 1..];
    }
}

/// The cache file of one pack: magic, format, counts, ids, parent starts, parent ids, and a
/// BLAKE3 digest of all of it.
fn encode(commits: &PackCommits, hash: gix::hash::Kind) -> Vec<u8> {
    let len = hash.len_in_bytes();
    let mut out = Vec::with_capacity(
        32 + (commits.ids.len() + commits.parents.len()) * len + commits.parent_start.len() * 4,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&(commits.ids.len() as u32).to_le_bytes());
    out.extend_from_slice(&(commits.parents.len() as u32).to_le_bytes());
    for id in &commits.ids {
        out.extend_from_slice(id.as_bytes());
    }
    for start in &commits.parent_start {
        out.extend_from_slice(&start.to_le_bytes());
    }
    for id in &commits.parents {
        out.extend_from_slice(id.as_bytes());
    }
    let digest = blake3::hash(&out);
    out.extend_from_slice(digest.as_bytes());
    out
}

/// Reads a cache file; `None` if it is missing, from another format or damaged in any way.
fn read_cache(file: &Path, hash: gix::hash::Kind) -> Option<PackCommits> {
    let bytes = std::fs::read(file).ok()?;
    let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != digest {
        tracing::debug!("ignoring the damaged commit cache {}", file.display());
        return None;
    }
    let mut cursor = body.strip_prefix(MAGIC.as_slice())?;
    let mut word = || -> Option<u32> {
        let (head, tail) = cursor.split_first_chunk::<4>()?;
        cursor = tail;
        Some(u32::from_le_bytes(*head))
    };
    let (format, len, count, parent_count) = (word()?, word()?, word()?, word()?);
    let len = len as usize;
    if format != FORMAT || len != hash.len_in_bytes() {
        return None;
    }
    let (count, parent_count) = (count as usize, parent_count as usize);
    let ids_len = count.checked_mul(len)?;
    let starts_len = (count + 1).checked_mul(4)?;
    if cursor.len() != ids_len + starts_len + parent_count.checked_mul(len)? {
        return None;
    }
    let (ids, rest) = cursor.split_at(ids_len);
    let (starts, parents) = rest.split_at(starts_len);
    let commits = PackCommits {
        ids: ids
            .chunks_exact(len)
            .map(ObjectId::from_bytes_or_panic)
            .collect(),
        parent_start: starts
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        parents: parents
            .chunks_exact(len)
            .map(ObjectId::from_bytes_or_panic)
            .collect(),
    };
    let consistent = commits.parent_start.first() == Some(&0)
        && commits.parent_start.windows(2).all(|w| w[0] <= w[1])
        && commits.parent_start.last() == Some(&(parent_count as u32))
        && commits.ids.windows(2).all(|w| w[0] < w[1]);
    consistent.then_some(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: gix::hash::Kind = gix::hash::Kind::Sha1;

    fn id(byte: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[byte; 20])
    }

    #[test]
    fn parent_lines_are_parsed_until_the_first_other_line() {
        let commit = format!(
            "tree {}\nparent {}\nparent {}\nauthor A <a@b> 1 +0000\n",
            id(1),
            id(2),
            id(3)
        );
        let parsed = parse_parents(commit.as_bytes(), true, SHA1);
        assert_eq!(parsed, Some(Some(vec![id(2), id(3)])));
        // Cut inside the second parent line: more output is needed.
        let cut = &commit.as_bytes()[..46 + 48 + 20];
        assert_eq!(parse_parents(cut, false, SHA1), None);
        // The same cut at the end of the object is a corrupt commit.
        assert_eq!(parse_parents(cut, true, SHA1), Some(None));
        assert_eq!(parse_parents(b"tree nothex\n", true, SHA1), Some(None));
    }

    #[test]
    fn cache_files_round_trip_and_damage_is_detected() {
        let commits = PackCommits {
            ids: vec![id(1), id(2), id(3)],
            parent_start: vec![0, 0, 1, 3],
            parents: vec![id(1), id(2), id(9)],
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("pack.bin");
        let mut bytes = encode(&commits, SHA1);
        std::fs::write(&file, &bytes).expect("write");
        assert_eq!(read_cache(&file, SHA1), Some(commits));
        bytes[40] ^= 1;
        std::fs::write(&file, &bytes).expect("write");
        assert_eq!(read_cache(&file, SHA1), None);
        std::fs::write(&file, &bytes[..10]).expect("write");
        assert_eq!(read_cache(&file, SHA1), None);
    }
}
