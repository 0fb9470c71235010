//! Honest evaluation: train on the oldest merges, test on the newest, and refuse to score when
//! the history cannot support a model.
//!
//! 1. Merges whose outcome the host could not decide are excluded (and counted); the newest
//!    `max_merges` of the rest are used, in time order (ties by id, for determinism).
//! 2. The oldest `1 − test_fraction` are the training part, the newest the held-out test part:
//!    a time-ordered split, because a random split would let the model learn from the future.
//! 3. The decision threshold is chosen on the training part only: its newest
//!    `validation_fraction` is cut into three consecutive folds, each scored by a model fitted on
//!    everything before it (rolling origin), and the threshold with the best F1 over the pooled
//!    scores is kept (0.5 — the balanced weighting's natural cut — when they hold no conflict).
//! 4. A model fitted on the whole training part is measured on the test part at that threshold:
//!    precision, recall and F1 of the conflicting class, ROC-AUC, the confusion counts, and the
//!    F1 of always predicting a conflict as the baseline to beat.
//! 5. The model used for scoring is refitted on all used merges with the same threshold.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::features::features;
use crate::input::PastMerge;
use crate::model::{FitError, FitOptions, Model, fit};

/// Consecutive folds of the validation slice (rolling-origin threshold choice).
pub const VALIDATION_FOLDS: usize = 3;

/// Options for [`train_and_evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// The fewest usable merges (decided outcome) to train at all.
    pub min_merges: usize,
    /// The fewest conflicts (and the fewest clean merges) in the training part.
    pub min_conflicts: usize,
    /// The fewest conflicts (and the fewest clean merges) in the held-out part.
    pub min_test_conflicts: usize,
    /// The newest share of the used merges held out for testing (0 < f < 1).
    pub test_fraction: f64,
    /// The newest share of the training part used to choose the threshold (0 < f < 1).
    pub validation_fraction: f64,
    /// Use only the newest this many usable merges.
    pub max_merges: usize,
    /// The lowest held-out ROC-AUC at which the model may score (0.5 is chance).
    pub min_test_auc: f64,
    /// How to fit.
    pub fit: FitOptions,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            min_merges: 30,
            min_conflicts: 5,
            min_test_conflicts: 2,
            test_fraction: 0.25,
            validation_fraction: 0.25,
            max_merges: 2000,
            min_test_auc: 0.55,
            fit: FitOptions::default(),
        }
    }
}

/// Why the history cannot support a model: scoring is refused with this reason.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    /// Too few merges with a decided outcome.
    #[error(
        "too few usable merges: {usable} with a known outcome ({excluded_unknown} undecided excluded), at least {required} needed"
    )]
    TooFewMerges {
        /// Merges with a decided outcome.
        usable: usize,
        /// The configured minimum.
        required: usize,
        /// Merges excluded because the outcome was unknown.
        excluded_unknown: usize,
    },
    /// Too few conflicting (or clean) merges in one part of the split.
    #[error(
        "too few {} merges in the {part} part: {found} of {total}, at least {required} needed ({excluded_unknown} undecided excluded)",
        if *conflicting { "conflicting" } else { "clean" }
    )]
    TooFewInPart {
        /// `training` or `held-out`.
        part: &'static str,
        /// Whether the missing class is the conflicting one.
        conflicting: bool,
        /// How many there are.
        found: usize,
        /// Merges in that part.
        total: usize,
        /// The configured minimum.
        required: usize,
        /// Merges excluded because the outcome was unknown.
        excluded_unknown: usize,
    },
    /// The model does no better than `min_test_auc` on the held-out merges.
    #[error(
        "the model does not rank the {} held-out merges well enough: ROC-AUC {:.3} < {required}",
        evaluation.test,
        auc
    )]
    NoSkill {
        /// The held-out ROC-AUC.
        auc: f64,
        /// The configured minimum.
        required: f64,
        /// The full evaluation, for the report.
        evaluation: Box<Evaluation>,
    },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The model could not be fitted.
    #[error("the model could not be fitted: {0}")]
    Fit(#[from] FitError),
}

