//! Plugins written in Python (componentize-py) and JavaScript (componentize-js), built from
//! the sources in `tests/fixtures/` by the real toolchains, load and run under the default
//! limits, and when they fail, the author's message reaches the user.

use crate::support;

use serde_json::Value;
use support::{DAY, Repo, foreign_plugin, now, trellis};

const PYTHON: &str = "tests/fixtures/python-plugin";
const JAVASCRIPT: &str = "tests/fixtures/js-plugin";

/// `main`, an unmerged branch 200 days old, and a fresh branch 12 commits ahead.
fn repo() -> Repo {
    let mut r = Repo::new();
    let now = now();
    r.commit_at("base", now - 400 * DAY);
    r.git(&["checkout", "-q", "-b", "old-work"]);
    r.commit_at("old work", now - 200 * DAY);
    r.git(&["checkout", "-q", "-b", "far", "main"]);
    for i in 0..12 {
        r.commit_at(&format!("step {i}"), now - DAY);
    }
    r.git(&["checkout", "-q", "main"]);
    r
}

/// Scans `repo` with both plugins, each in `mode`, under the default limits.
fn scan(repo: &Repo, python_mode: &str, js_mode: &str) -> Value {
    let config = repo.path().join("modes.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.python-plugin]\nconfig = {{ mode = \"{python_mode}\" }}\n\
             [plugins.js-plugin]\nconfig = {{ mode = \"{js_mode}\" }}\n"
        ),
    )
    .unwrap();
    let out = trellis()
        .args(["scan", "--format", "json", "--config"])
        .arg(&config)
        .arg(repo.path())
        .arg("--plugin")
        .arg(foreign_plugin(PYTHON))
        .arg("--plugin")
        .arg(foreign_plugin(JAVASCRIPT))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    support::report(&out.stdout)
}

fn result<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no result of {id}: {report}"))
}

#[test]
fn python_and_javascript_plugins_run_under_the_default_limits() {
    let repo = repo();
    let report = scan(&repo, "ok", "ok");
    for (id, rule, branch) in [
        ("python-plugin", "old-unmerged-branch", "old-work"),
        ("js-plugin", "far-ahead", "far"),
    ] {
        let r = result(&report, id);
        assert_eq!(r["status"], "ok", "{r}");
        let found = r["output"].as_array().unwrap();
        assert!(
            found
                .iter()
                .any(|f| f["rule"] == rule && f["branch"] == branch),
            "{id} should flag {branch} with {rule}: {r}"
        );
        // Within the default 256 MiB per memory.
        assert!(r["metrics"]["peak_memory_bytes"].as_u64().unwrap() < 256 << 20);
    }
}

#[test]
fn the_authors_message_reaches_the_user_whichever_way_a_plugin_fails() {
    let repo = repo();
    let report = scan(&repo, "uncaught", "plugin-error");
    let py = &result(&report, "python-plugin")["failure"];
    assert_eq!(py["reason"], "trap", "{py}");
    let message = py["message"].as_str().unwrap();
    assert!(
        message.contains("python-plugin: deliberate uncaught exception (mode = uncaught)"),
        "{message}"
    );
    assert!(!message.contains("panicked at"), "{message}");
    let js = &result(&report, "js-plugin")["failure"];
    assert_eq!(js["reason"], "plugin-error", "{js}");
    assert_eq!(
        js["message"],
        "js-plugin: deliberate plugin-error (mode = plugin-error)"
    );

    let report = scan(&repo, "exception", "uncaught");
    let py = &result(&report, "python-plugin")["failure"];
    assert_eq!(py["reason"], "plugin-error", "{py}");
    assert_eq!(py["code"], "exception");
    assert!(
        py["message"]
            .as_str()
            .unwrap()
            .contains("python-plugin: deliberate exception (mode = exception)"),
        "{py}"
    );
    // A JavaScript `throw new Error(..)` escaping the export loses its text inside the guest;
    // the reason says so and how to fix it.
    let js = &result(&report, "js-plugin")["failure"];
    assert_eq!(js["reason"], "trap", "{js}");
    assert!(
        js["message"]
            .as_str()
            .unwrap()
            .contains("a JavaScript export threw something that is not a plugin-error"),
        "{js}"
    );
}

/// A component that needs more core instances than `[limits] instances` allows is refused
/// before it is compiled, with both numbers, and the scan still reports everything else.
#[test]
fn too_many_core_instances_are_refused_before_compiling() {
    let repo = repo();
    let config = repo.path().join("small-pool.toml");
    std::fs::write(&config, "[limits]\ninstances = 8\n").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = trellis()
        .env("TRELLIS_CACHE_DIR", cache.path())
        .args(["scan", "--format", "json", "--config"])
        .arg(&config)
        .arg(repo.path())
        .arg("--plugin")
        .arg(foreign_plugin(PYTHON))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = support::report(&out.stdout);
    let error = report["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("creates 14 core instances, more than `[limits] instances` allows (8)"),
        "{error}"
    );
    assert_eq!(
        report["repositories"][0]["branches"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Nothing was compiled, so nothing was cached.
    let compiled = walk(cache.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mac"))
        .count();
    assert_eq!(compiled, 0);
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
