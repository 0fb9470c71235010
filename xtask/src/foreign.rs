//! Building plugins written in Python (componentize-py) and JavaScript (componentize-js), so
//! the tests load components made by real non-Rust toolchains, not only by `cargo`.
//!
//! A Python plugin's source directory holds `plugin.toml` and the module `app.py` (plus any
//! other modules it imports); a JavaScript plugin's holds `plugin.toml`, the ES module named
//! by the `main` key of its `package.json` (default `plugin.js`), and the `package.json` and
//! `package-lock.json` that pin `@bytecodealliance/componentize-js`. The manifest's `kind` is
//! the WIT world the component implements.
//!
//! Nothing is written into the source directory: Python sources are staged next to the
//! output, and the JavaScript toolchain is installed from the lockfile under
//! `target/wasm/foreign/`, reinstalled only when the lockfile changes.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// The componentize-py release the Python plugins are built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The module componentize-py wraps: `app.py` in the plugin's source directory.
pub const PYTHON_APP_MODULE: &str = "app";

/// WASI features componentize-js leaves out: the host serves plain `wasi:http` only to
/// plugins granted it, and none of these plugins is an HTTP handler.
const JS_DISABLED_FEATURES: [&str; 2] = ["http", "fetch-event"];

/// What a build needs from `plugin.toml`.
struct Manifest {
    /// The text, copied into the plugin directory as it is.
    text: String,
    /// The component's file name (the `wasm` key).
    wasm: String,
    /// The WIT world (the `kind` key: `analyzer`, `policy` or `tuner`).
    world: String,
}

fn read_manifest(src_dir: &Path) -> Result<Manifest> {
    let path = src_dir.join("plugin.toml");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let key = |name: &str| -> Result<String> {
        table
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .with_context(|| format!("{}: no string `{name}` key", path.display()))
    };
    let wasm = key("wasm")?;
    if wasm.contains('/') || wasm.contains('\\') || wasm.starts_with('.') {
        bail!(
            "{}: `wasm = \"{wasm}\"` must be a plain file name",
            path.display()
        );
    }
    let world = key("kind")?;
    if !["analyzer", "policy", "tuner"].contains(&world.as_str()) {
        bail!(
            "{}: unknown kind `{world}` (analyzer, policy or tuner)",
            path.display()
        );
    }
    Ok(Manifest { text, wasm, world })
}

/// Creates `out_dir` with `plugin.toml` in it; returns the component's path in it.
fn start_plugin_dir(manifest: &Manifest, out_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("plugin.toml"), &manifest.text)
        .with_context(|| format!("cannot write {}", out_dir.join("plugin.toml").display()))?;
    let component = out_dir.join(&manifest.wasm);
    // A component left by an earlier build must not pass for this one's.
    if component.exists() {
        fs::remove_file(&component)
            .with_context(|| format!("cannot remove {}", component.display()))?;
    }
    Ok(component)
}

/// Runs `cmd`, failing with its output when it cannot start or exits non-zero.
fn run(cmd: &mut Command, what: &str, missing_hint: &str) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = match cmd.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{what}: `{program}` is not installed ({missing_hint})")
        }
        Err(e) => return Err(e).with_context(|| format!("{what}: cannot run `{program}`")),
    };
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            shorten(&String::from_utf8_lossy(&output.stdout)),
            shorten(&String::from_utf8_lossy(&output.stderr))
        );
    }
    Ok(output)
}

/// The first and last 40 lines of a tool's output: its error, without pages of usage text.
fn shorten(text: &str) -> String {
    const KEEP: usize = 40;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= 2 * KEEP {
        return text.to_string();
    }
    format!(
        "{}\n[... {} lines ...]\n{}\n",
        lines[..KEEP].join("\n"),
        lines.len() - 2 * KEEP,
        lines[lines.len() - KEEP..].join("\n")
    )
}

/// The componentize-py program: `$COMPONENTIZE_PY`, or `componentize-py` on the `PATH`.
fn componentize_py() -> Command {
    Command::new(std::env::var_os("COMPONENTIZE_PY").unwrap_or_else(|| "componentize-py".into()))
}