/// Precision, recall, F1 and ROC-AUC for the conflicting class, with the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Conflicts predicted as conflicts.
    pub tp: usize,
    /// Clean merges predicted as conflicts.
    pub fp: usize,
    /// Clean merges predicted clean.
    pub tn: usize,
    /// Conflicts predicted clean.
    pub fn_: usize,
    /// tp / (tp + fp); `None` when nothing was predicted a conflict.
    pub precision: Option<f64>,
    /// tp / (tp + fn); `None` when there is no conflict.
    pub recall: Option<f64>,
    /// 2tp / (2tp + fp + fn); `None` when there is neither a conflict nor a predicted one.
    pub f1: Option<f64>,
    /// The probability that a random conflict scores above a random clean merge (ties count
    /// half); `None` when a class is absent.
    pub roc_auc: Option<f64>,
    /// An approximate 95% interval for the ROC-AUC (± 1.96 Hanley–McNeil standard errors,
    /// clipped to [0, 1]): with a handful of held-out conflicts it is wide, and says so.
    pub roc_auc_ci95: Option<(f64, f64)>,
}

/// The confusion counts and derived rates of predictions `scores ≥ threshold` against `labels`.
pub fn metrics(scores: &[f64], labels: &[bool], threshold: f64) -> Metrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&s, &l) in scores.iter().zip(labels) {
        match (s >= threshold, l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let roc_auc = roc_auc(scores, labels);
    let positives = tp + fn_;
    let negatives = fp + tn;
    Metrics {
        tp,
        fp,
        tn,
        fn_,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        roc_auc,
        roc_auc_ci95: roc_auc.map(|a| {
            let se = hanley_mcneil_se(a, positives, negatives);
            ((a - 1.96 * se).max(0.0), (a + 1.96 * se).min(1.0))
        }),
    }
}

/// The standard error of a ROC-AUC `a` over `pos` positives and `neg` negatives, by Hanley &
/// McNeil (Radiology, 1982): `Q1 = a/(2−a)`, `Q2 = 2a²/(1+a)`,
/// `SE² = (a(1−a) + (pos−1)(Q1−a²) + (neg−1)(Q2−a²)) / (pos·neg)`.
pub fn hanley_mcneil_se(a: f64, pos: usize, neg: usize) -> f64 {
    if pos == 0 || neg == 0 {
        return f64::NAN;
    }
    let q1 = a / (2.0 - a);
    let q2 = 2.0 * a * a / (1.0 + a);
    let (p, n) = (pos as f64, neg as f64);
    let var = (a * (1.0 - a) + (p - 1.0) * (q1 - a * a) + (n - 1.0) * (q2 - a * a)) / (p * n);
    var.max(0.0).sqrt()
}

/// ROC-AUC by ranks (Mann–Whitney U): tied scores share their average rank, so a tie between a
/// conflict and a clean merge counts half. `None` when either class is absent.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len().min(labels.len());
    let pos = labels[..n].iter().filter(|&&l| l).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let avg = (i + j + 2) as f64 / 2.0;
        rank_sum_pos += avg * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos as f64 * neg as f64))
}

/// The threshold with the best F1 on `scores`/`labels`: each distinct score is a candidate cut,
/// placed midway to the next lower score so that it generalises; ties prefer the higher cut
/// (fewer alarms). `None` when there is no conflict.
pub fn best_f1_threshold(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if !labels.iter().any(|&l| l) {
        return None;
    }
    let mut distinct: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let mut best: Option<(f64, f64)> = None;
    for (k, &s) in distinct.iter().enumerate() {
        let f1 = metrics(scores, labels, s).f1.unwrap_or(0.0);
        let cut = match distinct.get(k + 1) {
            Some(&lower) => (s + lower) / 2.0,
            None => s / 2.0,
        };
        if best.is_none_or(|(b, _)| f1 > b) {
            best = Some((f1, cut));
        }
    }
    best.map(|(_, cut)| cut)
}

