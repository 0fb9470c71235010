//! What a branch's work leaves in memory, given back after every branch: the objects merges
//! wrote to object memory, the pages of mapped pack files beyond a limit, and free heap.
//!
//! gix maps each pack file whole, and every page a diff or a merge reads stays in the
//! process's resident set: on git/git (a 474 MiB pack) that was 405 MiB of a 589 MiB peak.
//! git bounds the same with `core.packedGitLimit`, unmapping pack windows; gix has no windows,
//! so the pages are given back instead, and read again from the page cache when needed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// File-backed resident memory (mapped packs and the program itself) above which the pages of
/// mapped packs are given back. Re-reading a given-back page is a minor fault: with this limit
/// a full git/git scan's CPU time did not change measurably.
pub const MAPPED_FILES_LIMIT: u64 = 80 << 20;

/// Anonymous resident memory above which the heap's free pages are given back, and the growth
/// past what was left last time that calls for doing it again (each call walks the heap).
const HEAP_TRIM_AT: u64 = 96 << 20;
const HEAP_TRIM_GROWTH: u64 = 32 << 20;

/// Empties `repo`'s object memory and bounds the rest ([`bound_resident_memory`]): called
/// after every branch, whichever way its work ended.
pub fn release_branch_memory(repo: &gix::Repository) {
    repo.objects.reset_object_memory();
    bound_resident_memory();
}

/// Gives back the resident pages of every mapped pack file once file-backed memory passes
/// [`MAPPED_FILES_LIMIT`], and the heap's free pages once anonymous memory has grown well
/// past what was left the last time. One thread does it at a time; the others go on.
pub fn bound_resident_memory() {
    static RELEASING: AtomicBool = AtomicBool::new(false);
    static HEAP_LEFT: AtomicU64 = AtomicU64::new(0);
    let Some(resident) = trellis_os::memory::resident() else {
        return;
    };
    let heap_over =
        resident.anon > HEAP_TRIM_AT.max(HEAP_LEFT.load(Ordering::Relaxed) + HEAP_TRIM_GROWTH);
    let files_over = resident.file > MAPPED_FILES_LIMIT;
    if !(heap_over || files_over) || RELEASING.swap(true, Ordering::Acquire) {
        return;
    }
    if files_over {
        match trellis_os::memory::release_file_pages(is_pack) {
            Ok(bytes) => tracing::trace!(bytes, "pack pages given back"),
            Err(e) => tracing::debug!("pack pages could not be given back: {e}"),
        }
    }
    if heap_over {
        trellis_os::memory::release_free_heap();
        let left = trellis_os::memory::resident().map_or(resident.anon, |r| r.anon);
        HEAP_LEFT.store(left, Ordering::Relaxed);
        tracing::trace!(before = resident.anon, left, "free heap given back");
    }
    RELEASING.store(false, Ordering::Release);
}

/// `…/pack/*.pack`: a pack's data, which gix maps whole (its index is small and read
/// everywhere, so it stays).
fn is_pack(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pack")
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == "pack")
}

/// Calls [`release_branch_memory`] when dropped, for work with many ways out. Merges write to
/// object memory (virtual merge bases, merged blobs and trees: megabytes for a big tree with
/// dozens of merge bases), and what they wrote only lives until the verdict.
pub struct BranchMemoryScope<'r>(&'r gix::Repository);

impl<'r> BranchMemoryScope<'r> {
    /// A scope for `repo`, which should have object memory enabled.
    pub fn new(repo: &'r gix::Repository) -> Self {
        BranchMemoryScope(repo)
    }
}

impl Drop for BranchMemoryScope<'_> {
    fn drop(&mut self) {
        release_branch_memory(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::is_pack;
    use std::path::Path;

    #[test]
    fn only_pack_data_is_given_back() {
        assert!(is_pack(Path::new("/r/.git/objects/pack/pack-1a.pack")));
        assert!(!is_pack(Path::new("/r/.git/objects/pack/pack-1a.idx")));
        assert!(!is_pack(Path::new("/r/.git/objects/info/commit-graph")));
        assert!(!is_pack(Path::new("/home/u/notes.pack")));
    }
}
