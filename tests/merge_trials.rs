//! API 0.2's trial merges and plugin key/value stores, end to end: the `merge-probe` fixture
//! trial-merges every branch (and the parents of a past merge) through the host, and every
//! answer is compared with git's (`merge-tree`, `rev-list`, `diff --numstat`, `log`); its run
//! counter shows the store persisting between scans, capped, keyed safely and granted.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::{Repo, findings, plugin, scan_json, scan_json_cached, trellis};

const GRANTS: [&str; 4] = [
    "--grant",
    "merge-probe:git.merge",
    "--grant",
    "merge-probe:store",
];

/// main and branches: `clean` (other files, another author), `conflict` (the line main
/// changed), `tail` (a distant line of the same file), `lonely` (unrelated history), and
/// `resolved`, merged into main after a conflict was resolved.
fn trial_repo() -> Repo {
    let mut repo = Repo::new();
    let lines: String = (1..=12).map(|i| format!("line {i}\n")).collect();
    repo.commit_file("a.txt", &lines, "start");
    repo.commit_file("bin.dat", "\0binary\0", "binary file");
    repo.git(&["branch", "conflict"]);
    repo.git(&["branch", "clean"]);
    repo.git(&["branch", "tail"]);
    repo.git(&["branch", "resolved"]);

    repo.git(&["checkout", "-q", "clean"]);
    repo.commit_file("b.txt", "b\nmore\n", "b grows");
    repo.commit_file("d/e.txt", "new\nfile\nhere\n", "a new file");
    repo.git(&[
        "commit",
        "-q",
        "--amend",
        "--no-edit",
        "--author=Bo <bo@example.com>",
    ]);
    repo.git(&["checkout", "-q", "tail"]);
    repo.commit_file(
        "a.txt",
        &lines.replace("line 12", "line twelve"),
        "tail edit",
    );
    repo.git(&["checkout", "-q", "resolved"]);
    repo.commit_file(
        "a.txt",
        &lines.replace("line 1\n", "line Z\n"),
        "resolved edit",
    );

    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file("a.txt", &lines.replace("line 1\n", "line Y\n"), "main edit");
    repo.commit_file("bin.dat", "\0binary, again\0", "main binary");
    // `resolved` conflicts with main; the merge keeps its side.
    let out = repo.git_output(&["merge", "-q", "--no-ff", "-m", "merge resolved", "resolved"]);
    assert!(!out.status.success(), "the merge should conflict");
    std::fs::write(
        repo.path().join("a.txt"),
        lines.replace("line 1\n", "line Z\n"),
    )
    .unwrap();
    repo.git(&["add", "a.txt"]);
    repo.git(&["commit", "-q", "--no-edit"]);
    repo.clock += 60;
    repo.commit_file("c.txt", "main moves on\n", "main moves on");

    repo.git(&["checkout", "-q", "conflict"]);
    repo.commit_file(
        "a.txt",
        &lines.replace("line 1\n", "line X\n"),
        "conflict edit",
    );
    repo.commit_file("bin.dat", "\0binary, mine\0", "branch binary");
    repo.git(&["checkout", "-q", "--orphan", "lonely"]);
    repo.git(&["rm", "-q", "-rf", "."]);
    repo.commit_file("solo.txt", "alone\n", "lonely root");
    repo.git(&["checkout", "-q", "-f", "main"]);
    repo
}

fn config_file(dir: &Path, text: &str) -> String {
    let file = dir.join("trellis.toml");
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// The probe failed for want of `capability`, and its result says so.
fn assert_denied(report: &Value, capability: &str) {
    let result = report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "merge-probe")
        .unwrap();
    assert_eq!(result["status"], "failed", "{result}");
    let denied = result["metrics"]["denied"].as_array().unwrap();
    assert!(denied.contains(&capability.into()), "{result}");
}

/// `REPO --plugin PROBE --config CONFIG` with the probe's grants, then `extra`.
fn probe_args<'a>(
    repo: &'a Repo,
    probe: &'a Path,
    config: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        repo.path().to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
        "--config",
        config,
    ];
    args.extend(GRANTS);
    args.extend(extra);
    args
}

fn trial<'a>(found: &'a [Value], name: &str) -> &'a Value {
    found
        .iter()
        .find(|f| f["rule"] == "trial" && f["branch"] == name)
        .unwrap_or_else(|| panic!("no trial of {name}: {found:?}"))
}

