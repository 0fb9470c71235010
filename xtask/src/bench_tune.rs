//! `cargo xtask bench-tune`: which plan is fastest for which shape of work, and how close the
//! tuning plugin's presets and its adaptive strategy get to it.
//!
//! Three generated shapes (`cargo xtask fixture`): many small repositories; one repository with
//! 2,000 branches; one repository without a commit-graph. For each, a grid of plans is run
//! through the `tuning` plugin's `fixed` strategy to find the best; then each preset (forced by
//! `--strategy NAME`) is timed, and the `adaptive` strategy runs ten times in a fresh store (its
//! history), the plans it picked at runs 1, 3 and 10 timed against the best. Times are the
//! scans' own (`profile.wall_ms` of the JSON report: from opening the first repository to the
//! last result, without process start or plugin loading), every scan with `--no-cache` so
//! that no run profits from an earlier one's caches. A benchmark, never a test: it prints, and
//! only a failed scan fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::fixture::{FixtureSpec, generate};

/// What to benchmark.
pub struct TuneBenchSpec {
    /// The `trellis` binary.
    pub trellis: PathBuf,
    /// The tuning plugin's directory.
    pub plugin: PathBuf,
    /// Where the generated repositories, stores and configs are kept.
    pub dir: PathBuf,
    /// Timed runs of each grid plan and preset, taking turns; the fastest counts.
    pub reps: usize,
    /// Scale the shapes down (1 = full: 24 repositories; 2,000 branches; 30,000 commits).
    pub scale_down: usize,
}

/// One shape of work.
struct Shape {
    name: &'static str,
    what: String,
    repos: Vec<PathBuf>,
}

/// A plan of the grid: workers over repositories, over branches, and the batch size.
type Knobs = (u32, u32, u32);

/// One timed scan.
struct Timed {
    wall_ms: f64,
    knobs: Knobs,
    report: Value,
}

/// Runs the benchmark and prints its tables.
pub fn run(spec: &TuneBenchSpec) -> Result<()> {
    if !spec.trellis.is_file() {
        bail!(
            "{} does not exist: build it first (cargo build -p trellis)",
            spec.trellis.display()
        );
    }
    if !spec.plugin.join("plugin.toml").is_file() {
        bail!(
            "{} is not a plugin: build it first (cargo xtask plugins)",
            spec.plugin.display()
        );
    }
    std::fs::create_dir_all(&spec.dir)?;
    let shapes = shapes(spec)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let grid: Vec<Knobs> = {
        let mut g = vec![
            (1, 1, 0),
            (cores, cores, 0),
            (cores * 2, cores * 2, 0),
            (cores, cores, 16),
            (cores, cores, 64),
            (cores, 1, 0),
            (1, cores, 0),
        ];
        g.dedup();
        g
    };
    let presets = ["small", "medium", "large", "very-large"];
    let mut rows = Vec::new();
    for shape in &shapes {
        println!("== {} ({})", shape.name, shape.what);
        // Grid plans and presets take turns, round after round, so that a change in the
        // machine's load affects them alike.
        let plans: Vec<Plan> = grid
            .iter()
            .map(|k| Plan::Fixed(*k))
            .chain(presets.iter().map(|p| Plan::Strategy(p)))
            .collect();
        let mut timed = best_of_each(spec, shape, &plans, spec.reps)?;
        let preset_times = timed.split_off(grid.len());
        let mut measured: Vec<(String, Timed)> = Vec::new();
        for (knobs, t) in grid.iter().zip(timed) {
            println!("  grid {:<28} {:>9.1} ms", describe(*knobs), t.wall_ms);
            measured.push((describe(*knobs), t));
        }
        let (best_name, best) = measured
            .iter()
            .min_by(|a, b| a.1.wall_ms.total_cmp(&b.1.wall_ms))
            .map(|(n, t)| (n.clone(), t.wall_ms))
            .context("no grid plan")?;
        let mut preset_ratios = Vec::new();
        for (preset, t) in presets.iter().zip(preset_times) {
            println!(
                "  preset {:<12} {:<22} {:>9.1} ms  {:.2}x",
                preset,
                describe(t.knobs),
                t.wall_ms,
                t.wall_ms / best
            );
            preset_ratios.push(t.wall_ms / best);
        }
        let adaptive = adaptive(spec, shape, best)?;
        rows.push((shape.name, best_name, best, preset_ratios, adaptive));
        if shape.name == "large" {
            // The per-stage profile of one full scan of the benchmark repository.
            if let Some((_, t)) = measured
                .iter()
                .min_by(|a, b| a.1.wall_ms.total_cmp(&b.1.wall_ms))
            {
                print_profile(&t.report);
            }
        }
    }
    println!();
    println!(
        "| shape | best plan (grid) | best | small | medium | large | very-large | adaptive run 1 | run 3 | run 10 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (shape, best_name, best, presets, adaptive) in rows {
        let ratios: Vec<String> = presets.iter().map(|r| format!("{r:.2}×")).collect();
        let adaptive: Vec<String> = adaptive
            .iter()
            .map(|(knobs, r)| format!("{r:.2}× ({})", short(*knobs)))
            .collect();
        println!(
            "| {shape} | {best_name} | {best:.0} ms | {} | {} |",
            ratios.join(" | "),
            adaptive.join(" | ")
        );
    }
    Ok(())
}

