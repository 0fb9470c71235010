//! `cargo xtask bench`: Trellis against the git CLI on one generated repository, measured in
//! the same run, with and without a commit-graph. Prints times, ratios, agreement counts and
//! peak RSS. A benchmark, never a test: nothing here asserts a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::fixture::{FixtureSpec, generate};

/// What to benchmark.
pub struct BenchSpec {
    pub fixture: FixtureSpec,
    /// The `trellis` binary (a release build).
    pub trellis: PathBuf,
    /// Where generated repositories are kept between runs.
    pub dir: PathBuf,
    /// Workers for Trellis and for the git CLI loop.
    pub jobs: usize,
    /// Stop after the ahead/behind comparison (a quick run).
    pub ahead_behind_only: bool,
}

/// git's answers for one branch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct GitFacts {
    ahead: u64,
    behind: u64,
    merge_bases: Vec<String>,
    diffstat: (u64, u64, u64),
    /// `None` when clean.
    conflicts: Option<Vec<String>>,
    squash_merged: bool,
    merge_tree_time: Duration,
}

/// Runs the benchmark and prints its report.
pub fn run(spec: &BenchSpec) -> Result<()> {
    let f = &spec.fixture;
    let repo = spec.dir.join(format!(
        "repo-c{}-b{}-f{}-s{}",
        f.commits, f.branches, f.files, f.seed
    ));
    if !repo.join(".git").is_dir() {
        println!("generating {} ...", repo.display());
        let started = Instant::now();
        generate(
            &FixtureSpec {
                commit_graph: false,
                ..f.clone()
            },
            &repo,
        )?;
        println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    let commits = crate::git::output(&repo, &["rev-list", "--all", "--count"])?;
    let branches = crate::git::output(
        &repo,
        &["for-each-ref", "--count=100000", "--format=x", "refs/heads"],
    )?
    .lines()
    .count();
    println!(
        "repository: {} commits, {} branches, {} files at main; {} jobs; trellis {}",
        commits.trim(),
        branches,
        crate::git::output(&repo, &["ls-tree", "-r", "--name-only", "main"])?
            .lines()
            .count(),
        spec.jobs,
        spec.trellis.display()
    );

    println!("\n== ahead/behind of every branch (best of 3)");
    // Without a commit-graph Trellis scans the packs; the second row is every later scan,
    // which reads the parents of packed commits from its per-pack cache.
    let commit_cache = spec.dir.join("commit-cache");
    let rows = [
        (false, None, "no commit-graph, 1st:"),
        (
            false,
            Some(commit_cache.as_path()),
            "no commit-graph, later:",
        ),
        (true, None, "with commit-graph:"),
    ];
    let mut git_result: Option<(bool, Duration, Vec<String>)> = None;
    for (graph, cache, label) in rows {
        set_commit_graph(&repo, graph)?;
        let (git_time, git_lines) = match &git_result {
            Some((g, time, lines)) if *g == graph => (*time, lines.clone()),
            _ => {
                let (time, out) = best_of(3, || {
                    let mut cmd = crate::git::command(&repo);
                    cmd.args([
                        "for-each-ref",
                        "--format=%(refname:short) %(ahead-behind:main)",
                        "refs/heads",
                    ]);
                    cmd
                })?;
                let lines = git_ahead_behind(out)?;
                git_result = Some((graph, time, lines.clone()));
                (time, lines)
            }
        };
        let flags = ["--no-diffstat", "--no-squash", "--no-conflicts"];
        if let Some(dir) = cache {
            let _ = std::fs::remove_dir_all(dir);
            trellis_json(spec, &repo, &flags, cache)?;
        }
        let (trellis_time, out) = best_of(3, || trellis_cmd(spec, &repo, &flags, cache))?;
        let report = check(out, "trellis scan")?;
        let mut trellis_lines: Vec<String> = branches_of(&report)?
            .iter()
            .map(|b| {
                format!(
                    "{} {} {}",
                    b["name"].as_str().unwrap_or(""),
                    b["ahead"],
                    b["behind"]
                )
            })
            .collect();
        trellis_lines.sort();
        let identical = git_lines == trellis_lines;
        println!(
            "{:<24} git for-each-ref {:>9.1} ms | trellis {:>7.1} ms | {:>6.1}x faster | output {}",
            label,
            ms(git_time),
            ms(trellis_time),
            git_time.as_secs_f64() / trellis_time.as_secs_f64(),
            if identical {
                "identical".to_string()
            } else {
                format!(
                    "DIFFERENT ({} vs {} lines)",
                    git_lines.len(),
                    trellis_lines.len()
                )
            }
        );
    }

    if spec.ahead_behind_only {
        return Ok(());
    }
    // The rest runs with the commit-graph, as git maintenance leaves repositories.
    set_commit_graph(&repo, true)?;
    println!(
        "\n== all facts including conflict prediction, {} jobs",
        spec.jobs
    );
    let (full_time, rss, report) =
        trellis_measured(spec, &repo, &["--diffstat", "--squash", "--conflicts"])?;
    let (no_conflicts_time, _, _) =
        trellis_measured(spec, &repo, &["--diffstat", "--squash", "--no-conflicts"])?;
    let trellis_branches = branches_of(&report)?;
    println!(
        "trellis scan (all facts): {:.0} ms, peak RSS {}",
        ms(full_time),
        rss.map_or("unknown".into(), |kb| format!(
            "{:.1} MiB",
            kb as f64 / 1024.0
        ))
    );

    let names: Vec<String> = trellis_branches
        .iter()
        .filter_map(|b| b["name"].as_str().map(String::from))
        .collect();
    let started = Instant::now();
    let git_facts = git_loop(&repo, &names, spec.jobs)?;
    let git_time = started.elapsed();
    println!(
        "git CLI loop, {} parallel jobs (rev-list, merge-base --all, branch --merged, diff --shortstat, merge-tree, log): {:.0} ms",
        spec.jobs,
        ms(git_time)
    );
    println!(
        "ratio: trellis is {:.1}x faster",
        git_time.as_secs_f64() / full_time.as_secs_f64()
    );

    println!("\n== agreement with git ({} branches)", names.len());
    let merged: std::collections::HashSet<String> = crate::git::output(
        &repo,
        &["branch", "--format=%(refname:short)", "--merged", "main"],
    )?
    .lines()
    .map(String::from)
    .collect();
    let mut agree: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conflicting = 0;
    let mut squashed = 0;
    for b in &trellis_branches {
        let name = b["name"].as_str().unwrap_or("");
        let Some(g) = git_facts.get(name) else {
            continue;
        };
        let ds = &b["diffstat"];
        let mine_conflicts = match b["conflicts"]["verdict"].as_str() {
            Some("clean") => None,
            _ => Some(
                b["conflicts"]["paths"]
                    .as_array()
                    .map(|p| {
                        p.iter()
                            .filter_map(|p| p.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        };
        let mut mine_bases: Vec<String> = b["merge_bases"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        mine_bases.sort();
        let checks = [
            (
                "ahead/behind",
                b["ahead"] == g.ahead && b["behind"] == g.behind,
            ),
            ("merge-base --all", mine_bases == g.merge_bases),
            ("branch --merged", b["merged"] == merged.contains(name)),
            (
                "diff --shortstat",
                (
                    ds["files_changed"].as_u64(),
                    ds["insertions"].as_u64(),
                    ds["deletions"].as_u64(),
                ) == (Some(g.diffstat.0), Some(g.diffstat.1), Some(g.diffstat.2)),
            ),
            ("merge-tree verdict+paths", mine_conflicts == g.conflicts),
            (
                "squash (merge changes nothing)",
                b["squash_merged"] == g.squash_merged,
            ),
        ];
        for (what, ok) in checks {
            *agree.entry(what).or_default() += usize::from(ok);
            if !ok {
                eprintln!("  mismatch on {name}: {what}");
            }
        }
        conflicting += usize::from(g.conflicts.is_some());
        squashed += usize::from(g.squash_merged);
    }
    for (what, n) in &agree {
        println!("{what:<32} {n}/{}", names.len());
    }
    println!("({conflicting} branches conflict with main, {squashed} are squash-merged)");

    let git_merge_tree: Duration = git_facts.values().map(|g| g.merge_tree_time).sum();
    let per_branch_git = ms(git_merge_tree) / names.len().max(1) as f64;
    let per_branch_trellis = ms(full_time.saturating_sub(no_conflicts_time)) * spec.jobs as f64
        / names.len().max(1) as f64;
    println!(
        "\n== conflict prediction per branch (CPU time)\ngit merge-tree: {per_branch_git:.2} ms | trellis: {per_branch_trellis:.2} ms | {:.1}x faster",
        per_branch_git / per_branch_trellis.max(1e-6)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the command `n` times; returns the shortest wall time (of the process alone, not of
/// reading its output) and the output of that run.
fn best_of(n: usize, mut command: impl FnMut() -> Command) -> Result<(Duration, Output)> {
    let mut best: Option<(Duration, Output)> = None;
    for _ in 0..n {
        let mut cmd = command();
        let started = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.context("no run")
}

fn set_commit_graph(repo: &Path, present: bool) -> Result<()> {
    let info = repo.join(".git/objects/info");
    let _ = std::fs::remove_file(info.join("commit-graph"));
    let _ = std::fs::remove_dir_all(info.join("commit-graphs"));
    if present {
        crate::git::output(repo, &["commit-graph", "write", "--reachable"])?;
    }
    Ok(())
}

/// The output of `git for-each-ref --format='%(refname:short) %(ahead-behind:main)'` as sorted
/// "name ahead behind" lines, without main.
fn git_ahead_behind(out: Output) -> Result<Vec<String>> {
    if !out.status.success() {
        bail!(
            "git for-each-ref failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("main "))
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            format!(
                "{} {} {}",
                parts[0],
                parts.get(1).unwrap_or(&""),
                parts.get(2).unwrap_or(&"")
            )
        })
        .collect();
    lines.sort();
    Ok(lines)
}

/// `trellis scan` with caches in `cache`, or with `--no-cache`.
fn trellis_cmd(spec: &BenchSpec, repo: &Path, args: &[&str], cache: Option<&Path>) -> Command {
    let mut cmd = Command::new(&spec.trellis);
    // A benchmark measures; findings are its data, not a gate.
    cmd.args([
        "scan",
        "--format",
        "json",
        "--quiet",
        "--fail-on",
        "never",
        "--jobs",
    ])
    .arg(spec.jobs.to_string())
    .args(args)
    .arg(repo)
    .env("XDG_CONFIG_HOME", spec.dir.join("no-config"));
    match cache {
        Some(dir) => cmd.env("TRELLIS_CACHE_DIR", dir),
        None => cmd.arg("--no-cache"),
    };
    cmd
}

fn check(out: Output, what: &str) -> Result<Value> {
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{what}: not JSON"))
}

fn trellis_json(
    spec: &BenchSpec,
    repo: &Path,
    args: &[&str],
    cache: Option<&Path>,
) -> Result<Value> {
    let out = trellis_cmd(spec, repo, args, cache)
        .output()
        .context("cannot run trellis")?;
    check(out, "trellis scan")
}

/// Runs trellis once under `/usr/bin/time -v` when available; returns time, peak RSS (KiB)
/// and the report.
pub(crate) fn trellis_measured(
    spec: &BenchSpec,
    repo: &Path,
    args: &[&str],
) -> Result<(Duration, Option<u64>, Value)> {
    trellis_measured_cached(spec, repo, args, None)
}

/// [`trellis_measured`] with the caches (and plugins' stores) in `cache` (`None`: `--no-cache`).
pub(crate) fn trellis_measured_cached(
    spec: &BenchSpec,
    repo: &Path,
    args: &[&str],
    cache: Option<&Path>,
) -> Result<(Duration, Option<u64>, Value)> {
    let cmd = trellis_cmd(spec, repo, args, cache);
    let time = Path::new("/usr/bin/time");
    let started = Instant::now();
    let (out, rss) = if time.is_file() {
        let mut timed = Command::new(time);
        timed.arg("-v").arg(cmd.get_program()).args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                timed.env(k, v);
            }
        }
        let out = timed.output().context("cannot run /usr/bin/time")?;
        let rss = String::from_utf8_lossy(&out.stderr)
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok());
        (out, rss)
    } else {
        let mut cmd = cmd;
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("cannot run trellis")?;
        let pid = child.id();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let watcher = {
            let peak = peak.clone();
            std::thread::spawn(move || {
                // Until the process is gone: its VmHWM, in KiB as before.
                while let Some(bytes) = trellis_os::memory::peak_rss_bytes_of(pid) {
                    peak.fetch_max(bytes / 1024, std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let out = child.wait_with_output().context("trellis")?;
        let _ = watcher.join();
        (
            out,
            Some(peak.load(std::sync::atomic::Ordering::Relaxed)).filter(|p| *p > 0),
        )
    };
    let took = started.elapsed();
    Ok((took, rss, check(out, "trellis scan")?))
}

fn branches_of(report: &Value) -> Result<Vec<Value>> {
    let repo = &report["repositories"][0];
    if let Some(errors) = repo["branch_errors"].as_array().filter(|e| !e.is_empty()) {
        bail!("trellis reported branch errors: {errors:?}");
    }
    repo["branches"]
        .as_array()
        .cloned()
        .context("no branches in the report")
}

/// The same facts from the git CLI, branch by branch, `jobs` branches at a time.
fn git_loop(repo: &Path, names: &[String], jobs: usize) -> Result<BTreeMap<String, GitFacts>> {
    let main_tree = crate::git::output(repo, &["rev-parse", "main^{tree}"])?
        .trim()
        .to_string();
    let queue = Mutex::new(names.iter());
    let results = Mutex::new(BTreeMap::new());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.next().cloned());
                    let Ok(Some(name)) = next else { break };
                    match git_branch(repo, &name, &main_tree) {
                        Ok(facts) => {
                            if let Ok(mut r) = results.lock() {
                                r.insert(name, facts);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a git worker panicked"))
}

fn git_branch(repo: &Path, name: &str, main_tree: &str) -> Result<GitFacts> {
    let range = format!("main...{name}");
    let counts = crate::git::output(repo, &["rev-list", "--left-right", "--count", &range])?;
    let mut counts = counts
        .split_whitespace()
        .map(|n| n.parse::<u64>().unwrap_or(0));
    let behind = counts.next().unwrap_or(0);
    let ahead = counts.next().unwrap_or(0);
    let merge_bases = crate::git::merge_bases(repo, "main", name)?;
    let diffstat = crate::git::shortstat(repo, "main", name)?;
    let started = Instant::now();
    let merge = crate::git::merge_tree(repo, "main", name)?;
    let merge_tree_time = started.elapsed();
    let (tree, conflicts) = (merge.tree, merge.conflicts);
    crate::git::output(
        repo,
        &[
            "log",
            "-1",
            "--format=%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%s",
            name,
        ],
    )?;
    Ok(GitFacts {
        ahead,
        behind,
        merge_bases,
        diffstat,
        squash_merged: ahead > 0 && conflicts.is_none() && tree == main_tree && diffstat.0 > 0,
        conflicts,
        merge_tree_time,
    })
}
