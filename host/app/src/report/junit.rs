//! The JUnit XML rendering of a report, for CI systems that show test results.
//!
//! Mapping:
//! - one `testsuite` per repository and analyzer/policy, named `PLUGIN REPOSITORY`, with
//!   properties `repository`, `plugin`, `version`, `kind`;
//! - in it one `testcase` per rule and branch, named `RULE on BRANCH` (class name
//!   `PLUGIN.RULE`): the rules the plugin described and the rules its findings name, times
//!   every branch of the repository (and every other branch a finding names). Findings about
//!   no branch make a case `RULE on the repository`;
//! - a case `failure`s when it has findings at or above `--fail-on` (message: the first, type:
//!   its severity, text: all of them, one a line); findings below it are listed in the
//!   passing case's `system-out`;
//! - a plugin that failed to run is one case `PLUGIN ran`: an `error` when it fails the gate
//!   (a policy, `--fail-on` not `never`; see [`crate::gate::verdict`]), else `skipped`, with
//!   the reason.
//!
//! XML escaping is `quick-junit`'s (with `quick-xml`): markup characters are escaped and
//! characters XML 1.0 cannot carry (C0 controls but tab, newline and carriage return, and ANSI
//! escape sequences) are removed.

use std::io::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use trellis_runtime::plugin::{Finding, PluginKind};

use super::{PluginResult, RepoReport, ScanReport};
use crate::gate::FailOn;

/// Writes `report` as JUnit XML, judging findings by `fail_on`.
pub fn write_junit(
    report: &ScanReport,
    fail_on: FailOn,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let xml = junit(report, fail_on)
        .to_string()
        .map_err(|e| std::io::Error::other(format!("cannot write JUnit XML: {e}")))?;
    out.write_all(xml.as_bytes())?;
    writeln!(out)?;
    out.flush()
}

/// The JUnit report of `report`.
pub fn junit(report: &ScanReport, fail_on: FailOn) -> Report {
    let mut junit = Report::new("trellis");
    for repo in &report.repositories {
        for plugin in repo.plugins.iter().filter(|p| p.kind != PluginKind::Tuner) {
            junit.add_test_suite(suite(repo, plugin, fail_on));
        }
    }
    junit
}

fn suite(repo: &RepoReport, plugin: &PluginResult<Vec<Finding>>, fail_on: FailOn) -> TestSuite {
    let path = &repo.facts.path;
    let mut suite = TestSuite::new(format!("{} {path}", plugin.id));
    suite.add_properties([
        Property::new("repository", path.as_str()),
        Property::new("plugin", plugin.id.as_str()),
        Property::new("version", plugin.version.to_string()),
        Property::new("kind", plugin.kind.to_string()),
    ]);
    suite.set_time(Duration::from_secs_f64(
        (plugin.metrics.duration_ms / 1000.0).max(0.0),
    ));
    let Some(findings) = &plugin.output else {
        let reason = plugin
            .failure
            .as_ref()
            .map_or_else(|| "no result".to_string(), |f| f.to_string());
        let fails_gate = plugin.kind == PluginKind::Policy && fail_on != FailOn::Never;
        let mut status = if fails_gate {
            TestCaseStatus::non_success(NonSuccessKind::Error)
        } else {
            TestCaseStatus::skipped()
        };
        status.set_message(format!("{} failed: {reason}", plugin.id));
        let mut case = TestCase::new(format!("{} ran", plugin.id), status);
        case.set_classname(plugin.id.as_str());
        suite.add_test_case(case);
        return suite;
    };

    let mut rules: Vec<&str> = plugin.rules.iter().map(|r| r.id.as_str()).collect();
    let mut branches: Vec<Option<&str>> = repo
        .branches
        .iter()
        .map(|b| Some(b.name.as_str()))
        .collect();
    for f in findings {
        if !rules.contains(&f.rule.as_str()) {
            rules.push(&f.rule);
        }
        let branch = f.branch.as_deref();
        if !branches.contains(&branch) {
            branches.push(branch);
        }
    }
    for rule in rules {
        for branch in &branches {
            let here: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.rule == rule && f.branch.as_deref() == *branch)
                .collect();
            // A case about no branch exists only where such findings do.
            if branch.is_none() && here.is_empty() {
                continue;
            }
            let name = match branch {
                Some(b) => format!("{rule} on {b}"),
                None => format!("{rule} on the repository"),
            };
            let failing: Vec<&&Finding> =
                here.iter().filter(|f| fail_on.fails(f.severity)).collect();
            let listed: String = here.iter().map(|f| line(f)).collect();
            let mut case = match failing.first() {
                Some(first) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(first.message.as_str())
                        .set_type(first.severity.as_str())
                        .set_description(listed);
                    TestCase::new(name, status)
                }
                None => {
                    let mut case = TestCase::new(name, TestCaseStatus::success());
                    if !here.is_empty() {
                        case.set_system_out(listed);
                    }
                    case
                }
            };
            case.set_classname(format!("{}.{rule}", plugin.id));
            suite.add_test_case(case);
        }
    }
    suite
}

/// One finding, one line: `severity: message (path:line, commit)`.
fn line(f: &Finding) -> String {
    let mut where_ = Vec::new();
    if let Some(path) = &f.path {
        where_.push(match f.line {
            Some(line) => format!("{path}:{line}"),
            None => path.clone(),
        });
    }
    if let Some(commit) = &f.commit {
        where_.push(format!("commit {commit}"));
    }
    if where_.is_empty() {
        format!("{}: {}\n", f.severity.as_str(), f.message)
    } else {
        format!(
            "{}: {} ({})\n",
            f.severity.as_str(),
            f.message,
            where_.join(", ")
        )
    }
}