/// How a scan is planned.
enum Plan {
    /// The `fixed` strategy with these knobs.
    Fixed(Knobs),
    /// A strategy by name.
    Strategy(&'static str),
}

/// Ten runs of the adaptive strategy in a fresh store; the plans of runs 1, 3 and 10, each
/// timed as the faster of its own run and one more run of the same plan, relative to `best`.
fn adaptive(spec: &TuneBenchSpec, shape: &Shape, best: f64) -> Result<Vec<(Knobs, f64)>> {
    let home = spec.dir.join(format!("home-adaptive-{}", shape.name));
    if home.exists() {
        std::fs::remove_dir_all(&home)?;
    }
    let mut out = Vec::new();
    for run in 1..=10 {
        let t = scan(spec, shape, &Plan::Strategy("adaptive"), &home)?;
        if [1, 3, 10].contains(&run) {
            let home = spec.dir.join("home-again");
            let again = scan(spec, shape, &Plan::Fixed(t.knobs), &home)?;
            let wall = t.wall_ms.min(again.wall_ms);
            println!(
                "  adaptive run {run:<2} {:<22} {wall:>9.1} ms  {:.2}x",
                describe(t.knobs),
                wall / best
            );
            out.push((t.knobs, wall / best));
        }
    }
    Ok(out)
}

/// The fastest of `reps` scans with each plan, the plans taking turns (each scan in the
/// shape's own store).
fn best_of_each(
    spec: &TuneBenchSpec,
    shape: &Shape,
    plans: &[Plan],
    reps: usize,
) -> Result<Vec<Timed>> {
    let home = spec.dir.join(format!("home-{}", shape.name));
    let mut best: Vec<Option<Timed>> = plans.iter().map(|_| None).collect();
    for _ in 0..reps.max(1) {
        for (plan, best) in plans.iter().zip(&mut best) {
            let t = scan(spec, shape, plan, &home)?;
            if best.as_ref().is_none_or(|b| t.wall_ms < b.wall_ms) {
                *best = Some(t);
            }
        }
    }
    best.into_iter().map(|b| b.context("no run")).collect()
}

/// One scan, timed by its own profile.
fn scan(spec: &TuneBenchSpec, shape: &Shape, plan: &Plan, home: &Path) -> Result<Timed> {
    let mut cmd = Command::new(&spec.trellis);
    cmd.env("TRELLIS_HOME", home)
        .env("XDG_CONFIG_HOME", spec.dir.join("no-config"))
        .env_remove("TRELLIS_LOG")
        .args([
            "scan",
            "--format",
            "json",
            "--no-cache",
            "--quiet",
            "--plugin",
        ])
        .arg(&spec.plugin);
    match plan {
        Plan::Fixed((repo, branch, batch)) => {
            let config = spec.dir.join(format!("fixed-{repo}-{branch}-{batch}.toml"));
            std::fs::write(
                &config,
                format!(
                    "[plugins.tuning]\nconfig = {{ strategy = \"fixed\", repo_workers = {repo}, branch_workers = {branch}, batch_size = {batch} }}\n"
                ),
            )?;
            cmd.arg("--config").arg(config);
        }
        Plan::Strategy(name) => {
            cmd.args(["--strategy", name]);
        }
    }
    cmd.args(&shape.repos);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", spec.trellis.display()))?;
    if !out.status.success() {
        bail!(
            "trellis scan of {} exited {:?}: {}",
            shape.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: Value = serde_json::from_slice(&out.stdout).context("the JSON report")?;
    let profile = &report["profile"];
    let plan = &profile["plan"];
    if plan["source"] != "tuner" {
        bail!("the tuner did not plan the scan: {}", report["plan"]);
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0) as u32;
    Ok(Timed {
        wall_ms: profile["wall_ms"].as_f64().context("profile.wall_ms")?,
        knobs: (
            n(&plan["repo_workers"]),
            n(&plan["branch_workers"]),
            n(&plan["batch_size"]),
        ),
        report,
    })
}

/// Generates (once) the three shapes.
fn shapes(spec: &TuneBenchSpec) -> Result<Vec<Shape>> {
    let k = spec.scale_down.max(1);
    let repo = |name: &str, fixture: FixtureSpec| -> Result<PathBuf> {
        let out = spec.dir.join(name);
        let done = out.join(".bench-ready");
        if !done.is_file() {
            if out.exists() {
                std::fs::remove_dir_all(&out)?;
            }
            generate(&fixture, &out)?;
            std::fs::write(&done, "")?;
        }
        Ok(out)
    };
    let small_count = 24 / k;
    let mut small = Vec::new();
    for i in 0..small_count {
        small.push(repo(
            &format!("small-{i:02}"),
            FixtureSpec {
                commits: 400,
                branches: 12,
                files: 60,
                seed: i as u64 + 1,
                commit_graph: true,
                merge_history: 0,
                rename_history: 0,
            },
        )?);
    }
    let large_branches = 2_000 / k;
    let large = repo(
        &format!("large-{large_branches}"),
        FixtureSpec {
            commits: 6_000 / k,
            branches: large_branches,
            files: 400,
            seed: 7,
            commit_graph: true,
            merge_history: 0,
            rename_history: 0,
        },
    )?;
    let no_graph_commits = 30_000 / k;
    let no_graph = repo(
        &format!("no-graph-{no_graph_commits}"),
        FixtureSpec {
            commits: no_graph_commits,
            branches: 150,
            files: 300,
            seed: 11,
            commit_graph: false,
            merge_history: 0,
            rename_history: 0,
        },
    )?;
    Ok(vec![
        Shape {
            name: "many-small",
            what: format!(
                "{small_count} repositories of ~400 commits and 12 branches, commit-graphs"
            ),
            repos: small,
        },
        Shape {
            name: "large",
            what: format!(
                "1 repository, {large_branches} branches, ~{} commits, commit-graph",
                6_000 / k
            ),
            repos: vec![large],
        },
        Shape {
            name: "no-commit-graph",
            what: format!(
                "1 repository, 150 branches, ~{no_graph_commits} commits, no commit-graph"
            ),
            repos: vec![no_graph],
        },
    ])
}

fn describe((repo, branch, batch): Knobs) -> String {
    let batch = if batch == 0 {
        "host".to_string()
    } else {
        batch.to_string()
    };
    format!("repo {repo}, branch {branch}, batch {batch}")
}

fn short((repo, branch, batch): Knobs) -> String {
    format!("{repo}/{branch}/{batch}")
}

/// Prints the per-stage profile of a scan.
fn print_profile(report: &Value) {
    let p = &report["profile"];
    println!(
        "  profile of the best scan: {} branches, wall {} ms, CPU {} ms, peak RSS {} MiB",
        p["branches"],
        p["wall_ms"],
        p["cpu_ms"],
        p["peak_rss_bytes"].as_u64().unwrap_or(0) >> 20
    );
    for stage in p["stages"].as_array().into_iter().flatten() {
        println!(
            "    {:<24} wall {:>10} ms  CPU {:>10} ms",
            stage["name"].as_str().unwrap_or(""),
            stage["wall_ms"],
            stage["cpu_ms"]
        );
    }
}
