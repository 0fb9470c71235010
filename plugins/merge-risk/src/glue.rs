//! SDK glue, built for the plugin only (`wasm32`): host data in, findings out.
//!
//! 1. **The model.** The host's store keeps the fitted model (or the reason it was refused)
//!    under the base tip and the training options, so a re-scan of an unchanged base does not
//!    re-train. Otherwise the base's first-parent history is read (`range-history`), each merge
//!    commit's parents are re-merged by the host (`merge-trials`, the host's own conflict
//!    prediction, so labels are git's verdicts), and the engine fits and evaluates the model.
//! 2. **The branches.** Every branch ahead of the base is trial-merged into it in one batch; the
//!    engine scores it, explains the score and recommends what to do.
//! 3. **Overlap.** Branches changing the same files are clustered (inverted index).
//! 4. **Summaries.** The riskiest `llm.top_n` branches get a summary: from an OpenAI-compatible
//!    endpoint when one is configured and its origin granted (answers cached in the store by
//!    branch tip, base tip and model), otherwise — or when the endpoint fails — from the facts.
//!
//! A branch the host could not answer for is reported with the reason; the others are scored.

use serde::{Deserialize, Serialize};
use trellis_sdk::analyzer::Analyzer;
use trellis_sdk::host::{self, HistoryOptions, MergeOptions, MergeVerdict, QueryError, Range};
use trellis_sdk::{Finding, PluginError, RuleInfo, ScanInput, Severity, http};

use crate::eval::{Evaluation, Refusal, Trained};
use crate::input::{Candidate, FileStat, PastMerge, Side, Trial};
use crate::model::{MODEL_VERSION, Model};
use crate::overlap::{OverlapReport, branch_paths};
use crate::risk::{Assessment, Recommendation, assess_with, recommend};
use crate::summary::{cache_key, chat_request, parse_chat_response, summarize};
use crate::{Config, clusters, train_and_evaluate};

/// Files listed per side of a trial merge.
const MAX_FILES: u32 = 5_000;
/// Commits counted per side of a trial merge.
const MAX_COMMITS: u32 = 10_000;
/// Trial merges asked for per call: a call is one query, and answers stay small.
const TRIALS_PER_CALL: usize = 200;
/// First-parent commits of the base read to find past merges.
const MAX_FIRST_PARENT: u32 = 200_000;
/// Commit subjects read per branch, for summaries.
const SUBJECTS: u32 = 10;
/// Bytes of an LLM response read.
const MAX_LLM_RESPONSE: usize = 1 << 20;

const RULE_MODEL: &str = "merge-risk/model";
const RULE_BRANCH: &str = "merge-risk/branch";
const RULE_ADVICE: &str = "merge-risk/advice";
const RULE_OVERLAP: &str = "merge-risk/overlap";
const RULE_HOT: &str = "merge-risk/hot-path";
const RULE_SUMMARY: &str = "merge-risk/summary";
const RULE_HOST: &str = "merge-risk/host-query";

/// Scores at or above this are warnings (below, notes).
const WARN_SCORE: u8 = 70;

/// What the store keeps per base tip and training options.
#[derive(Serialize, Deserialize)]
enum Fitted {
    Trained {
        model: Box<Model>,
        evaluation: Box<Evaluation>,
        /// Why the history read was cut short, if it was.
        cut: Option<String>,
    },
    Refused {
        reason: String,
    },
}

fn side(s: host::MergeSide) -> Side {
    Side {
        commits: s.commits,
        authors: s.authors,
        files: s
            .files
            .into_iter()
            .map(|f| {
                let (added, deleted) = f.lines.unwrap_or((0, 0));
                FileStat {
                    path: f.path,
                    added,
                    deleted,
                }
            })
            .collect(),
        files_truncated: s.files_truncated,
        files_total: Some(s.files_total),
        first_time: s.first_time,
        last_time: s.last_time,
    }
}

fn trial(t: host::MergeTrial) -> Trial {
    let (conflicted, conflict_paths) = match t.verdict {
        MergeVerdict::Clean => (Some(false), Vec::new()),
        MergeVerdict::Conflicts(paths) => (Some(true), paths),
        MergeVerdict::Unknown(_) => (None, Vec::new()),
    };
    Trial {
        merge_base_time: t.merge_base_time,
        ours: side(t.ours),
        theirs: side(t.theirs),
        conflicted,
        conflict_paths,
    }
}

/// Trial-merges every range, `TRIALS_PER_CALL` at a time. A range the host refused for lack of
/// budget (time, trial merges) ends the work: the answers so far are returned with the reason.
/// Trials in the order of their ranges (perhaps fewer), and why the rest were not answered.
type Trials = (Vec<Result<Trial, QueryError>>, Option<String>);

