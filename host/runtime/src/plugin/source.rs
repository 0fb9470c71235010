//! A plugin directory read from disk: its manifest, its component bytes and their sha256.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{MANIFEST_FILE, Manifest, ManifestError};

/// A plugin directory that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: not a plugin directory (no {MANIFEST_FILE})")]
    /// The directory has no manifest.
    NoManifest(PathBuf),
    #[error(transparent)]
    /// The manifest is unusable.
    Manifest(#[from] ManifestError),
    #[error("{path}: cannot read the component named by `wasm`: {source}")]
    /// The component could not be read.
    Wasm {
        /// The component's file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    #[error("{path}: sha256 is {actual}, but the manifest pins {expected}")]
    /// The component is not the one the manifest pins.
    Digest {
        /// The component's file.
        path: PathBuf,
        /// The pinned sha256.
        expected: String,
        /// The component's sha256.
        actual: String,
    },
}

/// A plugin read from a directory, not yet compiled.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// The plugin directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The component's file.
    pub wasm_path: PathBuf,
    /// The component's bytes.
    pub wasm: Vec<u8>,
    /// Lowercase hex sha256 of `wasm`.
    pub sha256: String,
}

impl PluginSource {
    /// Reads `dir/plugin.toml` and the component it names, checking any pinned digest.
    pub fn read(dir: &Path) -> Result<Self, SourceError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.is_file() {
            return Err(SourceError::NoManifest(dir.into()));
        }
        let manifest = Manifest::load(&manifest_path)?;
        let wasm_path = dir.join(&manifest.wasm);
        let wasm = std::fs::read(&wasm_path).map_err(|source| SourceError::Wasm {
            path: wasm_path.clone(),
            source,
        })?;
        let sha256 = sha256_hex(&wasm);
        if let Some(expected) = &manifest.sha256
            && *expected != sha256
        {
            return Err(SourceError::Digest {
                path: wasm_path,
                expected: expected.clone(),
                actual: sha256,
            });
        }
        Ok(PluginSource {
            dir: dir.into(),
            manifest,
            wasm_path,
            wasm,
            sha256,
        })
    }

    /// `id@version`, as shown to users.
    pub fn label(&self) -> String {
        format!("{}@{}", self.manifest.id, self.manifest.version)
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
