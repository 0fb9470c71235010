//! Building plugins: compile a plugin workspace for `wasm32-wasip2` and assemble a member's
//! plugin directory (`plugin.toml` + the component), as `trellis` loads it.
//!
//! Used by `cargo xtask plugins` and by the end-to-end tests, so both build the same way.

pub mod bench;
pub mod bench_policy;
pub mod bench_risk;
pub mod bench_tune;
pub mod fixture;
pub mod foreign;
pub mod git;

use std::collections::BTreeMap;
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

/// Where plugin workspaces' native tests build (their engines are plain Rust, tested natively).
pub fn plugin_native_target_dir() -> PathBuf {
    workspace_root().join("target").join("plugins-native")
}

/// A `cargo` command for a plugin workspace: settings meant for the host build (set when
/// running under `cargo test`) must not leak into it.
fn plugin_cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
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
    cmd
}

/// Runs the native tests of the plugin workspace in `dir` (`cargo test --workspace`, for the
/// host's target); returns their output, or fails with it.
pub fn test_plugin_workspace(dir: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    let output = plugin_cargo()
        .args(["test", "--workspace", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(plugin_native_target_dir())
        .output()
        .with_context(|| format!("cannot run cargo for {}", manifest.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!("the tests of {} failed:\n{text}", manifest.display());
    }
    Ok(text)
}

/// Builds the plugin crate in `crate_dir` and returns its component.
///
/// The crate's whole workspace is built, as [`build_workspace`] does, so that plugins of
/// every kind in one workspace are built together, as `cargo build` would build them.
pub fn build_component(crate_dir: &Path) -> Result<PathBuf> {
    let manifest = crate_dir.join("Cargo.toml");
    let member = canonical(&manifest)?;
    build_workspace(crate_dir)?
        .remove(&member)
        .with_context(|| format!("cargo built no .wasm for {}", manifest.display()))
}

/// Builds the workspace of the crate or workspace in `dir` as a whole (release,
/// `wasm32-wasip2`, one `cargo build --workspace`) and returns the component of every member
/// that builds one (a `cdylib`), by the member's canonical `Cargo.toml` path.
pub fn build_workspace(dir: &Path) -> Result<BTreeMap<PathBuf, PathBuf>> {
    let manifest = dir.join("Cargo.toml");
    let mut cmd = plugin_cargo();
    cmd.args([
        "build",
        "--release",
        "--workspace",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--target")
    .arg(WASM_TARGET)
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(wasm_target_dir());
    let output = cmd
        .output()
        .with_context(|| format!("cannot run cargo for {}", manifest.display()))?;
    if !output.status.success() {
        bail!(
            "building the workspace of {} for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`):\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut components = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|kind| kind == "cdylib"));
        if message["reason"] != "compiler-artifact" || !is_cdylib {
            continue;
        }
        let (Some(member), Some(files)) = (
            message["manifest_path"].as_str(),
            message["filenames"].as_array(),
        ) else {
            continue;
        };
        let wasm = files
            .iter()
            .filter_map(|file| file.as_str())
            .find(|file| file.ends_with(".wasm"));
        if let Some(wasm) = wasm {
            components.insert(canonical(Path::new(member))?, PathBuf::from(wasm));
        }
    }
    Ok(components)
}

/// `path` with symbolic links and `..` resolved, so that paths cargo reports compare equal to
/// the ones callers give.
fn canonical(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))
}

/// Builds the plugin crate in `crate_dir` (with its workspace, see [`build_component`]) and
/// assembles its plugin directory at `out`: `plugin.toml` copied as it is, and the component
/// under the name its `wasm` key gives.
pub fn build_plugin_dir(crate_dir: &Path, out: &Path) -> Result<PathBuf> {
    let manifest_path = crate_dir.join("plugin.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let wasm_name = wasm_path(&manifest).with_context(|| format!("{}", manifest_path.display()))?;
    let component = build_component(crate_dir)?;
    let wasm_out = out.join(&wasm_name);
    let wasm_dir = wasm_out.parent().unwrap_or(out);
    std::fs::create_dir_all(wasm_dir)
        .with_context(|| format!("cannot create {}", wasm_dir.display()))?;
    std::fs::write(out.join("plugin.toml"), &manifest)?;
    std::fs::copy(&component, &wasm_out)
        .with_context(|| format!("cannot copy {}", component.display()))?;
    Ok(out.to_path_buf())
}

/// The manifest's `wasm` key: where the component goes in the plugin directory. The host
/// accepts only a relative path that stays inside the directory; so does this.
fn wasm_path(manifest: &str) -> Result<PathBuf> {
    let manifest: toml::Table = manifest.parse().context("not a TOML manifest")?;
    let wasm = manifest
        .get("wasm")
        .and_then(toml::Value::as_str)
        .context("no `wasm` key naming the component")?;
    let path = PathBuf::from(wasm);
    let inside = path.components().next().is_some()
        && path
            .components()
            .all(|part| matches!(part, std::path::Component::Normal(_)));
    if !inside {
        bail!("`wasm = {wasm:?}` must be a relative path inside the plugin directory");
    }
    Ok(path)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_path_reads_the_top_level_key() {
        let manifest = "id = \"x\"\nwasm = \"bin/x.wasm\"\n\n[config]\nwasm = \"not this\"\n";
        assert_eq!(wasm_path(manifest).unwrap(), Path::new("bin/x.wasm"));
    }

    #[test]
    fn wasm_path_stays_inside_the_plugin_directory() {
        for wasm in ["../x.wasm", "/tmp/x.wasm", "a/../../x.wasm", "./", ""] {
            let manifest = format!("wasm = {wasm:?}");
            assert!(wasm_path(&manifest).is_err(), "{wasm} accepted");
        }
    }

    #[test]
    fn wasm_path_needs_the_key() {
        assert!(wasm_path("[config]\nwasm = \"x.wasm\"").is_err());
        assert!(wasm_path("wasm = 3").is_err());
    }
}
