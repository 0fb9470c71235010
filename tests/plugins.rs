//! Plugins end to end: real components built from `plugins/` and `tests/fixtures/`, run by the
//! real binary in the sandbox.

use crate::support;

use support::{DAY, Repo, findings, now, plugin, scan_json, trellis};

/// `main` with a fresh commit, a stale unmerged branch, a fresh unmerged branch and a merged one.
fn aging_repo() -> Repo {
    let mut r = Repo::new();
    let now = now();
    r.commit_at("base", now - 400 * DAY);
    r.git(&["checkout", "-q", "-b", "old-work"]);
    r.commit_at("old work", now - 200 * DAY);
    r.git(&["checkout", "-q", "-b", "done", "main"]);
    r.commit_at("done work", now - 300 * DAY);
    r.git(&["checkout", "-q", "-b", "fresh", "main"]);
    r.commit_at("fresh work", now - DAY);
    r.git(&["checkout", "-q", "main"]);
    r.clock = now - 2 * DAY;
    r.merge("done", "merge done");
    r
}

fn rules_by_branch(findings: &[serde_json::Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["branch"].as_str().unwrap_or("").to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn stale_branches_flags_stale_and_merged_branches() {
    let repo = aging_repo();
    let stale = plugin("plugins/stale-branches");
    let report = scan_json(&[
        repo.path().to_str().unwrap(),
        "--plugin",
        stale.to_str().unwrap(),
    ]);
    let found = findings(&report, "stale-branches");
    assert_eq!(
        rules_by_branch(&found),
        vec![
            ("done".into(), "merged-branch".into()),
            ("old-work".into(), "stale-branch".into()),
        ]
    );
    let old = found.iter().find(|f| f["rule"] == "stale-branch").unwrap();
    assert_eq!(old["severity"], "warning");
    assert_eq!(old["data"]["age-days"], "200");

    let result = &report["repositories"][0]["plugins"][0];
    assert_eq!(result["api"], "0.2.0");
    assert!(result["metrics"]["fuel_used"].as_u64().unwrap() > 0);
    assert!(result["metrics"]["duration_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn user_config_overrides_plugin_defaults() {
    let repo = aging_repo();
    let stale = plugin("plugins/stale-branches");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trellis.toml");
    let scan_with = |config_text: &str| {
        std::fs::write(&config, config_text).unwrap();
        scan_json(&[
            repo.path().to_str().unwrap(),
            "--plugin",
            stale.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
    };
    let report = scan_with(
        "[plugins.stale-branches]\nconfig = { max_age_days = 365, report_merged = false }\n",
    );
    assert_eq!(
        findings(&report, "stale-branches"),
        Vec::<serde_json::Value>::new()
    );

    // A config the plugin rejects is that plugin's failure, with its reason; the scan goes on.
    let report = scan_with("[plugins.stale-branches]\nconfig = { max_age_days = \"soon\" }\n");
    let result = &report["repositories"][0]["plugins"][0];
    assert_eq!(result["status"], "failed");
    assert_eq!(result["failure"]["reason"], "plugin-error");
    assert_eq!(result["failure"]["code"], "bad-config");
    assert_eq!(
        report["repositories"][0]["branches"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

fn probe_findings(extra: &[&str]) -> std::collections::HashMap<String, serde_json::Value> {
    let mut repo = Repo::new();
    for i in 0..5 {
        repo.commit(&format!("c{i}"));
    }
    let probe = plugin("tests/fixtures/plugins/probe");
    let mut args = vec![
        repo.path().to_str().unwrap().to_string(),
        "--plugin".into(),
        probe.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = scan_json(&args);
    findings(&report, "probe")
        .into_iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f))
        .collect()
}

#[test]
fn the_sandbox_denies_files_environment_clock_and_ungranted_queries() {
    let found = probe_findings(&[]);
    let fs = found["fs"]["message"].as_str().unwrap();
    assert!(fs.starts_with("error:"), "read a host file: {fs}");
    assert!(!fs.contains("root:"), "{fs}");
    assert_eq!(found["env"]["message"], "0 variables");
    // The clock reads the scan's start, not the real time.
    assert_eq!(
        found["clock"]["message"].as_str().unwrap(),
        found["clock"]["data"]["scan-time"].as_str().unwrap()
    );
    let commits = found["commits"]["message"].as_str().unwrap();
    assert!(
        commits.contains("Denied") && commits.contains("git.history"),
        "{commits}"
    );
}

#[test]
fn granted_queries_answer_and_paths_cannot_escape() {
    let found = probe_findings(&["--grant", "probe:git.history", "--grant", "probe:git.blobs"]);
    assert_eq!(found["commits"]["message"], "ok: 3");
    let traversal = found["traversal"]["message"].as_str().unwrap();
    assert!(traversal.contains("Invalid"), "{traversal}");
}

#[test]
fn a_plugin_built_outside_the_workspace_runs() {
    let repo = aging_repo();
    let external = plugin("tests/fixtures/external-plugin");
    let report = scan_json(&[
        repo.path().to_str().unwrap(),
        "--plugin",
        external.to_str().unwrap(),
    ]);
    let found = findings(&report, "external-plugin");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["message"], "2 unmerged");
    assert_eq!(report["repositories"][0]["plugins"][0]["version"], "0.3.1");
}

/// A tuner cannot crash or swamp the host with its plan: absurd worker counts are lowered to
/// what the host allows, the change is in the report, and the scan runs to the end.
#[test]
fn a_tuners_absurd_plan_is_bounded_and_the_change_reported() {
    let repo = aging_repo();
    let tuner = plugin("tests/fixtures/plugins/fixed-tuner");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let allowed = (cores * 4).clamp(4, 256);
    for asked in [u32::MAX as u64, 512] {
        let config = repo.path().join("tuner.toml");
        std::fs::write(
            &config,
            format!("[plugins.fixed-tuner]\nconfig = {{ workers = {asked} }}\n"),
        )
        .unwrap();
        let out = trellis()
            .args(["scan", "--format", "json", "--config"])
            .arg(&config)
            .arg(repo.path())
            .arg("--plugin")
            .arg(&tuner)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = support::report(&out.stdout);
        let plan = &report["plan"]["output"];
        assert_eq!(plan["workers"], allowed, "{plan}");
        let adjustments = plan["adjustments"].as_array().unwrap();
        assert!(
            adjustments[0]
                .as_str()
                .unwrap()
                .starts_with(&format!("workers {asked} lowered to {allowed}")),
            "{plan}"
        );
        assert_eq!(
            report["repositories"][0]["branches"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }
}

#[test]
fn a_tuner_plans_the_scan() {
    let repo = aging_repo();
    let tuner = plugin("tests/fixtures/plugins/fixed-tuner");
    let stale = plugin("plugins/stale-branches");
    let report = scan_json(&[
        repo.path().to_str().unwrap(),
        repo.path().to_str().unwrap(),
        "--plugin",
        tuner.to_str().unwrap(),
        "--plugin",
        stale.to_str().unwrap(),
    ]);
    let plan = &report["plan"];
    assert_eq!(plan["status"], "ok", "{plan}");
    assert!(
        plan["output"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("2 repositories")
    );
    // Each scan is recorded for tuners: a second scan with its own store sees the first.
    let home = tempfile::tempdir().unwrap();
    let plan_reason = || {
        let out = trellis()
            .env("TRELLIS_HOME", home.path())
            .args(["scan", "--format", "json", "--plugin"])
            .arg(&tuner)
            .arg(repo.path())
            .output()
            .unwrap();
        let report = support::report(&out.stdout);
        report["plan"]["output"]["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(plan_reason().ends_with(", 0 earlier runs"));
    assert!(plan_reason().ends_with(", 1 earlier runs"));

    // The tuner is not run as an analyzer; the analyzer still runs on both repositories.
    for repo in report["repositories"].as_array().unwrap() {
        let ids: Vec<&str> = repo["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec!["stale-branches"]);
    }
}

#[test]
fn table_output_lists_branches_and_findings() {
    let repo = aging_repo();
    let stale = plugin("plugins/stale-branches");
    let out = trellis()
        .args(["scan", repo.path().to_str().unwrap(), "--plugin"])
        .arg(&stale)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "old-work",
        "fresh",
        "done",
        "stale-branch",
        "merged-branch",
        "200d",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}
