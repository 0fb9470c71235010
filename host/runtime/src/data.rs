//! Plugins' own key/value stores: what a plugin keeps between scans (a fitted model, answers
//! it paid for), kept by the host in a directory per plugin id and capped in bytes.
//!
//! Each key is one file named by the BLAKE3 hash of the key, holding the key, the value and a
//! BLAKE3 checksum of both: a damaged entry, or one whose key does not match (a file copied
//! over another), reads as absent and is removed. Writes are atomic (temporary file and
//! rename), so a plugin running on several repositories at once never sees half an entry.
//! When a write would pass the cap, the entries written longest ago are dropped first: the
//! store is a cache, and the newest entries are the ones a re-scan needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// What an entry file starts with (and its format version).
const MAGIC: &[u8] = b"trellis-plugin-data 1\n";

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The key is empty, too long or has characters outside `[A-Za-z0-9._/-]`.
    #[error("bad key `{0}`: 1–128 bytes of letters, digits, `.`, `_`, `/` and `-` are allowed")]
    BadKey(String),
    /// The value does not fit in the whole store.
    #[error("the value is {size} bytes, the store holds at most {cap} bytes")]
    TooLarge {
        /// The entry's size.
        size: u64,
        /// The store's cap.
        cap: u64,
    },
    /// The store's directory could not be read or written.
    #[error("the store cannot be written: {0}")]
    Io(String),
}

/// One plugin's store: on disk in `dir`, or in memory for one invocation when there is no
/// directory (caches disabled).
pub struct DataStore {
    dir: Option<PathBuf>,
    cap: u64,
    memory: BTreeMap<String, Vec<u8>>,
}

impl DataStore {
    /// The store of plugin `id` under `root` (`None`: in memory), holding at most `cap` bytes.
    /// Plugin ids are validated by the manifest (`[a-z0-9-]`), so they are safe file names.
    pub fn new(root: Option<&Path>, id: &str, cap: u64) -> Self {
        DataStore {
            dir: root.map(|r| r.join(id)),
            cap,
            memory: BTreeMap::new(),
        }
    }

    /// The value under `key`, if any.
    pub fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, DataError> {
        check_key(key)?;
        let Some(dir) = &self.dir else {
            return Ok(self.memory.get(key).cloned());
        };
        let path = entry_path(dir, key);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DataError::Io(format!("{}: {e}", path.display()))),
        };
        match decode(&bytes, key) {
            Some(value) => Ok(Some(value.to_vec())),
            None => {
                tracing::warn!(path = %path.display(), "discarding a damaged plugin data entry");
                let _ = std::fs::remove_file(&path);
                Ok(None)
            }
        }
    }

    /// Stores `value` under `key`, dropping the oldest entries when the cap requires.
    pub fn set(&mut self, key: &str, value: &[u8]) -> Result<(), DataError> {
        check_key(key)?;
        let encoded = encode(key, value);
        let size = encoded.len() as u64;
        if size > self.cap {
            return Err(DataError::TooLarge {
                size,
                cap: self.cap,
            });
        }
        let Some(dir) = &self.dir else {
            self.memory.remove(key);
            // In memory nothing is older than anything else that matters: drop by key order.
            let mut used: u64 = self.memory.iter().map(|(k, v)| encoded_len(k, v)).sum();
            while used + size > self.cap {
                let Some((k, v)) = self.memory.pop_first() else {
                    break;
                };
                used -= encoded_len(&k, &v);
            }
            self.memory.insert(key.to_string(), value.to_vec());
            return Ok(());
        };
        let io = |e: std::io::Error| DataError::Io(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = entry_path(dir, key);
        let mut entries = entries(dir).map_err(io)?;
        entries.retain(|e| e.path != path);
        let mut used: u64 = entries.iter().map(|e| e.size).sum();
        entries.sort_by_key(|e| e.modified);
        for old in entries {
            if used + size <= self.cap {
                break;
            }
            // Already gone (another invocation dropped it) is as good as dropped.
            let _ = std::fs::remove_file(&old.path);
            used -= old.size;
        }
        trellis_os::write_atomically(&path, &encoded).map_err(io)
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str) -> Result<(), DataError> {
        check_key(key)?;
        let Some(dir) = &self.dir else {
            self.memory.remove(key);
            return Ok(());
        };
        let path = entry_path(dir, key);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(DataError::Io(format!("{}: {e}", path.display())))
            }
            _ => Ok(()),
        }
    }
}

fn check_key(key: &str) -> Result<(), DataError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_BYTES
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
    if ok {
        Ok(())
    } else {
        // Shown to people: keep it short and printable.
        let shown: String = key
            .chars()
            .take(MAX_KEY_BYTES)
            .flat_map(char::escape_default)
            .collect();
        Err(DataError::BadKey(shown))
    }
}

