//! Repository statistics beyond what alignment learns for free: object counts and pack sizes,
//! files and bytes at the base tip, its largest blobs by path, and Git LFS pointer files.
//! Each part that cannot be read stays `None` (logged), never failing the scan.

use std::path::Path;

use gix::bstr::ByteSlice;
use gix::prelude::{Find, HeaderExt};

use super::error::{BoxError, ObjectError, ObjectKind};
use super::facts::{BlobEntry, RepoStats};
use super::lfs;
use super::open::OpenedRepo;

/// How many of the largest blobs at the base tip are listed.
const LARGEST: usize = 10;

/// Fills in the statistics that need reading the object database.
pub fn fill_stats(opened: &OpenedRepo, stats: &mut RepoStats) {
    let repo = &opened.repo;
    let objects_dir = repo.objects.store_ref().path().to_path_buf();
    let loose = count_loose(&objects_dir);
    match repo.objects.packed_object_count() {
        Ok(packed) => stats.objects = Some(packed + loose),
        Err(e) => tracing::warn!(repo = %opened.path.display(), "cannot count objects: {e}"),
    }
    stats.pack_bytes = Some(pack_bytes(&objects_dir.join("pack")));
    match base_tree_stats(repo, opened.base.tip) {
        Ok(tree) => {
            stats.files_at_base = Some(tree.files);
            stats.bytes_at_base = Some(tree.bytes);
            stats.largest_blobs = tree.largest;
            stats.lfs_pointers = Some(tree.lfs_pointers);
        }
        Err(e) => tracing::warn!(repo = %opened.path.display(), "cannot read the base tree: {e}"),
    }
}

/// What a tuner learns of a repository before it is aligned, cheaply: no object is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeProbe {
    /// Bytes of all pack files.
    pub pack_bytes: u64,
    /// Objects in packs (from the pack indices).
    pub packed_objects: u64,
    /// Commits in the commit-graph, when there is one git would use.
    pub graph_commits: Option<u64>,
}

/// Probes the size of an opened repository for a tuner.
pub fn size_probe(opened: &OpenedRepo) -> SizeProbe {
    let repo = &opened.repo;
    let pack_dir = repo.objects.store_ref().path().join("pack");
    SizeProbe {
        pack_bytes: pack_bytes(&pack_dir),
        packed_objects: repo.objects.packed_object_count().unwrap_or(0),
        graph_commits: super::commitgraph::open(repo).map(|g| u64::from(g.num_commits())),
    }
}

fn count_loose(objects_dir: &Path) -> u64 {
    let Ok(dirs) = std::fs::read_dir(objects_dir) else {
        return 0;
    };
    dirs.flatten()
        .filter(|d| {
            let name = d.file_name();
            name.len() == 2
                && name
                    .to_string_lossy()
                    .chars()
                    .all(|c| c.is_ascii_hexdigit())
        })
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .map(|files| files.count() as u64)
        .sum()
}

fn pack_bytes(pack_dir: &Path) -> u64 {
    std::fs::read_dir(pack_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

struct TreeStats {
    files: u64,
    bytes: u64,
    largest: Vec<BlobEntry>,
    lfs_pointers: u64,
}

fn base_tree_stats(repo: &gix::Repository, tip: gix::ObjectId) -> Result<TreeStats, ObjectError> {
    let read = |e: BoxError| ObjectError::read(ObjectKind::Commit, tip, e);
    let tree = repo
        .find_commit(tip)
        .map_err(|e| read(e.into()))?
        .tree()
        .map_err(|e| read(e.into()))?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|e| ObjectError::read(ObjectKind::Tree, tree.id, e))?;
    let mut out = TreeStats {
        files: 0,
        bytes: 0,
        largest: Vec::new(),
        lfs_pointers: 0,
    };
    let mut buf = Vec::new();
    for entry in recorder.records {
        if !entry.mode.is_blob_or_symlink() {
            continue;
        }
        let size = repo
            .objects
            .header(entry.oid)
            .map_err(|e| ObjectError::read(ObjectKind::Blob, entry.oid, e))?
            .size();
        out.files += 1;
        out.bytes += size;
        if entry.mode.is_blob() && size <= lfs::MAX_POINTER_BYTES {
            let is_pointer = repo
                .objects
                .try_find(&entry.oid, &mut buf)
                .ok()
                .flatten()
                .is_some_and(|d| lfs::pointer_size(d.data).is_some());
            out.lfs_pointers += u64::from(is_pointer);
        }
        out.largest.push(BlobEntry {
            path: entry.filepath.to_str_lossy().into_owned(),
            size,
        });
        if out.largest.len() > 4 * LARGEST {
            keep_largest(&mut out.largest);
        }
    }
    keep_largest(&mut out.largest);
    Ok(out)
}

fn keep_largest(blobs: &mut Vec<BlobEntry>) {
    blobs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    blobs.truncate(LARGEST);
}
