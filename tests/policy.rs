//! The enterprise-policy plugin through the host: a repository where every rule family has a
//! branch planted to break it (and others planted not to), scanned by the real binary with the
//! real plugin; every rule's findings are compared with the known answer, exactly.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::{DAY, Repo, SshKey, findings, now, plugin, trellis};

/// A GitHub personal access token of the right shape (not a real one).
const TOKEN: &str = "ghp_R8x2kQ7vLm3Nw9Tz4Yb6Hc1Jd5Fg0Ps8UaEi";

/// (branch, commit, path, line) of one finding; what is absent is empty or 0.
type Place = (String, String, String, u64);

struct Planted {
    repo: Repo,
    config: String,
    /// The known answer: the places each rule must report, and nothing else.
    expected: BTreeMap<&'static str, BTreeSet<Place>>,
}

fn place(branch: &str, commit: &str, path: &str, line: u64) -> Place {
    (branch.into(), commit.into(), path.into(), line)
}

fn planted() -> Planted {
    let now = now();
    let mut r = Repo::new();
    r.clock = now - 400 * DAY;
    r.commit_file("README.md", "readme\n", "chore: base");
    let branch_from_main = |r: &mut Repo, name: &str, at: i64| {
        r.git(&["checkout", "-q", "-b", name, "main"]);
        r.clock = at;
    };
    let signoff = "\n\nSigned-off-by: Ada Author <ada@example.com>";

    // Protected and old: exempt from the cleanup rules (stale, old unmerged).
    branch_from_main(&mut r, "release/2.0", now - 300 * DAY);
    r.commit_file(
        "release.txt",
        "2.0\n",
        &format!("chore: release 2.0{signoff}"),
    );
    // Old and unmerged.
    branch_from_main(&mut r, "feature/old", now - 200 * DAY);
    let old_tip = r.commit_file("old.txt", "old\n", &format!("feat: old work{signoff}"));
    // Badly named.
    branch_from_main(&mut r, "WIP-thing", now - DAY);
    r.commit_file("wip.txt", "wip\n", &format!("feat: wip{signoff}"));
    // Four commits ahead.
    branch_from_main(&mut r, "feature/ahead", now - DAY);
    for i in 1..=4 {
        r.commit_file(&format!("a{i}.txt"), "a\n", &format!("feat: a{i}{signoff}"));
    }
    // A message commitlint refuses, without a sign-off; then a good one.
    branch_from_main(&mut r, "fix/messages", now - DAY);
    let bad_message = r.commit_file("m1.txt", "m\n", "Fix stuff.");
    r.commit_file(
        "m2.txt",
        "m\n",
        &format!("fix(core): handle the empty case{signoff}"),
    );
    // Signed by an allowed key; unsigned; signed by a key nobody allowed.
    let good_key = SshKey::new();
    let other_key = SshKey::new();
    branch_from_main(&mut r, "signed/good", now - DAY);
    std::fs::write(r.path().join("s.txt"), "s\n").unwrap();
    r.commit_signed(&format!("feat: signed{signoff}"), &good_key);
    branch_from_main(&mut r, "signed/bad", now - DAY);
    let unsigned = r.commit_file("u.txt", "u\n", &format!("feat: unsigned{signoff}"));
    std::fs::write(r.path().join("o.txt"), "o\n").unwrap();
    let foreign = r.commit_signed(&format!("feat: signed by a stranger{signoff}"), &other_key);
    // Files: a key file, a large file, a binary, an allowed binary, and a token committed and
    // removed again (still in the history), next to a decoy (a git object id).
    branch_from_main(&mut r, "feature/files", now - DAY);
    std::fs::write(r.path().join("server.pem"), "-----\n").unwrap();
    std::fs::write(r.path().join("big.txt"), "x".repeat(2000)).unwrap();
    std::fs::write(r.path().join("blob.bin"), b"\x00\x01\x02").unwrap();
    std::fs::write(r.path().join("logo.png"), b"\x89PNG\x00\x00").unwrap();
    let files = r.commit_file(
        "config.py",
        &format!("sha = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"\ntoken = \"{TOKEN}\"\n"),
        &format!("feat: add files{signoff}"),
    );
    r.commit_file(
        "config.py",
        "sha = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"\n",
        &format!("fix: remove the token{signoff}"),
    );
    r.git(&["checkout", "-q", "main"]);
    r.clock = now - DAY;
    r.commit_file("later.txt", "main moves on\n", "chore: later");

    let config = format!(
        r#"
[plugins.enterprise-policy]
grants = ["git.history", "git.blobs"]

[[plugins.enterprise-policy.config.rules]]
id = "protected"
kind = "protected-branches"
patterns = ["main", "release/*"]
required = ["main", "release/1.0"]

[[plugins.enterprise-policy.config.rules]]
id = "names"
kind = "branch-naming"
severity = "warning"
exclude = ["main", "release/*"]
prefixes = ["feature/", "fix/", "signed/"]

[[plugins.enterprise-policy.config.rules]]
id = "drift"
kind = "ahead-behind"
max_ahead = 3

[[plugins.enterprise-policy.config.rules]]
id = "stale"
kind = "stale-branch"
severity = "info"
cleanup = true
days = 90

[[plugins.enterprise-policy.config.rules]]
id = "old-unmerged"
kind = "unmerged-old"
cleanup = true
days = 180

[[plugins.enterprise-policy.config.rules]]
id = "conventional"
kind = "conventional-commits"
branches = ["fix/*"]

[[plugins.enterprise-policy.config.rules]]
id = "dco"
kind = "dco"
branches = ["fix/*"]

[[plugins.enterprise-policy.config.rules]]
id = "signed"
kind = "signed-commits"
branches = ["signed/*"]
kinds = ["ssh"]
allowed_signers = "{}"

[[plugins.enterprise-policy.config.rules]]
id = "keys"
kind = "forbidden-paths"
paths = ["*.pem"]

[[plugins.enterprise-policy.config.rules]]
id = "large"
kind = "file-size"
max_bytes = 1000

[[plugins.enterprise-policy.config.rules]]
id = "binaries"
kind = "binary-files"
severity = "warning"
allow = ["*.png"]

[[plugins.enterprise-policy.config.rules]]
id = "secrets"
kind = "secrets"
"#,
        good_key.allowed_signer("cy@example.com")
    );

    let mut expected: BTreeMap<&'static str, BTreeSet<Place>> = BTreeMap::new();
    // A missing branch has no branch to name: the finding says which in `data.missing`.
    expected.insert("protected", [place("", "", "", 0)].into());
    expected.insert("names", [place("WIP-thing", "", "", 0)].into());
    expected.insert("drift", [place("feature/ahead", "", "", 0)].into());
    // Age rules name the tip commit they measured.
    expected.insert("stale", [place("feature/old", &old_tip, "", 0)].into());
    expected.insert(
        "old-unmerged",
        [place("feature/old", &old_tip, "", 0)].into(),
    );
    expected.insert(
        "conventional",
        [place("fix/messages", &bad_message, "", 0)].into(),
    );
    expected.insert("dco", [place("fix/messages", &bad_message, "", 0)].into());
    expected.insert(
        "signed",
        [
            place("signed/bad", &unsigned, "", 0),
            place("signed/bad", &foreign, "", 0),
        ]
        .into(),
    );
    // Change rules name the commit that put the file there.
    expected.insert(
        "keys",
        [place("feature/files", &files, "server.pem", 0)].into(),
    );
    expected.insert(
        "large",
        [place("feature/files", &files, "big.txt", 0)].into(),
    );
    expected.insert(
        "binaries",
        [place("feature/files", &files, "blob.bin", 0)].into(),
    );
    expected.insert(
        "secrets",
        [place("feature/files", &files, "config.py", 2)].into(),
    );
    Planted {
        repo: r,
        config,
        expected,
    }
}