/// How the model did, and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Merges offered.
    pub offered: usize,
    /// Merges excluded because the host could not decide their outcome.
    pub excluded_unknown: usize,
    /// Usable merges left out because only the newest `max_merges` are used.
    pub excluded_old: usize,
    /// Merges used (training + test).
    pub used: usize,
    /// Conflicts among them.
    pub conflicts: usize,
    /// Training merges (the oldest).
    pub train: usize,
    /// Conflicts among them.
    pub train_conflicts: usize,
    /// Held-out merges (the newest).
    pub test: usize,
    /// Conflicts among them.
    pub test_conflicts: usize,
    /// The time of the first held-out merge (everything before it was training).
    pub test_from: i64,
    /// The decision threshold (chosen on the training part).
    pub threshold: f64,
    /// Where the threshold came from: `validation` (best F1 over the rolling-origin folds of the
    /// newest training slice) or `default` (they held no conflict or could not be fitted).
    pub threshold_source: String,
    /// Held-out metrics at the threshold.
    pub test_metrics: Metrics,
    /// The held-out F1 of always predicting a conflict (the baseline to beat).
    pub baseline_f1: f64,
    /// The best held-out F1 any threshold would have reached — hindsight, for reference only
    /// (never used to choose): the gap to `test_metrics.f1` is the cost of choosing the
    /// threshold without seeing the future.
    pub hindsight_f1: Option<f64>,
}

impl Evaluation {
    /// One line for people: what the model was measured on and how it did.
    pub fn describe(&self) -> String {
        let m = &self.test_metrics;
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}"));
        let interval = m.roc_auc_ci95.map_or(String::new(), |(lo, hi)| {
            format!(" (95% ≈ {lo:.2}–{hi:.2})")
        });
        format!(
            "trained on {} merges ({} conflicts), measured on the newest {} ({} conflicts): \
             ROC-AUC {}{interval}, precision {}, recall {}, F1 {} at threshold {:.2} \
             (always predicting a conflict: F1 {:.2}); {} undecided merges excluded",
            self.train,
            self.train_conflicts,
            self.test,
            self.test_conflicts,
            f(m.roc_auc),
            f(m.precision),
            f(m.recall),
            f(m.f1),
            self.threshold,
            self.baseline_f1,
            self.excluded_unknown
        )
    }
}

/// A model ready to score, with its evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// Fitted on all used merges, with the threshold chosen on the training part.
    pub model: Model,
    /// How a model fitted on the training part did on the held-out part.
    pub evaluation: Evaluation,
}

/// Counts a part's classes and refuses when either is below `required`.
fn check_part(
    part: &'static str,
    labels: &[bool],
    required: usize,
    excluded_unknown: usize,
) -> Result<usize, Refusal> {
    let conflicts = labels.iter().filter(|&&l| l).count();
    let clean = labels.len() - conflicts;
    for (conflicting, found) in [(true, conflicts), (false, clean)] {
        if found < required {
            return Err(Refusal::TooFewInPart {
                part,
                conflicting,
                found,
                total: labels.len(),
                required,
                excluded_unknown,
            });
        }
    }
    Ok(conflicts)
}

/// The size of the newest `fraction` of `n` (at least 1, leaving at least 1).
fn newest_share(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).round() as usize).clamp(1, n.saturating_sub(1).max(1))
}

