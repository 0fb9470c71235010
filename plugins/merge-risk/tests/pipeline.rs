//! The whole engine on a synthetic repository, as the glue drives it: train and evaluate on the
//! history, cluster the current branches, assess each, summarise the riskiest and build their
//! LLM requests.

use merge_risk::config::Config;
use merge_risk::eval::train_and_evaluate;
use merge_risk::overlap::{branch_paths, clusters};
use merge_risk::risk::{Recommendation, assess_with};
use merge_risk::summary::{BYTES_PER_TOKEN, cache_key, chat_request, summarize};
use merge_risk::synth::{SynthOptions, synthetic_candidates, synthetic_history};
use merge_risk::{FEATURE_NAMES, Model};

#[test]
fn history_to_summaries() {
    let config = Config::default();
    let synth = SynthOptions {
        merges: 800,
        seed: 42,
        ..SynthOptions::default()
    };
    let history = synthetic_history(&synth);
    let trained = train_and_evaluate(&history, &config.eval_options()).unwrap();
    let line = trained.evaluation.describe();
    assert!(line.starts_with("trained on 600 merges"), "{line}");
    assert!(line.contains("measured on the newest 200"), "{line}");

    // The model survives serialisation unchanged (the host may cache it).
    let model = Model::from_bytes(&trained.model.to_bytes()).unwrap();
    assert_eq!(model, trained.model);

    let now = history.last().unwrap().time + 86_400;
    let candidates = synthetic_candidates(&synth, 300, now);
    let paths = branch_paths(&candidates);
    let report = clusters(&paths, &config.overlap_options());
    assert!(report.clusters.len() <= config.overlap.max_clusters);
    assert!(
        report
            .clusters
            .iter()
            .all(|c| c.branches.len() <= config.overlap.max_cluster_size)
    );

    let risk = config.risk_options();
    let mut assessed: Vec<_> = candidates
        .iter()
        .map(|c| (c, assess_with(&model, c, &report.info(&c.branch), &risk)))
        .collect();
    for (c, a) in &assessed {
        assert!(a.score <= 100);
        assert!((0.0..=1.0).contains(&a.probability));
        assert_eq!(a.predicted_conflict, a.probability >= model.threshold);
        assert_eq!(a.top_factors.len(), config.top_factors);
        assert!(FEATURE_NAMES.contains(&a.top_factors[0].name.as_str()));
        if let Recommendation::Coordinate { with } = &a.recommendation {
            assert!(!with.is_empty() && !with.contains(&c.branch));
        }
    }
    // Riskiest first, ties by name: what the glue summarises (`llm.top_n`).
    assessed.sort_by(|a, b| {
        b.1.probability
            .total_cmp(&a.1.probability)
            .then(a.0.branch.cmp(&b.0.branch))
    });
    let top = &assessed[..config.llm.top_n];
    assert!(top[0].1.score >= top[top.len() - 1].1.score);
    for (c, a) in top {
        let s = summarize(c, a);
        assert!(s.why.starts_with(&format!("Risk {}/100", a.score)));
        let req = chat_request("m", 200, 1000, c, a);
        let bytes: usize = req["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().len())
            .sum();
        assert!(bytes <= 800 * BYTES_PER_TOKEN);
        assert!(cache_key(&c.tip, "base", "m").starts_with("merge-risk-p"));
    }
}
