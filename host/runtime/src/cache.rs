//! On-disk cache of precompiled components.
//!
//! Entries are keyed by the engine's compatibility hash (wasmtime version and settings) and the
//! sha256 of the component. A cached entry is native code that is loaded with `deserialize`,
//! so it must come from this user's own earlier run, not merely be intact: each entry has a
//! sidecar with a keyed BLAKE3 MAC of the entry's name and compiled bytes, under the per-user
//! secret [`trellis_os::private::cache_key`] (kept in the data directory, 0600, not in the
//! cache). An entry whose MAC does not verify — damaged, written by someone else, or another
//! component's entry copied over this one's name — is recompiled, never deserialized. The
//! cache directory itself must be private to the user ([`trellis_os::dirs::trusted_cache_home`]).
//! (BLAKE3 rather than HMAC-sha256 here: it is checked on every load, and is several times
//! faster on the megabyte of machine code.)

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use trellis_os::write_atomically;

/// A directory of precompiled components.
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
    mac_key: [u8; 32],
}

impl CompileCache {
    /// A cache in `root` for components compiled by `engine`, entries authenticated with
    /// `mac_key`.
    pub fn new(root: &Path, engine: &Engine, mac_key: [u8; 32]) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CompileCache {
            // The compatibility hash covers the wasmtime version and every engine setting.
            dir: root.join("components"),
            // The key's id in the name keeps entries of several keys (several data
            // directories sharing one cache) apart instead of evicting one another.
            engine_key: format!(
                "{:016x}-{}",
                hasher.finish(),
                &blake3::keyed_hash(&mac_key, b"trellis compile cache key id").to_hex()[..16]
            ),
            mac_key,
        }
    }

    fn paths(&self, wasm_sha256: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{wasm_sha256}-{}", self.engine_key);
        (
            self.dir.join(format!("{stem}.cwasm")),
            self.dir.join(format!("{stem}.mac")),
        )
    }

    /// The compiled component for the wasm with `wasm_sha256`, when a verified entry exists.
    #[expect(
        unsafe_code,
        reason = "loading precompiled native code is unsafe by nature"
    )]
    pub fn load(&self, engine: &Engine, wasm_sha256: &str) -> Option<Component> {
        let (artifact, mac) = self.paths(wasm_sha256);
        let (bytes, expected) = (
            std::fs::read(&artifact).ok()?,
            std::fs::read_to_string(&mac).ok()?,
        );
        if !self.verify(&artifact, &bytes, expected.trim()) {
            tracing::warn!(path = %artifact.display(), "cache entry is not authenticated by this user's key; recompiling");
            return None;
        }
        // SAFETY: the bytes are exactly what `precompile_component` produced for this entry in
        // an earlier run of this host by this user (their MAC verifies under the user's secret
        // key and binds the entry's name: component sha256 and engine compatibility hash).
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %artifact.display(), "discarding cache entry: {e}");
                None
            }
        }
    }

    /// Keeps the precompiled `bytes` of the wasm with `wasm_sha256` for the next start (a
    /// failure to store only costs that start).
    pub fn store(&self, wasm_sha256: &str, bytes: &[u8]) {
        let (artifact, mac) = self.paths(wasm_sha256);
        if let Err(e) = self.write(&artifact, &mac, bytes) {
            tracing::debug!(path = %artifact.display(), "cannot write the compile cache: {e}");
        }
    }

    fn write(&self, artifact: &Path, mac: &Path, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        write_atomically(artifact, bytes)?;
        write_atomically(mac, self.mac_hex(artifact, bytes).as_bytes())
    }

    /// The MAC of the entry at `artifact` holding `bytes`: keyed BLAKE3 over the entry's file
    /// name and its bytes, so an entry is valid only under its own name.
    fn mac(&self, artifact: &Path, bytes: &[u8]) -> blake3::Hash {
        let name = artifact.file_name().unwrap_or_default();
        let mut hasher = blake3::Hasher::new_keyed(&self.mac_key);
        hasher.update(name.as_encoded_bytes());
        hasher.update(&[0]);
        hasher.update(bytes);
        hasher.finalize()
    }

    fn mac_hex(&self, artifact: &Path, bytes: &[u8]) -> String {
        self.mac(artifact, bytes).to_hex().to_string()
    }

    /// Whether `expected` (hex) is the entry's MAC; `blake3::Hash` compares in constant time.
    fn verify(&self, artifact: &Path, bytes: &[u8], expected: &str) -> bool {
        blake3::Hash::from_hex(expected).is_ok_and(|expected| self.mac(artifact, bytes) == expected)
    }
}
