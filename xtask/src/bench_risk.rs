//! `cargo xtask bench-risk`: the merge-risk plugin through the real `trellis` binary, on a
//! generated repository with a planted merge history (`cargo xtask fixture --merge-history`)
//! or on any repository given (a real one: its first-parent merges are the history).
//!
//! Two scans with one cache directory: the first fits the model (re-merging the history's
//! merges), the second finds it in the plugin's store and only scores the branches. Prints the
//! model's held-out figures, each scan's wall time, the plugin's time and the host's time
//! answering its queries, and peak RSS. A benchmark, never a test: nothing here decides an exit
//! code but a failed scan.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench::{BenchSpec, trellis_measured_cached};
use crate::fixture::{FixtureSpec, generate};

/// The plugin benchmarked.
const PLUGIN: &str = "merge-risk";

/// What to benchmark.
pub struct RiskBenchSpec {
    /// The repository generated when `repo` is not given (its `merge_history` planted).
    pub fixture: FixtureSpec,
    /// A repository to scan instead of a generated one.
    pub repo: Option<PathBuf>,
    /// The base branch (default: the repository's).
    pub base: Option<String>,
    /// The `trellis` binary.
    pub trellis: PathBuf,
    /// The plugin directory; built when absent.
    pub plugin: PathBuf,
    /// Where generated repositories, configs and caches are kept.
    pub dir: PathBuf,
    /// Past merges fitted on (the plugin's `max_merges`).
    pub max_merges: usize,
}

/// One scan, as the benchmark reads it.
struct Run {
    wall: Duration,
    rss_kb: Option<u64>,
    plugin_ms: f64,
    query_ms: f64,
    queries: u64,
    findings: Vec<Value>,
}

/// Runs the benchmark and prints its report.
pub fn run(spec: &RiskBenchSpec) -> Result<()> {
    let repo = match &spec.repo {
        Some(repo) => repo.clone(),
        None => {
            let f = &spec.fixture;
            let repo = spec.dir.join(format!(
                "repo-c{}-b{}-f{}-s{}-m{}",
                f.commits, f.branches, f.files, f.seed, f.merge_history
            ));
            if !repo.join(".git").is_dir() {
                println!("generating {} ...", repo.display());
                generate(f, &repo)?;
            }
            repo
        }
    };
    if !spec.plugin.join("plugin.toml").is_file() {
        let crate_dir = crate::workspace_root().join("plugins").join(PLUGIN);
        crate::build_plugin_dir(&crate_dir, &spec.plugin)?;
    }
    std::fs::create_dir_all(&spec.dir)
        .with_context(|| format!("cannot create {}", spec.dir.display()))?;
    let config = spec.dir.join("merge-risk-bench.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.{PLUGIN}]\n\
             grants = [\"git.history\", \"git.merge\", \"store\"]\n\
             config = {{ max_merges = {} }}\n\
             limits = {{ timeout_ms = 7_200_000, fuel = 10_000_000_000_000, merges = {}, query_kb = 4_000_000, memory_mb = 2_048 }}\n",
            spec.max_merges,
            spec.max_merges + 100_000,
        ),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    let cache = spec.dir.join("merge-risk-cache");
    if cache.exists() {
        std::fs::remove_dir_all(&cache)
            .with_context(|| format!("cannot remove {}", cache.display()))?;
    }
    let bench = BenchSpec {
        fixture: spec.fixture.clone(),
        trellis: spec.trellis.clone(),
        dir: spec.dir.clone(),
        jobs: 0,
        ahead_behind_only: false,
    };
    let mut args = vec![
        "--no-diffstat".to_string(),
        "--no-squash".into(),
        "--config".into(),
        config.display().to_string(),
        "--plugin".into(),
        spec.plugin.display().to_string(),
    ];
    if let Some(base) = &spec.base {
        args.extend(["--base".into(), base.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    println!("{}: fitting (first scan) ...", repo.display());
    let fit = scan(&bench, &repo, &args, &cache)?;
    let score = scan(&bench, &repo, &args, &cache)?;

    let model = fit
        .findings
        .iter()
        .find(|f| f["rule"] == "merge-risk/model")
        .context("no merge-risk/model finding")?;
    println!("\nmodel: {}", model["message"].as_str().unwrap_or_default());
    let scored = score
        .findings
        .iter()
        .filter(|f| f["rule"] == "merge-risk/branch")
        .count();
    let clusters = score
        .findings
        .iter()
        .filter(|f| f["rule"] == "merge-risk/overlap")
        .count();
    println!("branches scored: {scored}, overlap clusters: {clusters}\n");
    println!(
        "{:<28} {:>9} {:>11} {:>11} {:>8} {:>9}",
        "scan", "wall s", "plugin s", "queries s", "queries", "RSS MiB"
    );
    for (what, run) in [
        ("fit + score (first scan)", &fit),
        ("score (model in store)", &score),
    ] {
        println!(
            "{:<28} {:>9.2} {:>11.2} {:>11.2} {:>8} {:>9}",
            what,
            run.wall.as_secs_f64(),
            run.plugin_ms / 1000.0,
            run.query_ms / 1000.0,
            run.queries,
            run.rss_kb
                .map_or("-".into(), |kb| format!("{:.0}", kb as f64 / 1024.0)),
        );
    }
    println!(
        "\nfitting alone (first scan's plugin time less the second's): {:.2} s",
        (fit.plugin_ms - score.plugin_ms).max(0.0) / 1000.0
    );
    Ok(())
}

fn scan(bench: &BenchSpec, repo: &Path, args: &[&str], cache: &Path) -> Result<Run> {
    let (wall, rss_kb, report) = trellis_measured_cached(bench, repo, args, Some(cache))?;
    let result = report["repositories"][0]["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == PLUGIN))
        .context("no merge-risk result in the report")?;
    if result["status"] != "ok" {
        bail!("the plugin did not run: {result}");
    }
    let metrics = &result["metrics"];
    Ok(Run {
        wall,
        rss_kb,
        plugin_ms: metrics["duration_ms"].as_f64().unwrap_or(0.0),
        query_ms: metrics["query_ms"].as_f64().unwrap_or(0.0),
        queries: metrics["queries"].as_u64().unwrap_or(0),
        findings: result["output"].as_array().cloned().unwrap_or_default(),
    })
}
