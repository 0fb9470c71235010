//! The SARIF 2.1.0 rendering of a report, for GitHub code scanning and other SARIF consumers.
//!
//! Mapping:
//! - one `run` per repository and analyzer/policy, in report order: the run's
//!   `tool.driver` is the plugin (`name` its id, `version`/`semanticVersion` its version), so
//!   GitHub lists each plugin as a tool. With several repositories a plugin has one run per
//!   repository; each run's `automationDetails.id` (`trellis/PLUGIN/REPOSITORY/`, which
//!   GitHub uses as the analysis category) keeps them apart, because GitHub refuses an upload
//!   with two runs of the same tool and category. The repository is the run's
//!   `%SRCROOT%` (`originalUriBaseIds`, described by its path as given, never an absolute
//!   path of the scanning machine) and `properties.repository`.
//! - `rules`: the rules the plugin described, then the ids of rules that fired without a
//!   description (an id-only descriptor), so every result has a `ruleIndex`;
//!   `defaultConfiguration.level` is the severity the plugin describes for the rule, else the
//!   most serious level the rule reported in this run.
//! - each finding is a `result`: `ruleId`, `ruleIndex`, `level` (`error`, `warning`, `note`
//!   for info), `message.text`, one location, `partialFingerprints` (the report's finding
//!   fingerprint, under `trellisFinding/v1`) and `properties` (`branch`, `commit`, `data`).
//! - a plugin that failed has a run with no results and an unsuccessful `invocation` whose
//!   notification says why.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value, json};
use trellis_runtime::plugin::{Finding, PluginKind, Severity};

use super::{PluginResult, RepoReport, ScanReport, Status};

/// The published OASIS schema of SARIF 2.1.0 (errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the finding fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "trellisFinding/v1";

/// Writes `report` as a SARIF 2.1.0 log, pretty-printed, followed by a newline.
pub fn write_sarif(report: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, &sarif(report))?;
    writeln!(buffered)?;
    buffered.flush()
}

/// The SARIF log of `report`.
pub fn sarif(report: &ScanReport) -> Value {
    let runs: Vec<Value> = report
        .repositories
        .iter()
        .flat_map(|repo| {
            repo.plugins
                .iter()
                .filter(|p| p.kind != PluginKind::Tuner)
                .map(move |p| run(repo, p))
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": runs,
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn run(repo: &RepoReport, plugin: &PluginResult<Vec<Finding>>) -> Value {
    let findings: &[Finding] = plugin.output.as_deref().unwrap_or_default();
    let (rules, index) = rules(plugin, findings);
    let results: Vec<Value> = findings
        .iter()
        .map(|f| result(repo, plugin, f, index.get(f.rule.as_str()).copied()))
        .collect();
    let mut invocation = json!({ "executionSuccessful": plugin.status == Status::Ok });
    if let Some(failure) = &plugin.failure {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": { "text": format!("{} failed: {failure}", plugin.id) },
        }]);
    }
    let path = &repo.facts.path;
    json!({
        "tool": {
            "driver": {
                "name": plugin.id,
                "fullName": format!("{} {} (Trellis {} plugin, API {})", plugin.id, plugin.version, plugin.kind, plugin.api),
                "version": plugin.version.to_string(),
                "semanticVersion": plugin.version.to_string(),
                "rules": rules,
            }
        },
        "automationDetails": { "id": format!("trellis/{}/{}/", plugin.id, path.trim_end_matches('/')) },
        "originalUriBaseIds": {
            "%SRCROOT%": { "description": { "text": format!("the work tree of the repository {path}") } }
        },
        "invocations": [invocation],
        "results": results,
        "properties": {
            "repository": path,
            "base": repo.facts.base,
            "baseTip": repo.facts.base_tip,
        },
    })
}

