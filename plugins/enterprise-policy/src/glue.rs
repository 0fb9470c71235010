//! SDK glue, built for the plugin only (`wasm32`): host data in, findings out.
//!
//! glue: this is the spot where API 0.2 host queries fill the engine's input. Today it maps the
//! branch facts every policy gets (enough for the branch rules); commits since the merge base,
//! changed paths and added lines come from the 0.2 queries (`git.history`, `git.blobs`).

use trellis_sdk::policy::Policy;
use trellis_sdk::{BranchFacts, Finding, PluginError, ScanInput, Severity as SdkSeverity, host};

use crate::input::{Branch, BranchInput, Person, RepoInput};
use crate::{Config, Severity, Violation, evaluate};

fn person(s: &trellis_sdk::Signature) -> Person {
    Person {
        name: s.name.clone(),
        email: s.email.clone(),
        time: s.time,
        offset: s.offset,
    }
}

fn branch_input(b: &BranchFacts) -> BranchInput {
    BranchInput {
        branch: Branch {
            name: b.name.clone(),
            reference: b.reference.clone(),
            remote: b.remote,
            tip: b.tip.clone(),
            ahead: b.ahead,
            behind: b.behind,
            merged: b.is_merged(),
            merge_base: b.merge_bases.first().cloned(),
            tip_author: person(&b.author),
            tip_committer: person(&b.committer),
        },
        // glue: commits (full message, signature), changes and added lines from API 0.2.
        commits: Vec::new(),
        changes: Vec::new(),
        added: Vec::new(),
    }
}

fn finding(v: Violation) -> Finding {
    let severity = match v.severity {
        Severity::Info => SdkSeverity::Info,
        Severity::Warning => SdkSeverity::Warning,
        Severity::Error => SdkSeverity::Error,
    };
    let mut f = Finding::new(severity, v.rule_id, v.message).data("kind", v.kind);
    if let Some(b) = v.branch {
        f = f.branch(b);
    }
    if let Some(p) = v.path {
        f = f.path(p);
    }
    if let Some(c) = v.commit {
        f = f.data("commit", c);
    }
    if let Some(l) = v.line {
        f = f.data("line", l);
    }
    for (k, val) in v.data {
        f = f.data(k, val);
    }
    f
}

struct EnterprisePolicy;

impl Policy for EnterprisePolicy {
    fn evaluate(input: ScanInput) -> Result<Vec<Finding>, PluginError> {
        // The host hands the configuration over as JSON; the engine reads it as TOML values.
        let value: toml::Value = host::config()?;
        let config =
            Config::from_value(value).map_err(|e| PluginError::new("bad-config", e.to_string()))?;
        let repo = RepoInput {
            base: input.repo.base.clone(),
            scan_time: input.scan_time,
            branches: input.branches.iter().map(branch_input).collect(),
            allowed_signers: None,
        };
        Ok(evaluate(&config, &repo).into_iter().map(finding).collect())
    }
}

trellis_sdk::export_policy!(EnterprisePolicy);