fn trials(ranges: &[Range]) -> Result<Trials, PluginError> {
    let options = MergeOptions {
        max_files: MAX_FILES,
        max_commits: MAX_COMMITS,
        // No feature uses the base's authors: walking its commits is enough.
        base_authors: false,
        // The base's files only matter where the branch changed them too (and their count).
        all_base_files: false,
    };
    let mut out = Vec::with_capacity(ranges.len());
    for chunk in ranges.chunks(TRIALS_PER_CALL) {
        for answer in host::merge_trials(chunk, options)? {
            if let Err(QueryError::BudgetExceeded(why)) = &answer {
                return Ok((out, Some(why.clone())));
            }
            out.push(answer.map(trial));
        }
    }
    Ok((out, None))
}

/// FNV-1a, for a short stable digest of the training options in store keys.
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The model for `base_tip`: from the store, or fitted now (and stored).
fn fitted(config: &Config, base_tip: &str) -> Result<Fitted, PluginError> {
    let options = config.eval_options();
    let key = format!(
        "model/v{MODEL_VERSION}/{base_tip}/{:016x}",
        digest(&format!("{options:?}"))
    );
    // Without the `store` grant the model is fitted on every scan.
    if let Ok(Some(bytes)) = host::store_get(&key)
        && let Ok(cached) = serde_json::from_slice::<Fitted>(&bytes)
    {
        return Ok(cached);
    }
    let history = host::range_history(
        &[Range {
            tip: base_tip.to_string(),
            base: None,
        }],
        HistoryOptions {
            limit: MAX_FIRST_PARENT,
            first_parent: true,
            max_message_bytes: 0,
            signatures: false,
        },
    )?;
    let commits = history
        .into_iter()
        .next()
        .unwrap_or(Ok(Vec::new()))
        .map_err(PluginError::from)?;
    // Newest first; only the newest `max_merges` can be used.
    let merges: Vec<_> = commits
        .into_iter()
        .filter(|c| c.parents.len() >= 2)
        .take(config.max_merges)
        .collect();
    let ranges: Vec<Range> = merges
        .iter()
        .map(|c| Range::new(c.parents[1].as_str(), c.parents[0].as_str()))
        .collect();
    let (answers, cut) = trials(&ranges)?;
    let past: Vec<PastMerge> = merges
        .iter()
        .zip(answers)
        .filter_map(|(c, t)| {
            // A merge whose parents cannot be re-merged is left out (and counted as offered).
            Some(PastMerge {
                id: c.id.clone(),
                time: c.committer.time,
                trial: t.ok()?,
            })
        })
        .collect();
    let fitted = match train_and_evaluate(&past, &options) {
        Ok(Trained { model, evaluation }) => Fitted::Trained {
            model: Box::new(model),
            evaluation: Box::new(evaluation),
            cut,
        },
        Err(refusal) => Fitted::Refused {
            reason: refusal_text(&refusal, merges.len(), cut.as_deref()),
        },
    };
    if let Ok(bytes) = serde_json::to_vec(&fitted)
        && let Err(e) = host::store_set(&key, &bytes)
        && !matches!(e, QueryError::Denied(_))
    {
        host::warn(&format!(
            "the model could not be kept for the next scan: {e:?}"
        ));
    }
    Ok(fitted)
}

fn refusal_text(refusal: &Refusal, merges: usize, cut: Option<&str>) -> String {
    let mut text = format!("{refusal} ({merges} merge commits on the base's first-parent history)");
    if let Some(cut) = cut {
        text.push_str(&format!("; the history was cut short: {cut}"));
    }
    text
}

fn ratio(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:.2}"))
}

fn model_finding(base: &str, fitted: &Fitted) -> Finding {
    match fitted {
        Fitted::Refused { reason } => Finding::new(
            Severity::Info,
            RULE_MODEL,
            format!("not scoring branches: {reason}"),
        ),
        Fitted::Trained {
            model,
            evaluation: e,
            cut,
        } => {
            let m = &e.test_metrics;
            let mut message = format!(
                "fitted on {} merges of {base}'s history ({} conflicted); on the newest {} held out ({} conflicted): precision {}, recall {}, F1 {}, ROC-AUC {} (always predicting a conflict: F1 {:.2})",
                e.used,
                e.conflicts,
                e.test,
                e.test_conflicts,
                ratio(m.precision),
                ratio(m.recall),
                ratio(m.f1),
                ratio(m.roc_auc),
                e.baseline_f1,
            );
            if let Some(cut) = cut {
                message.push_str(&format!("; history cut short: {cut}"));
            }
            let mut f = Finding::new(Severity::Info, RULE_MODEL, message)
                .data("merges", e.used)
                .data("conflicts", e.conflicts)
                .data("excluded-unknown", e.excluded_unknown)
                .data("test", e.test)
                .data("precision", ratio(m.precision))
                .data("recall", ratio(m.recall))
                .data("f1", ratio(m.f1))
                .data("roc-auc", ratio(m.roc_auc))
                .data("threshold", format!("{:.3}", model.threshold))
                .data("intercept", format!("{:.4}", model.intercept));
            for (name, c) in model.feature_names.iter().zip(&model.coefficients) {
                f = f.data(format!("coef.{name}"), format!("{c:.4}"));
            }
            f
        }
    }
}

