//! A branch's risk: score, explanation and a recommendation by documented rules.
//!
//! The recommendation is decided by the first rule that applies (`p` is the model's probability,
//! `t` its threshold; "git says" is the host's exact trial merge, when computed):
//!
//! 1. **Abandon** — no commit for `abandon_days` or more *and* at least `abandon_behind` commits
//!    behind: the branch is dead weight; rebasing it is likely more work than redoing it.
//! 2. **Rebase first** — git says it conflicts, or `p ≥ t` and it is at least `far_behind`
//!    commits behind (unless git says it merges cleanly): update it before anything else.
//! 3. **Split** — it changes at least `split_files` files or `split_lines` lines: too big to
//!    review and merge safely in one piece.
//! 4. **Coordinate** — it shares files with other active branches (its overlap partners): agree
//!    on an order with them.
//! 5. **Rebase first** — `p ≥ t` (unless git says it merges cleanly).
//! 6. **Merge now** — otherwise.

use serde::{Deserialize, Serialize};

use crate::features::{Facts, facts};
use crate::input::Candidate;
use crate::model::Model;
use crate::overlap::OverlapInfo;

/// Options for [`assess_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct RiskOptions {
    /// How many factors to explain the score with.
    pub top_factors: usize,
    /// Commits behind from which a risky branch should rebase before anything else.
    pub far_behind: u32,
    /// Files changed from which a branch should be split.
    pub split_files: usize,
    /// Lines changed (added + deleted) from which a branch should be split.
    pub split_lines: u64,
    /// Days without a commit from which (with `abandon_behind`) a branch should be abandoned.
    pub abandon_days: f64,
    /// Commits behind from which (with `abandon_days`) a branch should be abandoned.
    pub abandon_behind: u32,
    /// The most partners named in a `Coordinate` recommendation.
    pub max_partners: usize,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            top_factors: 3,
            far_behind: 50,
            split_files: 50,
            split_lines: 2000,
            abandon_days: 180.0,
            abandon_behind: 500,
            max_partners: 5,
        }
    }
}

/// What to do with a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Recommendation {
    /// Nothing stands in the way.
    MergeNow,
    /// Rebase on (or merge) the base first.
    RebaseFirst,
    /// Split it into smaller branches.
    Split,
    /// Agree on an order with these branches, which change the same files.
    Coordinate {
        /// The partner branches, most shared paths first.
        with: Vec<String>,
    },
    /// Abandon it (or redo it from the current base).
    Abandon,
}

impl Recommendation {
    /// A short imperative sentence.
    pub fn text(&self) -> String {
        match self {
            Recommendation::MergeNow => "merge now".into(),
            Recommendation::RebaseFirst => "rebase on the base first".into(),
            Recommendation::Split => "split into smaller branches".into(),
            Recommendation::Coordinate { with } => {
                format!("coordinate with {}", with.join(", "))
            }
            Recommendation::Abandon => "abandon it or redo it from the current base".into(),
        }
    }
}

/// One feature's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// The feature's name (see `FEATURE_NAMES`).
    pub name: String,
    /// Its contribution to the log-odds (positive raises the risk).
    pub contribution: f64,
    /// The fact behind it, for people ("47 commits behind the base").
    pub text: String,
}

