//! On-disk cache of precompiled components.
//!
//! Entries are keyed by the engine's compatibility hash (wasmtime version and settings) and the
//! sha256 of the component. Each entry has a sidecar with a BLAKE3 digest of the compiled bytes,
//! written by this process; an entry whose bytes do not match it is recompiled, never
//! deserialized. (BLAKE3 rather than sha256 here: it is checked on every load, and is several
//! times faster on the megabyte of machine code.)

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use trellis_os::write_atomically;

/// A directory of precompiled components.
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

impl CompileCache {
    /// A cache in `root` for components compiled by `engine`.
    pub fn new(root: &Path, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CompileCache {
            // The compatibility hash covers the wasmtime version and every engine setting.
            dir: root.join("components"),
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn paths(&self, wasm_sha256: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{wasm_sha256}-{}", self.engine_key);
        (
            self.dir.join(format!("{stem}.cwasm")),
            self.dir.join(format!("{stem}.blake3")),
        )
    }

    /// The compiled component for `wasm`, from the cache when a verified entry exists,
    /// otherwise compiled now and stored (a failure to store only costs the next start).
    #[expect(
        unsafe_code,
        reason = "loading precompiled native code is unsafe by nature"
    )]
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wasm_sha256: &str,
    ) -> wasmtime::Result<Component> {
        let (artifact, digest) = self.paths(wasm_sha256);
        if let (Ok(bytes), Ok(expected)) =
            (std::fs::read(&artifact), std::fs::read_to_string(&digest))
        {
            if digest_hex(&bytes) == expected.trim() {
                // SAFETY: the bytes are exactly what `precompile_component` produced in an
                // earlier run of this host (checked against the digest it wrote beside them),
                // for an engine with the same compatibility hash.
                match unsafe { Component::deserialize(engine, &bytes) } {
                    Ok(component) => return Ok(component),
                    Err(e) => {
                        tracing::warn!(path = %artifact.display(), "discarding cache entry: {e}")
                    }
                }
            } else {
                tracing::warn!(path = %artifact.display(), "cache entry does not match its digest; recompiling");
            }
        }
        let bytes = engine.precompile_component(wasm)?;
        if let Err(e) = self.store(&artifact, &digest, &bytes) {
            tracing::debug!(path = %artifact.display(), "cannot write the compile cache: {e}");
        }
        // SAFETY: `bytes` was produced just now by `precompile_component` on this engine.
        unsafe { Component::deserialize(engine, &bytes) }
    }

    fn store(&self, artifact: &Path, digest: &Path, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        write_atomically(artifact, bytes)?;
        write_atomically(digest, digest_hex(bytes).as_bytes())
    }
}

/// The BLAKE3 digest of compiled bytes, as hex.
fn digest_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
