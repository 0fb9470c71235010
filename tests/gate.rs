//! The CI gate end to end: `--fail-on` and the exit codes, `--output` files (SARIF validated
//! against the OASIS schema, JUnit read back with an XML parser), baselines, and hostile text
//! in all of them — on repositories built here, with a real policy plugin
//! (`tests/fixtures/plugins/findings-from-config`) reporting the findings each test lists.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{Repo, junit, plugin, report, sarif, trellis};

const PLUGIN: &str = "findings-from-config";

/// A repository with `main` and the branches `feature` and `x]]>&<"'` (a branch name with every
/// XML markup character git allows).
fn repo() -> Repo {
    let mut repo = Repo::new();
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit("feature work");
    repo.git(&["checkout", "-q", "-b", HOSTILE_BRANCH, "main"]);
    repo.commit("hostile work");
    repo.git(&["checkout", "-q", "main"]);
    repo
}

const HOSTILE_BRANCH: &str = "x]]>&<\"'";

/// One finding the plugin is told to report: `(rule, severity, message, branch, path)`;
/// branch `*` is every branch.
type Planned<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// A config file telling the plugin what to report.
fn config(dir: &Path, planned: &[Planned<'_>], fail: bool) -> PathBuf {
    let mut text = format!("[plugins.{PLUGIN}.config]\nfail = {fail}\nfindings = [\n");
    for (rule, severity, message, branch, path) in planned {
        text.push_str(&format!(
            "  {{ rule = {}, severity = {}, message = {}",
            toml_string(rule),
            toml_string(severity),
            toml_string(message)
        ));
        if let Some(b) = branch {
            text.push_str(&format!(", branch = {}", toml_string(b)));
        }
        if let Some(p) = path {
            text.push_str(&format!(", path = {}", toml_string(p)));
        }
        text.push_str(" },\n");
    }
    text.push_str("]\n");
    let file = dir.join(format!(
        "trellis-{}.toml",
        blake3::hash(text.as_bytes()).to_hex()
    ));
    std::fs::write(&file, text).expect("write config");
    file
}

/// `s` as a TOML basic string (control characters as `\u` escapes).
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs `trellis scan REPO --plugin … --config CONFIG ARGS`.
fn scan(repo: &Repo, config: &Path, args: &[&str]) -> Output {
    let mut cmd = trellis();
    cmd.arg("--config")
        .arg(config)
        .arg("scan")
        .arg(repo.path())
        .arg("--plugin")
        .arg(plugin(&format!("tests/fixtures/plugins/{PLUGIN}")))
        .args(args);
    let out = cmd.output().expect("run trellis");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.lines().any(|l| l.starts_with("thread '")),
        "the host panicked: {stderr}"
    );
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The plugin's findings in a JSON report, and its whole result.
fn result(report: &Value) -> Value {
    report["repositories"][0]["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == PLUGIN)
        .expect("the plugin's result")
        .clone()
}

const ERROR: Planned<'static> = (
    "secret",
    "error",
    "token in {branch}",
    Some("*"),
    Some("src/keys.env"),
);
const WARNING: Planned<'static> = (
    "naming",
    "warning",
    "{branch} has no prefix",
    Some("*"),
    None,
);
const INFO: Planned<'static> = ("note", "info", "for information", None, None);

#[test]
fn fail_on_sets_exit_code_0_or_3_by_severity() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[Planned<'_>], &[&str], i32)] = &[
        // Errors and warnings: the default (error) fails, so does warning; never passes.
        (&[ERROR, WARNING], &[], 3),
        (&[ERROR, WARNING], &["--fail-on", "error"], 3),
        (&[ERROR, WARNING], &["--fail-on", "warning"], 3),
        (&[ERROR, WARNING], &["--fail-on", "never"], 0),
        // Warnings only: only warning fails.
        (&[WARNING, INFO], &[], 0),
        (&[WARNING, INFO], &["--fail-on", "warning"], 3),
        // Information never fails.
        (&[INFO], &["--fail-on", "warning"], 0),
        (&[], &["--fail-on", "warning"], 0),
    ];
    for (planned, args, expected) in cases {
        let config = config(dir.path(), planned, false);
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = scan(&repo, &config, &all);
        assert_eq!(
            code(&out),
            *expected,
            "{planned:?} {args:?}: {}",
            stderr(&out)
        );
        let json = report(&out.stdout);
        let findings = result(&json)["output"].as_array().unwrap().len();
        let per_branch = planned.iter().filter(|p| p.3 == Some("*")).count();
        assert_eq!(findings, per_branch * 2 + (planned.len() - per_branch));
        if *expected == 3 {
            assert!(
                stderr(&out).contains("gate failed (--fail-on"),
                "{}",
                stderr(&out)
            );
        }
    }

    // The config's [gate] sets the default; the flag overrides it.
    let config = config(dir.path(), &[WARNING], false);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("[gate]\nfail_on = \"warning\"\n");
    std::fs::write(&config, text).unwrap();
    assert_eq!(code(&scan(&repo, &config, &[])), 3);
    assert_eq!(code(&scan(&repo, &config, &["--fail-on", "error"])), 0);
}