/// A branch's assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The branch.
    pub branch: String,
    /// The probability as a score, 0–100.
    pub score: u8,
    /// The model's probability of a conflict.
    pub probability: f64,
    /// Whether the model predicts a conflict (probability ≥ its threshold).
    pub predicted_conflict: bool,
    /// The factors with the largest contributions, largest first.
    pub top_factors: Vec<Factor>,
    /// What to do.
    pub recommendation: Recommendation,
    /// Why that recommendation (the rule that applied).
    pub reason: String,
    /// When git's exact trial merge disagrees with the prediction, how.
    pub disagreement: Option<String>,
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The human text of feature `name` for these facts.
pub fn factor_text(name: &str, f: &Facts) -> String {
    let days = |d: f64| plural(d.floor() as u64, "day", "days");
    match name {
        "ahead" => format!("{} ahead", plural(u64::from(f.ahead), "commit", "commits")),
        "behind" => format!(
            "{} behind the base",
            plural(u64::from(f.behind), "commit", "commits")
        ),
        "days_since_merge_base" => format!("forked {} ago", days(f.days_since_merge_base)),
        "branch_files" => format!("changes {}", plural(f.branch_files as u64, "file", "files")),
        "branch_lines" => format!("changes {}", plural(f.branch_lines, "line", "lines")),
        "shared_files" => format!(
            "{} also changed on the base",
            plural(f.shared_files as u64, "file", "files")
        ),
        "shared_base_churn" => format!(
            "the base changed {} in those shared files",
            plural(f.shared_base_churn, "line", "lines")
        ),
        "base_files" => format!(
            "the base changed {} since the fork",
            plural(f.base_files as u64, "file", "files")
        ),
        "branch_authors" => plural(u64::from(f.branch_authors), "author", "authors"),
        "shared_branch_churn" => format!(
            "the branch changed {} in files the base also changed",
            plural(f.shared_branch_churn, "line", "lines")
        ),
        "days_since_branch_activity" => {
            format!("last commit {} ago", days(f.days_since_branch_activity))
        }
        "files_truncated" if f.files_truncated => {
            "file lists truncated (overlap counts are lower bounds)".into()
        }
        "files_truncated" => "complete file lists".into(),
        "unrelated_histories" if f.unrelated_histories => {
            "no merge base (unrelated histories)".into()
        }
        "unrelated_histories" => "has a merge base".into(),
        other => other.to_string(),
    }
}

fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

/// Assesses `candidate` with the default [`RiskOptions`].
pub fn assess(model: &Model, candidate: &Candidate, overlap: &OverlapInfo) -> Assessment {
    assess_with(model, candidate, overlap, &RiskOptions::default())
}

/// Assesses `candidate`: its probability of a conflict, the factors behind it, the
/// recommendation (by the rules in this module's documentation) and any disagreement with git.
pub fn assess_with(
    model: &Model,
    candidate: &Candidate,
    overlap: &OverlapInfo,
    opts: &RiskOptions,
) -> Assessment {
    let f = facts(&candidate.trial, candidate.now);
    let x = f.vector();
    let probability = model.predict(&x);
    let predicted = probability >= model.threshold;
    let top_factors = model
        .contributions(&x)
        .into_iter()
        .take(opts.top_factors)
        .map(|(name, contribution)| Factor {
            name: name.to_string(),
            contribution,
            text: factor_text(name, &f),
        })
        .collect();
    let (recommendation, reason) = recommend(
        candidate,
        overlap,
        opts,
        Some((probability, model.threshold)),
    );
    let disagreement = candidate.exact_conflict.and_then(|exact| {
        (exact != predicted).then(|| {
            if exact {
                format!(
                    "git's trial merge conflicts, but the model gave {} (below its threshold {})",
                    percent(probability),
                    percent(model.threshold)
                )
            } else {
                format!(
                    "git's trial merge is clean, but the model gave {} (at or above its threshold {})",
                    percent(probability),
                    percent(model.threshold)
                )
            }
        })
    });
    Assessment {
        branch: candidate.branch.clone(),
        score: (probability * 100.0).round().clamp(0.0, 100.0) as u8,
        probability,
        predicted_conflict: predicted,
        top_factors,
        recommendation,
        reason,
        disagreement,
    }
}

