//! The strategies, natively: presets by scale, strategy selection, and the adaptive strategy's
//! exploration, halving and exploitation over a recorded history.

use tuning::adaptive::{self, MAX_CANDIDATES};
use tuning::{Config, Error, Machine, Probe, Repo, Run, Scale, Scope, Value, tune};

const GIB: u64 = 1 << 30;

fn probe(repos: usize, branches: u32, commits: u64, pack_bytes: u64) -> Probe {
    Probe {
        machine: Machine {
            cores: 4,
            memory_bytes: 16 * GIB,
        },
        repos: (0..repos)
            .map(|_| Repo {
                branches,
                pack_bytes,
                objects: commits * 3,
                graph_commits: Some(commits),
                repo_set: Some("set-a".into()),
            })
            .collect(),
    }
}

fn config(strategy: &str) -> Config {
    Config {
        strategy: strategy.into(),
        ..Config::default()
    }
}

/// The record the host would write of a scan with `settings` taking `wall_ms`.
fn record(probe: &Probe, knobs: (u32, u32, u32), wall_ms: f64) -> Run {
    let branches: u32 = probe.repos.iter().map(|r| r.branches).sum();
    let text = |s: &str| Value::Text(s.into());
    Run::new(
        branches,
        wall_ms as u64,
        [
            ("repo-set".to_string(), text(probe.repo_set().unwrap_or(""))),
            ("cores".into(), Value::Count(probe.machine.cores.into())),
            (
                "memory-bytes".into(),
                Value::Count(probe.machine.memory_bytes),
            ),
            (
                "commits".into(),
                Value::Count(probe.repos.iter().map(|r| r.commits()).sum()),
            ),
            (
                "pack-bytes".into(),
                Value::Count(probe.repos.iter().map(|r| r.pack_bytes).sum()),
            ),
            ("wall-ms".into(), Value::Number(wall_ms)),
            ("plan.source".into(), text("tuner")),
            ("plan.repo-workers".into(), Value::Count(knobs.0.into())),
            ("plan.branch-workers".into(), Value::Count(knobs.1.into())),
            ("plan.batch-size".into(), Value::Count(knobs.2.into())),
        ],
    )
}

#[test]
fn the_scale_is_the_largest_any_measure_reaches() {
    assert_eq!(Scale::of(&probe(1, 40, 3_000, 1 << 20)), Scale::Small);
    assert_eq!(Scale::of(&probe(1, 900, 3_000, 1 << 20)), Scale::Medium);
    assert_eq!(Scale::of(&probe(1, 40, 500_000, 1 << 20)), Scale::Large);
    assert_eq!(Scale::of(&probe(1, 2_000, 90_000, 1 << 20)), Scale::Large);
    assert_eq!(Scale::of(&probe(1, 40, 3_000, 20 * GIB)), Scale::VeryLarge);
    // Many small repositories add up.
    assert_eq!(Scale::of(&probe(20, 30, 500, 1 << 20)), Scale::Medium);
    // Without a commit-graph, commits are estimated from the objects.
    let mut p = probe(1, 10, 0, 0);
    p.repos[0].graph_commits = None;
    p.repos[0].objects = 450_000;
    assert_eq!(Scale::of(&p), Scale::Medium);
}

#[test]
fn presets_plan_for_the_machine_and_the_configured_facts() {
    let small = tune(&probe(1, 40, 3_000, 1 << 20), &[], &config("presets")).unwrap();
    assert_eq!(small.knobs(), (1, 1, 0));
    assert!(
        small.reason.starts_with("presets: small scale"),
        "{}",
        small.reason
    );
    let large = tune(&probe(1, 2_000, 90_000, 1 << 20), &[], &config("presets")).unwrap();
    assert_eq!(large.knobs(), (4, 4, 16));
    assert_eq!(
        large.conflicts_scope,
        Scope::Overlap,
        "applies if --conflicts"
    );
    assert!(!large.conflicts);
    assert_eq!(small.conflicts_scope, Scope::All);
    let very = tune(&probe(1, 40, 3_000, 20 * GIB), &[], &config("very-large")).unwrap();
    assert_eq!(very.knobs(), (2, 4, 32));
    assert_eq!(very.memory_mb, 4 * 1024);
    let conflicts = Config {
        conflicts: true,
        diffstat: false,
        ..config("large")
    };
    let forced = tune(&probe(1, 40, 3_000, 1 << 20), &[], &conflicts).unwrap();
    assert_eq!(
        forced.knobs(),
        (4, 4, 16),
        "a named preset wins over the scale"
    );
    assert_eq!(forced.conflicts_scope, Scope::Overlap);
    assert!(forced.conflicts && !forced.diffstat && forced.squash);
    let mut no_graph = probe(1, 40, 3_000, 1 << 20);
    no_graph.repos[0].graph_commits = None;
    let s = tune(&no_graph, &[], &config("presets")).unwrap();
    assert!(s.reason.contains("commit-graph write"), "{}", s.reason);
}

