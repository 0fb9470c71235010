//! Building plugins: compile a plugin crate for `wasm32-wasip2` and assemble its plugin
//! directory (`plugin.toml` + the component), as `trellis` loads it.
//!
//! Used by `cargo xtask plugins` and by the end-to-end tests, so both build the same way.

pub mod bench;
pub mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The workspace root (the directory of the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where wasm builds go; separate from the host's target dir so the two never wait on or
/// invalidate each other.
pub fn wasm_target_dir() -> PathBuf {
    workspace_root().join("target").join("wasm")
}

/// Builds the plugin crate in `crate_dir` (release, `wasm32-wasip2`) and returns the component.
pub fn build_component(crate_dir: &Path) -> Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--target")
    .arg(WASM_TARGET)
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(wasm_target_dir());
    // Settings meant for the host build (set when running under `cargo test`) must not leak
    // into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .with_context(|| format!("cannot run cargo for {}", manifest.display()))?;
    if !output.status.success() {
        bail!(
            "building {} for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`):\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut wasm = None;
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let built_here = message["manifest_path"]
            .as_str()
            .is_some_and(|p| Path::new(p) == manifest || Path::new(p).ends_with(&manifest));
        let files = message["filenames"].as_array().cloned().unwrap_or_default();
        for file in files.iter().filter_map(|f| f.as_str()) {
            if file.ends_with(".wasm") && (built_here || wasm.is_none()) {
                wasm = Some(PathBuf::from(file));
            }
        }
    }
    wasm.with_context(|| format!("cargo built no .wasm for {}", manifest.display()))
}

/// Builds the plugin crate in `crate_dir` and assembles its plugin directory at `out`:
/// `plugin.toml` copied as it is, and the component under the name its `wasm` key gives.
pub fn build_plugin_dir(crate_dir: &Path, out: &Path) -> Result<PathBuf> {
    let component = build_component(crate_dir)?;
    let manifest_path = crate_dir.join("plugin.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let wasm_name = wasm_key(&manifest)
        .with_context(|| format!("{}: no `wasm = \"...\"` line", manifest_path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(out.join("plugin.toml"), &manifest)?;
    std::fs::copy(&component, out.join(&wasm_name))
        .with_context(|| format!("cannot copy {}", component.display()))?;
    Ok(out.to_path_buf())
}

/// The value of the top-level `wasm = "..."` key of a manifest.
fn wasm_key(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("wasm")?
            .trim_start()
            .strip_prefix('=')?;
        Some(rest.trim().trim_matches('"').to_string())
    })
}

/// The first-party plugin crates: every directory under `plugins/` with a `plugin.toml`.
pub fn first_party_plugins() -> Result<Vec<PathBuf>> {
    let dir = workspace_root().join("plugins");
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let path = entry?.path();
        if path.join("plugin.toml").is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