/// Trains on the history's merges and evaluates on the newest, or refuses with the reason.
pub fn train_and_evaluate(merges: &[PastMerge], opts: &EvalOptions) -> Result<Trained, Refusal> {
    for (name, f) in [
        ("test_fraction", opts.test_fraction),
        ("validation_fraction", opts.validation_fraction),
    ] {
        if !(f > 0.0 && f < 1.0) {
            return Err(Refusal::InvalidOption(format!(
                "{name} = {f} (must be between 0 and 1)"
            )));
        }
    }
    let mut usable: Vec<(&PastMerge, bool)> = merges
        .iter()
        .filter_map(|m| m.trial.conflicted.map(|c| (m, c)))
        .collect();
    let excluded_unknown = merges.len() - usable.len();
    usable.sort_by(|a, b| a.0.time.cmp(&b.0.time).then_with(|| a.0.id.cmp(&b.0.id)));
    let excluded_old = usable.len().saturating_sub(opts.max_merges);
    let usable = &usable[excluded_old..];
    let n = usable.len();
    if n < opts.min_merges.max(2) {
        return Err(Refusal::TooFewMerges {
            usable: n,
            required: opts.min_merges.max(2),
            excluded_unknown,
        });
    }
    let x: Vec<Vec<f64>> = usable
        .iter()
        .map(|(m, _)| features(&m.trial, m.time))
        .collect();
    let y: Vec<bool> = usable.iter().map(|&(_, c)| c).collect();

    let n_test = newest_share(n, opts.test_fraction);
    let n_train = n - n_test;
    let train_conflicts = check_part(
        "training",
        &y[..n_train],
        opts.min_conflicts,
        excluded_unknown,
    )?;
    let test_conflicts = check_part(
        "held-out",
        &y[n_train..],
        opts.min_test_conflicts,
        excluded_unknown,
    )?;

    // The threshold, from the training part alone: rolling-origin validation over its newest
    // slice — each of `VALIDATION_FOLDS` consecutive folds is scored by a model fitted on
    // everything before it, and the cut with the best F1 over the pooled scores is kept. Pooling
    // several folds steadies a choice that one small slice with a few conflicts would overfit.
    let n_val = newest_share(n_train, opts.validation_fraction);
    let start = n_train - n_val;
    let mut pooled_scores = Vec::with_capacity(n_val);
    let mut pooled_labels = Vec::with_capacity(n_val);
    for k in 0..VALIDATION_FOLDS {
        let lo = start + n_val * k / VALIDATION_FOLDS;
        let hi = start + n_val * (k + 1) / VALIDATION_FOLDS;
        if lo == hi {
            continue;
        }
        // A prefix with one class cannot be fitted: that fold is skipped.
        if let Ok(m) = fit(&x[..lo], &y[..lo], &opts.fit) {
            pooled_scores.extend(x[lo..hi].iter().map(|r| m.predict(r)));
            pooled_labels.extend_from_slice(&y[lo..hi]);
        }
    }
    let chosen = best_f1_threshold(&pooled_scores, &pooled_labels);
    let (threshold, threshold_source) = match chosen {
        Some(t) => (t, "validation"),
        None => (0.5, "default"),
    };

    let held = fit(&x[..n_train], &y[..n_train], &opts.fit)?;
    let scores: Vec<f64> = x[n_train..].iter().map(|r| held.predict(r)).collect();
    let test_metrics = metrics(&scores, &y[n_train..], threshold);
    let baseline_f1 = 2.0 * test_conflicts as f64 / (n_test + test_conflicts) as f64;
    let hindsight_f1 = best_f1_threshold(&scores, &y[n_train..])
        .and_then(|t| metrics(&scores, &y[n_train..], t).f1);

    let evaluation = Evaluation {
        offered: merges.len(),
        excluded_unknown,
        excluded_old,
        used: n,
        conflicts: train_conflicts + test_conflicts,
        train: n_train,
        train_conflicts,
        test: n_test,
        test_conflicts,
        test_from: usable[n_train].0.time,
        threshold,
        threshold_source: threshold_source.to_string(),
        test_metrics,
        baseline_f1,
        hindsight_f1,
    };
    // Both classes are in the test part (checked above), so the AUC exists.
    let auc = evaluation.test_metrics.roc_auc.unwrap_or(0.5);
    if auc < opts.min_test_auc {
        return Err(Refusal::NoSkill {
            auc,
            required: opts.min_test_auc,
            evaluation: Box::new(evaluation),
        });
    }
    let mut model = fit(&x, &y, &opts.fit)?;
    model.threshold = threshold;
    Ok(Trained { model, evaluation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FEATURE_NAMES;
    use crate::synth::{SynthOptions, synthetic_history};

    #[test]
    fn roc_auc_by_hand_with_ties() {
        // Positives 0.8, 0.4; negatives 0.4, 0.1. Pairs (pos, neg): (0.8, 0.4) win,
        // (0.8, 0.1) win, (0.4, 0.4) tie = 1/2, (0.4, 0.1) win → 3.5 / 4 = 0.875.
        let auc = roc_auc(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        // All tied: 0.5. Perfect: 1. Inverted: 0.
        assert_eq!(roc_auc(&[0.3; 4], &[true, false, true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, false]), Some(1.0));
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, false]), Some(0.0));
        assert_eq!(roc_auc(&[0.1, 0.9], &[true, true]), None);
    }

    #[test]
    fn hanley_mcneil_by_hand() {
        // a = 0.875, 2 positives, 2 negatives: Q1 = 0.875/1.125 = 0.777…, Q2 = 2·0.765625/1.875
        // = 0.81666…; SE² = (0.109375 + (0.777… − 0.765625) + (0.81666… − 0.765625)) / 4
        // = 0.172569… / 4 = 0.0431423… → SE ≈ 0.207707.
        let se = hanley_mcneil_se(0.875, 2, 2);
        assert!((se - 0.207_707).abs() < 1e-5, "{se}");
        let m = metrics(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false], 0.5);
        let (lo, hi) = m.roc_auc_ci95.unwrap();
        assert!((lo - (0.875 - 1.96 * se)).abs() < 1e-12);
        assert_eq!(hi, 1.0); // clipped
        // More data, narrower interval at the same AUC.
        assert!(hanley_mcneil_se(0.875, 50, 50) < se / 4.0);
    }

    #[test]
    fn precision_recall_f1_by_hand() {
        // Threshold 0.5: predicted positive 0.9 (T), 0.7 (F), 0.5 (T); negative 0.2 (T), 0.1 (F).
        // tp 2, fp 1, fn 1, tn 1 → precision 2/3, recall 2/3, F1 = 4 / (4 + 1 + 1) = 2/3.
        let m = metrics(
            &[0.9, 0.7, 0.5, 0.2, 0.1],
            &[true, false, true, true, false],
            0.5,
        );
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (2, 1, 1, 1));
        assert!((m.precision.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // Nothing predicted positive: precision undefined, F1 0 (conflicts were missed).
        let none = metrics(&[0.1, 0.2], &[true, false], 0.5);
        assert_eq!(none.precision, None);
        assert_eq!(none.f1, Some(0.0));
    }

    #[test]
    fn best_threshold_by_hand() {
        // Sorted scores 0.9 T, 0.8 F, 0.6 T, 0.3 F. Cut at ≥0.9: F1 = 2/3; ≥0.8: 2/4 = 0.5;
        // ≥0.6: 4/5 = 0.8 (best); ≥0.3: 4/6. The cut is midway between 0.6 and 0.3.
        let t = best_f1_threshold(&[0.3, 0.8, 0.6, 0.9], &[false, false, true, true]).unwrap();
        assert!((t - 0.45).abs() < 1e-12);
        assert_eq!(best_f1_threshold(&[0.3, 0.8], &[false, false]), None);
    }

    fn merge(i: usize, conflicted: Option<bool>) -> PastMerge {
        let mut m = PastMerge {
            id: format!("m{i:04}"),
            time: 1_000_000 + i as i64 * 3600,
            ..PastMerge::default()
        };
        m.trial.merge_base_time = Some(m.time - 86_400);
        m.trial.conflicted = conflicted;
        m.trial.ours.commits = (i % 13) as u32;
        m.trial.theirs.commits = (i % 7) as u32 + 1;
        m
    }

    #[test]
    fn refusals_name_the_reason() {
        // 20 decided + 5 undecided, minimum 30.
        let mut few: Vec<PastMerge> = (0..20).map(|i| merge(i, Some(i % 4 == 0))).collect();
        few.extend((20..25).map(|i| merge(i, None)));
        let r = train_and_evaluate(&few, &EvalOptions::default()).unwrap_err();
        assert_eq!(
            r,
            Refusal::TooFewMerges {
                usable: 20,
                required: 30,
                excluded_unknown: 5
            }
        );
        assert!(r.to_string().contains("5 undecided excluded"));

        // 40 merges, conflicts only at 0, 1, 2 (all in the training part): too few to train.
        let rare: Vec<PastMerge> = (0..40).map(|i| merge(i, Some(i < 3))).collect();
        assert_eq!(
            train_and_evaluate(&rare, &EvalOptions::default()).unwrap_err(),
            Refusal::TooFewInPart {
                part: "training",
                conflicting: true,
                found: 3,
                total: 30,
                required: 5,
                excluded_unknown: 0
            }
        );

        // Enough to train, but the newest 10 (held out) have one conflict.
        let late: Vec<PastMerge> = (0..40)
            .map(|i| merge(i, Some(i % 5 == 0 && (i < 30 || i == 35))))
            .collect();
        let r = train_and_evaluate(&late, &EvalOptions::default()).unwrap_err();
        assert!(
            matches!(
                r,
                Refusal::TooFewInPart {
                    part: "held-out",
                    conflicting: true,
                    found: 1,
                    ..
                }
            ),
            "{r:?}"
        );
        let bad = EvalOptions {
            test_fraction: 1.0,
            ..EvalOptions::default()
        };
        assert!(matches!(
            train_and_evaluate(&late, &bad),
            Err(Refusal::InvalidOption(_))
        ));
    }

    #[test]
    fn a_model_without_skill_is_refused_with_its_evaluation() {
        // Conflicts by a pattern no feature sees: features vary with i % 13 and i % 7, the
        // outcome with i % 5 (coprime) — the held-out ranking is near chance.
        let merges: Vec<PastMerge> = (0..200).map(|i| merge(i, Some(i % 5 == 0))).collect();
        let strict = EvalOptions {
            min_test_auc: 0.9,
            ..EvalOptions::default()
        };
        match train_and_evaluate(&merges, &strict) {
            Err(Refusal::NoSkill {
                auc,
                required,
                evaluation,
            }) => {
                assert!(auc < 0.9);
                assert_eq!(required, 0.9);
                assert_eq!(evaluation.test, 50);
                assert_eq!(evaluation.test_metrics.roc_auc, Some(auc));
            }
            other => panic!("expected NoSkill, got {other:?}"),
        }
    }

    #[test]
    fn split_is_time_ordered_and_counts_exclusions() {
        // Given out of order: the split must sort by time, the newest 25% held out.
        let mut merges: Vec<PastMerge> = (0..100).map(|i| merge(i, Some(i % 4 == 1))).collect();
        merges.reverse();
        merges.push(merge(500, None));
        // Features here carry no signal; this test is about the split, not skill.
        let opts = EvalOptions {
            max_merges: 80,
            min_test_auc: 0.0,
            ..EvalOptions::default()
        };
        let t = train_and_evaluate(&merges, &opts).unwrap();
        let e = &t.evaluation;
        assert_eq!(e.offered, 101);
        assert_eq!(e.excluded_unknown, 1);
        assert_eq!(e.excluded_old, 20);
        assert_eq!((e.used, e.train, e.test), (80, 60, 20));
        // Used: merges 20..100; held out: the newest 20, 80..100.
        assert_eq!(e.test_from, merge(80, None).time);
        assert_eq!(e.test_conflicts, 5);
        assert_eq!(e.conflicts, 20);
        assert_eq!(t.model.summary.rows, 80);
        assert_eq!(t.model.threshold, e.threshold);
    }

    #[test]
    fn planted_signal_is_recovered_on_held_out_merges() {
        let merges = synthetic_history(&SynthOptions {
            merges: 1500,
            seed: 7,
            ..SynthOptions::default()
        });
        let t = train_and_evaluate(&merges, &EvalOptions::default()).unwrap();
        let coef = |name: &str| {
            let j = FEATURE_NAMES.iter().position(|n| *n == name).unwrap();
            t.model.coefficients[j]
        };
        // Planted: conflicts rise with files changed on both sides and with commits behind.
        assert!(coef("shared_files") > 0.2, "{:?}", t.model);
        assert!(coef("behind") > 0.2, "{:?}", t.model);
        let auc = t.evaluation.test_metrics.roc_auc.unwrap();
        assert!(auc > 0.75, "held-out AUC {auc}: {:?}", t.evaluation);
        let f1 = t.evaluation.test_metrics.f1.unwrap();
        assert!(f1 > t.evaluation.baseline_f1, "{:?}", t.evaluation);
    }
}
