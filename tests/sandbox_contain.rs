//! Containment beyond the limits: a plugin cannot read the git directory through `fs.read`,
//! reach history the user threw away through host queries, or get its code run from a cache
//! entry someone else wrote; a cache directory others can write is not used, and a tampered
//! facts cache is ignored.

use crate::support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Repo, plugin, trellis};

const SECRET: &str = "s3cr3t-t0ken";

/// A plugin directory running the hostile-contain fixture as `id` with `config` (TOML lines
/// replacing `mode = "ok"`) and `fs_read` as the directories it asks for.
fn contain(parent: &Path, id: &str, config: &str, fs_read: &[&str]) -> PathBuf {
    let built = plugin("tests/fixtures/plugins/hostile-contain");
    let dir = parent.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.join("hostile_contain.wasm"),
        dir.join("hostile_contain.wasm"),
    )
    .unwrap();
    let asks = fs_read
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let manifest = std::fs::read_to_string(built.join("plugin.toml"))
        .unwrap()
        .replace("id = \"hostile-contain\"", &format!("id = \"{id}\""))
        .replace(
            "git.blobs = true",
            &format!("git.blobs = true\nfs.read = [{asks}]"),
        )
        .replace("mode = \"ok\"", config);
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

/// Runs a JSON scan with `cmd`; returns the plugin results of the first repository by id and
/// stderr.
fn scan_with(cmd: Command, args: &[String]) -> (HashMap<String, Value>, String) {
    let run = support::sandbox_scan(cmd, args);
    (run.results, run.stderr)
}

/// The one finding's message of plugin `id`, which must have run.
fn message(results: &HashMap<String, Value>, id: &str) -> String {
    let r = &results[id];
    assert_eq!(r["status"], "ok", "{id} failed: {r}");
    r["output"][0]["message"].as_str().unwrap().to_string()
}

/// `--config FILE` with `config` written to `work/trellis.toml`, and `--plugin DIR` each.
fn args(work: &Path, repo: &Path, config: &str, plugins: &[PathBuf]) -> Vec<String> {
    let path = work.join("trellis.toml");
    std::fs::write(&path, config).unwrap();
    let mut args = vec![
        repo.display().to_string(),
        "--config".into(),
        path.display().to_string(),
    ];
    for dir in plugins {
        args.push("--plugin".into());
        args.push(dir.display().to_string());
    }
    args
}

#[test]
fn fs_read_never_reaches_the_git_directory() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.git(&[
        "remote",
        "add",
        "origin",
        &format!("https://user:{SECRET}@example.com/r.git"),
    ]);
    repo.commit_file("docs/readme.txt", "public docs", "docs");
    let root = repo.path();
    // A symlink to the git directory, one to its config from a granted directory, and a
    // submodule-style `.git` file in a vendored directory.
    std::os::unix::fs::symlink(".git", root.join("linked")).unwrap();
    std::os::unix::fs::symlink("../.git/config", root.join("docs/config-link")).unwrap();
    std::fs::create_dir_all(root.join("vendor/sub")).unwrap();
    std::fs::write(root.join("vendor/sub/.git"), "gitdir: ../../.git\n").unwrap();
    std::fs::write(root.join("vendor/sub/file.txt"), "vendored").unwrap();
    std::fs::create_dir_all(root.join("nested/deep")).unwrap();
    std::fs::create_dir_all(root.join("nested/deep/.GIT")).unwrap();
    std::fs::write(root.join("nested/deep/.GIT/config"), SECRET).unwrap();

    let cases: [(&str, &str, &str); 7] = [
        ("f-docs", "docs", "docs/readme.txt"),
        ("f-dot", ".", ".git/config"),
        ("f-dot-plain", ".", "docs/readme.txt"),
        ("f-linked", "linked", "linked/config"),
        ("f-docs-link", "docs", "docs/config-link"),
        ("f-vendor", "vendor", "vendor/sub/file.txt"),
        ("f-nested", "nested", "nested/deep/.GIT/config"),
    ];
    let mut config = String::new();
    let mut plugins = Vec::new();
    for (id, dir, path) in cases {
        config.push_str(&format!("[plugins.{id}]\ngrants = [\"fs.read={dir}\"]\n"));
        plugins.push(contain(
            work.path(),
            id,
            &format!("mode = \"read-file\"\npath = \"{path}\""),
            &[dir],
        ));
    }
    let (r, stderr) = scan_with(trellis(), &args(work.path(), root, &config, &plugins));

    // The control: a plain granted directory is readable.
    assert_eq!(message(&r, "f-docs"), "ok: public docs");
    for id in [
        "f-dot",
        "f-dot-plain",
        "f-linked",
        "f-docs-link",
        "f-vendor",
        "f-nested",
    ] {
        let said = message(&r, id);
        assert!(said.starts_with("error:"), "{id} read: {said}");
        assert!(!said.contains(SECRET), "{id} leaked: {said}");
    }
    assert!(
        stderr.contains("contains a git directory"),
        "no warning: {stderr}"
    );

    // `.git` itself, in any letter case, is not even a capability.
    for grant in ["x:fs.read=.git", "x:fs.read=.GIT/", "x:fs.read=docs/.git"] {
        let out = trellis()
            .args(["scan", "--grant", grant])
            .arg(root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{grant} accepted");
    }
}