/// `git merge-tree`'s verdict: `clean`, `conflicts` with the paths, or `unknown` when git
/// refuses to merge.
fn git_verdict(repo: &Repo, base: &str, tip: &str) -> (String, String) {
    let out = repo.git_output(&[
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        base,
        tip,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => ("clean".into(), String::new()),
        Some(1) => {
            let paths: Vec<&str> = stdout.lines().skip(1).filter(|l| !l.is_empty()).collect();
            ("conflicts".into(), paths.join("\n"))
        }
        _ => ("unknown".into(), String::new()),
    }
}

/// `git diff --numstat from...to` as `path:added:deleted` lines (`-` for binary), with
/// line counts only for the paths `counted` keeps.
fn git_files(repo: &Repo, from: &str, to: &str, counted: impl Fn(&str) -> bool) -> String {
    let numstat = repo.git(&[
        "diff",
        "--numstat",
        "--no-renames",
        &format!("{from}...{to}"),
    ]);
    numstat
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (a, d, path) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            if counted(path) {
                format!("{path}:{a}:{d}")
            } else {
                format!("{path}:-:-")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn trial_merges_agree_with_git_merge_tree_rev_list_and_numstat() {
    let repo = trial_repo();
    let merge = repo.git(&["rev-parse", "main~1"]);
    let parents = (
        repo.git(&["rev-parse", &format!("{merge}^1")]),
        repo.git(&["rev-parse", &format!("{merge}^2")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!(
            "[plugins.merge-probe]\nconfig = {{ ranges = [\"{} {}\"] }}\n",
            parents.1, parents.0
        ),
    );
    let probe = plugin("tests/fixtures/plugins/merge-probe");
    let args = probe_args(&repo, &probe, &config, &[]);
    let found = findings(&scan_json(&args), "merge-probe");

    let mut cases = vec![];
    for b in ["clean", "conflict", "tail", "lonely", "resolved"] {
        cases.push((b.to_string(), "main".to_string(), b.to_string()));
    }
    cases.push((
        format!("{} {}", parents.1, parents.0),
        parents.0.clone(),
        parents.1.clone(),
    ));
    let mut verdicts = BTreeSet::new();
    for (name, base, tip) in &cases {
        let t = trial(&found, name);
        let (verdict, paths) = git_verdict(&repo, base, tip);
        assert_eq!(t["message"], verdict.as_str(), "{name}: {t}");
        verdicts.insert(verdict.clone());
        if verdict == "unknown" {
            let reason = t["data"]["paths"].as_str().unwrap();
            assert!(reason.contains("unrelated histories"), "{name}: {reason}");
            continue;
        }
        assert_eq!(t["data"]["paths"], paths.as_str(), "{name}");
        let count = |range: String| repo.git(&["rev-list", "--count", &range]);
        assert_eq!(
            t["data"]["ours-commits"].as_str().unwrap(),
            count(format!("{tip}..{base}")),
            "{name}"
        );
        assert_eq!(
            t["data"]["theirs-commits"].as_str().unwrap(),
            count(format!("{base}..{tip}")),
            "{name}"
        );
        assert_eq!(
            t["data"]["merge-base"],
            repo.git(&["merge-base", base, tip]).as_str(),
            "{name}"
        );
        let authors: BTreeSet<String> = repo
            .git(&["log", "--format=%ae", &format!("{base}..{tip}")])
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(
            t["data"]["theirs-authors"],
            authors.len().to_string().as_str(),
            "{name}"
        );
        let theirs = git_files(&repo, base, tip, |_| true);
        assert_eq!(t["data"]["theirs-files"], theirs.as_str(), "{name}");
        // The base's side counts lines only in the files the tip changed too.
        let shared: BTreeSet<String> = theirs
            .lines()
            .map(|l| l.rsplitn(3, ':').nth(2).unwrap().to_string())
            .collect();
        let ours = git_files(&repo, tip, base, |p| shared.contains(p));
        assert_eq!(t["data"]["ours-files"], ours.as_str(), "{name}");
    }
    // The cases cover every verdict: a test of one kind only would prove little.
    assert_eq!(
        verdicts,
        BTreeSet::from(["clean".into(), "conflicts".into(), "unknown".into()])
    );
    // `resolved` is merged: nothing left to merge, clean, no commits of its own.
    assert_eq!(trial(&found, "resolved")["data"]["theirs-commits"], "0");
    // The past merge's parents conflicted, as the merge itself did.
    let past = trial(&found, &format!("{} {}", parents.1, parents.0));
    assert_eq!(past["message"], "conflicts");
    assert_eq!(past["data"]["paths"], "a.txt");
}

#[test]
fn trial_merges_need_their_grant_and_stop_at_the_merge_limit() {
    let repo = trial_repo();
    let probe = plugin("tests/fixtures/plugins/merge-probe");
    let report = scan_json(&[
        repo.path().to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
    ]);
    assert_denied(&report, "git.merge");

    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        "[plugins.merge-probe]\nlimits = { merges = 2 }\n",
    );
    let args = probe_args(&repo, &probe, &config, &["--fail-on", "never"]);
    let found = findings(&scan_json(&args), "merge-probe");
    let answered = found.iter().filter(|f| f["rule"] == "trial").count();
    let refused: Vec<&Value> = found
        .iter()
        .filter(|f| f["rule"] == "trial-error")
        .collect();
    assert_eq!(answered, 2, "{found:?}");
    // Four other branches besides main.
    assert_eq!(refused.len(), 3, "{found:?}");
    for r in refused {
        let message = r["message"].as_str().unwrap();
        assert!(
            message.contains("BudgetExceeded") && message.contains("2 trial merges"),
            "{message}"
        );
    }
}

#[test]
fn a_plugin_store_persists_between_scans_within_its_cap_and_only_when_granted() {
    let repo = trial_repo();
    let probe = plugin("tests/fixtures/plugins/merge-probe");
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 1 KiB of store: a 2,000-byte value cannot fit.
    let config = config_file(
        dir.path(),
        "[plugins.merge-probe]\nconfig = { big_value = 2000 }\nlimits = { store_kb = 1 }\n",
    );
    let args = probe_args(&repo, &probe, &config, &[]);
    let runs = |found: &[Value]| -> String {
        let run = found.iter().find(|f| f["rule"] == "runs").unwrap();
        run["message"].as_str().unwrap().to_string()
    };
    let first = findings(&scan_json_cached(cache.path(), &args), "merge-probe");
    assert_eq!(runs(&first), "1");
    let second = findings(&scan_json_cached(cache.path(), &args), "merge-probe");
    assert_eq!(runs(&second), "2", "the store kept the first run's count");
    let big = second.iter().find(|f| f["rule"] == "big").unwrap();
    assert!(
        big["message"].as_str().unwrap().contains("TooLarge"),
        "{big}"
    );
    let bad = second.iter().find(|f| f["rule"] == "bad-key").unwrap();
    assert!(
        bad["message"].as_str().unwrap().contains("Invalid"),
        "{bad}"
    );
    // The entries are files of this plugin's own directory, none of them the refused value.
    let entries = std::fs::read_dir(cache.path().join("plugin-data/merge-probe"))
        .unwrap()
        .count();
    assert_eq!(entries, 1);

    // `--no-cache`: a fresh store every time.
    let mut no_cache = args.clone();
    no_cache.push("--no-cache");
    let found = findings(&scan_json_cached(cache.path(), &no_cache), "merge-probe");
    assert_eq!(runs(&found), "1");

    // Without the `store` grant the plugin fails, and says which capability it lacked.
    let out = trellis()
        .env("TRELLIS_CACHE_DIR", cache.path())
        .args(["scan", "--format", "json"])
        .args([
            repo.path().to_str().unwrap(),
            "--plugin",
            probe.to_str().unwrap(),
            "--grant",
            "merge-probe:git.merge",
        ])
        .output()
        .unwrap();
    assert_denied(&support::report(&out.stdout), "store");
}

#[test]
fn trial_merge_sides_count_as_git_rev_list_on_a_generated_history() {
    // Every shape the generator makes (criss-cross merges, stacked topics, renames, merged and
    // squashed branches, planted conflicting merges), against main and parent against parent.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let spec = xtask::fixture::FixtureSpec {
        commits: 500,
        branches: 25,
        files: 40,
        seed: 3,
        commit_graph: true,
        merge_history: 25,
        rename_history: 0,
    };
    xtask::fixture::generate(&spec, &repo).unwrap();
    let git = |args: &[&str]| -> String {
        let out = support::git_command(&repo).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let merges = git(&["rev-list", "--first-parent", "--merges", "main"]);
    let ranges: Vec<String> = merges.lines().map(|m| format!("{m}^2 {m}^1")).collect();
    let config = config_file(
        dir.path(),
        &format!(
            "[plugins.merge-probe]\nconfig = {{ ranges = {ranges:?}, max_commits = 100000 }}\n"
        ),
    );
    let probe = plugin("tests/fixtures/plugins/merge-probe");
    let args = vec![
        repo.to_str().unwrap(),
        "--plugin",
        probe.to_str().unwrap(),
        "--config",
        &config,
        GRANTS[0],
        GRANTS[1],
        GRANTS[2],
        GRANTS[3],
    ];
    let found = findings(&scan_json(&args), "merge-probe");
    let mut checked = 0;
    for t in found.iter().filter(|f| f["rule"] == "trial") {
        let name = t["branch"].as_str().unwrap();
        let (tip, base) = name.split_once(' ').unwrap_or((name, "main"));
        let count = |range: String| git(&["rev-list", "--count", &range]);
        assert_eq!(
            t["data"]["theirs-commits"].as_str().unwrap(),
            count(format!("{base}..{tip}")),
            "{name}"
        );
        assert_eq!(
            t["data"]["ours-commits"].as_str().unwrap(),
            count(format!("{tip}..{base}")),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 25 + 20, "{checked} trials checked");
}
