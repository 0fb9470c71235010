//! The feature vector of a merge: cheap git facts, log-transformed where heavy-tailed.
//!
//! The first nine are the research baseline's (Owhadi-Kareshk, Nadi & Rubin, ESEM 2019) as far
//! as the host's facts reach; the rest are justified one by one in [`FEATURE_NAMES`] and the
//! README. Counts of commits, files and lines follow heavy-tailed distributions (a few branches
//! are enormous), so they enter as `ln(1 + x)`: a logistic model on raw counts would be driven by
//! the outliers.

use std::collections::HashMap;

use crate::input::{Side, Trial};

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// The names of the features, in the order [`features`] returns them.
///
/// | name | value | why |
/// |---|---|---|
/// | `ahead` | ln(1 + branch commits) | more work on the branch, more to conflict |
/// | `behind` | ln(1 + base commits) | more work on the base since the fork |
/// | `days_since_merge_base` | ln(1 + days from the merge base to `at`) | long-lived forks drift |
/// | `branch_files` | ln(1 + files the branch changed) | breadth of the change |
/// | `branch_lines` | ln(1 + lines the branch added + deleted) | size of the change |
/// | `shared_files` | ln(1 + files changed on both sides) | the direct precondition of a textual conflict |
/// | `shared_base_churn` | ln(1 + base lines added + deleted in the shared files) | how much the base moved under the branch |
/// | `base_files` | ln(1 + files the base changed) | breadth of the base's change |
/// | `branch_authors` | ln(1 + distinct branch authors) | coordination cost |
/// | `shared_branch_churn` | ln(1 + branch lines added + deleted in the shared files) | the other half of a conflict: both sides editing the same file heavily |
/// | `days_since_branch_activity` | ln(1 + days from the branch tip to `at`) | an abandoned tip falls behind on everything |
/// | `files_truncated` | 1 if either side's file list was truncated, else 0 | lets the model discount lower-bound overlap counts |
/// | `unrelated_histories` | 1 if there is no merge base, else 0 | such merges add/add-conflict on every common path |
pub const FEATURE_NAMES: &[&str] = &[
    "ahead",
    "behind",
    "days_since_merge_base",
    "branch_files",
    "branch_lines",
    "shared_files",
    "shared_base_churn",
    "base_files",
    "branch_authors",
    "shared_branch_churn",
    "days_since_branch_activity",
    "files_truncated",
    "unrelated_histories",
];

/// Raw (untransformed) facts of a trial, for explanations and rules.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Facts {
    /// Commits on the branch since the merge base.
    pub ahead: u32,
    /// Commits on the base since the merge base.
    pub behind: u32,
    /// Days from the merge base (or, for unrelated histories, the older side's first commit) to `at`.
    pub days_since_merge_base: f64,
    /// Files the branch changed.
    pub branch_files: usize,
    /// Lines the branch added + deleted.
    pub branch_lines: u64,
    /// Files changed on both sides.
    pub shared_files: usize,
    /// Base lines added + deleted in the shared files.
    pub shared_base_churn: u64,
    /// Files the base changed.
    pub base_files: usize,
    /// Distinct branch authors.
    pub branch_authors: u32,
    /// Branch lines added + deleted in the shared files.
    pub shared_branch_churn: u64,
    /// Days from the branch tip to `at`.
    pub days_since_branch_activity: f64,
    /// Whether either side's file list was truncated.
    pub files_truncated: bool,
    /// Whether the histories are unrelated.
    pub unrelated_histories: bool,
}

/// Lines added + deleted per path on one side (a path listed twice counts once, summed).
fn churn_by_path(side: &Side) -> HashMap<&str, u64> {
    let mut map: HashMap<&str, u64> = HashMap::with_capacity(side.files.len());
    for f in &side.files {
        *map.entry(f.path.as_str()).or_default() += u64::from(f.added) + u64::from(f.deleted);
    }
    map
}

/// Non-negative days between two Unix times (clock skew between commits gives 0, not negative).
fn days_between(from: i64, to: i64) -> f64 {
    (to.saturating_sub(from)).max(0) as f64 / DAY
}

/// The raw facts of `trial` measured at time `at` (Unix seconds).
pub fn facts(trial: &Trial, at: i64) -> Facts {
    let ours = churn_by_path(&trial.ours);
    let theirs = churn_by_path(&trial.theirs);
    let (mut shared_files, mut shared_base_churn, mut shared_branch_churn) = (0, 0, 0);
    for (path, branch_churn) in &theirs {
        if let Some(base_churn) = ours.get(path) {
            shared_files += 1;
            shared_base_churn += base_churn;
            shared_branch_churn += branch_churn;
        }
    }
    // Without a merge base, the fork point is the older side's first commit.
    let fork = trial
        .merge_base_time
        .unwrap_or_else(|| trial.ours.first_time.min(trial.theirs.first_time));
    Facts {
        ahead: trial.theirs.commits,
        behind: trial.ours.commits,
        days_since_merge_base: days_between(fork, at),
        branch_files: theirs.len(),
        branch_lines: theirs.values().sum(),
        shared_files,
        shared_base_churn,
        base_files: trial
            .ours
            .files_total
            .map_or(ours.len(), |total| total as usize),
        branch_authors: trial.theirs.authors,
        shared_branch_churn,
        days_since_branch_activity: days_between(trial.theirs.last_time, at),
        files_truncated: trial.ours.files_truncated || trial.theirs.files_truncated,
        unrelated_histories: trial.merge_base_time.is_none(),
    }
}