/// The planted repository with a policy of one rule (its TOML keys), granted what it needs.
fn with_rule(rule: &str) -> Planted {
    Planted {
        config: format!(
            "[plugins.enterprise-policy]\ngrants = [\"git.history\", \"git.blobs\"]\n\n\
             [[plugins.enterprise-policy.config.rules]]\n{rule}"
        ),
        ..planted()
    }
}

/// Scans with the policy; the JSON report, the SARIF log, and how the process ended.
fn scan(p: &Planted, extra: &[&str]) -> (Value, Value, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trellis.toml");
    std::fs::write(&config, &p.config).unwrap();
    let sarif = dir.path().join("policy.sarif");
    let policy = plugin("plugins/enterprise-policy");
    let out = trellis()
        .args(["scan", "--format", "json", "--config"])
        .arg(&config)
        .arg("--plugin")
        .arg(&policy)
        .arg("--output")
        .arg(format!("sarif={}", sarif.display()))
        .arg(p.repo.path())
        .args(extra)
        .output()
        .unwrap();
    let log = support::sarif(&std::fs::read(&sarif).unwrap());
    (support::report(&out.stdout), log, out)
}

#[test]
fn every_rule_reports_exactly_its_planted_violations() {
    let p = planted();
    let (report, log, out) = scan(&p, &[]);
    // Error findings fail the gate.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = findings(&report, "enterprise-policy");
    let mut by_rule: BTreeMap<String, BTreeSet<Place>> = BTreeMap::new();
    for f in &found {
        let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
        by_rule.entry(s("rule")).or_default().insert((
            s("branch"),
            s("commit"),
            s("path"),
            f["line"].as_u64().unwrap_or(0),
        ));
    }
    let expected: BTreeMap<String, BTreeSet<Place>> = p
        .expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(by_rule, expected, "{found:#?}");

    // Severities are the configured ones; a secret is never shown in full.
    let severity = |rule: &str| {
        found
            .iter()
            .find(|f| f["rule"] == rule)
            .map(|f| f["severity"].clone())
            .unwrap()
    };
    assert_eq!(severity("names"), "warning");
    assert_eq!(severity("stale"), "info");
    assert_eq!(severity("secrets"), "error");
    let missing = found.iter().find(|f| f["rule"] == "protected").unwrap();
    assert_eq!(missing["data"]["missing"], "release/1.0");
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains(TOKEN), "the token leaked into the report");

    // Every configured rule is described, fired or not, in the report and in SARIF.
    let result = report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "enterprise-policy")
        .unwrap()
        .clone();
    assert_eq!(result["api"], "0.2.0");
    assert!(result["metrics"]["queries"].as_u64().unwrap() >= 3);
    let described: BTreeSet<&str> = result["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let configured: BTreeSet<&str> = p.expected.keys().copied().collect();
    assert_eq!(described, configured);
    let run = &log["runs"][0];
    let sarif_rules: BTreeSet<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(sarif_rules, configured);
    let secret = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "secrets")
        .unwrap();
    let location = &secret["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "config.py");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(secret["level"], "error");
}

