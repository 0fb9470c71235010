//! API versions side by side, and the API 0.2 batch queries against git: a plugin built
//! against 0.1.0 (kept prebuilt, never rebuilt) runs in the same scan as plugins built against
//! 0.2.0, and every answer of `range-history`, `range-changes` and `added-lines` is compared
//! with what the git CLI says about the same repository.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{DAY, Repo, SshKey, findings, now, plugin, scan_json, trellis};

/// The API 0.1.0 build of stale-branches, kept as built.
fn prebuilt_stale_branches() -> PathBuf {
    xtask::workspace_root().join("tests/fixtures/prebuilt/stale-branches-api-0.1")
}

fn result<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["repositories"][0]["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no result of {id}"))
}

#[test]
fn one_scan_runs_plugins_built_against_0_1_and_0_2() {
    let mut repo = Repo::new();
    let now = now();
    repo.commit_at("base", now - 400 * DAY);
    repo.git(&["checkout", "-q", "-b", "old-work"]);
    repo.commit_at("old work", now - 200 * DAY);
    repo.git(&["checkout", "-q", "main"]);
    let old = prebuilt_stale_branches();
    let probe = plugin("tests/fixtures/plugins/history-probe");
    let report = scan_json(&[
        repo.path().to_str().unwrap(),
        "--plugin",
        old.to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
        "--grant",
        "history-probe:git.history",
        "--grant",
        "history-probe:git.blobs",
    ]);
    assert_eq!(result(&report, "stale-branches")["api"], "0.1.0");
    assert_eq!(result(&report, "history-probe")["api"], "0.2.0");
    let stale = findings(&report, "stale-branches");
    assert!(
        stale
            .iter()
            .any(|f| f["rule"] == "stale-branch" && f["branch"] == "old-work"),
        "{stale:?}"
    );
    let commits: Vec<Value> = findings(&report, "history-probe")
        .into_iter()
        .filter(|f| f["rule"] == "commit")
        .collect();
    assert_eq!(commits.len(), 1, "{commits:?}");
    assert_eq!(commits[0]["message"], "old work\n");
}

#[test]
fn a_plugin_built_against_0_1_still_installs_and_runs() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let install = trellis()
        .env("TRELLIS_HOME", &home)
        .args(["plugin", "install"])
        .arg(prebuilt_stale_branches())
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let mut repo = Repo::new();
    repo.commit_at("base", now() - 300 * DAY);
    let out = trellis()
        .env("TRELLIS_HOME", &home)
        .args(["scan", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = support::report(&out.stdout);
    let result = result(&report, "stale-branches");
    assert_eq!(result["api"], "0.1.0");
    assert_eq!(result["status"], "ok", "{result}");
}

/// `main` moves on after the branches left it; `feature` changes, adds, adds binary content
/// and an LFS pointer, then makes an SSH-signed commit with a body over 1 KiB; `twin` makes
/// feature's first change again, to the same blobs.
struct History {
    repo: Repo,
    _keys: tempfile::TempDir,
    allowed_signers: PathBuf,
}

fn history_repo() -> History {
    let mut repo = Repo::new();
    repo.commit_file("a.txt", "one\ntwo\nthree\n", "base");
    repo.commit_file("gone.txt", "bye\n", "more base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        repo.path().join("a.txt"),
        "one\ntwo and a half\nthree\nfour\n",
    )
    .unwrap();
    std::fs::write(repo.path().join("new.txt"), "fresh\nlines\n").unwrap();
    std::fs::write(repo.path().join("blob.bin"), b"\x00\x01binary\n").unwrap();
    std::fs::write(
        repo.path().join("big.psd"),
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    )
    .unwrap();
    std::fs::remove_file(repo.path().join("gone.txt")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "feature: first"]);
    repo.clock += 60;

    let key = SshKey::new();
    let keys = tempfile::tempdir().unwrap();
    let allowed_signers = keys.path().join("allowed_signers");
    std::fs::write(&allowed_signers, key.allowed_signer("cy@example.com")).unwrap();
    std::fs::write(repo.path().join("new.txt"), "fresh\nlines\nand more\n").unwrap();
    repo.commit_signed(
        &format!(
            "feature: second\n\nA body\nover two lines, {}.\n\nSigned-off-by: Ada Author <ada@example.com>",
            "and a long one".repeat(80)
        ),
        &key,
    );

    repo.git(&["checkout", "-q", "-b", "twin", "main"]);
    std::fs::write(
        repo.path().join("a.txt"),
        "one\ntwo and a half\nthree\nfour\n",
    )
    .unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "twin: same change to a.txt"]);
    repo.clock += 60;

    // Unrelated history: its root commit's "before" is the empty tree, which git never stores.
    repo.git(&["checkout", "-q", "--orphan", "lonely"]);
    repo.git(&["rm", "-q", "-r", "--cached", "."]);
    for f in ["a.txt", "gone.txt", "new.txt", "blob.bin", "big.psd"] {
        let _ = std::fs::remove_file(repo.path().join(f));
    }
    repo.commit_file("solo.txt", "alone\n", "lonely root");

    repo.git(&["checkout", "-q", "-f", "main"]);
    repo.commit_file("later.txt", "main moved on\n", "main moves on");
    History {
        repo,
        _keys: keys,
        allowed_signers,
    }
}

