//! Listing the references under a prefix (`refs/heads/`, `refs/remotes/`), reading loose
//! reference files on every core.
//!
//! gix reads loose references one file after another (it expects most of them packed). A
//! repository that fetches pull requests keeps thousands of them loose until `git gc` runs:
//! on tokio's 4,877 loose branches that sequential read was 35 of a 59 ms ahead/behind scan.
//! The rules are gix's `LooseThenPacked`: a loose file shadows the `packed-refs` line of the
//! same name, files whose path is not a valid reference name are skipped, and the result is in
//! name order.

use std::path::{Path, PathBuf};

use gix::bstr::BString;
use gix::refs::FullName;
use rayon::prelude::*;

/// A loose reference file larger than this is not a reference: git writes an object id or
/// `ref: <name>` and a newline. The bound keeps a hostile repository from making the scan read
/// a huge file per branch.
const MAX_LOOSE_REF_BYTES: u64 = 16 * 1024;

/// One entry under the prefix: a reference, or why it could not be read.
pub(crate) enum Listed {
    /// A reference as stored (symbolic references are not followed).
    Ref(gix::refs::Reference),
    /// A reference file or directory that could not be read or decoded.
    Unreadable {
        /// The reference's name, when the failure belongs to one reference.
        name: Option<FullName>,
        error: String,
    },
}

/// Lists the references whose full name starts with `prefix` (ending in `/`), in name order.
pub(crate) fn list(repo: &gix::Repository, prefix: &str) -> Result<Vec<Listed>, String> {
    let store = &repo.refs;
    if store.namespace.is_some() || store.precompose_unicode {
        // Rare settings that change which names the files stand for: gix's own iteration.
        return sequential(repo, prefix);
    }
    let mut files = Vec::new();
    let mut listed = Vec::new();
    let dir = repo.common_dir().join(prefix);
    walk(&dir, BString::from(prefix), &mut files, &mut listed);

    let object_hash = repo.object_hash();
    listed.par_extend(
        files
            .into_par_iter()
            .map(|(name, path)| read_loose(name, &path, object_hash)),
    );

    let packed = store
        .cached_packed_buffer()
        .map_err(|e| format!("cannot read packed-refs: {e}"))?;
    if let Some(packed) = packed.as_ref() {
        let iter = packed
            .iter_prefixed(prefix.into())
            .map_err(|e| format!("cannot read packed-refs: {e}"))?;
        listed.extend(iter.map(|r| match r {
            Ok(r) => Listed::Ref(r.into()),
            Err(e) => Listed::Unreadable {
                name: None,
                error: format!("cannot read packed-refs: {e}"),
            },
        }));
    }
    // Loose entries come first, so the stable sort keeps them before a packed entry of the
    // same name, and `dedup_by` keeps the first of equals.
    listed.sort_by(|a, b| name_of(a).cmp(&name_of(b)));
    listed.dedup_by(|later, earlier| {
        let (Some(a), Some(b)) = (name_of(later), name_of(earlier)) else {
            return false;
        };
        a == b
    });
    Ok(listed)
}

fn name_of(listed: &Listed) -> Option<&gix::bstr::BStr> {
    match listed {
        Listed::Ref(r) => Some(r.name.as_bstr()),
        Listed::Unreadable { name, .. } => name.as_ref().map(|n| n.as_bstr()),
    }
}

/// Collects the files under `dir` (whose reference name prefix is `name`) as reference names
/// and paths; directories that cannot be read are listed as unreadable.
fn walk(dir: &Path, name: BString, files: &mut Vec<(FullName, PathBuf)>, listed: &mut Vec<Listed>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            listed.push(Listed::Unreadable {
                name: None,
                error: format!("cannot read reference directory {}: {e}", dir.display()),
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                listed.push(Listed::Unreadable {
                    name: None,
                    error: format!("cannot read reference directory {}: {e}", dir.display()),
                });
                continue;
            }
        };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let file_name = entry.file_name();
        let Ok(file_name) = gix::path::os_str_into_bstr(&file_name) else {
            continue;
        };
        let mut full = name.clone();
        full.extend_from_slice(file_name);
        if file_type.is_dir() {
            full.push(b'/');
            walk(&entry.path(), full, files, listed);
        } else if file_type.is_file() {
            // As gix: a file whose path is no valid reference name is not a reference (git
            // leaves such files, e.g. `*.lock` of an interrupted update, alone too).
            if let Ok(full) = FullName::try_from(full) {
                files.push((full, entry.path()));
            }
        }
    }
}

/// Reads and decodes one loose reference file.
fn read_loose(name: FullName, path: &Path, object_hash: gix::hash::Kind) -> Listed {
    use std::io::Read;
    let mut buf = Vec::with_capacity(128);
    let read = std::fs::File::open(path).and_then(|file| {
        file.take(MAX_LOOSE_REF_BYTES + 1).read_to_end(&mut buf)?;
        Ok(())
    });
    let decoded = match read {
        Err(e) => Err(format!("cannot read reference file: {e}")),
        Ok(()) if buf.len() as u64 > MAX_LOOSE_REF_BYTES => Err(format!(
            "reference file is larger than {MAX_LOOSE_REF_BYTES} bytes"
        )),
        Ok(()) => gix::refs::file::loose::Reference::try_from_path(name.clone(), &buf, object_hash)
            .map_err(|e| format!("cannot decode reference file: {e}")),
    };
    match decoded {
        Ok(reference) => Listed::Ref(reference.into()),
        Err(error) => Listed::Unreadable {
            name: Some(name),
            error,
        },
    }
}

/// gix's sequential overlay of loose and packed references.
fn sequential(repo: &gix::Repository, prefix: &str) -> Result<Vec<Listed>, String> {
    let platform = repo
        .references()
        .map_err(|e| format!("cannot read references: {e}"))?;
    let iter = platform
        .prefixed(prefix)
        .map_err(|e| format!("cannot read {prefix}: {e}"))?;
    Ok(iter
        .map(|r| match r {
            Ok(r) => Listed::Ref(r.detach()),
            Err(e) => Listed::Unreadable {
                name: None,
                error: format!("cannot read reference: {e}"),
            },
        })
        .collect())
}
