//! How a scan is processed: the plan a tuner proposes, and the records of past runs it learns from.

use serde::{Deserialize, Serialize};

use trellis_git::RepoFacts;

/// The machine a scan runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Cores available.
    pub cores: u32,
    /// Physical memory in bytes (0 when unknown).
    pub memory_bytes: u64,
}

/// The value of an extra fact (WIT `fact-value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactValue {
    /// Yes or no.
    Flag(bool),
    /// A count or a size.
    Count(u64),
    /// A signed number.
    Integer(i64),
    /// A measurement.
    Number(f64),
    /// A word or a sentence.
    Text(String),
    /// Several words.
    Texts(Vec<String>),
}

/// A named fact outside the typed records (WIT `fact`); names are lowercase kebab-case, with
/// `.` separating groups (`stage.walk.cpu-ms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: FactValue,
}

impl Fact {
    /// A fact named `name` with `value`.
    pub fn new(name: impl Into<String>, value: FactValue) -> Self {
        Fact {
            name: name.into(),
            value,
        }
    }
}

/// What a tuner sees before a scan.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The machine.
    pub machine: Machine,
    /// The repositories, opened but not aligned yet.
    pub repos: &'a [&'a RepoFacts],
    /// Per repository (same order), the facts the host adds for tuners (`extra` of
    /// `repo-facts`): `pack-bytes`, `objects`, `commit-graph`, `graph-commits`, `repo-set`.
    pub extra: &'a [Vec<Fact>],
}

/// One previous run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Seconds since the Unix epoch when it started.
    pub started: i64,
    /// Repositories scanned.
    pub repos: u32,
    /// Branches aligned.
    pub branches: u32,
    /// Worker threads used.
    pub workers: u32,
    /// Branches a worker took at a time (0: the host decided).
    #[serde(default)]
    pub batch_size: u32,
    /// Wall time of the scan.
    pub wall_ms: u64,
    /// Peak resident set size of the process.
    pub peak_rss_bytes: u64,
    /// Measurements beyond the typed ones: the profile (`stage.NAME.wall-ms`, …), the machine,
    /// the repository set and the plan used (`plan.*`); documented in the README.
    #[serde(default)]
    pub extra: Vec<Fact>,
}

/// Which branches conflict prediction merges (plan extra `conflicts-scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictsScope {
    /// Every branch.
    All,
    /// Only branches whose changes can meet the base's; the others are clean without a merge
    /// (exact: a branch whose changes do not meet the base's cannot conflict).
    Overlap,
    /// None: conflict prediction off.
    None,
}

impl ConflictsScope {
    /// The name in a plan.
    pub fn name(self) -> &'static str {
        match self {
            ConflictsScope::All => "all",
            ConflictsScope::Overlap => "overlap",
            ConflictsScope::None => "none",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::All, Self::Overlap, Self::None]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// How to process a scan; zero means "host decides".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Worker threads (0: host decides).
    pub workers: u32,
    /// Branches a worker takes at a time (0: host decides).
    pub batch_size: u32,
    /// Whether to compute diffstats.
    pub diffstat: bool,
    /// Whether to detect squash merges.
    pub squash_detection: bool,
    /// Whether to predict conflicts.
    pub conflicts: bool,
    /// The tuner's explanation.
    pub reason: String,
    /// What the host changed in the plan to keep it within bounds, and why.
    pub adjustments: Vec<String>,
    /// Workers over repositories (extra `repo-workers`; 0: `workers`, else host decides).
    pub repo_workers: u32,
    /// Workers over the branches of one repository (extra `branch-workers`; 0: `workers`).
    pub branch_workers: u32,
    /// Memory budget of the git engine in MiB (extra `memory-mb`; 0: host decides).
    pub memory_mb: u64,
    /// Which branches conflict prediction merges (extra `conflicts-scope`).
    pub conflicts_scope: Option<ConflictsScope>,
    /// Whether the facts and commit caches are used (extra `cache`; `None`: as configured).
    pub cache: Option<bool>,
}

