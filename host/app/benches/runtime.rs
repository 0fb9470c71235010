//! Plugin runtime overhead: cold start of a plugin from the precompiled cache, and one
//! invocation (instantiate from `InstancePre` + call) of a trivial analyzer.
//! Run with `cargo bench -p trellis --bench runtime`; prints medians against the targets.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use trellis_git::{RepoFacts, RepoScan, RepoStats};
use trellis_runtime::{Invocation, Runtime, RuntimeOptions};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let work = tempfile::tempdir().expect("temp dir");
    let crate_dir = xtask::workspace_root()
        .join("plugins")
        .join("stale-branches");
    let plugin_dir = xtask::build_plugin_dir(&crate_dir, &work.path().join("stale-branches"))
        .expect("build the stale-branches plugin");
    let config = trellis_app::config::Config::load(None).expect("default config");
    let options = RuntimeOptions {
        max_wasm_stack: 1 << 20,
        cache_dir: Some(work.path().join("cache")),
        data_dir: None,
        http: config.http,
        max_concurrent: 16,
        max_limits: config.limits,
    };
    let runtime = Runtime::new(&options).expect("runtime");
    // Fill the cache once; every later load deserializes the precompiled component.
    let plugin = runtime.load_dir(&plugin_dir).expect("load");

    let cold: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            let loaded = runtime.load_dir(&plugin_dir).expect("load");
            let elapsed = started.elapsed();
            drop(loaded);
            elapsed
        })
        .collect();

    let scan = RepoScan {
        facts: RepoFacts {
            path: "bench".into(),
            base: "main".into(),
            base_ref: "refs/heads/main".into(),
            base_tip: "0".repeat(40),
            head_branch: Some("main".into()),
            head_commit: None,
            bare: false,
            stats: RepoStats::default(),
        },
        branches: Vec::new(),
        errors: Vec::new(),
        profile: Default::default(),
    };
    let invoke = || {
        let invocation = Invocation {
            granted: BTreeSet::new(),
            config_json: r#"{"max_age_days":90,"report_merged":true}"#.into(),
            repo: None,
            limits: config.limits,
            scan_time: 0,
        };
        let started = Instant::now();
        let (result, _) = runtime.analyze(&plugin, &scan, invocation);
        let elapsed = started.elapsed();
        assert!(result.is_ok(), "{result:?}");
        elapsed
    };
    for _ in 0..100 {
        invoke();
    }
    let calls: Vec<Duration> = (0..2000).map(|_| invoke()).collect();

    let cold = median(cold);
    let call = median(calls);
    println!(
        "cold start from the precompiled cache: median {:.3} ms (target <= 1 ms: {})",
        cold.as_secs_f64() * 1e3,
        if cold <= Duration::from_millis(1) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "invocation (instantiate from InstancePre + trivial analyze): median {:.1} µs (target <= 100 µs: {})",
        call.as_secs_f64() * 1e6,
        if call <= Duration::from_micros(100) {
            "met"
        } else {
            "NOT met"
        }
    );
}
