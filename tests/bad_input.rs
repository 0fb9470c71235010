//! Bad input gets one clear line on stderr and exit code 2; nothing panics.

use crate::support;

use std::path::Path;

use support::{Repo, plugin, scan_json, trellis};

/// Runs `trellis scan ARGS`, expects exit code 2 and one error line containing `expected`.
fn assert_input_error(args: &[&str], expected: &str) {
    let out = trellis().arg("scan").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "args {args:?}, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(expected), "`{expected}` not in: {stderr}");
}

fn repo() -> Repo {
    let mut r = Repo::new();
    r.commit("one");
    r
}

/// A plugin directory with `manifest` and, if given, `wasm` bytes as `plugin.wasm`.
fn plugin_dir(manifest: &str, wasm: Option<&[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.toml"), manifest).unwrap();
    if let Some(bytes) = wasm {
        std::fs::write(dir.path().join("plugin.wasm"), bytes).unwrap();
    }
    dir
}

fn manifest(kind: &str) -> String {
    format!(
        "id = \"bad\"\nversion = \"1.0.0\"\nkind = \"{kind}\"\napi = \"^0.2\"\nwasm = \"plugin.wasm\"\n"
    )
}

#[test]
fn repository_errors() {
    assert_input_error(
        &["/no/such/path"],
        "/no/such/path: no such file or directory",
    );
    let empty = tempfile::tempdir().unwrap();
    assert_input_error(&[empty.path().to_str().unwrap()], "not a git repository");
    let r = repo();
    assert_input_error(
        &[r.path().to_str().unwrap(), "--base", "nope"],
        "base branch `nope` not found",
    );
}

#[test]
fn an_empty_repository_is_scanned_with_nothing_to_report() {
    let unborn = Repo::new();
    let path = unborn.path().to_str().unwrap();
    for args in [vec![path], vec![path, "--base", "main"]] {
        let report = scan_json(&args);
        let repo = &report["repositories"][0];
        assert_eq!(report["errors"], serde_json::json!([]), "{args:?}");
        assert_eq!(repo["branches"], serde_json::json!([]));
        assert_eq!(repo["facts"]["stats"]["commits"], 0);
        assert_eq!(repo["facts"]["base_tip"], "");
        assert_eq!(repo["facts"]["head_commit"], serde_json::Value::Null);
    }
    let table = trellis().args(["scan", path]).output().unwrap();
    assert_eq!(table.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&table.stdout).contains("empty repository"));
}

#[test]
fn a_bad_repository_does_not_stop_the_others() {
    let r = repo();
    let out = trellis()
        .args(["scan", "--format", "json", "/no/such/path"])
        .arg(r.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = support::report(&out.stdout);
    assert_eq!(report["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(report["errors"][0]["path"], "/no/such/path");
}

#[test]
fn plugin_errors() {
    let r = repo();
    let path = r.path().to_str().unwrap();

    let no_manifest = tempfile::tempdir().unwrap();
    assert_input_error(
        &[path, "--plugin", no_manifest.path().to_str().unwrap()],
        "no plugin.toml",
    );

    let bad_semver = plugin_dir(&manifest("analyzer").replace("1.0.0", "one"), None);
    assert_input_error(
        &[path, "--plugin", bad_semver.path().to_str().unwrap()],
        "key `version`",
    );

    let missing_wasm = plugin_dir(&manifest("analyzer"), None);
    assert_input_error(
        &[path, "--plugin", missing_wasm.path().to_str().unwrap()],
        "cannot read the component",
    );

    // The smallest valid core module: a component is required.
    let core = plugin_dir(&manifest("analyzer"), Some(b"\0asm\x01\0\0\0"));
    assert_input_error(
        &[path, "--plugin", core.path().to_str().unwrap()],
        "core WebAssembly module, not a component",
    );

    // A tuner component that claims to be an analyzer.
    let tuner = plugin("tests/fixtures/plugins/fixed-tuner");
    let wasm = std::fs::read(tuner.join("fixed_tuner.wasm")).unwrap();
    let wrong_world = plugin_dir(&manifest("analyzer"), Some(&wasm));
    assert_input_error(
        &[path, "--plugin", wrong_world.path().to_str().unwrap()],
        "does not implement the `analyzer` world of API 0.2.0",
    );

    // An API version the host does not serve, named with both versions.
    let future = plugin_dir(&manifest("tuner").replace("^0.2", "^0.7"), Some(&wasm));
    let out = trellis()
        .args(["scan", path, "--plugin"])
        .arg(future.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("0.7") && stderr.contains("0.2.0"),
        "{stderr}"
    );
}

/// A plugin that cannot be loaded costs only its own result: the branch facts and every other
/// plugin's results are still printed, the error is in the report and on stderr, exit 2.
#[test]
fn a_bad_plugin_does_not_cost_the_report() {
    let r = repo();
    r.git(&["branch", "topic"]);
    let path = r.path().to_str().unwrap();
    let stale = plugin("plugins/stale-branches");
    let no_manifest = tempfile::tempdir().unwrap();
    let future = plugin_dir(
        &manifest("analyzer").replace("^0.2", "^0.7"),
        Some(&std::fs::read(stale.join("stale_branches.wasm")).unwrap()),
    );
    let out = trellis()
        .args(["scan", "--format", "json", path, "--plugin"])
        .arg(no_manifest.path())
        .arg("--plugin")
        .arg(&stale)
        .arg("--plugin")
        .arg(future.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let report = support::report(&out.stdout);
    let repo = &report["repositories"][0];
    assert!(!repo["branches"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(repo["plugins"][0]["id"], "stale-branches");
    assert_eq!(repo["plugins"][0]["status"], "ok");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{report}");
    assert_eq!(errors[0]["path"], no_manifest.path().display().to_string());
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("no plugin.toml")
    );
    assert!(errors[1]["error"].as_str().unwrap().contains("0.7"));
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");

    // A component refused after compiling (the wrong world) is not kept in the compile cache.
    let tuner =
        std::fs::read(plugin("tests/fixtures/plugins/fixed-tuner").join("fixed_tuner.wasm"))
            .unwrap();
    let wrong_world = plugin_dir(&manifest("analyzer"), Some(&tuner));
    let cache = tempfile::tempdir().unwrap();
    let out = trellis()
        .env("TRELLIS_CACHE_DIR", cache.path())
        .args(["scan", "--format", "json", path, "--plugin"])
        .arg(wrong_world.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = support::report(&out.stdout);
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("does not implement the `analyzer` world"),
        "{report}"
    );
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert!(
        cached.is_empty(),
        "a refused component was cached: {cached:?}"
    );

    // The table shows the branches too.
    let table = trellis()
        .args(["scan", path, "--plugin"])
        .arg(no_manifest.path())
        .output()
        .unwrap();
    assert_eq!(table.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&table.stdout).contains("base main"));
}

#[test]
fn config_and_usage_errors() {
    let r = repo();
    let path = r.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[limits]\nfule = 1\n").unwrap();
    assert_input_error(&[path, "--config", config.to_str().unwrap()], "fule");
    assert_input_error(&[path, "--grant", "nocolon"], "expected ID:CAPABILITY");
    assert_input_error(&[path, "--grant", "x:git.everything"], "unknown capability");

    let out = trellis()
        .args(["scan", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(Path::new(env!("CARGO_BIN_EXE_trellis")).exists());
}