fn branch_finding(a: &Assessment, tip: &str) -> Finding {
    let severity = if a.score >= WARN_SCORE {
        Severity::Warning
    } else {
        Severity::Info
    };
    let factors: Vec<String> = a
        .top_factors
        .iter()
        .map(|f| format!("{} ({:+.2})", f.text, f.contribution))
        .collect();
    let mut message = format!(
        "merge risk {}/100 — {}: {}",
        a.score,
        a.recommendation.text(),
        factors.join("; ")
    );
    if let Some(d) = &a.disagreement {
        message.push_str(&format!(" [{d}]"));
    }
    Finding::new(severity, RULE_BRANCH, message)
        .branch(a.branch.as_str())
        .commit(tip)
        .data("score", a.score)
        .data("probability", format!("{:.4}", a.probability))
        .data("predicted-conflict", a.predicted_conflict)
        .data(
            "recommendation",
            serde_json::to_string(&a.recommendation).unwrap_or_default(),
        )
        .data("reason", a.reason.as_str())
        .data(
            "factors",
            serde_json::to_string(&a.top_factors).unwrap_or_default(),
        )
}

fn overlap_findings(report: &OverlapReport) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &report.clusters {
        let shown: Vec<&str> = c.shared_paths.iter().take(5).map(String::as_str).collect();
        let more = c.shared_paths.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                Severity::Info,
                RULE_OVERLAP,
                format!(
                    "{} branches change the same {} files: {} — {}{more}",
                    c.branches.len(),
                    c.shared_paths.len(),
                    c.branches.join(", "),
                    shown.join(", ")
                ),
            )
            .data("branches", c.branches.join("\n"))
            .data("paths", c.shared_paths.join("\n"))
            .data("score", c.score),
        );
    }
    for h in &report.hot_paths {
        out.push(
            Finding::new(
                Severity::Info,
                RULE_HOT,
                format!("{} branches change {}", h.branches, h.path),
            )
            .path(h.path.as_str())
            .data("branches", h.branches),
        );
    }
    out
}

/// The summary of `candidate`: the LLM's when configured, granted and answering, else the
/// deterministic one (with why the LLM's is missing).
fn summary(config: &Config, base_tip: &str, c: &Candidate, a: &Assessment) -> (String, String) {
    let facts = summarize(c, a).to_string();
    let llm = &config.llm;
    if !llm.enabled() {
        return (facts, "facts".into());
    }
    let key = format!("llm/{}", cache_key(&c.tip, base_tip, &llm.model));
    if let Ok(Some(bytes)) = host::store_get(&key) {
        return (
            String::from_utf8_lossy(&bytes).into_owned(),
            format!("llm:{} (cached)", llm.model),
        );
    }
    let body = chat_request(&llm.model, llm.max_tokens, llm.context_tokens, c, a);
    let url = format!("{}/chat/completions", llm.endpoint.trim_end_matches('/'));
    let bearer = llm.api_key.as_ref().map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    let answer = http::post_json(
        &url,
        &headers,
        body.to_string().as_bytes(),
        MAX_LLM_RESPONSE,
    )
    .and_then(|response| {
        // Error bodies of OpenAI-compatible servers say why; the parser reads them.
        let text = parse_chat_response(&response.body).map_err(|e| e.to_string())?;
        if response.status >= 400 {
            return Err(format!("HTTP {}", response.status));
        }
        Ok(text)
    });
    match answer {
        Ok(text) => {
            let _ = host::store_set(&key, text.as_bytes());
            (text, format!("llm:{}", llm.model))
        }
        Err(why) => (facts, format!("facts (the LLM failed: {why})")),
    }
}

struct MergeRisk;