#[test]
fn a_policy_that_fails_to_run_fails_the_gate() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[], true);
    let out = scan(&repo, &config, &["--format", "json"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("policy {PLUGIN}@0.1.0")),
        "{}",
        stderr(&out)
    );
    assert_eq!(result(&report(&out.stdout))["status"], "failed");
    assert_eq!(code(&scan(&repo, &config, &["--fail-on", "never"])), 0);
    // In JUnit it is an error case.
    let out_file = dir.path().join("r.xml");
    let spec = format!("junit={}", out_file.display());
    scan(&repo, &config, &["--output", &spec]);
    let cases = junit(&std::fs::read(&out_file).unwrap());
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].status, "error");
    assert!(
        cases[0]
            .message
            .as_deref()
            .unwrap()
            .contains("configured-to-fail")
    );
}

#[test]
fn bad_input_wins_over_the_gate() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[ERROR], false);
    let missing = dir.path().join("no-such-repo");
    let out = scan(&repo, &config, &[missing.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn outputs_are_written_together_and_stdout_keeps_its_format() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let hostile = "token <b>&amp;</b> ]]> \u{1}\u{1b}[31mred\u{7} \"q\" 'a' in {branch}";
    let planned = [
        (
            "secret",
            "error",
            hostile,
            Some("*"),
            Some("src/my keys.env"),
        ),
        WARNING,
        INFO,
    ];
    let config = config(dir.path(), &planned, false);
    let (s, j, r) = (
        dir.path().join("out/trellis.sarif"),
        dir.path().join("out/junit.xml"),
        dir.path().join("out/report.json"),
    );
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let specs = [
        format!("sarif={}", s.display()),
        format!("junit={}", j.display()),
        format!("json={}", r.display()),
    ];
    let out = scan(
        &repo,
        &config,
        &[
            "--output", &specs[0], "--output", &specs[1], "--output", &specs[2],
        ],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        table.contains(&format!("{PLUGIN}@0.1.0: 5 findings")),
        "{table}"
    );
    // The table escapes what the terminal must not act on.
    assert!(
        table.contains("\\x1b[31mred\\x07") && !table.contains('\u{1b}'),
        "{table}"
    );

    // JSON: every finding has a fingerprint.
    let json = report(&std::fs::read(&r).unwrap());
    let findings = result(&json)["output"].as_array().unwrap().clone();
    assert_eq!(findings.len(), 5);
    assert!(
        findings
            .iter()
            .all(|f| f["fingerprint"].as_str().is_some_and(|p| p.len() == 64))
    );

    // SARIF: valid against the OASIS schema, one run for the plugin, rule/level/location right.
    let log = sarif(&std::fs::read(&s).unwrap());
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], PLUGIN);
    assert_eq!(run["tool"]["driver"]["semanticVersion"], "0.1.0");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["secret", "naming", "note"]);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for result in results {
        let rule = result["ruleId"].as_str().unwrap();
        assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize], rule);
        let location = &result["locations"][0]["physicalLocation"];
        let (level, uri) = match rule {
            "secret" => ("error", "src/my%20keys.env".to_string()),
            "naming" => (
                "warning",
                format!(
                    "refs/heads/{}",
                    result["properties"]["branch"].as_str().unwrap()
                ),
            ),
            _ => ("note", "refs/heads/main".to_string()),
        };
        assert_eq!(result["level"], level, "{result}");
        if rule == "naming" {
            // Branch names are percent-encoded in the URI.
            let branch = result["properties"]["branch"].as_str().unwrap();
            let expected = if branch == "feature" {
                "refs/heads/feature".to_string()
            } else {
                "refs/heads/x%5D%5D%3E%26%3C%22%27".to_string()
            };
            assert_eq!(location["artifactLocation"]["uri"], expected);
        } else {
            assert_eq!(location["artifactLocation"]["uri"], uri);
        }
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
        assert_eq!(
            result["partialFingerprints"]["trellisFinding/v1"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }
    let secret = results
        .iter()
        .find(|r| r["ruleId"] == "secret" && r["properties"]["branch"] == HOSTILE_BRANCH)
        .expect("the secret on the hostile branch");
    assert_eq!(
        secret["message"]["text"],
        hostile.replace("{branch}", HOSTILE_BRANCH),
        "JSON keeps the exact text"
    );

    // JUnit: well-formed, one case per rule and branch (and one for the repository-level
    // finding), failures for the error findings only (default --fail-on error).
    let cases = junit(&std::fs::read(&j).unwrap());
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for rule in ["secret", "naming", "note"] {
        for branch in ["feature", HOSTILE_BRANCH] {
            assert!(
                names.contains(&format!("{rule} on {branch}").as_str()),
                "{names:?}"
            );
        }
    }
    assert!(names.contains(&"note on the repository"));
    assert_eq!(cases.len(), 7);
    let failures: Vec<&support::JunitCase> =
        cases.iter().filter(|c| c.status == "failure").collect();
    assert_eq!(failures.len(), 2, "{cases:?}");
    assert!(failures.iter().all(|c| c.name.starts_with("secret on ")));
    let hostile_case = failures
        .iter()
        .find(|c| c.name == format!("secret on {HOSTILE_BRANCH}"))
        .expect("the hostile branch's case, its name intact");
    // Markup and `]]>` come back exactly; what XML 1.0 cannot carry (C0 controls, ANSI
    // sequences) is gone.
    let expected = format!("token <b>&amp;</b> ]]> red \"q\" 'a' in {HOSTILE_BRANCH}");
    assert_eq!(hostile_case.message.as_deref(), Some(expected.as_str()));
    assert!(hostile_case.text.contains("src/my keys.env"));
    assert!(
        cases
            .iter()
            .all(|c| c.suite == format!("{PLUGIN} {}", repo.path().display()))
    );

    // With --fail-on warning, the naming cases fail too.
    let out = scan(
        &repo,
        &config,
        &["--fail-on", "warning", "--output", &specs[1]],
    );
    assert_eq!(code(&out), 3);
    let cases = junit(&std::fs::read(&j).unwrap());
    assert_eq!(cases.iter().filter(|c| c.status == "failure").count(), 4);

    // `-` is stdout, instead of --format.
    let out = scan(&repo, &config, &["--format", "json", "--output", "sarif=-"]);
    assert_eq!(
        sarif(&out.stdout)["runs"][0]["results"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn a_baseline_reports_only_new_findings() {
    let mut repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let old = config(dir.path(), &[ERROR, WARNING, INFO], false);
    let baseline = dir.path().join("baseline.json");
    let spec = format!("json={}", baseline.display());
    assert_eq!(code(&scan(&repo, &old, &["--output", &spec])), 3);

    // Nothing new: all 5 findings suppressed, the gate passes.
    let out = scan(
        &repo,
        &old,
        &["--format", "json", "--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r = result(&report(&out.stdout));
    assert_eq!(r["output"].as_array().unwrap().len(), 0);
    assert_eq!(r["suppressed_by_baseline"], 5);

    // A new branch and a new rule: only their findings are reported, and they decide the gate.
    repo.git(&["checkout", "-q", "-b", "later", "main"]);
    repo.commit("later work");
    repo.git(&["checkout", "-q", "main"]);
    let new = config(
        dir.path(),
        &[
            ERROR,
            WARNING,
            INFO,
            (
                "dco",
                "warning",
                "not signed off, 3 commits",
                Some("feature"),
                None,
            ),
        ],
        false,
    );
    let s = dir.path().join("new.sarif");
    let j = dir.path().join("new.xml");
    let out = scan(
        &repo,
        &new,
        &[
            "--format",
            "json",
            "--baseline",
            baseline.to_str().unwrap(),
            "--output",
            &format!("sarif={}", s.display()),
            "--output",
            &format!("junit={}", j.display()),
        ],
    );
    assert_eq!(
        code(&out),
        3,
        "the secret on `later` is new: {}",
        stderr(&out)
    );
    let r = result(&report(&out.stdout));
    let mut reported: Vec<(String, String)> = r["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().into(),
                f["branch"].as_str().unwrap().into(),
            )
        })
        .collect();
    reported.sort();
    assert_eq!(
        reported,
        [
            ("dco".to_string(), "feature".to_string()),
            ("naming".into(), "later".into()),
            ("secret".into(), "later".into()),
        ]
    );
    assert_eq!(r["suppressed_by_baseline"], 5);
    let log = sarif(&std::fs::read(&s).unwrap());
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 3);
    let cases = junit(&std::fs::read(&j).unwrap());
    assert_eq!(cases.iter().filter(|c| c.status == "failure").count(), 1);

    // The table says how many the baseline held back.
    let out = scan(&repo, &new, &["--baseline", baseline.to_str().unwrap()]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("3 findings, 5 more in the baseline"),
        "{table}"
    );
}

#[test]
fn bad_baselines_and_output_specs_are_bad_input() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[ERROR], false);
    let missing = dir.path().join("missing.json");
    let out = scan(&repo, &config, &["--baseline", missing.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing.json") && stderr(&out).contains("cannot read"));

    let not_a_report = dir.path().join("not-a-report.json");
    std::fs::write(&not_a_report, "{\"hello\": 1}").unwrap();
    let out = scan(
        &repo,
        &config,
        &["--baseline", not_a_report.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("not-a-report.json") && err.contains("not a trellis report"),
        "{err}"
    );

    for (spec, says) in [
        ("xml=out.xml", "unknown format `xml`"),
        ("sarif", "expected FORMAT=PATH"),
        ("sarif=", "PATH after `=` is empty"),
    ] {
        let out = scan(&repo, &config, &["--output", spec]);
        assert_eq!(code(&out), 2, "{spec}");
        assert!(
            stderr(&out).contains(spec) && stderr(&out).contains(says),
            "{}",
            stderr(&out)
        );
    }
    let out = scan(
        &repo,
        &config,
        &["--output", "json=-", "--output", "sarif=-"],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("at most one output"));

    // A file that cannot be written is bad input too, and the others are still written.
    let ok = dir.path().join("ok.sarif");
    let out = scan(
        &repo,
        &config,
        &[
            "--output",
            &format!("sarif={}", dir.path().join("no/such/dir/x.sarif").display()),
            "--output",
            &format!("sarif={}", ok.display()),
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("x.sarif: cannot write"));
    sarif(&std::fs::read(&ok).unwrap());
}

#[test]
fn several_repositories_have_one_sarif_run_and_junit_suite_each() {
    let (a, b) = (repo(), repo());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[ERROR], false);
    let mut cmd = trellis();
    let out = cmd
        .arg("--config")
        .arg(&config)
        .args(["scan", "--format", "sarif", "--output"])
        .arg(format!("junit={}", dir.path().join("r.xml").display()))
        .arg(a.path())
        .arg(b.path())
        .arg("--plugin")
        .arg(plugin(&format!("tests/fixtures/plugins/{PLUGIN}")))
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let log = sarif(&out.stdout);
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let categories: Vec<&str> = runs
        .iter()
        .map(|r| r["automationDetails"]["id"].as_str().unwrap())
        .collect();
    assert_ne!(categories[0], categories[1]);
    for (run, repo) in runs.iter().zip([&a, &b]) {
        assert_eq!(
            run["properties"]["repository"],
            repo.path().display().to_string()
        );
        assert_eq!(run["results"].as_array().unwrap().len(), 2);
    }
    let cases = junit(&std::fs::read(dir.path().join("r.xml")).unwrap());
    let suites: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.suite.as_str()).collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(cases.iter().filter(|c| c.status == "failure").count(), 4);
}