/// The hint for a missing or wrong componentize-py.
fn componentize_py_hint() -> String {
    format!("install it with `pip install componentize-py=={COMPONENTIZE_PY_VERSION}`")
}

/// Fails unless componentize-py is the pinned release.
fn check_componentize_py() -> Result<()> {
    let hint = componentize_py_hint();
    let output = run(
        componentize_py().arg("--version"),
        "checking componentize-py",
        &hint,
    )?;
    let said = String::from_utf8_lossy(&output.stdout);
    let version = said.split_whitespace().last().unwrap_or_default();
    if version != COMPONENTIZE_PY_VERSION {
        bail!(
            "componentize-py {version} is installed, the plugins are built with {COMPONENTIZE_PY_VERSION}: {hint}"
        );
    }
    Ok(())
}

/// Copies the Python sources of `src` into `dst` (created empty), leaving out what a build or
/// an editor leaves behind.
fn stage_sources(src: &Path, dst: &Path) -> Result<()> {
    fs::create_dir_all(dst).with_context(|| format!("cannot create {}", dst.display()))?;
    for entry in fs::read_dir(src).with_context(|| format!("cannot list {}", src.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.') || name_str == "__pycache__" || name_str == "node_modules" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type()?.is_dir() {
            stage_sources(&from, &to)?;
        } else if name_str.ends_with(".py") {
            fs::copy(&from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
        }
    }
    Ok(())
}

/// A directory next to `out_dir` for what a build needs on the way: `<out_dir>.<suffix>`,
/// emptied first.
fn scratch_dir(out_dir: &Path, suffix: &str) -> Result<PathBuf> {
    let name = out_dir
        .file_name()
        .with_context(|| format!("{} has no file name", out_dir.display()))?;
    let dir = out_dir.with_file_name(format!("{}.{suffix}", name.to_string_lossy()));
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    Ok(dir)
}

/// Builds the Python plugin in `src_dir` (`plugin.toml` + `app.py`) against the WIT package in
/// `wit_dir` with componentize-py, and assembles its plugin directory at `out_dir`:
/// `plugin.toml` as it is and the component under the name its `wasm` key gives.
pub fn build_python_plugin(src_dir: &Path, wit_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let manifest = read_manifest(src_dir)?;
    if !src_dir.join(format!("{PYTHON_APP_MODULE}.py")).is_file() {
        bail!(
            "{}: no {PYTHON_APP_MODULE}.py, the module componentize-py wraps",
            src_dir.display()
        );
    }
    check_componentize_py()?;
    // componentize-py writes `__pycache__` next to the modules it reads: build from a copy.
    let staged = scratch_dir(out_dir, "py-src")?;
    stage_sources(src_dir, &staged)?;
    let component = start_plugin_dir(&manifest, out_dir)?;
    let hint = componentize_py_hint();
    run(
        componentize_py()
            .arg("--wit-path")
            .arg(wit_dir)
            .arg("--world")
            .arg(&manifest.world)
            .arg("--quiet")
            .arg("componentize")
            .arg("--python-path")
            .arg(&staged)
            .arg("--output")
            .arg(&component)
            .arg(PYTHON_APP_MODULE)
            .current_dir(&staged)
            // Only the staged sources and the standard library go into the component.
            .env_remove("VIRTUAL_ENV")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        &format!("building the Python plugin {}", src_dir.display()),
        &hint,
    )?;
    fs::remove_dir_all(&staged).ok();
    Ok(out_dir.to_path_buf())
}

/// The hint for a missing Node.js.
const NODE_HINT: &str =
    "JavaScript plugins need Node.js 20.19 or later and npm (Debian 12's own nodejs is too old)";

/// Where `npm install` installs the JavaScript toolchain the lockfile in `src_dir` pins, shared by
/// every build: `target/wasm/foreign/js-toolchain`. Reinstalled when the lockfile changes;
/// a file lock keeps concurrent builds (tests run in parallel) from installing at once.
fn js_toolchain(src_dir: &Path) -> Result<PathBuf> {
    let lock_path = src_dir.join("package-lock.json");
    let package = fs::read(src_dir.join("package.json"))
        .with_context(|| format!("cannot read {}", src_dir.join("package.json").display()))?;
    let lockfile = fs::read(&lock_path).with_context(|| {
        format!(
            "cannot read {} (create it with `npm install --package-lock-only`)",
            lock_path.display()
        )
    })?;
    let root = crate::wasm_target_dir().join("foreign");
    fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let guard = File::create(root.join("js-toolchain.lock"))
        .with_context(|| format!("cannot create a lock file in {}", root.display()))?;
    guard
        .lock()
        .with_context(|| format!("cannot lock {}", root.display()))?;
    let dir = root.join("js-toolchain");
    let stamp = dir.join("installed-from.json");
    let installed = fs::read(&stamp).ok();
    let wanted = [package.as_slice(), b"\n", lockfile.as_slice()].concat();
    if installed.as_deref() != Some(wanted.as_slice()) || !dir.join("node_modules").is_dir() {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::write(dir.join("package.json"), &package)?;
        fs::write(dir.join("package-lock.json"), &lockfile)?;
        // Not `npm ci`: the lockfile lacks the optional per-platform packages a registry did
        // not have at the version asked for, which `npm ci` refuses and `npm install` skips.
        // Checking afterwards that every package installed is the one pinned keeps the install
        // exactly as pinned (`lockfile_drift`).
        run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir),
            &format!(
                "installing the JavaScript toolchain pinned by {}",
                lock_path.display()
            ),
            NODE_HINT,
        )?;
        let after = fs::read(dir.join("package-lock.json"))?;
        let drift = lockfile_drift(&lockfile, &after, |key| dir.join(key).exists())
            .with_context(|| format!("cannot compare {} with npm's", lock_path.display()))?;
        if !drift.is_empty() {
            bail!(
                "{} does not match {} ({}): update it with `npm install --package-lock-only` there",
                lock_path.display(),
                src_dir.join("package.json").display(),
                drift.join("; ")
            );
        }
        fs::write(&stamp, &wanted)?;
    }
    drop(guard);
    Ok(dir)
}

