//! Files changed, insertions and deletions between two trees, as `git diff --shortstat`
//! counts them (renames off): Myers line diffs, binary files counted without lines.

use gix::ObjectId;
use gix::diff::blob::{Algorithm, Diff, InternedInput};

use super::changes::{Change, FileEntry};
use super::error::{ObjectError, ObjectKind};
use super::facts::Diffstat;

/// git looks for a NUL byte in this many leading bytes to call a blob binary.
const BINARY_PROBE: usize = 8000;

/// The diffstat of `changes`, reading blobs from `repo`.
pub fn diffstat(repo: &gix::Repository, changes: &[Change]) -> Result<Diffstat, ObjectError> {
    let mut stat = Diffstat {
        files_changed: 0,
        insertions: 0,
        deletions: 0,
    };
    let mut buffers = LineBuffers::default();
    for change in changes {
        stat.files_changed += 1;
        if let Some((added, deleted)) = buffers.lines(repo, change)? {
            stat.insertions += added;
            stat.deletions += deleted;
        }
    }
    Ok(stat)
}

/// Buffers for counting the lines of changes, reused from one change to the next.
#[derive(Default)]
pub struct LineBuffers {
    old: Vec<u8>,
    new: Vec<u8>,
}

impl LineBuffers {
    /// The lines `change` adds and removes, as `git diff --numstat` counts them; `None` for a
    /// binary file (which `--numstat` shows as `-`).
    pub fn lines(
        &mut self,
        repo: &gix::Repository,
        change: &Change,
    ) -> Result<Option<(u32, u32)>, ObjectError> {
        // A submodule's side shows as one "Subproject commit" line.
        let old = content(repo, change.old, &mut self.old)?;
        let new = content(repo, change.new, &mut self.new)?;
        if is_binary(old) || is_binary(new) {
            return Ok(None);
        }
        Ok(Some(if old.is_empty() {
            (lines(new), 0)
        } else if new.is_empty() {
            (0, lines(old))
        } else {
            let input = InternedInput::new(old, new);
            let diff = Diff::compute(Algorithm::Myers, &input);
            (diff.count_additions(), diff.count_removals())
        }))
    }
}

/// The bytes a side of a change contributes to a text diff.
fn content<'a>(
    repo: &gix::Repository,
    entry: Option<FileEntry>,
    buf: &'a mut Vec<u8>,
) -> Result<&'a [u8], ObjectError> {
    use gix::prelude::FindExt;
    buf.clear();
    let Some(entry) = entry else {
        return Ok(&buf[..]);
    };
    if entry.mode.is_commit() {
        buf.extend_from_slice(format!("Subproject commit {}\n", entry.id).as_bytes());
        return Ok(&buf[..]);
    }
    if entry.id == ObjectId::empty_blob(entry.id.kind()) {
        return Ok(&buf[..]);
    }
    repo.objects
        .find_blob(&entry.id, buf)
        .map(|b| b.data)
        .map_err(|e| ObjectError::read(ObjectKind::Blob, entry.id, e))
}

/// Whether git treats `data` as binary (a NUL byte among the first 8000 bytes).
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

/// Lines of a text, counting a last line without a newline.
fn lines(data: &[u8]) -> u32 {
    let newlines = data.iter().filter(|b| **b == b'\n').count() as u32;
    newlines + u32::from(data.last().is_some_and(|b| *b != b'\n'))
}
