//! Trains and evaluates the engine on a real repository's history exported as JSON lines
//! (one `PastMerge` a line, e.g. by `tools/export_history.py`).
//!
//! `cd plugins && cargo run --release -p merge-risk --example evaluate -- merges.jsonl [config.toml]`
//!
//! Prints the evaluation on the held-out (newest) merges, the fitted coefficients, and what a
//! refusal would say.

use std::process::ExitCode;

use merge_risk::config::Config;
use merge_risk::eval::{Refusal, metrics, train_and_evaluate};
use merge_risk::features::FEATURE_NAMES;
use merge_risk::input::PastMerge;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: evaluate MERGES.jsonl [CONFIG.toml]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match args.get(1).map(std::fs::read_to_string) {
        None => Config::default(),
        Some(Ok(t)) => match Config::from_toml(&t) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("config: {e}");
                return ExitCode::from(2);
            }
        },
        Some(Err(e)) => {
            eprintln!("config: {e}");
            return ExitCode::from(2);
        }
    };
    let mut merges: Vec<PastMerge> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str(line) {
            Ok(m) => merges.push(m),
            Err(e) => {
                eprintln!("{path}:{}: {e}", i + 1);
                return ExitCode::from(2);
            }
        }
    }
    let decided: Vec<bool> = merges.iter().filter_map(|m| m.trial.conflicted).collect();
    println!(
        "{} merges, {} decided, {} conflicting",
        merges.len(),
        decided.len(),
        decided.iter().filter(|&&c| c).count()
    );
    let opts = config.eval_options();
    let trained = match train_and_evaluate(&merges, &opts) {
        Ok(t) => t,
        Err(Refusal::NoSkill {
            auc, evaluation, ..
        }) => {
            println!("refused: held-out ROC-AUC {auc:.3}; evaluation: {evaluation:#?}");
            return ExitCode::from(1);
        }
        Err(r) => {
            println!("refused: {r}");
            return ExitCode::from(1);
        }
    };
    let e = &trained.evaluation;
    let m = &e.test_metrics;
    let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    println!(
        "train {} ({} conflicts), held out {} ({} conflicts, from t={}); {} undecided and {} older excluded",
        e.train,
        e.train_conflicts,
        e.test,
        e.test_conflicts,
        e.test_from,
        e.excluded_unknown,
        e.excluded_old
    );
    println!(
        "threshold {:.3} ({}); held-out ROC-AUC {} (95% ≈ {}), precision {}, recall {}, F1 {} (always-conflict F1 {:.3}, best in hindsight {}); tp {} fp {} tn {} fn {}",
        e.threshold,
        e.threshold_source,
        f(m.roc_auc),
        m.roc_auc_ci95
            .map_or("n/a".into(), |(lo, hi)| format!("{lo:.3}–{hi:.3}")),
        f(m.precision),
        f(m.recall),
        f(m.f1),
        e.baseline_f1,
        f(e.hindsight_f1),
        m.tp,
        m.fp,
        m.tn,
        m.fn_
    );
    // A one-feature rule for comparison: "conflicts iff some file changed on both sides".
    let mut held: Vec<&PastMerge> = merges
        .iter()
        .filter(|m| m.trial.conflicted.is_some() && m.time >= e.test_from)
        .collect();
    held.sort_by_key(|m| m.time);
    let scores: Vec<f64> = held
        .iter()
        .map(|m| merge_risk::features::facts(&m.trial, m.time).shared_files as f64)
        .collect();
    let labels: Vec<bool> = held
        .iter()
        .map(|m| m.trial.conflicted == Some(true))
        .collect();
    let rule = metrics(&scores, &labels, 0.5);
    println!(
        "rule \"shared files > 0\" on the same held-out merges: precision {}, recall {}, F1 {}, ROC-AUC of the shared-file count {}",
        f(rule.precision),
        f(rule.recall),
        f(rule.f1),
        f(rule.roc_auc)
    );
    println!(
        "final model (all {} merges), standardised coefficients:",
        e.used
    );
    let mut coef: Vec<(&str, f64)> = FEATURE_NAMES
        .iter()
        .copied()
        .zip(trained.model.coefficients.iter().copied())
        .collect();
    coef.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    for (name, c) in coef {
        println!("  {name:<28} {c:+.3}");
    }
    println!(
        "  intercept                    {:+.3}",
        trained.model.intercept
    );
    if !trained.model.summary.zero_variance.is_empty() {
        println!("  zero variance: {:?}", trained.model.summary.zero_variance);
    }
    ExitCode::SUCCESS
}