/// How the lockfile npm left (`after`) differs from the pinned one (`pinned`) in what was
/// installed: a package whose version, source or integrity changed, or one installed
/// (`installed(key)`: its `node_modules/...` path exists) that only one of them lists. Optional
/// packages npm adds or drops without installing them — other platforms' binaries, which a
/// registry may list one day and not the day before — are no drift.
fn lockfile_drift(
    pinned: &[u8],
    after: &[u8],
    installed: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let packages = |bytes: &[u8]| -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut json: serde_json::Value = serde_json::from_slice(bytes)?;
        match json.get_mut("packages").map(serde_json::Value::take) {
            Some(serde_json::Value::Object(map)) => Ok(map),
            _ => bail!("no `packages` object (lockfile version 2 or 3 expected)"),
        }
    };
    let (pinned, after) = (packages(pinned)?, packages(after)?);
    let optional = |entry: &serde_json::Value| entry["optional"] == serde_json::Value::Bool(true);
    let mut drift = Vec::new();
    for (key, entry) in &after {
        match pinned.get(key) {
            Some(was) => {
                for field in ["version", "resolved", "integrity"] {
                    if was.get(field) != entry.get(field) {
                        drift.push(format!("{key}: {field} changed"));
                    }
                }
            }
            None if optional(entry) && !installed(key) => {}
            None => drift.push(format!("{key}: installed but not pinned")),
        }
    }
    for (key, was) in &pinned {
        // A pinned package npm dropped is drift unless it was optional and is not here.
        let may_go = optional(was) && !installed(key);
        if !after.contains_key(key) && !may_go {
            drift.push(format!("{key}: pinned but gone"));
        }
    }
    Ok(drift)
}