#[test]
fn the_gate_follows_the_configured_severities() {
    // Only a warning rule fires: under `--fail-on error` (the default) the gate passes, under
    // `warning` it fails, under `never` nothing fails it.
    let p = with_rule(
        r#"id = "names"
kind = "branch-naming"
severity = "warning"
exclude = ["main", "release/*"]
prefixes = ["feature/", "fix/", "signed/"]
"#,
    );
    for (fail_on, code) in [("error", 0), ("warning", 3), ("never", 0)] {
        let (report, _, out) = scan(&p, &["--fail-on", fail_on]);
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
        assert_eq!(findings(&report, "enterprise-policy").len(), 1);
    }
}

#[test]
fn a_malformed_rule_is_an_error_naming_its_key() {
    let p = with_rule(
        r#"id = "names"
kind = "branch-naming"
pattern = "([unclosed"
"#,
    );
    let (report, _, out) = scan(&p, &[]);
    // A policy that could not run fails the gate.
    assert_eq!(out.status.code(), Some(3));
    let result = &report["repositories"][0]["plugins"][0];
    assert_eq!(result["status"], "failed", "{result}");
    let failure = result["failure"].to_string();
    assert!(
        failure.contains("bad-config") && failure.contains("rules[0].pattern"),
        "{failure}"
    );
}

#[test]
fn a_rule_set_that_takes_too_long_is_stopped_by_the_plugin_limits() {
    // The secret rules alone cost far more than this fuel to compile: the plugin is stopped,
    // says why, and the gate fails (a policy that could not run).
    let p = planted();
    let p = Planted {
        config: p.config.replace(
            "grants = [\"git.history\", \"git.blobs\"]\n",
            "grants = [\"git.history\", \"git.blobs\"]\nlimits = { fuel = 20_000_000 }\n",
        ),
        ..p
    };
    assert!(p.config.contains("fuel = 20_000_000"));
    let (report, _, out) = scan(&p, &[]);
    assert_eq!(out.status.code(), Some(3));
    let result = &report["repositories"][0]["plugins"][0];
    assert_eq!(result["status"], "failed", "{result}");
    let failure = result["failure"].to_string();
    assert!(failure.contains("fuel"), "{failure}");
    assert!(
        report["repositories"][0]["branches"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "the branch facts are still reported"
    );
}