/// The run's rule descriptors and each rule id's index among them.
fn rules<'a>(
    plugin: &'a PluginResult<Vec<Finding>>,
    findings: &'a [Finding],
) -> (Vec<Value>, BTreeMap<&'a str, usize>) {
    let mut worst: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in findings {
        let w = worst.entry(f.rule.as_str()).or_insert(f.severity);
        *w = (*w).max(f.severity);
    }
    let mut descriptors = Vec::new();
    let mut index = BTreeMap::new();
    for rule in &plugin.rules {
        if index.contains_key(rule.id.as_str()) {
            continue;
        }
        index.insert(rule.id.as_str(), descriptors.len());
        let mut d = json!({
            "id": rule.id,
            "name": rule.name,
            "shortDescription": { "text": rule.summary },
            "fullDescription": { "text": rule.help.as_deref().unwrap_or(&rule.summary) },
        });
        if let Some(help) = &rule.help {
            d["help"] = json!({ "text": help });
        }
        if let Some(uri) = &rule.help_uri {
            d["helpUri"] = json!(uri);
        }
        d["defaultConfiguration"] = json!({ "level": level(rule.default_severity) });
        descriptors.push(d);
    }
    for f in findings {
        if !index.contains_key(f.rule.as_str()) {
            index.insert(f.rule.as_str(), descriptors.len());
            let mut d = json!({ "id": f.rule });
            if let Some(s) = worst.get(f.rule.as_str()) {
                d["defaultConfiguration"] = json!({ "level": level(*s) });
            }
            descriptors.push(d);
        }
    }
    (descriptors, index)
}

fn result(
    repo: &RepoReport,
    plugin: &PluginResult<Vec<Finding>>,
    f: &Finding,
    rule_index: Option<usize>,
) -> Value {
    let mut properties = Map::new();
    if let Some(branch) = &f.branch {
        properties.insert("branch".into(), json!(branch));
    }
    if let Some(commit) = &f.commit {
        properties.insert("commit".into(), json!(commit));
    }
    if !f.data.is_empty() {
        properties.insert("data".into(), json!(f.data));
    }
    let mut result = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [location(repo, f)],
        "partialFingerprints": {
            FINGERPRINT_KEY: crate::gate::fingerprint(&plugin.id, &repo.facts.path, f),
        },
    });
    if !properties.is_empty() {
        result["properties"] = Value::Object(properties);
    }
    if let Some(i) = rule_index {
        result["ruleIndex"] = json!(i);
    }
    result
}

/// Where a finding is. GitHub code scanning requires a physical location with a region on
/// every result:
/// - a finding with a path points at that path, relative to the repository (`%SRCROOT%`),
///   at its line; without a line at line 1 (the file as a whole: GitHub needs a
///   `region.startLine`, and `properties` has no `line` then);
/// - a finding about a branch without a path points at the branch's full reference name
///   (`refs/heads/feature`), and one about neither at the base's: the reference is what the
///   finding is about, it is stable across scans (so GitHub's alert tracking keeps the alert)
///   and it names the branch in GitHub's alert list. It is not a file of the tree, and has
///   no `uriBaseId` to say so.
fn location(repo: &RepoReport, f: &Finding) -> Value {
    let mut physical = match &f.path {
        Some(path) => json!({
            "artifactLocation": { "uri": uri_path(path), "uriBaseId": "%SRCROOT%" },
        }),
        None => {
            let reference = match &f.branch {
                Some(branch) => repo
                    .branches
                    .iter()
                    .find(|b| &b.name == branch)
                    .map_or_else(|| format!("refs/heads/{branch}"), |b| b.reference.clone()),
                None => repo.facts.base_ref.clone(),
            };
            json!({ "artifactLocation": { "uri": uri_path(&reference) } })
        }
    };
    physical["region"] = json!({ "startLine": f.line.unwrap_or(1).max(1) });
    json!({ "physicalLocation": physical })
}

/// `path` as a relative URI reference: `/` kept, every byte outside RFC 3986's unreserved
/// characters percent-encoded (spaces, `%`, `#`, `?`, `:`, non-ASCII), so that no path turns
/// into a scheme, a query or a fragment.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_uri_references() {
        assert_eq!(uri_path("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri_path("c:/x#y?z%"), "c%3A/x%23y%3Fz%25");
        assert_eq!(uri_path("é"), "%C3%A9");
    }
}
