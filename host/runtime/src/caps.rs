//! Caps on the strings a plugin controls, applied where the host takes a plugin's result (any
//! API version): whatever a plugin returns reaches the report and a terminal at most this long.
//! Longer text is cut on a character boundary and ends in `… [truncated, N bytes]`.

use trellis_os::display::truncate;

use crate::plan::Plan;
use crate::plugin::{Finding, Outcome, RuleInfo};

/// Longest text: a finding's message, path and data values, a plugin error's message, a plan's
/// reason.
pub const MAX_TEXT: usize = 4096;
/// Longest name: a finding's rule and data keys, a plugin error's code.
pub const MAX_NAME: usize = 256;
/// Longest branch name in a finding.
pub const MAX_BRANCH: usize = 1024;
/// Adjustments listed per plan (a plan's unknown settings are plugin-controlled).
pub const MAX_ADJUSTMENTS: usize = 32;
/// Distinct denied capabilities recorded per invocation; further ones are only counted.
pub const MAX_DENIED: usize = 32;
/// Longest denied-capability entry (an HTTP origin, say).
pub const MAX_DENIED_ENTRY: usize = 256;

/// Caps every field of a finding.
pub fn finding(mut f: Finding) -> Finding {
    truncate(&mut f.rule, MAX_NAME);
    truncate(&mut f.message, MAX_TEXT);
    if let Some(branch) = &mut f.branch {
        truncate(branch, MAX_BRANCH);
    }
    if let Some(path) = &mut f.path {
        truncate(path, MAX_TEXT);
    }
    if let Some(commit) = &mut f.commit {
        truncate(commit, MAX_NAME);
    }
    if f.data
        .iter()
        .any(|(k, v)| k.len() > MAX_NAME || v.len() > MAX_TEXT)
    {
        f.data = std::mem::take(&mut f.data)
            .into_iter()
            .map(|(mut k, mut v)| {
                truncate(&mut k, MAX_NAME);
                truncate(&mut v, MAX_TEXT);
                (k, v)
            })
            .collect();
    }
    f
}

/// Caps every field of a rule description.
pub fn rule(mut r: RuleInfo) -> RuleInfo {
    truncate(&mut r.id, MAX_NAME);
    truncate(&mut r.name, MAX_NAME);
    truncate(&mut r.summary, MAX_TEXT);
    if let Some(help) = &mut r.help {
        truncate(help, MAX_TEXT);
    }
    if let Some(uri) = &mut r.help_uri {
        truncate(uri, MAX_TEXT);
    }
    r
}

/// Caps every finding and rule of an outcome.
pub fn outcome(o: Outcome) -> Outcome {
    Outcome {
        findings: o.findings.into_iter().map(finding).collect(),
        rules: o.rules.into_iter().map(rule).collect(),
    }
}

/// Caps a plan's reason.
pub fn plan(mut p: Plan) -> Plan {
    truncate(&mut p.reason, MAX_TEXT);
    if p.adjustments.len() > MAX_ADJUSTMENTS {
        let more = p.adjustments.len() - MAX_ADJUSTMENTS;
        p.adjustments.truncate(MAX_ADJUSTMENTS);
        p.adjustments.push(format!("… and {more} more"));
    }
    for adjustment in &mut p.adjustments {
        truncate(adjustment, MAX_TEXT);
    }
    p
}

/// Caps a plugin error's code and message.
pub fn plugin_error(mut code: String, mut message: String) -> (String, String) {
    truncate(&mut code, MAX_NAME);
    truncate(&mut message, MAX_TEXT);
    (code, message)
}

/// Records `entry` as denied in `denied` (distinct, at most [`MAX_DENIED`] entries of at most
/// [`MAX_DENIED_ENTRY`] bytes); returns false when it had to be dropped.
pub fn record_denied(denied: &mut std::collections::BTreeSet<String>, mut entry: String) -> bool {
    truncate(&mut entry, MAX_DENIED_ENTRY);
    if denied.contains(&entry) {
        return true;
    }
    if denied.len() >= MAX_DENIED {
        return false;
    }
    denied.insert(entry);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Severity;

    #[test]
    fn every_plugin_string_is_capped() {
        let huge = "\u{1b}é".repeat(1 << 20);
        let f = finding(Finding {
            rule: huge.clone(),
            severity: Severity::Info,
            message: huge.clone(),
            branch: Some(huge.clone()),
            commit: Some(huge.clone()),
            path: Some(huge.clone()),
            line: Some(u32::MAX),
            data: [(huge.clone(), huge.clone()), ("k".into(), "v".into())].into(),
        });
        let marker = format!("… [truncated, {} bytes]", huge.len());
        assert!(f.rule.len() <= MAX_NAME + marker.len() && f.rule.ends_with(&marker));
        assert!(f.message.len() <= MAX_TEXT + marker.len());
        assert!(f.branch.unwrap().len() <= MAX_BRANCH + marker.len());
        assert!(f.path.unwrap().len() <= MAX_TEXT + marker.len());
        assert!(f.commit.unwrap().len() <= MAX_NAME + marker.len());
        assert!(
            f.data
                .iter()
                .all(|(k, v)| k.len() <= MAX_NAME + marker.len()
                    && v.len() <= MAX_TEXT + marker.len())
        );
        assert_eq!(f.data["k"], "v");
        let p = plan(Plan {
            workers: 1,
            diffstat: true,
            squash_detection: true,
            conflicts: false,
            reason: huge.clone(),
            ..Plan::default()
        });
        assert!(p.reason.len() <= MAX_TEXT + marker.len());
        let (code, message) = plugin_error(huge.clone(), huge.clone());
        assert!(code.len() <= MAX_NAME + marker.len());
        assert!(message.len() <= MAX_TEXT + marker.len());
        let (code, message) = plugin_error("c".into(), "m".into());
        assert_eq!((code.as_str(), message.as_str()), ("c", "m"));
    }

    #[test]
    fn denied_entries_are_distinct_and_bounded() {
        let mut denied = Default::default();
        for i in 0..3000 {
            let recorded = record_denied(&mut denied, format!("http=https://h{i}.example"));
            assert_eq!(recorded, i < MAX_DENIED);
            assert!(record_denied(&mut denied, "http=https://h0.example".into()));
        }
        assert_eq!(denied.len(), MAX_DENIED);
        let mut denied = Default::default();
        record_denied(&mut denied, "x".repeat(1 << 20));
        assert!(denied.iter().all(|d| d.len() < MAX_DENIED_ENTRY + 64));
    }
}
