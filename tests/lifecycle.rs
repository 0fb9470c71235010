//! The plugin store end to end: install, upgrade, roll back, enable, disable, remove, verify and
//! sign, with real components, real processes, SIGKILL at random instants and two writers at once.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Repo, plugin, trellis};

/// `trellis` with its own plugin store at `home`.
fn with_store(home: &Path) -> Command {
    let mut cmd = trellis();
    cmd.env("TRELLIS_HOME", home);
    cmd
}

fn run(home: &Path, args: &[&str]) -> Output {
    with_store(home).args(args).output().expect("run trellis")
}

/// Runs and expects success; returns stdout.
fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(
        out.status.success(),
        "trellis {args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs and expects exit code `code` with `expected` on stderr.
fn refused(home: &Path, args: &[&str], code: i32, expected: &str) {
    let out = run(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "`{expected}` not in: {stderr}");
}

/// A copy of the plugin directory `src` whose manifest has `edit` applied.
fn variant(src: &Path, parent: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    std::fs::write(dir.join("plugin.toml"), edit(manifest)).unwrap();
    dir
}

/// Versions 0.1.0 and 0.2.0 of stale-branches.
fn two_versions(parent: &Path) -> (PathBuf, PathBuf) {
    let built = plugin("plugins/stale-branches");
    let v1 = variant(&built, parent, "v1", |m| m);
    let v2 = variant(&built, parent, "v2", |m| {
        m.replace("version = \"0.1.0\"", "version = \"0.2.0\"")
    });
    (v1, v2)
}

fn state(home: &Path) -> Value {
    serde_json::from_str(&ok(home, &["plugin", "list", "--format", "json"])).unwrap()
}

fn scanned_plugins(home: &Path, repo: &Repo) -> Vec<String> {
    let out = ok(
        home,
        &["scan", "--format", "json", repo.path().to_str().unwrap()],
    );
    let report = support::report(out.as_bytes());
    report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}@{}",
                p["id"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn install_upgrade_roll_back_disable_and_remove() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let (v1, v2) = two_versions(work.path());
    let mut repo = Repo::new();
    repo.commit("one");

    assert!(
        ok(&home, &["plugin", "install", v1.to_str().unwrap()])
            .contains("installed stale-branches@0.1.0")
    );
    let s = state(&home);
    assert_eq!(s["plugins"]["stale-branches"]["active"], "0.1.0");
    assert_eq!(s["plugins"]["stale-branches"]["enabled"], true);
    assert_eq!(scanned_plugins(&home, &repo), vec!["stale-branches@0.1.0"]);

    let out = ok(&home, &["plugin", "install", v2.to_str().unwrap()]);
    assert!(
        out.contains("installed stale-branches@0.2.0 (was 0.1.0)"),
        "{out}"
    );
    assert_eq!(scanned_plugins(&home, &repo), vec!["stale-branches@0.2.0"]);

    assert!(ok(&home, &["plugin", "rollback", "stale-branches"]).contains("now 0.1.0"));
    assert_eq!(scanned_plugins(&home, &repo), vec!["stale-branches@0.1.0"]);
    refused(
        &home,
        &["plugin", "rollback", "stale-branches"],
        2,
        "no earlier version",
    );
    ok(
        &home,
        &["plugin", "rollback", "stale-branches", "--to", "0.2.0"],
    );
    assert_eq!(state(&home)["plugins"]["stale-branches"]["active"], "0.2.0");
    ok(&home, &["plugin", "rollback", "stale-branches"]);
    assert_eq!(state(&home)["plugins"]["stale-branches"]["active"], "0.1.0");

    refused(
        &home,
        &["plugin", "install", v1.to_str().unwrap()],
        2,
        "already installed (use --force",
    );
    ok(
        &home,
        &["plugin", "install", "--force", v1.to_str().unwrap()],
    );
    refused(
        &home,
        &["plugin", "upgrade", "stale-branches", v1.to_str().unwrap()],
        2,
        "not newer than the active version 0.1.0",
    );
    ok(
        &home,
        &["plugin", "upgrade", "stale-branches", v2.to_str().unwrap()],
    );

    ok(&home, &["plugin", "disable", "stale-branches"]);
    assert!(ok(&home, &["plugin", "list"]).contains("no"));
    assert_eq!(scanned_plugins(&home, &repo), Vec::<String>::new());
    ok(&home, &["plugin", "enable", "stale-branches"]);
    assert_eq!(scanned_plugins(&home, &repo), vec!["stale-branches@0.2.0"]);

    let info = ok(&home, &["plugin", "info", "stale-branches"]);
    assert!(
        info.contains("active:    0.2.0") && info.contains("0.1.0  sha256"),
        "{info}"
    );

    refused(
        &home,
        &["plugin", "remove", "stale-branches", "--version", "0.2.0"],
        2,
        "active version",
    );
    refused(&home, &["plugin", "remove", "stale-branches"], 2, "--all");
    ok(
        &home,
        &["plugin", "remove", "stale-branches", "--version", "0.1.0"],
    );
    let s = state(&home);
    let versions: Vec<&String> = s["plugins"]["stale-branches"]["versions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(versions, vec!["0.2.0"]);
    ok(&home, &["plugin", "remove", "stale-branches", "--all"]);
    assert_eq!(state(&home)["plugins"], serde_json::json!({}));
    // Nothing is left behind on disk.
    let leftovers: Vec<_> = std::fs::read_dir(home.join("plugins"))
        .map(|d| d.count())
        .into_iter()
        .collect();
    assert!(leftovers.iter().all(|n| *n == 0), "{leftovers:?}");
    refused(
        &home,
        &["plugin", "enable", "stale-branches"],
        2,
        "not installed",
    );
}

#[test]
fn installs_a_directory_of_plugins_and_a_wasm_path() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let all = work.path().join("all");
    variant(&plugin("plugins/stale-branches"), &all, "stale", |m| m);
    variant(
        &plugin("tests/fixtures/external-plugin"),
        &all,
        "external",
        |m| m,
    );
    std::fs::create_dir_all(all.join("not-a-plugin")).unwrap();
    let out = ok(&home, &["plugin", "install", all.to_str().unwrap()]);
    assert!(
        out.contains("installed stale-branches@0.1.0")
            && out.contains("installed external-plugin@0.3.1"),
        "{out}"
    );

    let other = tempfile::tempdir().unwrap();
    let home2 = other.path().join("home");
    let dir = variant(&plugin("plugins/stale-branches"), other.path(), "p", |m| m);
    ok(
        &home2,
        &[
            "plugin",
            "install",
            dir.join("stale_branches.wasm").to_str().unwrap(),
        ],
    );
    assert_eq!(
        state(&home2)["plugins"]["stale-branches"]["active"],
        "0.1.0"
    );
    let list = ok(&home2, &["plugin", "list"]);
    assert!(list.contains("stale-branches  0.1.0   analyzer"), "{list}");
}

#[test]
fn incompatible_api_and_bad_manifests_are_refused_and_change_nothing() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let built = plugin("plugins/stale-branches");
    let future = variant(&built, work.path(), "future", |m| {
        m.replace("api = \"^0.2\"", "api = \"^0.7\"")
    });
    refused(
        &home,
        &["plugin", "install", future.to_str().unwrap()],
        2,
        "built against API 0.2.0, but its manifest requires API ^0.7",
    );
    let escape = variant(&built, work.path(), "escape", |m| {
        m.replace(
            "wasm = \"stale_branches.wasm\"",
            "wasm = \"../stale_branches.wasm\"",
        )
    });
    refused(
        &home,
        &["plugin", "install", escape.to_str().unwrap()],
        2,
        "key `wasm`",
    );
    let no_kind = variant(&built, work.path(), "nokind", |m| {
        m.replace("kind = \"analyzer\"\n", "")
    });
    refused(
        &home,
        &["plugin", "install", no_kind.to_str().unwrap()],
        2,
        "missing field `kind`",
    );
    assert_eq!(state(&home)["plugins"], serde_json::json!({}));
}