#[test]
fn host_queries_cannot_reach_discarded_history() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    let one = repo.commit("one");
    repo.git(&["tag", "v1"]);
    let secret = repo.commit_file("secret.txt", SECRET, "secret");
    repo.git(&["reset", "-q", "--hard", &one]);
    let two = repo.commit("two");
    // The secret commit is now only in the reflog (and ORIG_HEAD).
    assert_eq!(repo.git(&["rev-parse", "ORIG_HEAD"]), secret);

    let cases: Vec<(&str, &str, String)> = vec![
        ("q-reflog", "commits", "HEAD@{1}".into()),
        ("q-main-reflog", "commits", "main@{1}".into()),
        ("q-orig", "commits", "ORIG_HEAD".into()),
        ("q-head", "commits", "HEAD".into()),
        ("q-regex", "commits", ":/secret".into()),
        ("q-date", "commits", "main@{1 year ago}".into()),
        ("q-peel", "commits", "main^{tree}".into()),
        ("q-id", "commits", secret.clone()),
        ("q-id-short", "commits", secret[..8].to_string()),
        ("q-id-parent", "commits", format!("{secret}~0")),
        ("q-blob-orig", "blob", "ORIG_HEAD".into()),
        ("q-blob-id", "blob", secret.clone()),
        // Controls: what plugins need still works.
        ("q-main", "commits", "main".into()),
        ("q-full", "commits", "refs/heads/main".into()),
        ("q-parent", "commits", "main~1".into()),
        ("q-caret", "commits", "main^".into()),
        ("q-tag", "commits", "v1".into()),
        ("q-abbrev", "commits", two[..7].to_string()),
        ("q-old-id", "commits", one.clone()),
    ];
    let mut config = String::new();
    let mut plugins = Vec::new();
    for (id, mode, rev) in &cases {
        config.push_str(&format!(
            "[plugins.{id}]\ngrants = [\"git.history\", \"git.blobs\"]\n"
        ));
        plugins.push(contain(
            work.path(),
            id,
            &format!("mode = \"{mode}\"\nrev = \"{rev}\"\npath = \"secret.txt\""),
            &[],
        ));
    }
    let (r, _) = scan_with(
        trellis(),
        &args(work.path(), repo.path(), &config, &plugins),
    );

    for id in [
        "q-reflog",
        "q-main-reflog",
        "q-orig",
        "q-head",
        "q-regex",
        "q-date",
        "q-peel",
        "q-blob-orig",
    ] {
        let said = message(&r, id);
        assert!(
            said.starts_with("error: QueryError::Invalid("),
            "{id}: {said}"
        );
    }
    for id in ["q-id", "q-id-short", "q-id-parent", "q-blob-id"] {
        let said = message(&r, id);
        assert!(
            said.starts_with("error: QueryError::NotFound("),
            "{id}: {said}"
        );
    }
    for (id, _, _) in &cases {
        let said = message(&r, id);
        assert!(
            !said.contains(SECRET) && !said.contains(" secret"),
            "{id} leaked: {said}"
        );
    }
    assert_eq!(message(&r, "q-main"), format!("ok: {two} two"));
    assert_eq!(message(&r, "q-full"), format!("ok: {two} two"));
    assert_eq!(message(&r, "q-parent"), format!("ok: {one} one"));
    assert_eq!(message(&r, "q-caret"), format!("ok: {one} one"));
    assert_eq!(message(&r, "q-tag"), format!("ok: {one} one"));
    assert_eq!(message(&r, "q-abbrev"), format!("ok: {two} two"));
    assert_eq!(message(&r, "q-old-id"), format!("ok: {one} one"));
}

