//! Tuning end to end: the `tuning` plugin built from `plugins/tuning`, the host's validation and
//! clamping of plans, the fallback when a tuner fails, the run history with the scan profile
//! handed back to the tuner, `trellis tune`, `--strategy`, and the profile in the JSON report.

use crate::support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{Repo, plugin, trellis};

/// `main` and four branches: one changing what `main` changed too (conflicts), one changing
/// other files (cannot meet `main`'s changes), one deleting a file, one with nothing new.
fn work_repo() -> Repo {
    let mut r = Repo::new();
    r.commit_file("shared.txt", "one\ntwo\nthree\n", "base");
    r.commit_file("gone.txt", "bye\n", "more base");
    r.git(&["checkout", "-q", "-b", "conflicting"]);
    r.commit_file("shared.txt", "one\nTWO (branch)\nthree\n", "branch edit");
    r.git(&["checkout", "-q", "-b", "elsewhere", "main"]);
    r.commit_file("docs/new.md", "new\n", "docs");
    r.git(&["checkout", "-q", "-b", "deleting", "main"]);
    r.git(&["rm", "-q", "gone.txt"]);
    r.commit("delete");
    r.git(&["branch", "idle", "main"]);
    r.git(&["checkout", "-q", "main"]);
    r.commit_file("shared.txt", "one\nTWO (main)\nthree\n", "main edit");
    r
}

fn tuning() -> std::path::PathBuf {
    plugin("plugins/tuning")
}

/// Runs `trellis ARGS` with its store in `home`.
fn run(home: &Path, args: &[&str]) -> Output {
    trellis()
        .env("TRELLIS_HOME", home)
        .args(args)
        .output()
        .expect("run trellis")
}