#[test]
fn tampering_is_caught_by_verify_and_at_scan() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let (v1, _) = two_versions(work.path());
    ok(&home, &["plugin", "install", v1.to_str().unwrap()]);
    assert!(ok(&home, &["plugin", "verify"]).contains("verified"));

    let s = state(&home);
    let record = &s["plugins"]["stale-branches"]["versions"]["0.1.0"];
    let wasm = home
        .join(record["dir"].as_str().unwrap())
        .join("stale_branches.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, bytes).unwrap();

    refused(
        &home,
        &["plugin", "verify"],
        1,
        "stale_branches.wasm: sha256 is",
    );
    let mut repo = Repo::new();
    repo.commit("one");
    let out = run(
        &home,
        &["scan", "--format", "json", repo.path().to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("installed plugin refused") && stderr.contains("modified after install"),
        "{stderr}"
    );
    // The scan itself went on.
    let report = support::report(&out.stdout);
    assert_eq!(report["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(report["repositories"][0]["plugins"], serde_json::json!([]));
}

#[test]
fn signatures_are_made_and_enforced() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let key = work.path().join("key");
    let public = ok(&home, &["plugin", "keygen", key.to_str().unwrap()])
        .trim()
        .to_string();
    assert_eq!(public.len(), 64);
    let (v1, v2) = two_versions(work.path());
    ok(
        &home,
        &[
            "plugin",
            "sign",
            "--key",
            key.to_str().unwrap(),
            v1.to_str().unwrap(),
        ],
    );
    let config = work.path().join("trust.toml");
    std::fs::write(
        &config,
        format!("[trust]\nrequire_signatures = true\nkeys = [\"{public}\"]\n"),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();

    refused(
        &home,
        &["--config", cfg, "plugin", "install", v2.to_str().unwrap()],
        2,
        "unsigned",
    );
    ok(
        &home,
        &["--config", cfg, "plugin", "install", v1.to_str().unwrap()],
    );
    assert_eq!(
        state(&home)["plugins"]["stale-branches"]["versions"]["0.1.0"]["signer"],
        public.as_str()
    );

    // A signature by another key, or over other bytes, is refused.
    let other_key = work.path().join("other");
    ok(&home, &["plugin", "keygen", other_key.to_str().unwrap()]);
    ok(
        &home,
        &[
            "plugin",
            "sign",
            "--key",
            other_key.to_str().unwrap(),
            v2.to_str().unwrap(),
        ],
    );
    refused(
        &home,
        &["--config", cfg, "plugin", "install", v2.to_str().unwrap()],
        2,
        "does not verify with any trusted key",
    );
}

/// Reads the store through `trellis` and checks it is whole: the state parses, every recorded
/// file exists and hashes as installed.
fn assert_consistent(home: &Path) {
    let out = run(home, &["plugin", "list", "--format", "json"]);
    assert!(
        out.status.success(),
        "list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(home, &["plugin", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("not installed"),
        "verify after a kill: {stderr}"
    );
}

#[test]
fn sigkill_at_random_instants_never_leaves_a_broken_store() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let (v1, v2) = two_versions(work.path());
    let (v1s, v2s) = (v1.to_str().unwrap(), v2.to_str().unwrap());
    ok(&home, &["plugin", "install", v1s]);
    // How long an uninterrupted operation takes here, so kills land all through it.
    let started = std::time::Instant::now();
    ok(&home, &["plugin", "install", "--force", v1s]);
    let mut span = started.elapsed().as_micros().max(1000) as u64;

    // Kill at pseudo-random instants across the span until at least 60 operations ran and 20
    // of them were cut off mid-way. Under load an operation can take far longer than the span
    // measured, or far less: the span adapts, so enough kills land inside operations whatever
    // the machine is doing (bounded, so a broken build cannot loop for ever).
    const ROUNDS: u32 = 60;
    const INTERRUPTED: u32 = 20;
    const MAX_ROUNDS: u32 = 1000;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut round, mut killed) = (0u32, 0u32);
    while (round < ROUNDS || killed < INTERRUPTED) && round < MAX_ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let args: Vec<&str> = match round % 3 {
            0 => vec!["plugin", "install", "--force", v2s],
            1 => vec!["plugin", "install", "--force", v1s],
            _ => vec!["plugin", "rollback", "stale-branches"],
        };
        let mut child = with_store(&home)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(seed % (span * 12 / 10)));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        } else {
            // It finished before the kill: aim earlier next time.
            span = (span * 3 / 4).max(200);
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        assert_consistent(&home);
        round += 1;
    }
    assert!(
        killed >= INTERRUPTED,
        "only {killed} of {round} operations were interrupted"
    );
    // After all that, a normal operation still works and sweeps every leftover.
    ok(&home, &["plugin", "install", "--force", v2s]);
    let staging = std::fs::read_dir(home.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staging, 0, "staging leftovers");
    let s = state(&home);
    let referenced = s["plugins"]["stale-branches"]["versions"]
        .as_object()
        .unwrap()
        .len();
    let on_disk = std::fs::read_dir(home.join("plugins").join("stale-branches"))
        .unwrap()
        .count();
    assert_eq!(on_disk, referenced, "unreferenced version directories left");
}