impl Analyzer for MergeRisk {
    fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError> {
        let raw: serde_json::Value = host::config()?;
        let config = Config::from_json(&raw.to_string())
            .map_err(|e| PluginError::new("bad-config", e.to_string()))?;
        let base = input.repo.base.as_str();
        let base_tip = input.repo.base_tip.as_str();
        let mut out = Vec::new();

        let fitted = fitted(&config, base_tip)?;
        out.push(model_finding(base, &fitted));

        let branches: Vec<&trellis_sdk::BranchFacts> = input
            .branches
            .iter()
            .filter(|b| b.ahead > 0 && b.tip != base_tip)
            .collect();
        let ranges: Vec<Range> = branches
            .iter()
            .map(|b| Range::new(b.name.as_str(), base))
            .collect();
        let (answers, cut) = trials(&ranges)?;
        if let Some(cut) = cut {
            out.push(Finding::new(
                Severity::Warning,
                RULE_HOST,
                format!(
                    "only {} of {} branches were trial-merged: {cut}",
                    answers.len(),
                    ranges.len()
                ),
            ));
        }
        let subjects = host::range_history(
            &ranges[..answers.len()],
            HistoryOptions {
                limit: SUBJECTS,
                first_parent: false,
                max_message_bytes: 512,
                signatures: false,
            },
        )?;
        let mut candidates = Vec::new();
        for ((b, answer), history) in branches.iter().zip(answers).zip(subjects) {
            let trial = match answer {
                Ok(t) => t,
                Err(e) => {
                    out.push(
                        Finding::new(Severity::Warning, RULE_HOST, format!("{e:?}"))
                            .branch(b.name.as_str()),
                    );
                    continue;
                }
            };
            let subject_lines = history
                .map(|commits| {
                    commits
                        .into_iter()
                        .map(|c| c.message.lines().next().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            candidates.push(Candidate {
                branch: b.name.clone(),
                tip: b.tip.clone(),
                now: input.scan_time,
                trial,
                exact_conflict: b
                    .conflicts
                    .as_ref()
                    .map(|c| matches!(c, trellis_sdk::ConflictPrediction::Conflicts(_))),
                subject_lines,
            });
        }

        let overlap = clusters(&branch_paths(&candidates), &config.overlap_options());
        out.extend(overlap_findings(&overlap));

        let options = config.risk_options();
        let Fitted::Trained { model, .. } = &fitted else {
            // No score without a model; the advice that needs none (git's verdict, size, age,
            // overlap) still stands, for the branches it applies to.
            for c in &candidates {
                let (recommendation, reason) =
                    recommend(c, &overlap.info(&c.branch), &options, None);
                if recommendation != Recommendation::MergeNow {
                    out.push(
                        Finding::new(
                            Severity::Info,
                            RULE_ADVICE,
                            format!("{}: {reason}", recommendation.text()),
                        )
                        .branch(c.branch.as_str())
                        .commit(c.tip.as_str())
                        .data(
                            "recommendation",
                            serde_json::to_string(&recommendation).unwrap_or_default(),
                        ),
                    );
                }
            }
            return Ok(out);
        };
        let mut assessed: Vec<(Assessment, &Candidate)> = candidates
            .iter()
            .map(|c| (assess_with(model, c, &overlap.info(&c.branch), &options), c))
            .collect();
        assessed.sort_by(|a, b| {
            b.0.probability
                .total_cmp(&a.0.probability)
                .then_with(|| a.0.branch.cmp(&b.0.branch))
        });
        for (i, (a, c)) in assessed.iter().enumerate() {
            out.push(branch_finding(a, &c.tip));
            if i < config.llm.top_n {
                let (text, source) = summary(&config, base_tip, c, a);
                out.push(
                    Finding::new(Severity::Info, RULE_SUMMARY, text)
                        .branch(a.branch.as_str())
                        .data("source", source),
                );
            }
        }
        Ok(out)
    }

    fn rules() -> Vec<RuleInfo> {
        vec![
            RuleInfo::new(
                RULE_MODEL,
                "Merge-risk model",
                "How the merge-risk model was fitted on the base's own merges and how it did on held-out merges — or why it refuses to score.",
                Severity::Info,
            ),
            RuleInfo::new(
                RULE_BRANCH,
                "Merge risk",
                "A branch's probability of conflicting when merged, 0–100, with the factors behind it and what to do.",
                Severity::Warning,
            ),
            RuleInfo::new(
                RULE_ADVICE,
                "Branch advice",
                "Without a model (history too thin to fit one): what to do with a branch, from git's verdict, its size, its age and its overlap with other branches.",
                Severity::Info,
            ),
            RuleInfo::new(
                RULE_OVERLAP,
                "Overlapping branches",
                "Branches that change the same files: duplicated or colliding work.",
                Severity::Info,
            ),
            RuleInfo::new(
                RULE_HOT,
                "Hot path",
                "A file changed by so many branches that pairing them would say nothing.",
                Severity::Info,
            ),
            RuleInfo::new(
                RULE_SUMMARY,
                "Branch summary",
                "What a risky branch does, why it is risky and what to do (an LLM's words when one is configured).",
                Severity::Info,
            ),
            RuleInfo::new(
                RULE_HOST,
                "Host query",
                "The host could not answer for a branch (budget, time, a missing object).",
                Severity::Warning,
            ),
        ]
    }
}

trellis_sdk::export_analyzer!(MergeRisk);
