//! The persistent facts cache: the expensive, tree-level facts of a branch (diffstat,
//! squash-merged, conflicts) keyed by (tip, base tip, options), one file per repository.
//! A re-scan after a fetch recomputes only the branches whose tip or base moved.
//!
//! A file is the JSON body, a newline and the BLAKE3 digest of the body in hex; a file whose
//! digest does not match (damaged, or edited) is ignored and rewritten by the next save. The
//! cache directory is private to the user (`trellis_os::dirs::trusted_cache_home`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gix::ObjectId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::facts::{AlignOptions, BranchFacts, ConflictPrediction, Diffstat};

/// Bumped whenever the meaning of a cached fact changes, so old files are ignored.
const FORMAT: u32 = 2;

/// The cached facts of one (tip, base tip, options).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFacts {
    pub diffstat: Option<Diffstat>,
    pub squash_merged: Option<bool>,
    pub conflicts: Option<ConflictPrediction>,
}

impl CachedFacts {
    /// Copies the cached facts into `facts`.
    pub fn apply(&self, facts: &mut BranchFacts) {
        facts.diffstat = self.diffstat;
        facts.squash_merged = self.squash_merged;
        facts.conflicts = self.conflicts.clone();
    }
}

#[derive(Serialize, Deserialize)]
struct File {
    format: u32,
    entries: HashMap<String, CachedFacts>,
}

/// The cache of one repository: what was read at start, and what this run used or computed.
pub struct FactsCache {
    path: PathBuf,
    old: HashMap<String, CachedFacts>,
    used: Mutex<HashMap<String, CachedFacts>>,
}

/// A cache file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the facts cache {path}: {source}")]
pub struct CacheError {
    path: PathBuf,
    source: std::io::Error,
}

impl FactsCache {
    /// Opens the cache of the repository at `git_dir` under `dir`; a missing or unreadable
    /// file is an empty cache.
    pub fn open(dir: &Path, git_dir: &Path) -> Self {
        let canonical = git_dir
            .canonicalize()
            .unwrap_or_else(|_| git_dir.to_path_buf());
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let path = dir.join(format!("{}.json", hex::encode(&digest[..16])));
        let old = std::fs::read(&path)
            .ok()
            .and_then(|bytes| {
                let body = verified_body(&bytes);
                if body.is_none() {
                    tracing::debug!("ignoring the damaged facts cache {}", path.display());
                }
                serde_json::from_slice::<File>(body?).ok()
            })
            .filter(|f| f.format == FORMAT)
            .map(|f| f.entries)
            .unwrap_or_default();
        FactsCache {
            path,
            old,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a branch's facts.
    pub fn key(tip: ObjectId, base_tip: ObjectId, options: AlignOptions) -> String {
        format!(
            "{tip}:{base_tip}:{}{}{}",
            u8::from(options.diffstat),
            u8::from(options.squash),
            u8::from(options.conflicts)
        )
    }

    /// The cached facts of `key`, if an earlier run computed them.
    pub fn get(&self, key: &str) -> Option<CachedFacts> {
        let hit = self.old.get(key)?.clone();
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), hit.clone());
        Some(hit)
    }

    /// Records facts computed by this run.
    pub fn put(&self, key: String, facts: CachedFacts) {
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, facts);
    }

    /// Writes the entries this run used, so branches that are gone drop out of the file.
    pub fn save(&self) -> Result<(), CacheError> {
        let entries = std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner()));
        let fail = |source| CacheError {
            path: self.path.clone(),
            source,
        };
        if entries.is_empty() && self.old.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut bytes = serde_json::to_vec(&File {
            format: FORMAT,
            entries,
        })
        .map_err(|e| fail(std::io::Error::other(e)))?;
        let digest = blake3::hash(&bytes);
        bytes.push(b'\n');
        bytes.extend_from_slice(digest.to_hex().as_bytes());
        trellis_os::write_atomically(&self.path, &bytes).map_err(fail)
    }
}

/// The body of a cache file whose trailing digest matches it.
fn verified_body(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.iter().rposition(|&b| b == b'\n')?;
    let (body, digest) = (&bytes[..split], &bytes[split + 1..]);
    let digest = blake3::Hash::from_hex(digest).ok()?;
    (blake3::hash(body) == digest).then_some(body)
}