#[test]
fn unknown_strategies_are_refused_by_name() {
    let e = tune(&probe(1, 1, 1, 1), &[], &config("fastest\u{1b}[2J")).unwrap_err();
    assert_eq!(e, Error::UnknownStrategy("fastest\u{1b}[2J".into()));
    assert_eq!(e.code(), "unknown-strategy");
    let text = e.to_string();
    assert!(text.contains("adaptive, presets, small, medium, large, very-large, fixed"));
    assert!(!text.contains('\u{1b}'), "{text}");
}

#[test]
fn fixed_plans_exactly_what_is_configured() {
    let c = Config {
        repo_workers: 3,
        branch_workers: 7,
        batch_size: 9,
        memory_mb: 100,
        conflicts: true,
        conflicts_scope: Some(Scope::Overlap),
        cache: false,
        ..config("fixed")
    };
    let s = tune(&probe(1, 1, 1, 1), &[], &c).unwrap();
    assert_eq!(s.knobs(), (3, 7, 9));
    assert_eq!(
        (s.memory_mb, s.conflicts_scope, s.cache),
        (100, Scope::Overlap, false)
    );
}

#[test]
fn adaptive_explores_halves_then_exploits_the_fastest() {
    let p = probe(1, 2_000, 90_000, 1 << 20);
    let c = config("adaptive");
    let candidates = adaptive::candidates(&p, &c);
    assert!(candidates.len() <= MAX_CANDIDATES && candidates.len() >= 4);
    assert_eq!(candidates[0].knobs(), (4, 4, 16), "the preset first");
    // A made-up cost per candidate: the third is fastest, the first close behind.
    let cost = |knobs: (u32, u32, u32)| match candidates.iter().position(|c| c.knobs() == knobs) {
        Some(0) => 110.0,
        Some(2) => 100.0,
        Some(i) => 200.0 + i as f64,
        None => panic!("not a candidate: {knobs:?}"),
    };
    let mut history: Vec<Run> = Vec::new();
    let mut chosen = Vec::new();
    for _ in 0..12 {
        let s = tune(&p, &history, &c).unwrap();
        chosen.push(s.knobs());
        history.push(record(&p, s.knobs(), cost(s.knobs())));
    }
    let order: Vec<_> = candidates.iter().map(|c| c.knobs()).collect();
    assert_eq!(
        &chosen[..order.len()],
        &order[..],
        "every candidate once, in order"
    );
    let half = order.len().div_ceil(2);
    let again = &chosen[order.len()..order.len() + half];
    assert!(
        again.contains(&order[0]) && again.contains(&order[2]),
        "{again:?}"
    );
    for knobs in &chosen[order.len() + half..] {
        assert_eq!(*knobs, order[2], "exploits the fastest");
    }
    let last = tune(&p, &history, &c).unwrap();
    assert!(
        last.reason.starts_with("adaptive: using the fastest"),
        "{}",
        last.reason
    );
}

#[test]
fn adaptive_explores_again_when_the_work_or_the_machine_changes() {
    let p = probe(1, 2_000, 90_000, 1 << 20);
    let c = config("adaptive");
    let mut history = Vec::new();
    for _ in 0..10 {
        let s = tune(&p, &history, &c).unwrap();
        history.push(record(&p, s.knobs(), 100.0));
    }
    assert!(
        tune(&p, &history, &c)
            .unwrap()
            .reason
            .contains("using the fastest")
    );
    let mut other_set = p.clone();
    other_set.repos[0].repo_set = Some("set-b".into());
    let mut other_machine = p.clone();
    other_machine.machine.cores = 8;
    let mut grown = p.clone();
    grown.repos[0].branches = 9_000;
    for changed in [other_set, other_machine, grown] {
        let s = tune(&changed, &history, &c).unwrap();
        assert!(
            s.reason.starts_with("adaptive: exploring candidate 1 of"),
            "{}",
            s.reason
        );
    }
    // Runs the tuner did not plan (it failed, the configuration decided) teach nothing.
    let mut configured = record(&p, (4, 4, 16), 1.0);
    configured
        .extra
        .insert("plan.source".into(), Value::Text("configured".into()));
    let s = tune(&p, &[configured], &c).unwrap();
    assert!(
        s.reason.contains("exploring candidate 1 of"),
        "{}",
        s.reason
    );
}

#[test]
fn a_candidate_counts_its_best_run_of_the_same_work_only() {
    let p = probe(1, 2_000, 90_000, 1 << 20);
    let c = config("adaptive");
    let candidates = adaptive::candidates(&p, &c);
    let first = candidates[0].knobs();
    let mut other_machine = p.clone();
    other_machine.machine.memory_bytes = 64 * GIB;
    let history = [
        record(&p, first, 300.0),
        record(&p, first, 100.0),
        // Faster, but on another machine: not this work.
        record(&other_machine, first, 10.0),
    ];
    let tallies = adaptive::tallies(&candidates, &history, &p);
    assert_eq!(tallies[0].runs, 2);
    assert_eq!(
        tallies[0].best_ms, 100.0,
        "load only adds time: the best run counts"
    );
    assert!(tallies[1..].iter().all(|t| t.runs == 0));
}