fn entry_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!(
        "{}.bin",
        &blake3::hash(key.as_bytes()).to_hex()[..32]
    ))
}

fn encoded_len(key: &str, value: &[u8]) -> u64 {
    (MAGIC.len() + 4 + key.len() + value.len() + 32) as u64
}

/// `MAGIC`, the key's length (u32 LE), the key, the value, BLAKE3 of everything before.
fn encode(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(key, value) as usize);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(value);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// The value of an entry for `key`, when intact.
fn decode<'a>(bytes: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body) != blake3::Hash::from_slice(sum).ok()? {
        return None;
    }
    let rest = body.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_at_checked(4)?;
    let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
    let (stored_key, value) = rest.split_at_checked(len)?;
    (stored_key == key.as_bytes()).then_some(value)
}

struct Entry {
    path: PathBuf,
    size: u64,
    modified: SystemTime,
}

fn entries(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        // Temporary files of writes in progress are not entries.
        if !meta.is_file() || entry.path().extension().is_none_or(|e| e != "bin") {
            continue;
        }
        out.push(Entry {
            path: entry.path(),
            size: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overhead(key: &str) -> u64 {
        encoded_len(key, b"")
    }

    #[test]
    fn values_survive_a_new_store_and_damage_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DataStore::new(Some(dir.path()), "p", 1 << 20);
        assert_eq!(store.get("model/abc").unwrap(), None);
        store.set("model/abc", b"weights").unwrap();
        let mut again = DataStore::new(Some(dir.path()), "p", 1 << 20);
        assert_eq!(
            again.get("model/abc").unwrap().as_deref(),
            Some(&b"weights"[..])
        );
        // Another plugin's store is another directory.
        let mut other = DataStore::new(Some(dir.path()), "q", 1 << 20);
        assert_eq!(other.get("model/abc").unwrap(), None);
        // Flip one byte of the value: the checksum no longer matches.
        let path = entry_path(&dir.path().join("p"), "model/abc");
        let mut bytes = std::fs::read(&path).unwrap();
        let at = MAGIC.len() + 4 + "model/abc".len();
        bytes[at] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(again.get("model/abc").unwrap(), None);
        assert!(!path.exists(), "a damaged entry is removed");
        again.set("k", b"v").unwrap();
        again.delete("k").unwrap();
        again.delete("k").unwrap();
        assert_eq!(again.get("k").unwrap(), None);
    }

    #[test]
    fn an_entry_copied_over_another_key_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DataStore::new(Some(dir.path()), "p", 1 << 20);
        store.set("a", b"1").unwrap();
        store.set("b", b"2").unwrap();
        let root = dir.path().join("p");
        std::fs::copy(entry_path(&root, "a"), entry_path(&root, "b")).unwrap();
        assert_eq!(store.get("b").unwrap(), None);
        assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn the_cap_drops_the_oldest_entries_and_refuses_what_cannot_fit() {
        let dir = tempfile::tempdir().unwrap();
        // Room for two 100-byte values with one-byte keys, not three.
        let cap = 2 * (overhead("x") + 100) + 50;
        let mut store = DataStore::new(Some(dir.path()), "p", cap);
        store.set("a", &[1; 100]).unwrap();
        // Distinct modification times, whatever the file system's resolution.
        let root = dir.path().join("p");
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(entry_path(&root, "a"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        store.set("b", &[2; 100]).unwrap();
        store.set("c", &[3; 100]).unwrap();
        assert_eq!(
            store.get("a").unwrap(),
            None,
            "the oldest entry was dropped"
        );
        assert!(store.get("b").unwrap().is_some());
        assert!(store.get("c").unwrap().is_some());
        // Replacing an entry does not count its old size.
        store.set("c", &[4; 100]).unwrap();
        assert!(store.get("b").unwrap().is_some());
        let err = store.set("d", &vec![0; cap as usize]).unwrap_err();
        assert!(
            matches!(err, DataError::TooLarge { cap: c, .. } if c == cap),
            "{err}"
        );
    }

    #[test]
    fn keys_are_checked_and_memory_stores_keep_within_the_cap() {
        let mut store = DataStore::new(None, "p", 2 * (overhead("x") + 10));
        for bad in ["", "a b", "x\u{1b}[2J", "é", &"k".repeat(129)] {
            assert!(matches!(store.get(bad), Err(DataError::BadKey(_))), "{bad}");
        }
        store.set("a", &[0; 10]).unwrap();
        store.set("b", &[0; 10]).unwrap();
        store.set("c", &[0; 10]).unwrap();
        let kept = ["a", "b", "c"]
            .iter()
            .filter(|k| store.get(k).unwrap().is_some())
            .count();
        assert_eq!(kept, 2);
        assert!(
            store.get("c").unwrap().is_some(),
            "the newest value is kept"
        );
    }
}