#[test]
fn concurrent_installs_both_land() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let a = variant(&plugin("plugins/stale-branches"), work.path(), "a", |m| m);
    let b = variant(
        &plugin("tests/fixtures/external-plugin"),
        work.path(),
        "b",
        |m| m,
    );
    for _ in 0..3 {
        let first = with_store(&home)
            .args(["plugin", "install", "--force"])
            .arg(&a)
            .output();
        let second = std::thread::spawn({
            let home = home.clone();
            let b = b.clone();
            move || {
                with_store(&home)
                    .args(["plugin", "install", "--force"])
                    .arg(&b)
                    .output()
            }
        });
        let (first, second) = (first.unwrap(), second.join().unwrap().unwrap());
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
    }
    let s = state(&home);
    assert_eq!(s["plugins"].as_object().unwrap().len(), 2);
    assert_consistent(&home);
}

#[test]
fn grants_recorded_in_the_store_reach_the_plugin() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let probe = variant(
        &plugin("tests/fixtures/plugins/probe"),
        work.path(),
        "probe",
        |m| m,
    );
    ok(&home, &["plugin", "install", probe.to_str().unwrap()]);
    let mut repo = Repo::new();
    for i in 0..4 {
        repo.commit(&format!("c{i}"));
    }
    let commits_answer = || {
        let out = ok(
            &home,
            &["scan", "--format", "json", repo.path().to_str().unwrap()],
        );
        let report = support::report(out.as_bytes());
        report["repositories"][0]["plugins"][0]["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "commits")
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(commits_answer().contains("Denied"));
    assert!(
        ok(&home, &["plugin", "grant", "probe", "git.history"])
            .contains("granted git.history to probe")
    );
    assert_eq!(commits_answer(), "ok: 3");
    assert!(ok(&home, &["plugin", "info", "probe"]).contains("grants:    git.history"));
    ok(&home, &["plugin", "revoke", "probe", "git.history"]);
    assert!(commits_answer().contains("Denied"));
    refused(
        &home,
        &["plugin", "grant", "probe", "git.everything"],
        2,
        "unknown capability",
    );
}