/// `trellis scan --format json` with the tuning plugin; the scan must exit 0.
fn scan(home: &Path, repo: &Path, extra: &[&str]) -> (Value, String) {
    let tuner = tuning();
    let mut args = vec![
        "scan",
        "--format",
        "json",
        "--plugin",
        tuner.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(repo.to_str().unwrap());
    let out = run(home, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (support::report(&out.stdout), stderr)
}

/// A config file for the tuning plugin with `config`.
fn config(dir: &Path, config: &str) -> String {
    let path = dir.join("trellis.toml");
    std::fs::write(
        &path,
        format!("[plugins.tuning]\nconfig = {{ {config} }}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn branches(report: &Value) -> Value {
    report["repositories"][0]["branches"].clone()
}

#[test]
fn plans_are_validated_clamped_and_the_changes_reported() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let allowed = (cores * 4).clamp(4, 256);
    let cfg = config(
        home.path(),
        "strategy = \"fixed\", repo_workers = 100000, branch_workers = 3, \
         batch_size = 10000000, memory_mb = 1000000",
    );
    let (report, stderr) = scan(
        home.path(),
        repo.path(),
        &["--config", &cfg, "--memory-mb", "64"],
    );
    assert!(
        stderr.contains("plan changed: repo-workers 100000 lowered to"),
        "{stderr}"
    );
    let plan = &report["plan"]["output"];
    let adjustments: Vec<&str> = plan["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for expected in [
        format!("workers 100000 lowered to {allowed}"),
        format!("repo-workers 100000 lowered to {allowed}"),
        "batch-size 10000000 lowered to 100000".to_string(),
        "memory-mb 1000000 lowered to 64 (the memory budget)".to_string(),
    ] {
        assert!(
            adjustments.iter().any(|a| a.starts_with(&expected)),
            "{expected} not in {adjustments:?}"
        );
    }
    let used = &report["profile"]["plan"];
    assert_eq!(used["source"], "tuner");
    assert_eq!(used["repo_workers"], allowed);
    assert_eq!(used["branch_workers"], 3);
    assert_eq!(used["batch_size"], 100_000);
    assert_eq!(used["memory_mb"], 64);
    assert_eq!(branches(&report).as_array().unwrap().len(), 4);

    // `--jobs` wins over the plan's workers, and says so.
    let (report, _) = scan(home.path(), repo.path(), &["--config", &cfg, "--jobs", "1"]);
    let used = &report["profile"]["plan"];
    assert_eq!(
        (&used["repo_workers"], &used["branch_workers"]),
        (&1.into(), &1.into())
    );
    let adjustments = report["plan"]["output"]["adjustments"].to_string();
    assert!(
        adjustments.contains("branch-workers 3 not used: --jobs/[scan] jobs 1 wins"),
        "{adjustments}"
    );
}

/// `conflicts-scope = overlap` merges only branches whose changes meet the base's: the facts
/// are exactly those of `all`, with merges skipped.
#[test]
fn the_overlap_scope_skips_merges_and_changes_no_fact() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for scope in ["all", "overlap"] {
        let cfg = config(
            home.path(),
            &format!(
                "strategy = \"fixed\", conflicts = true, conflicts_scope = \"{scope}\", cache = false"
            ),
        );
        let (report, _) = scan(home.path(), repo.path(), &["--config", &cfg]);
        let profile = &report["profile"];
        assert_eq!(profile["plan"]["conflicts_scope"], scope);
        assert_eq!(profile["plan"]["cache"], false);
        // With the caches off by the plan, no facts cache was asked.
        let caches: Vec<&str> = profile["caches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(!caches.contains(&"facts"), "{caches:?}");
        results.push((
            branches(&report),
            profile["repositories"][0]["merges_skipped"].clone(),
        ));
    }
    assert_eq!(results[0].0, results[1].0, "the same facts");
    assert_eq!(results[0].1, 0);
    // `elsewhere` cannot meet main's change; `deleting` deletes, so it is merged.
    assert_eq!(results[1].1, 1);
    let facts =
        support::branches(&serde_json::json!({"repositories": [{"branches": results[1].0}]}));
    assert_eq!(facts["elsewhere"]["conflicts"]["verdict"], "clean");
    assert_eq!(facts["conflicting"]["conflicts"]["verdict"], "conflicts");
}

#[test]
fn a_failing_tuner_leaves_the_scan_to_the_configured_settings() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let (report, stderr) = scan(home.path(), repo.path(), &["--strategy", "warp\u{1b}[2J"]);
    let plan = &report["plan"];
    assert_eq!(plan["status"], "failed");
    assert_eq!(plan["failure"]["reason"], "plugin-error");
    assert_eq!(plan["failure"]["code"], "unknown-strategy");
    assert_eq!(report["profile"]["plan"]["source"], "configured");
    assert_eq!(branches(&report).as_array().unwrap().len(), 4);
    assert!(
        stderr.contains("no plan: the scan runs with the configured settings"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn each_run_is_recorded_with_its_profile_and_handed_back_to_the_tuner() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    // A history of an older format is ignored with a warning, never fatal.
    std::fs::write(home.path().join("runs.json"), r#"[{"started": 1}]"#).unwrap();
    let reason = |report: &Value| {
        report["plan"]["output"]["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (first, stderr) = scan(home.path(), repo.path(), &[]);
    assert!(stderr.contains("ignoring the run history"), "{stderr}");
    assert!(
        reason(&first).starts_with("adaptive: exploring candidate 1 of"),
        "{}",
        reason(&first)
    );
    assert!(reason(&first).contains("(0 earlier runs of this work"));
    let history: Value =
        serde_json::from_slice(&std::fs::read(home.path().join("runs.json")).unwrap()).unwrap();
    assert_eq!(history["version"], 2);
    let names: Vec<&str> = history["runs"][0]["extra"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "repo-set",
        "cores",
        "memory-bytes",
        "pack-bytes",
        "commits",
        "stage.open.wall-ms",
        "stage.walk.cpu-ms",
        "stage.plugin.tuning.wall-ms",
        "plan.repo-workers",
        "plan.source",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    // The second scan's tuner knows the first as a run of the same work: only the profile's
    // extras (repository set, machine, plan) tell it so.
    let (second, _) = scan(home.path(), repo.path(), &[]);
    assert!(
        reason(&second).starts_with("adaptive: exploring candidate 2 of"),
        "{}",
        reason(&second)
    );
    assert!(reason(&second).contains("(1 earlier runs of this work"));
}

#[test]
fn tune_prints_the_plan_and_why_without_scanning() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let tuner = tuning();
    let out = run(
        home.path(),
        &[
            "tune",
            repo.path().to_str().unwrap(),
            "--plugin",
            tuner.to_str().unwrap(),
            "--strategy",
            "large",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "repositories: 1",
        "base main, 4 branches, no commit-graph",
        "tuner: tuning 0.1.0, strategy large",
        "why: preset: large scale (1 repositories",
        "adjustments: none",
        "plan (tuner):",
        "  batch-size: 16",
        "  conflicts-scope: none",
    ] {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
    // Nothing was scanned, so nothing was recorded.
    assert!(!home.path().join("runs.json").exists());

    let out = run(home.path(), &["tune", repo.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tuner: none"), "{stdout}");
    assert!(stdout.contains("plan (configured):"), "{stdout}");
    let out = run(home.path(), &["tune", "/no/such/repo"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_strategy_comes_from_the_config_and_the_command_line_overrides_it() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path(), "strategy = \"very-large\"");
    let reason = |extra: &[&str]| {
        let (report, _) = scan(home.path(), repo.path(), extra);
        report["plan"]["output"]["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason(&["--config", &cfg]).starts_with("preset: very-large scale"));
    assert!(
        reason(&["--config", &cfg, "--strategy", "medium"]).starts_with("preset: medium scale")
    );
    assert!(reason(&["--strategy", "presets"]).starts_with("presets: small scale"));
}

#[test]
fn the_report_profiles_every_stage_repository_and_cache() {
    let repo = work_repo();
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let tuner = tuning();
    let out = trellis()
        .env("TRELLIS_HOME", home.path())
        .env("TRELLIS_CACHE_DIR", cache.path())
        .args(["scan", "-v", "--format", "json", "--conflicts", "--plugin"])
        .arg(&tuner)
        .args(["--plugin"])
        .arg(plugin("plugins/stale-branches"))
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = support::report(&out.stdout);
    let profile = &report["profile"];
    assert_eq!(profile["branches"], 4);
    let repo_profile = &profile["repositories"][0];
    assert_eq!(repo_profile["parent_source"], "objects");
    let stages: Vec<&str> = repo_profile["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "open",
            "graph",
            "walk",
            "diffstat",
            "squash",
            "conflicts",
            "plugin.stale-branches"
        ]
    );
    let total: Vec<&str> = profile["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(total.contains(&"plugin.tuning"), "{total:?}");
    let caches = &profile["caches"];
    assert_eq!(caches[0]["name"], "facts");
    // Four branches, none cached yet; `idle` needs no trees but still asks.
    assert_eq!(caches[0]["hits"], 0);
    assert_eq!(caches[0]["misses"], 4);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("profile: 4 branches in"), "{stderr}");
    assert!(
        stderr.contains("profile: stages (wall/CPU ms): plugin.tuning "),
        "{stderr}"
    );
    assert!(stderr.contains("compile "), "{stderr}");
}

/// On the generated fixture — merged, squash-merged, conflicting, renaming, add/add,
/// criss-cross and stacked branches — the `overlap` scope skips merges and every fact is the
/// same as with `all`.
#[test]
fn the_overlap_scope_is_exact_on_the_generated_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("fixture");
    xtask::fixture::generate(&xtask::fixture::FixtureSpec::default(), &repo).unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for scope in ["all", "overlap"] {
        let cfg = config(
            home.path(),
            &format!("strategy = \"fixed\", conflicts = true, conflicts_scope = \"{scope}\""),
        );
        let (report, _) = scan(home.path(), &repo, &["--config", &cfg, "--no-cache"]);
        let r = &report["repositories"][0];
        runs.push((
            r["branches"].clone(),
            r["branch_errors"].clone(),
            report["profile"]["repositories"][0]["merges_skipped"]
                .as_u64()
                .unwrap(),
        ));
    }
    assert_eq!(runs[0].0, runs[1].0, "the same facts");
    assert_eq!(runs[0].1, runs[1].1, "the same errors");
    assert_eq!(runs[0].2, 0);
    assert!(runs[1].2 > 0, "no merge skipped");
    let conflicting = runs[1]
        .0
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["conflicts"]["verdict"] == "conflicts")
        .count();
    assert!(conflicting > 0);
}