/// The `main` key of the `package.json` in `src_dir`; `plugin.js` without one.
fn js_entry(src_dir: &Path) -> Result<PathBuf> {
    let path = src_dir.join("package.json");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let main = json["main"].as_str().unwrap_or("plugin.js");
    let entry = src_dir.join(main);
    if !entry.is_file() {
        bail!(
            "{}: its `main` module {} does not exist",
            path.display(),
            entry.display()
        );
    }
    Ok(entry)
}

/// Builds the JavaScript plugin in `src_dir` (`plugin.toml`, `package.json`,
/// `package-lock.json` and the ES module `package.json`'s `main` names) against the WIT package
/// in `wit_dir` with componentize-js, and assembles its plugin directory at `out_dir`.
pub fn build_js_plugin(src_dir: &Path, wit_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let manifest = read_manifest(src_dir)?;
    let entry = js_entry(src_dir)?;
    let toolchain = js_toolchain(src_dir)?;
    let cli = toolchain.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
    if !cli.is_file() {
        bail!(
            "{} has no componentize-js: is `@bytecodealliance/componentize-js` in {}?",
            toolchain.display(),
            src_dir.join("package.json").display()
        );
    }
    let component = start_plugin_dir(&manifest, out_dir)?;
    // componentize-js works in a directory under the system's temporary directory and leaves
    // it behind when it fails: give it one of ours.
    let tmp = scratch_dir(out_dir, "js-tmp")?;
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let built = run(
        Command::new("node")
            .arg(&cli)
            .arg(&entry)
            .arg("--wit")
            .arg(wit_dir)
            .arg("--world-name")
            .arg(&manifest.world)
            .arg("--disable")
            .args(JS_DISABLED_FEATURES)
            .arg("--out")
            .arg(&component)
            .current_dir(&toolchain)
            .env("TMPDIR", &tmp),
        &format!("building the JavaScript plugin {}", src_dir.display()),
        NODE_HINT,
    );
    fs::remove_dir_all(&tmp).ok();
    built?;
    // The CLI reports some failures only as an unhandled rejection: check the result too.
    if !component.is_file() {
        bail!(
            "building the JavaScript plugin {}: componentize-js wrote no {}",
            src_dir.display(),
            component.display()
        );
    }
    Ok(out_dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::lockfile_drift;

    fn lock(entries: &str) -> Vec<u8> {
        format!(r#"{{"lockfileVersion": 3, "packages": {{"": {{"name": "x"}}{entries}}}}}"#)
            .into_bytes()
    }

    const TOOL: &str = r#", "node_modules/tool": {"version": "1.0.0", "integrity": "sha512-a"}"#;
    const OTHER_PLATFORM: &str = r#", "node_modules/tool-win32": {"version": "1.0.0", "integrity": "sha512-w", "optional": true}"#;

    #[test]
    fn optional_packages_of_other_platforms_may_come_and_go() {
        let pinned = lock(TOOL);
        let more = lock(&format!("{TOOL}{OTHER_PLATFORM}"));
        let none_installed = |_: &str| false;
        assert!(
            lockfile_drift(&pinned, &more, none_installed)
                .unwrap()
                .is_empty()
        );
        assert!(
            lockfile_drift(&more, &pinned, none_installed)
                .unwrap()
                .is_empty()
        );
        // The same package installed here was not pinned: drift.
        let drift = lockfile_drift(&pinned, &more, |key| key.ends_with("win32")).unwrap();
        assert_eq!(drift, ["node_modules/tool-win32: installed but not pinned"]);
    }

    #[test]
    fn a_changed_or_missing_package_is_drift() {
        let pinned = lock(TOOL);
        let newer = lock(r#", "node_modules/tool": {"version": "1.0.1", "integrity": "sha512-b"}"#);
        let drift = lockfile_drift(&pinned, &newer, |_| true).unwrap();
        assert_eq!(
            drift,
            [
                "node_modules/tool: version changed",
                "node_modules/tool: integrity changed"
            ]
        );
        let gone = lockfile_drift(&pinned, &lock(""), |_| false).unwrap();
        assert_eq!(gone, ["node_modules/tool: pinned but gone"]);
        assert!(lockfile_drift(b"{}", &pinned, |_| false).is_err());
    }
}