/// `trellis` with its caches in `cache` and its data directory (the cache key) in `home`.
fn trellis_in(cache: &Path, home: &Path) -> Command {
    let mut cmd = trellis();
    cmd.env("TRELLIS_CACHE_DIR", cache)
        .env("TRELLIS_HOME", home);
    cmd
}

/// The compiled component files in a cache directory.
fn cached_components(cache: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache.join("components")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    files.sort();
    files
}

#[test]
fn a_cache_entry_this_user_did_not_write_is_never_loaded() {
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (cache, other_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut repo = Repo::new();
    repo.commit("one");
    repo.git(&["branch", "topic"]);
    let victim = contain(work.path(), "victim", "mode = \"ok\"", &[]);
    let victim_args = args(work.path(), repo.path(), "", &[victim]);
    let (r, _) = scan_with(trellis_in(cache.path(), home.path()), &victim_args);
    assert_eq!(message(&r, "victim"), "ok: 1 branches");
    let entries = cached_components(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];

    // Another valid component, compiled by "someone else" (another key, another cache).
    let other_home = tempfile::tempdir().unwrap();
    let probe = plugin("tests/fixtures/plugins/probe");
    let probe_args = args(work.path(), repo.path(), "", &[probe]);
    scan_with(
        trellis_in(other_cache.path(), other_home.path()),
        &probe_args,
    );
    let foreign = std::fs::read(&cached_components(other_cache.path())[0]).unwrap();

    // Plant it under the victim's entry name, with sidecars that are valid BLAKE3 digests of it
    // (what anyone can compute) but not MACs under this user's key.
    std::fs::write(entry, &foreign).unwrap();
    let digest = blake3::hash(&foreign).to_hex().to_string();
    for sidecar in ["blake3", "mac"] {
        std::fs::write(entry.with_extension(sidecar), &digest).unwrap();
    }
    let (r, stderr) = scan_with(trellis_in(cache.path(), home.path()), &victim_args);
    // The victim's own code ran, and its entry was rewritten.
    assert_eq!(message(&r, "victim"), "ok: 1 branches", "{stderr}");
    assert_ne!(std::fs::read(entry).unwrap(), foreign);
    let (r, _) = scan_with(trellis_in(cache.path(), home.path()), &victim_args);
    assert_eq!(message(&r, "victim"), "ok: 1 branches");

    // The key is private to the user.
    use std::os::unix::fs::PermissionsExt;
    let key = home.path().join("cache.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    // A key others can read is refused: the compile cache is off, the plugin still runs.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (r, stderr) = scan_with(trellis_in(cache.path(), home.path()), &victim_args);
    assert_eq!(message(&r, "victim"), "ok: 1 branches");
    assert!(stderr.contains("compile cache off"), "{stderr}");
}

#[test]
fn a_cache_directory_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("two");
    let victim = contain(work.path(), "victim", "mode = \"ok\"", &[]);
    let mut scan_args = args(work.path(), repo.path(), "", &[victim]);
    scan_args.push("--diffstat".into());
    let (r, stderr) = scan_with(trellis_in(shared.path(), home.path()), &scan_args);
    assert_eq!(message(&r, "victim"), "ok: 1 branches");
    assert!(
        stderr.contains("caches off") && stderr.contains("writable by group or others"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(shared.path()).unwrap().collect();
    assert!(left.is_empty(), "the shared directory was used: {left:?}");

    // A private one below it is used, and created 0700 when missing.
    let private = home.path().join("cache");
    let (_, stderr) = scan_with(trellis_in(&private, home.path()), &scan_args);
    assert!(!stderr.contains("caches off"), "{stderr}");
    let mode = std::fs::metadata(&private).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(cached_components(&private).len(), 1);
    assert!(private.join("facts").is_dir());
}

#[test]
fn a_tampered_facts_cache_is_ignored_and_rewritten() {
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit_file("a.txt", "1\n2\n3\n", "three lines");
    let path = repo.path().display().to_string();
    let scan_args = vec![path, "--diffstat".to_string()];
    let scan = || -> Value {
        let out = trellis_in(cache.path(), home.path())
            .args(["scan", "--format", "json"])
            .args(&scan_args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        support::report(&out.stdout)
    };
    let first = scan();
    let insertions =
        |report: &Value| support::branches(report)["topic"]["diffstat"]["insertions"].clone();
    assert_eq!(insertions(&first), 3);
    let files: Vec<PathBuf> = std::fs::read_dir(cache.path().join("facts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let original = std::fs::read_to_string(&files[0]).unwrap();
    assert!(original.contains("\"insertions\":3"), "{original}");

    // Change a fact, keeping the file well-formed JSON: the next scan must not believe it.
    std::fs::write(
        &files[0],
        original.replace("\"insertions\":3", "\"insertions\":4242"),
    )
    .unwrap();
    let second = scan();
    assert_eq!(insertions(&second), 3);
    assert_eq!(second["repositories"], first["repositories"]);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        original,
        "not rewritten"
    );
}

#[test]
fn a_plugin_that_exits_fails_as_exit_not_instantiate() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    let exits = contain(work.path(), "x-exit", "mode = \"exit\"", &[]);
    let ok = contain(work.path(), "x-ok", "mode = \"ok\"", &[]);
    let (r, _) = scan_with(trellis(), &args(work.path(), repo.path(), "", &[exits, ok]));
    let exit = &r["x-exit"];
    assert_eq!(exit["status"], "failed", "{exit}");
    // `std::process::exit(3)` is `wasi:cli/exit` with an error: 0.2 carries no code, and
    // wasmtime reports 1.
    assert_eq!(
        exit["failure"],
        serde_json::json!({"reason": "exit", "code": 1})
    );
    assert_eq!(message(&r, "x-ok"), "ok: 0 branches");
}

#[test]
fn an_invalid_result_fails_as_invalid_result_not_instantiate() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    let forged = contain(work.path(), "i-utf8", "mode = \"invalid-utf8\"", &[]);
    let (r, _) = scan_with(trellis(), &args(work.path(), repo.path(), "", &[forged]));
    let forged = &r["i-utf8"];
    assert_eq!(forged["status"], "failed", "{forged}");
    assert_eq!(forged["failure"]["reason"], "invalid-result", "{forged}");
    assert!(
        forged["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("utf-8"),
        "{forged}"
    );
}

#[test]
fn a_plugin_stopped_at_its_deadline_reports_the_fuel_it_burnt() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    let spins = contain(work.path(), "spin", "mode = \"loop\"", &[]);
    let config = "[plugins.spin]\nlimits = { timeout_ms = 500, fuel = 1_000_000_000_000_000 }\n";
    let (r, _) = scan_with(trellis(), &args(work.path(), repo.path(), config, &[spins]));
    let spin = &r["spin"];
    assert_eq!(
        spin["failure"],
        serde_json::json!({"reason": "deadline", "timeout_ms": 500})
    );
    let used = spin["metrics"]["fuel_used"].as_u64().unwrap();
    // Half a second of a tight loop is hundreds of millions of instructions even unoptimised.
    assert!(
        used > 10_000_000,
        "fuel_used {used} after 0.5 s of spinning"
    );
}

#[test]
fn a_sabotaged_allocator_during_a_host_call_has_its_own_reason() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    let bad = contain(
        work.path(),
        "a-bad",
        "mode = \"bad-alloc\"\nrev = \"main\"",
        &[],
    );
    let panics = contain(
        work.path(),
        "a-panic",
        "mode = \"panic-alloc\"\nrev = \"main\"",
        &[],
    );
    let config = "[plugins.a-bad]\ngrants = [\"git.history\"]\n[plugins.a-panic]\ngrants = [\"git.history\"]\n";
    let (r, _) = scan_with(
        trellis(),
        &args(work.path(), repo.path(), config, &[bad, panics]),
    );
    let bad = &r["a-bad"];
    assert_eq!(bad["status"], "failed", "{bad}");
    assert_eq!(bad["failure"]["reason"], "allocator", "{bad}");
    let panics = &r["a-panic"];
    assert_eq!(panics["status"], "failed", "{panics}");
    // The panic's message cannot be printed from inside `cabi_realloc` (the component model
    // forbids calling out there), so the reason says what happened instead of `instantiate`.
    assert_eq!(panics["failure"]["reason"], "allocator", "{panics}");
    assert!(
        panics["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("from inside its allocator"),
        "{panics}"
    );
}