/// The recommendation for `candidate` and the reason, by the rules in this module's
/// documentation. `prediction` is the model's (probability, threshold); without one (when the
/// history could not support a model) the rules that need it are skipped, so the plugin still
/// advises from git's verdict, size, age and overlap.
pub fn recommend(
    candidate: &Candidate,
    overlap: &OverlapInfo,
    opts: &RiskOptions,
    prediction: Option<(f64, f64)>,
) -> (Recommendation, String) {
    let f = facts(&candidate.trial, candidate.now);
    // Without a model (history refused), only the model-free rules can apply.
    let (probability, predicted) = match prediction {
        Some((p, t)) => (p, p >= t),
        None => (0.0, false),
    };
    let git_clean = candidate.exact_conflict == Some(false);
    let far = f.behind >= opts.far_behind;
    if f.days_since_branch_activity >= opts.abandon_days && f.behind >= opts.abandon_behind {
        (
            Recommendation::Abandon,
            format!(
                "no commit for {} days and {} commits behind",
                f.days_since_branch_activity.floor(),
                thousands(u64::from(f.behind))
            ),
        )
    } else if candidate.exact_conflict == Some(true) {
        (
            Recommendation::RebaseFirst,
            "git's trial merge conflicts".to_string(),
        )
    } else if predicted && far && !git_clean {
        (
            Recommendation::RebaseFirst,
            format!(
                "high risk ({}) and {} commits behind",
                percent(probability),
                thousands(u64::from(f.behind))
            ),
        )
    } else if f.branch_files >= opts.split_files || f.branch_lines >= opts.split_lines {
        (
            Recommendation::Split,
            format!(
                "changes {} files and {} lines",
                thousands(f.branch_files as u64),
                thousands(f.branch_lines)
            ),
        )
    } else if !overlap.partners.is_empty() {
        let with: Vec<String> = overlap
            .partners
            .iter()
            .take(opts.max_partners)
            .cloned()
            .collect();
        (
            Recommendation::Coordinate { with },
            format!(
                "shares {} with {} other {}",
                plural(overlap.shared_paths as u64, "file", "files"),
                overlap.partners.len(),
                if overlap.partners.len() == 1 {
                    "branch"
                } else {
                    "branches"
                }
            ),
        )
    } else if predicted && !git_clean {
        (
            Recommendation::RebaseFirst,
            format!("high risk ({})", percent(probability)),
        )
    } else if prediction.is_some() {
        (
            Recommendation::MergeNow,
            format!("low risk ({})", percent(probability)),
        )
    } else {
        (
            Recommendation::MergeNow,
            "no rule applies (no model: the history could not support one)".to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FEATURE_NAMES;
    use crate::input::FileStat;
    use crate::model::{MODEL_VERSION, TrainingSummary};

    /// A hand-set model: log-odds = −2 + 1·z(behind) + 2·z(shared_files), with means 0 and
    /// stds 1, so z is the raw (log) feature value.
    fn model() -> Model {
        let d = FEATURE_NAMES.len();
        let mut coefficients = vec![0.0; d];
        coefficients[1] = 1.0;
        coefficients[5] = 2.0;
        Model {
            version: MODEL_VERSION,
            feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            means: vec![0.0; d],
            stds: vec![1.0; d],
            coefficients,
            intercept: -2.0,
            threshold: 0.5,
            summary: TrainingSummary {
                rows: 0,
                positives: 0,
                iterations: 0,
                l2: 1.0,
                class_weights: (1.0, 1.0),
                zero_variance: vec![],
            },
        }
    }

    fn candidate(behind: u32, shared: usize) -> Candidate {
        let now = 1_700_000_000;
        let mut c = Candidate {
            branch: "feature/x".into(),
            tip: "t".into(),
            now,
            ..Candidate::default()
        };
        c.trial.merge_base_time = Some(now - 86_400);
        c.trial.ours.commits = behind;
        c.trial.theirs.commits = 2;
        c.trial.theirs.last_time = now;
        for i in 0..shared {
            let f = FileStat {
                path: format!("s{i}"),
                added: 1,
                deleted: 0,
            };
            c.trial.ours.files.push(f.clone());
            c.trial.theirs.files.push(f);
        }
        c
    }

    #[test]
    fn low_risk_merges_now_and_factors_explain_it() {
        let a = assess(&model(), &candidate(0, 0), &OverlapInfo::default());
        // log-odds −2 → p = 1/(1 + e²) ≈ 0.1192 → score 12.
        assert_eq!(a.score, 12);
        assert!(!a.predicted_conflict);
        assert_eq!(a.recommendation, Recommendation::MergeNow);
        assert_eq!(a.disagreement, None);
        assert_eq!(a.top_factors.len(), 3);
    }

    #[test]
    fn far_behind_and_risky_rebases_first_with_factor_texts() {
        // behind 49 → ln 50 ≈ 3.91; shared 3 → 2·ln 4 ≈ 2.77; log-odds ≈ 4.68 (score 99).
        let a = assess(&model(), &candidate(49, 3), &OverlapInfo::default());
        assert!(a.predicted_conflict);
        assert_eq!(a.recommendation, Recommendation::RebaseFirst);
        assert_eq!(a.top_factors[0].name, "behind");
        assert_eq!(a.top_factors[0].text, "49 commits behind the base");
        assert_eq!(a.top_factors[1].text, "3 files also changed on the base");
        assert!((a.top_factors[0].contribution - 50f64.ln()).abs() < 1e-12);
        assert!(a.score >= 99);
    }

    #[test]
    fn a_feature_far_outside_the_training_data_counts_as_max_z_deviations() {
        // behind 10⁶ → ln(10⁶ + 1) ≈ 13.8 standard deviations (the test model's are 1): the
        // model has seen nothing like it, so it counts as MAX_Z.
        let a = assess(&model(), &candidate(1_000_000, 0), &OverlapInfo::default());
        let behind = a.top_factors.iter().find(|f| f.name == "behind").unwrap();
        assert_eq!(behind.contribution, crate::model::MAX_Z);
        assert_eq!(behind.text, "1,000,000 commits behind the base");
    }

    #[test]
    fn rules_in_order() {
        let m = model();
        let partners = OverlapInfo {
            partners: vec!["feature/y".into()],
            shared_paths: 2,
            cluster_size: 2,
        };
        // Risky but near the base, with partners: coordinate comes before rule 5.
        let near = candidate(3, 3);
        let a = assess(&m, &near, &partners);
        assert_eq!(
            a.recommendation,
            Recommendation::Coordinate {
                with: vec!["feature/y".into()]
            }
        );
        // Without partners: rebase first (rule 5).
        assert_eq!(
            assess(&m, &near, &OverlapInfo::default()).recommendation,
            Recommendation::RebaseFirst
        );
        // git says clean: the model's worry yields to it, and the disagreement is reported.
        let mut clean = near.clone();
        clean.exact_conflict = Some(false);
        let a = assess(&m, &clean, &OverlapInfo::default());
        assert_eq!(a.recommendation, Recommendation::MergeNow);
        assert!(
            a.disagreement
                .unwrap()
                .starts_with("git's trial merge is clean")
        );
        // git says conflict on a low-risk branch: rebase first, disagreement reported.
        let mut conflict = candidate(0, 0);
        conflict.exact_conflict = Some(true);
        let a = assess(&m, &conflict, &partners);
        assert_eq!(a.recommendation, Recommendation::RebaseFirst);
        assert!(a.disagreement.unwrap().contains("below its threshold 50%"));
        // Huge: split.
        let mut huge = candidate(0, 0);
        huge.trial.theirs.files = (0..60)
            .map(|i| FileStat {
                path: format!("h{i}"),
                added: 1,
                deleted: 1,
            })
            .collect();
        assert_eq!(
            assess(&m, &huge, &partners).recommendation,
            Recommendation::Split
        );
        // Dead: abandon, before everything else.
        let mut dead = candidate(600, 0);
        dead.trial.theirs.last_time = dead.now - 200 * 86_400;
        dead.exact_conflict = Some(true);
        assert_eq!(
            assess(&m, &dead, &partners).recommendation,
            Recommendation::Abandon
        );
    }

    #[test]
    fn without_a_model_only_model_free_rules_apply() {
        let none = OverlapInfo::default();
        let opts = RiskOptions::default();
        // Far behind with shared files: with the model it would rebase first; without, merge.
        let (r, reason) = recommend(&candidate(99, 3), &none, &opts, None);
        assert_eq!(r, Recommendation::MergeNow);
        assert!(reason.starts_with("no rule applies"));
        let (r, _) = recommend(&candidate(99, 3), &none, &opts, Some((0.9, 0.5)));
        assert_eq!(r, Recommendation::RebaseFirst);
        let mut conflict = candidate(0, 0);
        conflict.exact_conflict = Some(true);
        assert_eq!(
            recommend(&conflict, &none, &opts, None).0,
            Recommendation::RebaseFirst
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