/// The paths changed on both sides of `trial`, sorted.
pub fn shared_paths(trial: &Trial) -> Vec<String> {
    let ours: std::collections::HashSet<&str> =
        trial.ours.files.iter().map(|f| f.path.as_str()).collect();
    let mut shared: Vec<String> = trial
        .theirs
        .files
        .iter()
        .filter(|f| ours.contains(f.path.as_str()))
        .map(|f| f.path.clone())
        .collect();
    shared.sort();
    shared.dedup();
    shared
}

impl Facts {
    /// The feature vector, in [`FEATURE_NAMES`] order.
    pub fn vector(&self) -> Vec<f64> {
        let ln = |x: f64| x.max(0.0).ln_1p();
        vec![
            ln(f64::from(self.ahead)),
            ln(f64::from(self.behind)),
            ln(self.days_since_merge_base),
            ln(self.branch_files as f64),
            ln(self.branch_lines as f64),
            ln(self.shared_files as f64),
            ln(self.shared_base_churn as f64),
            ln(self.base_files as f64),
            ln(f64::from(self.branch_authors)),
            ln(self.shared_branch_churn as f64),
            ln(self.days_since_branch_activity),
            f64::from(u8::from(self.files_truncated)),
            f64::from(u8::from(self.unrelated_histories)),
        ]
    }
}

/// The feature vector of `trial` measured at time `at` (Unix seconds), in [`FEATURE_NAMES`]
/// order: a past merge is measured at its merge time, a candidate at the scan time.
pub fn features(trial: &Trial, at: i64) -> Vec<f64> {
    facts(trial, at).vector()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::FileStat;

    fn file(path: &str, added: u32, deleted: u32) -> FileStat {
        FileStat {
            path: path.into(),
            added,
            deleted,
        }
    }

    #[test]
    fn features_of_a_hand_made_trial() {
        let trial = Trial {
            merge_base_time: Some(0),
            ours: Side {
                commits: 9,
                authors: 2,
                files: vec![file("a", 10, 5), file("b", 1, 0), file("c", 3, 3)],
                files_truncated: false,
                files_total: None,
                first_time: 100,
                last_time: 1000,
            },
            theirs: Side {
                commits: 3,
                authors: 1,
                files: vec![file("a", 2, 2), file("c", 0, 1), file("d", 7, 0)],
                files_truncated: true,
                files_total: None,
                first_time: 50,
                last_time: 86_400,
            },
            conflicted: Some(true),
            conflict_paths: vec!["a".into()],
        };
        let f = facts(&trial, 3 * 86_400);
        // A base side listed only where the branch changed files too counts all its files.
        let mut shared_only = trial.clone();
        shared_only.ours.files.retain(|f| f.path != "b");
        shared_only.ours.files_total = Some(3);
        assert_eq!(facts(&shared_only, 3 * 86_400), f);
        assert_eq!(f.ahead, 3);
        assert_eq!(f.behind, 9);
        assert_eq!(f.days_since_merge_base, 3.0);
        assert_eq!(f.branch_files, 3);
        assert_eq!(f.branch_lines, 12);
        assert_eq!(f.shared_files, 2); // a, c
        assert_eq!(f.shared_base_churn, 15 + 6);
        assert_eq!(f.shared_branch_churn, 4 + 1);
        assert_eq!(f.base_files, 3);
        assert_eq!(f.days_since_branch_activity, 2.0);
        assert!(f.files_truncated);
        assert!(!f.unrelated_histories);
        let v = features(&trial, 3 * 86_400);
        assert_eq!(v.len(), FEATURE_NAMES.len());
        assert!((v[0] - 4f64.ln()).abs() < 1e-12);
        assert!((v[1] - 10f64.ln()).abs() < 1e-12);
        assert!((v[5] - 3f64.ln()).abs() < 1e-12);
        assert_eq!(v[11], 1.0);
        assert_eq!(v[12], 0.0);
        assert_eq!(shared_paths(&trial), vec!["a".to_string(), "c".to_string()]);
    }

    #[test]
    fn unrelated_histories_and_clock_skew() {
        let mut trial = Trial::default();
        trial.ours.first_time = 10 * 86_400;
        trial.theirs.first_time = 4 * 86_400;
        trial.theirs.last_time = 20 * 86_400; // after `at`: skew gives 0, not a negative
        let f = facts(&trial, 5 * 86_400);
        assert!(f.unrelated_histories);
        assert_eq!(f.days_since_merge_base, 1.0);
        assert_eq!(f.days_since_branch_activity, 0.0);
        assert!(features(&trial, 5 * 86_400).iter().all(|x| x.is_finite()));
    }
}
