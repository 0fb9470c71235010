//! Flags stale branches (no commit for `max_age_days`) and branches merged into the base.

use serde::Deserialize;
use trellis_sdk::analyzer::Analyzer;
use trellis_sdk::{Finding, PluginError, ScanInput, host};

/// The plugin's configuration; defaults come from `plugin.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Days without a commit after which a branch is stale.
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u32,
    /// Whether to report merged branches as safe to delete.
    #[serde(default = "default_true")]
    pub report_merged: bool,
}

fn default_max_age_days() -> u32 {
    90
}

fn default_true() -> bool {
    true
}

/// The findings for one repository.
pub fn findings(input: &ScanInput, config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let base = &input.repo.base;
    for branch in &input.branches {
        if config.report_merged && branch.is_merged() {
            let how = if branch.merged {
                "merged"
            } else {
                "squash-merged"
            };
            out.push(
                Finding::info(
                    "merged-branch",
                    format!("{} is {how} into {base}: safe to delete", branch.name),
                )
                .branch(&branch.name)
                .data("how", how),
            );
            // A merged branch is reported once, as deletable, not also as stale.
            continue;
        }
        let age = branch.age_days(input.scan_time);
        if age >= i64::from(config.max_age_days) {
            out.push(
                Finding::warning(
                    "stale-branch",
                    format!(
                        "{} has had no commit for {age} days (limit {}); {} ahead, {} behind {base}",
                        branch.name, config.max_age_days, branch.ahead, branch.behind
                    ),
                )
                .branch(&branch.name)
                .data("age-days", age)
                .data("ahead", branch.ahead)
                .data("behind", branch.behind),
            );
        }
    }
    out
}

struct StaleBranches;

impl Analyzer for StaleBranches {
    fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError> {
        let config: Config = host::config()?;
        let found = findings(&input, &config);
        host::debug(&format!(
            "{} findings for {} branches",
            found.len(),
            input.branches.len()
        ));
        Ok(found)
    }
}

trellis_sdk::export_analyzer!(StaleBranches);