/// The plan extras this host understands.
pub const PLAN_EXTRAS: [&str; 5] = [
    "repo-workers",
    "branch-workers",
    "memory-mb",
    "conflicts-scope",
    "cache",
];

impl Plan {
    /// Takes the settings of a plan's `extra` facts this host knows; each fact it cannot use
    /// (unknown, of the wrong type, a bad value, repeated) is listed in `adjustments`.
    pub fn apply_extras(&mut self, extra: impl IntoIterator<Item = Fact>) {
        // A set: a hostile plan may repeat a name many times.
        let mut seen = std::collections::BTreeSet::new();
        for fact in extra {
            let name = fact.name.as_str();
            if seen.contains(name) {
                self.adjustments.push(format!(
                    "ignored `{name}` given again: the first one counts"
                ));
                continue;
            }
            let applied = match (name, fact.value) {
                ("repo-workers", FactValue::Count(n)) => {
                    self.repo_workers = n.min(u64::from(u32::MAX)) as u32;
                    Ok(())
                }
                ("branch-workers", FactValue::Count(n)) => {
                    self.branch_workers = n.min(u64::from(u32::MAX)) as u32;
                    Ok(())
                }
                ("memory-mb", FactValue::Count(n)) => {
                    self.memory_mb = n;
                    Ok(())
                }
                ("cache", FactValue::Flag(on)) => {
                    self.cache = Some(on);
                    Ok(())
                }
                ("conflicts-scope", FactValue::Text(scope)) => {
                    match ConflictsScope::parse(&scope) {
                        Some(scope) => {
                            self.conflicts_scope = Some(scope);
                            Ok(())
                        }
                        None => Err("expected `all`, `overlap` or `none`".to_string()),
                    }
                }
                ("conflicts-scope", _) => Err("expected text".into()),
                ("cache", _) => Err("expected a flag".into()),
                (known, _) if PLAN_EXTRAS.contains(&known) => Err("expected a count".into()),
                _ => {
                    self.adjustments.push(format!(
                        "ignored `{name}`: this host does not know that setting"
                    ));
                    continue;
                }
            };
            if let Err(why) = applied {
                self.adjustments.push(format!("ignored `{name}`: {why}"));
            }
            seen.insert(fact.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_extras_are_taken_and_the_rest_reported() {
        let mut plan = Plan::default();
        plan.apply_extras([
            Fact::new("repo-workers", FactValue::Count(3)),
            Fact::new("branch-workers", FactValue::Count(2)),
            Fact::new("memory-mb", FactValue::Count(512)),
            Fact::new("conflicts-scope", FactValue::Text("overlap".into())),
            Fact::new("cache", FactValue::Flag(false)),
            Fact::new("cache", FactValue::Flag(true)),
            Fact::new("repo-workers", FactValue::Text("many".into())),
            Fact::new("branch-workers", FactValue::Text("x".into())),
            Fact::new("conflicts-scope", FactValue::Text("some".into())),
            Fact::new("warp-speed", FactValue::Flag(true)),
        ]);
        assert_eq!(plan.repo_workers, 3);
        assert_eq!(plan.branch_workers, 2);
        assert_eq!(plan.memory_mb, 512);
        assert_eq!(plan.conflicts_scope, Some(ConflictsScope::Overlap));
        assert_eq!(plan.cache, Some(false));
        assert_eq!(
            plan.adjustments,
            [
                "ignored `cache` given again: the first one counts",
                "ignored `repo-workers` given again: the first one counts",
                "ignored `branch-workers` given again: the first one counts",
                "ignored `conflicts-scope` given again: the first one counts",
                "ignored `warp-speed`: this host does not know that setting",
            ]
        );
        let mut plan = Plan::default();
        plan.apply_extras([
            Fact::new("memory-mb", FactValue::Flag(true)),
            Fact::new("conflicts-scope", FactValue::Text("some".into())),
        ]);
        assert_eq!(
            plan.adjustments,
            [
                "ignored `memory-mb`: expected a count",
                "ignored `conflicts-scope`: expected `all`, `overlap` or `none`",
            ]
        );
        assert_eq!(plan.memory_mb, 0);
    }
}