fn probe_scan(repo: &Path, config: Option<&str>) -> Vec<Value> {
    let probe = plugin("tests/fixtures/plugins/history-probe");
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        repo.to_str().unwrap().to_string(),
        "--plugin".into(),
        probe.to_str().unwrap().into(),
        "--grant".into(),
        "history-probe:git.history".into(),
        "--grant".into(),
        "history-probe:git.blobs".into(),
    ];
    if let Some(config) = config {
        let file = dir.path().join("trellis.toml");
        std::fs::write(&file, config).unwrap();
        args.push("--config".into());
        args.push(file.to_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    findings(&scan_json(&args), "history-probe")
}

fn of<'a>(found: &'a [Value], rule: &str, branch: &str) -> Vec<&'a Value> {
    found
        .iter()
        .filter(|f| f["rule"] == rule && f["branch"] == branch)
        .collect()
}

#[test]
fn range_history_is_git_log_with_whole_messages_and_verifiable_signatures() {
    let h = history_repo();
    let found = probe_scan(h.repo.path(), None);
    for branch in ["feature", "twin"] {
        let commits = of(&found, "commit", branch);
        let ids: Vec<&str> = commits
            .iter()
            .map(|c| c["commit"].as_str().unwrap())
            .collect();
        let git_ids = h.repo.git(&["rev-list", &format!("main..{branch}")]);
        assert_eq!(ids, git_ids.lines().collect::<Vec<_>>(), "{branch}");
        for c in &commits {
            let id = c["commit"].as_str().unwrap();
            let raw = h.repo.git(&["cat-file", "commit", id]);
            let message = raw.split_once("\n\n").unwrap().1;
            assert_eq!(c["message"].as_str().unwrap().trim_end(), message, "{id}");
            let parents = h.repo.git(&["rev-parse", &format!("{id}^@")]);
            assert_eq!(c["data"]["parents"], parents.replace('\n', ","));
        }
    }
    // The signed commit: its payload and armour verify with ssh-keygen, as `git verify-commit`
    // does it.
    let signed = of(&found, "commit", "feature")[0];
    assert_eq!(signed["data"]["signature-kind"], "Ssh");
    assert!(of(&found, "commit", "twin")[0]["data"]["signature-kind"].is_null());
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig");
    std::fs::write(&sig, signed["data"]["armored"].as_str().unwrap()).unwrap();
    let mut verify = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "git", "-I", "cy@example.com", "-f"])
        .arg(&h.allowed_signers)
        .arg("-s")
        .arg(&sig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    verify
        .stdin
        .take()
        .unwrap()
        .write_all(signed["data"]["payload"].as_str().unwrap().as_bytes())
        .unwrap();
    let verified = verify.wait_with_output().unwrap();
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[test]
fn range_changes_are_git_diff_name_status_since_the_merge_base() {
    let h = history_repo();
    let found = probe_scan(h.repo.path(), None);
    for branch in ["feature", "twin"] {
        let ours: BTreeSet<(String, String)> = of(&found, "change", branch)
            .iter()
            .map(|c| {
                let status = match c["message"].as_str().unwrap() {
                    "Added" => "A",
                    "Deleted" => "D",
                    "Modified" => "M",
                    "TypeChanged" => "T",
                    other => panic!("{other}"),
                };
                (status.to_string(), c["path"].as_str().unwrap().to_string())
            })
            .collect();
        let git: BTreeSet<(String, String)> = h
            .repo
            .git(&[
                "diff",
                "--name-status",
                "--no-renames",
                &format!("main...{branch}"),
            ])
            .lines()
            .map(|l| {
                let (s, p) = l.split_once('\t').unwrap();
                (s.to_string(), p.to_string())
            })
            .collect();
        assert_eq!(ours, git, "{branch}");
    }
    // No merge base: everything the unrelated branch has is added.
    let lonely: Vec<(&str, &str)> = of(&found, "change", "lonely")
        .iter()
        .map(|c| (c["message"].as_str().unwrap(), c["path"].as_str().unwrap()))
        .collect();
    assert_eq!(lonely, vec![("Added", "solo.txt")]);
    let changes = of(&found, "change", "feature");
    // Each path still on the branch names the newest commit that changed it, as git log does.
    for c in &changes {
        let path = c["path"].as_str().unwrap();
        let git = if c["message"] == "Deleted" {
            String::new()
        } else {
            h.repo.git(&[
                "log",
                "--no-merges",
                "-1",
                "--format=%H",
                "main..feature",
                "--",
                path,
            ])
        };
        assert_eq!(c["data"]["commit"], git, "{path}");
    }
    let by_path = |p: &str| *changes.iter().find(|c| c["path"] == p).unwrap();
    assert_eq!(by_path("blob.bin")["data"]["binary"], "Some(true)");
    assert_eq!(by_path("new.txt")["data"]["binary"], "Some(false)");
    assert_eq!(by_path("big.psd")["data"]["lfs-size"], "Some(12345)");
    assert_eq!(by_path("new.txt")["data"]["lfs-size"], "None");
    let size = h.repo.git(&["cat-file", "-s", "feature:new.txt"]);
    assert_eq!(by_path("new.txt")["data"]["size"], format!("Some({size})"));
    assert_eq!(by_path("gone.txt")["data"]["size"], "Some(4)");
}

/// `(path, line number, text)` of every added line in `git diff -U0` output.
fn git_added_lines(diff: &str) -> BTreeSet<(String, u32, String)> {
    let mut out = BTreeSet::new();
    let (mut path, mut line) = (String::new(), 0u32);
    for l in diff.lines() {
        if let Some(p) = l.strip_prefix("+++ ") {
            path = p.strip_prefix("b/").unwrap_or(p).to_string();
        } else if let Some(hunk) = l.strip_prefix("@@ ") {
            let new = hunk.split(' ').nth(1).unwrap().trim_start_matches('+');
            line = new.split(',').next().unwrap().parse().unwrap();
        } else if let Some(text) = l.strip_prefix('+') {
            out.insert((path.clone(), line, text.to_string()));
            line += 1;
        }
    }
    out
}

fn probe_added_lines(found: &[Value], branch: &str) -> BTreeSet<(String, u32, String)> {
    of(found, "added", branch)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as u32,
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn added_lines_are_git_diffs_added_lines_and_each_change_is_sent_once() {
    let h = history_repo();
    let found = probe_scan(h.repo.path(), None);
    let diff = h
        .repo
        .git(&["diff", "-U0", "--no-renames", "main...feature"]);
    assert_eq!(probe_added_lines(&found, "feature"), git_added_lines(&diff));
    assert!(!probe_added_lines(&found, "feature").is_empty());
    let files = of(&found, "added-file", "feature");
    let bin = files.iter().find(|f| f["path"] == "blob.bin").unwrap();
    assert_eq!(bin["data"]["binary"], "true");
    // twin's one change is feature's change to a.txt, blob for blob: sent once, then `seen`.
    let twin = of(&found, "added-file", "twin");
    assert_eq!(twin.len(), 1, "{twin:?}");
    assert_eq!(twin[0]["data"]["seen"], "true");
    assert!(probe_added_lines(&found, "twin").is_empty());
}

#[test]
fn added_lines_per_commit_are_git_log_patches_naming_their_commits() {
    let h = history_repo();
    let found = probe_scan(
        h.repo.path(),
        Some("[plugins.history-probe]\nconfig = { per_commit = true }\n"),
    );
    let log = h.repo.git(&[
        "log",
        "--no-merges",
        "-p",
        "-U0",
        "--no-renames",
        "--format=commit %H",
        "main..feature",
    ]);
    let mut git = BTreeSet::new();
    for patch in log.split("commit ").filter(|p| !p.is_empty()) {
        let (id, diff) = patch.split_once('\n').unwrap();
        for (path, line, text) in git_added_lines(diff) {
            git.insert((id.to_string(), path, line, text));
        }
    }
    let ours: BTreeSet<(String, String, u32, String)> = of(&found, "added", "feature")
        .iter()
        .map(|f| {
            (
                f["commit"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as u32,
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours, git);
    // A root commit's lines, against the empty tree.
    let root = h.repo.git(&["rev-parse", "lonely"]);
    let lonely: Vec<(String, String, u64, String)> = of(&found, "added", "lonely")
        .iter()
        .map(|f| {
            (
                f["commit"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(lonely, vec![(root, "solo.txt".into(), 1, "alone".into())]);
}

#[test]
fn batch_queries_need_their_grants_and_stop_at_the_byte_budget_range_by_range() {
    let h = history_repo();
    let probe = plugin("tests/fixtures/plugins/history-probe");
    // Without grants: the plugin's first query is refused, the plugin says so, the scan goes on.
    let report = scan_json(&[
        h.repo.path().to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
    ]);
    let denied = result(&report, "history-probe");
    assert_eq!(denied["status"], "failed", "{denied}");
    assert!(
        denied["metrics"]["denied"]
            .as_array()
            .unwrap()
            .contains(&"git.history".into()),
        "{denied}"
    );
    // A byte budget of 1 KiB: feature's commits (a message over 1 KiB) do not fit and its
    // range says why; twin's, asked for after it, still do.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trellis.toml");
    std::fs::write(
        &config,
        "[plugins.history-probe]\nlimits = { query_kb = 1 }\n",
    )
    .unwrap();
    let report = scan_json(&[
        h.repo.path().to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
        "--grant",
        "history-probe:git.history",
        "--grant",
        "history-probe:git.blobs",
        "--config",
        config.to_str().unwrap(),
        // The refusals are error findings of the probe: not the gate's business here.
        "--fail-on",
        "never",
    ]);
    let found = findings(&report, "history-probe");
    let refused = of(&found, "history-error", "feature");
    assert_eq!(refused.len(), 1, "{found:?}");
    let why = refused[0]["message"].as_str().unwrap();
    assert!(
        why.contains("BudgetExceeded(") && why.contains("1024 bytes of the query budget are left"),
        "{why}"
    );
    assert!(of(&found, "commit", "feature").is_empty());
    assert_eq!(of(&found, "commit", "twin").len(), 1, "{found:?}");
}
