//! The lines a range added, per file: what secret scanners and line-level rules read. The
//! host diffs natively; the plugin only matches.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::blob::{Algorithm, Diff, InternedInput};

use super::super::changes::Change;
use super::super::diffstat::is_binary;
use super::files::range_tree_changes;
use super::range::commit_changes;
use super::{QueryError, QueryState, ResolvedRange};

/// Longer lines are cut here: a minified file's one line should not fill the budget.
const MAX_LINE_BYTES: usize = 4096;

/// A line a change added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedLine {
    /// 1-based line number in the new content.
    pub number: u32,
    /// The text, without its newline.
    pub text: String,
}

/// The lines one change added to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedFile {
    /// The commit that made the change, in per-commit mode.
    pub commit: Option<String>,
    /// The file's path.
    pub path: String,
    /// The blob before.
    pub old_blob: Option<String>,
    /// The blob after.
    pub blob: String,
    /// The added lines (empty when `seen` or `binary`).
    pub lines: Vec<AddedLine>,
    /// The same change was answered before in this invocation.
    pub seen: bool,
    /// The new content is binary.
    pub binary: bool,
    /// The file was too large, or lines were dropped or cut.
    pub truncated: bool,
}

impl AddedFile {
    /// Bytes this answer costs against a plugin's query budget.
    pub fn cost(&self) -> u64 {
        (self.path.len()
            + self.lines.iter().map(|l| l.text.len() + 8).sum::<usize>()
            + self.commit.as_ref().map_or(0, String::len)
            + 2 * 40
            + 16) as u64
    }
}

/// What [`added_lines`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedLinesOptions {
    /// One change per non-merge commit of `base..tip` instead of one for the whole range.
    pub per_commit: bool,
    /// At most this many commits in per-commit mode.
    pub commit_limit: u32,
    /// Blobs larger than this are not diffed.
    pub max_file_bytes: u64,
    /// At most this many lines per file.
    pub max_lines_per_file: u32,
}

/// The lines `range` added: for the whole range (`base...tip`), or commit by commit. Changes
/// answered before in this invocation (`state`) are answered without lines. [`QueryError::TooLarge`]
/// as soon as the answer's cost passes `budget` bytes.
pub fn added_lines(
    repo: &gix::Repository,
    range: &ResolvedRange,
    options: &AddedLinesOptions,
    state: &mut QueryState,
    budget: u64,
) -> Result<Vec<AddedFile>, QueryError> {
    crate::memory::bound_resident_memory();
    let mut out = Answer {
        files: Vec::new(),
        cost: 0,
        budget,
    };
    let mut bufs = Buffers::default();
    if !options.per_commit {
        for change in range_tree_changes(repo, range, &mut state.differ)? {
            out.push(added_file(repo, &change, None, options, state, &mut bufs)?)?;
        }
        return Ok(out.files);
    }
    for id in range.commits(repo, options.commit_limit, false)? {
        // Merges are skipped, as `git log -p` does by default: their changes are their
        // parents' changes, scanned there.
        let Some(changes) = commit_changes(repo, id, &mut state.differ)? else {
            continue;
        };
        let name = id.to_string();
        for change in changes {
            let file = added_file(repo, &change, Some(&name), options, state, &mut bufs)?;
            out.push(file)?;
        }
    }
    Ok(out.files)
}

/// The files answered so far, and what they cost against the budget.
struct Answer {
    files: Vec<AddedFile>,
    cost: u64,
    budget: u64,
}

impl Answer {
    fn push(&mut self, file: Option<AddedFile>) -> Result<(), QueryError> {
        if let Some(file) = file {
            self.cost += file.cost();
            if self.cost > self.budget {
                return Err(QueryError::TooLarge(self.cost));
            }
            self.files.push(file);
        }
        Ok(())
    }
}

#[derive(Default)]
struct Buffers {
    old: Vec<u8>,
    new: Vec<u8>,
}

/// The added lines of one change; `None` for a deletion, a submodule or a symlink.
fn added_file(
    repo: &gix::Repository,
    change: &Change,
    commit: Option<&str>,
    options: &AddedLinesOptions,
    state: &mut QueryState,
    bufs: &mut Buffers,
) -> Result<Option<AddedFile>, QueryError> {
    let Some(new) = change.new.filter(|n| n.mode.is_blob()) else {
        return Ok(None);
    };
    let old = change.old.filter(|o| o.mode.is_blob());
    let mut file = AddedFile {
        commit: commit.map(str::to_string),
        path: change.path.to_str_lossy().into_owned(),
        old_blob: old.map(|o| o.id.to_string()),
        blob: new.id.to_string(),
        lines: Vec::new(),
        seen: false,
        binary: false,
        truncated: false,
    };
    if !state.first_time(old.map(|o| o.id), new.id) {
        file.seen = true;
        return Ok(Some(file));
    }
    let fail =
        |id: ObjectId, e: &dyn std::fmt::Display| QueryError::Failed(format!("blob {id}: {e}"));
    let too_big = |id: ObjectId| -> Result<bool, QueryError> {
        Ok(repo.find_header(id).map_err(|e| fail(id, &e))?.size() > options.max_file_bytes)
    };
    let old_too_big = match old {
        Some(o) => too_big(o.id)?,
        None => false,
    };
    if too_big(new.id)? || old_too_big {
        file.truncated = true;
        return Ok(Some(file));
    }
    use gix::prelude::FindExt;
    let new_data = repo
        .objects
        .find_blob(&new.id, &mut bufs.new)
        .map_err(|e| fail(new.id, &e))?
        .data;
    let old_data: &[u8] = match old {
        Some(o) => {
            repo.objects
                .find_blob(&o.id, &mut bufs.old)
                .map_err(|e| fail(o.id, &e))?
                .data
        }
        None => &[],
    };
    if is_binary(new_data) || is_binary(old_data) {
        file.binary = true;
        return Ok(Some(file));
    }
    let new_lines: Vec<&[u8]> = new_data.lines().collect();
    let keep = |number: usize, file: &mut AddedFile| {
        if file.lines.len() >= options.max_lines_per_file as usize {
            file.truncated = true;
            return;
        }
        let line = new_lines.get(number).copied().unwrap_or_default();
        let text = &line[..line.len().min(MAX_LINE_BYTES)];
        file.truncated |= text.len() < line.len();
        file.lines.push(AddedLine {
            number: number as u32 + 1,
            text: text.to_str_lossy().into_owned(),
        });
    };
    if old_data.is_empty() {
        for number in 0..new_lines.len() {
            keep(number, &mut file);
        }
    } else {
        let input = InternedInput::new(old_data, new_data);
        let diff = Diff::compute(Algorithm::Myers, &input);
        for hunk in diff.hunks() {
            for number in hunk.after.start..hunk.after.end {
                keep(number as usize, &mut file);
            }
        }
    }
    Ok(Some(file))
}
