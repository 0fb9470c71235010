//! `cargo xtask bench-policy`: a full scan of every branch by the `enterprise-policy` plugin
//! through the real `trellis` binary, on a generated repository with planted secrets, decoys
//! and violations (`cargo xtask fixture --plant-secrets`) or on any repository given.
//!
//! Prints the wall time, the plugin's own time (its `duration_ms` less the host's `query_ms`),
//! fuel, the bytes of added content, the MB/s the plugin scans them at (one core: a plugin
//! invocation is single-threaded), the recall of the planted secrets and violations, the
//! findings on decoys, and the findings by rule. A second run with only the secrets rule
//! measures the secret scanner apart from the commit and branch rules. A benchmark, never a
//! test: only recall decides the exit code, never a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench::{BenchSpec, trellis_measured};
use crate::fixture::{FixtureSpec, generate_planted, planted_manifest_path};

/// The plugin benchmarked.
const PLUGIN: &str = "enterprise-policy";

/// What to benchmark.
pub struct PolicyBenchSpec {
    /// The repository generated when `repo` is not given.
    pub fixture: FixtureSpec,
    /// A repository to scan instead of a generated one (recall only if it has a manifest).
    pub repo: Option<PathBuf>,
    /// The `trellis` binary.
    pub trellis: PathBuf,
    /// The plugin directory; built with `cargo xtask plugins` when absent.
    pub plugin: PathBuf,
    /// Where generated repositories and configs are kept.
    pub dir: PathBuf,
    /// Trellis workers.
    pub jobs: usize,
    /// Runs of each secrets-only config; the one with the shortest plugin time counts.
    pub runs: usize,
    /// The plugin's limits, as `[plugins.enterprise-policy] limits` takes them.
    pub limits: BTreeMap<&'static str, i64>,
}

/// Limits a full scan of a few thousand branches needs (the defaults suit one invocation over
/// a handful of branches): all the branches' added lines are returned to one invocation, and
/// every commit of every branch can give commit-rule findings.
pub fn default_limits() -> BTreeMap<&'static str, i64> {
    BTreeMap::from([
        ("timeout_ms", 900_000),
        ("fuel", 5_000_000_000_000),
        ("query_kb", 4_000_000),
        ("memory_mb", 2_048),
        ("max_result_kb", 131_072),
    ])
}

/// One scan's answer for the plugin.
struct PluginRun {
    wall: Duration,
    rss_kb: Option<u64>,
    duration_ms: f64,
    query_ms: f64,
    fuel: u64,
    query_bytes: u64,
    findings: Vec<Value>,
    /// The base branch Trellis aligned against.
    base: String,
}

impl PluginRun {
    /// The plugin's own time in ms (not answering its queries).
    fn own_ms(&self) -> f64 {
        (self.duration_ms - self.query_ms).max(1e-3)
    }

    /// MB (10^6 bytes) of host answers the plugin went through per second of its own time.
    fn mb_per_s(&self) -> f64 {
        self.query_bytes as f64 / 1e6 / (self.own_ms() / 1000.0)
    }
}

/// Runs the benchmark and prints its report; `Ok(false)` when a planted secret or violation
/// was missed.
pub fn run(spec: &PolicyBenchSpec) -> Result<bool> {
    let repo = match &spec.repo {
        Some(repo) => repo.clone(),
        None => {
            let f = &spec.fixture;
            let repo = spec.dir.join(format!(
                "repo-c{}-b{}-f{}-s{}-planted",
                f.commits, f.branches, f.files, f.seed
            ));
            if !repo.join(".git").is_dir() {
                println!("generating {} ...", repo.display());
                generate_planted(f, &repo)?;
            }
            repo
        }
    };
    let manifest_path = planted_manifest_path(&repo);
    let manifest: Option<Value> = if manifest_path.is_file() {
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        Some(serde_json::from_str(&text).with_context(|| format!("{}", manifest_path.display()))?)
    } else {
        None
    };
    if !spec.plugin.join("plugin.toml").is_file() {
        let crate_dir = crate::workspace_root().join("plugins").join(PLUGIN);
        crate::build_plugin_dir(&crate_dir, &spec.plugin)?;
    }
    std::fs::create_dir_all(&spec.dir)
        .with_context(|| format!("cannot create {}", spec.dir.display()))?;

    let example = crate::workspace_root()
        .join("plugins")
        .join(PLUGIN)
        .join("example.toml");
    let example: toml::Table = std::fs::read_to_string(&example)
        .with_context(|| format!("cannot read {}", example.display()))?
        .parse()
        .with_context(|| format!("{}", example.display()))?;
    let all_path = write_config(
        spec,
        &policy_config(&example, Rules::All)?,
        "all-rules.toml",
    )?;
    let secrets_path = write_config(
        spec,
        &policy_config(&example, Rules::Secrets)?,
        "secrets-only.toml",
    )?;
    let baseline_path = write_config(
        spec,
        &policy_config(&example, Rules::SecretsNoBranch)?,
        "secrets-no-branch.toml",
    )?;

    let bench = BenchSpec {
        fixture: spec.fixture.clone(),
        trellis: spec.trellis.clone(),
        dir: spec.dir.clone(),
        jobs: spec.jobs,
        ahead_behind_only: false,
    };
    let branches = crate::git::output(&repo, &["for-each-ref", "--format=x", "refs/heads"])?
        .lines()
        .count();
    println!(
        "repository: {} ({} commits, {} branches); trellis {}; plugin {}",
        repo.display(),
        crate::git::output(&repo, &["rev-list", "--all", "--count"])?.trim(),
        branches,
        spec.trellis.display(),
        spec.plugin.display()
    );
    let limits: Vec<String> = spec
        .limits
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    println!("plugin limits: {}", limits.join(", "));
    println!(
        "config: {} (every rule family of example.toml)",
        all_path.display()
    );

    let full = scan(&bench, &repo, spec, &all_path)?;
    // The scanner's time is a difference of two short times: the best of a few runs each.
    let secrets = best_scan(&bench, &repo, spec, &secrets_path)?;
    let baseline = best_scan(&bench, &repo, spec, &baseline_path)?;
    let base = full.base.clone();
    let (distinct_bytes, distinct_commits) = added_bytes(&repo, &base)?;

    println!(
        "\n== full policy scan of {branches} branches (--no-cache, {} jobs; secrets runs: best of {})",
        spec.jobs,
        spec.runs.max(1)
    );
    println!(
        "{:<22} {:>9} {:>11} {:>9} {:>9} {:>12} {:>12} {:>9} {:>9}",
        "run",
        "wall s",
        "plugin ms",
        "query ms",
        "own ms",
        "fuel",
        "query bytes",
        "MB/s own",
        "findings"
    );
    for (name, r) in [
        ("all rules", &full),
        ("secrets rule only", &secrets),
        ("secrets, no branch", &baseline),
    ] {
        println!(
            "{:<22} {:>9.2} {:>11.0} {:>9.0} {:>9.0} {:>12} {:>12} {:>9.1} {:>9}",
            name,
            r.wall.as_secs_f64(),
            r.duration_ms,
            r.query_ms,
            r.own_ms(),
            r.fuel,
            r.query_bytes,
            r.mb_per_s(),
            r.findings.len()
        );
    }
    println!(
        "peak RSS (all rules): {}",
        full.rss_kb.map_or("unknown".into(), |kb| format!(
            "{:.1} MiB",
            kb as f64 / 1024.0
        ))
    );
    println!(
        "added content: {:.2} MB returned to the plugin for the secrets rule (a commit on several branches counts once per branch); {:.2} MB distinct (`git log -p --no-merges --branches --not {base}`, {distinct_commits} commits)",
        secrets.query_bytes as f64 / 1e6,
        distinct_bytes as f64 / 1e6
    );
    // The scanner's own time: the secrets-only run less the same run scanning nothing. On a
    // loaded machine that difference of two short times can drown in noise; fuel (wasm
    // instructions) does not, so the scanner's share of the fuel, at the run's own rate of
    // fuel per ms, gives a second estimate. That rate counts the work that burns no fuel
    // (instantiation, the host's side of calls) as if it ran instructions: the estimate errs
    // low.
    let scan_ms = secrets.own_ms() - baseline.own_ms();
    let scan_fuel = secrets.fuel.saturating_sub(baseline.fuel);
    let fuel_ms = scan_fuel as f64 / (secrets.fuel as f64 / secrets.own_ms());
    let per_s = |bytes: u64, ms: f64| bytes as f64 / 1e6 / (ms.max(1e-3) / 1000.0);
    println!(
        "plugin own time, secrets rule only: {:.0} ms; the no-branch run (start, config, input): {:.0} ms; difference: {scan_ms:.0} ms",
        secrets.own_ms(),
        baseline.own_ms()
    );
    println!(
        "scanning fuel: {scan_fuel} ({:.1} per byte of added content returned), {:.0}% of the run's fuel: {fuel_ms:.0} ms at its rate",
        scan_fuel as f64 / secrets.query_bytes.max(1) as f64,
        100.0 * scan_fuel as f64 / secrets.fuel.max(1) as f64
    );
    let by_time = if scan_ms > 0.0 {
        format!("{:.1} MB/s", per_s(secrets.query_bytes, scan_ms))
    } else {
        "within the noise".to_string()
    };
    println!(
        "secret scanning per core inside the plugin (goal >= 50 MB/s): {by_time} by the time difference, {:.1} MB/s by fuel; the secrets-only run's whole own time: {:.1} MB/s",
        per_s(secrets.query_bytes, fuel_ms),
        secrets.mb_per_s()
    );

    println!("\n== findings by rule (all rules)");
    for (rule, n) in count_by(&full.findings, |f| f["rule"].as_str().map(String::from)) {
        println!("{rule:<28} {n}");
    }
    println!("-- secrets by secret rule");
    let secret_rule = |f: &Value| f["data"]["secret-rule"].as_str().map(String::from);
    for (rule, n) in count_by(&full.findings, secret_rule) {
        println!("{rule:<28} {n}");
    }

    let Some(manifest) = manifest else {
        println!("\n== secrets found (no manifest: judge them by hand; redacted)");
        for f in full.findings.iter().filter(|f| secret_rule(f).is_some()) {
            println!(
                "{:<26} {} {}:{} {}… ({} chars, entropy {})",
                secret_rule(f).unwrap_or_default(),
                f["branch"].as_str().unwrap_or(""),
                f["path"].as_str().unwrap_or(""),
                f["line"],
                f["data"]["secret-preview"].as_str().unwrap_or(""),
                f["data"]["secret-length"].as_str().unwrap_or("?"),
                f["data"]["entropy"].as_str().unwrap_or("?"),
            );
        }
        return Ok(true);
    };
    Ok(recall(&manifest_path, &manifest, &full.findings))
}

/// Which rules of the example config a run enables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// Every rule.
    All,
    /// Only the secrets rule.
    Secrets,
    /// Only the secrets rule, restricted to a branch that does not exist: the host still
    /// returns every branch's added lines and the plugin still starts and compiles its rules,
    /// but nothing is scanned. Its own time is what the secrets-only run spends besides
    /// scanning.
    SecretsNoBranch,
}

/// The plugin's config: `example` with the large-file limit lowered to what the fixture
/// plants (a small repository, still a violation), and only the rules `rules` asks for.
fn policy_config(example: &toml::Table, rules: Rules) -> Result<toml::Table> {
    let mut config = example.clone();
    let list = config
        .get_mut("rules")
        .and_then(toml::Value::as_array_mut)
        .context("example.toml has no [[rules]]")?;
    if rules != Rules::All {
        list.retain(|r| r.get("kind").and_then(toml::Value::as_str) == Some("secrets"));
    }
    for rule in list.iter_mut().filter_map(toml::Value::as_table_mut) {
        match rule.get("kind").and_then(toml::Value::as_str) {
            Some("file-size") => {
                rule.insert("max_bytes".into(), toml::Value::Integer(100_000));
            }
            Some("secrets") if rules == Rules::SecretsNoBranch => {
                let none = toml::Value::String("trellis-bench/no-such-branch".into());
                rule.insert("branches".into(), toml::Value::Array(vec![none]));
            }
            _ => {}
        }
    }
    Ok(config)
}

/// Writes the Trellis config giving the plugin `config` and the limits; returns its path.
fn write_config(spec: &PolicyBenchSpec, config: &toml::Table, name: &str) -> Result<PathBuf> {
    let limits: toml::Table = spec
        .limits
        .iter()
        .map(|(k, v)| (k.to_string(), toml::Value::Integer(*v)))
        .collect();
    let mut plugin = toml::Table::new();
    plugin.insert("config".into(), toml::Value::Table(config.clone()));
    plugin.insert("limits".into(), toml::Value::Table(limits));
    let mut plugins = toml::Table::new();
    plugins.insert(PLUGIN.into(), toml::Value::Table(plugin));
    let mut root = toml::Table::new();
    root.insert("plugins".into(), toml::Value::Table(plugins));
    let path = spec.dir.join(name);
    std::fs::write(&path, toml::to_string(&root)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// One full scan with the plugin under `config`.
fn scan(
    bench: &BenchSpec,
    repo: &Path,
    spec: &PolicyBenchSpec,
    config: &Path,
) -> Result<PluginRun> {
    let plugin = spec.plugin.display().to_string();
    let config = config.display().to_string();
    let history = format!("{PLUGIN}:git.history");
    let blobs = format!("{PLUGIN}:git.blobs");
    let args = [
        "--no-conflicts",
        "--no-diffstat",
        "--no-squash",
        "--plugin",
        &plugin,
        "--grant",
        &history,
        "--grant",
        &blobs,
        "--config",
        &config,
    ];
    let (wall, rss_kb, report) = trellis_measured(bench, repo, &args)?;
    let result = report["repositories"][0]["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == PLUGIN))
        .context("no enterprise-policy result in the report")?;
    if result["status"] != "ok" {
        bail!("the plugin failed: {}", result["failure"]);
    }
    let m = &result["metrics"];
    Ok(PluginRun {
        wall,
        rss_kb,
        duration_ms: m["duration_ms"].as_f64().unwrap_or(0.0),
        query_ms: m["query_ms"].as_f64().unwrap_or(0.0),
        fuel: m["fuel_used"].as_u64().unwrap_or(0),
        query_bytes: m["query_bytes"].as_u64().unwrap_or(0),
        findings: result["output"].as_array().cloned().unwrap_or_default(),
        base: report["repositories"][0]["facts"]["base"]
            .as_str()
            .unwrap_or("main")
            .to_string(),
    })
}

/// The run with the shortest plugin own time of `spec.runs`.
fn best_scan(
    bench: &BenchSpec,
    repo: &Path,
    spec: &PolicyBenchSpec,
    config: &Path,
) -> Result<PluginRun> {
    let mut best = scan(bench, repo, spec, config)?;
    for _ in 1..spec.runs.max(1) {
        let run = scan(bench, repo, spec, config)?;
        if run.own_ms() < best.own_ms() {
            best = run;
        }
    }
    Ok(best)
}

/// Bytes of added lines (without the `+`, with the newline) and commits, counted once each,
/// of every commit on a branch and not on `base`: what a secret scan has to read at least.
fn added_bytes(repo: &Path, base: &str) -> Result<(u64, u64)> {
    let out = crate::git::command(repo)
        .args([
            "log",
            "-p",
            "--no-merges",
            "--no-renames",
            "--no-color",
            "--format=commit %H",
            "--branches",
            "--not",
            base,
        ])
        .output()
        .context("cannot run git log -p")?;
    if !out.status.success() {
        bail!(
            "git log -p failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (mut bytes, mut commits) = (0u64, 0u64);
    for line in out.stdout.split(|&b| b == b'\n') {
        if line.starts_with(b"commit ") {
            commits += 1;
        } else if line.starts_with(b"+") && !line.starts_with(b"+++ ") {
            bytes += line.len() as u64;
        }
    }
    Ok((bytes, commits))
}

fn count_by(findings: &[Value], key: impl Fn(&Value) -> Option<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for f in findings {
        if let Some(k) = key(f) {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts
}

/// Whether `f` is at the planted place `p` (commit, path and line when `p` has them).
fn at(f: &Value, p: &Value, branch: &str) -> bool {
    f["branch"] == branch
        && (p["commit"].is_null() || f["commit"] == p["commit"])
        && (p["path"].is_null() || f["path"] == p["path"])
        && (p["line"].is_null() || f["line"] == p["line"])
}

/// Prints recall of the planted secrets and violations and the findings on decoys; whether
/// everything planted was found.
fn recall(path: &Path, manifest: &Value, findings: &[Value]) -> bool {
    let empty = Vec::new();
    let list = |key: &str| manifest[key].as_array().unwrap_or(&empty);
    let secret_findings: Vec<&Value> = findings
        .iter()
        .filter(|f| f["data"]["secret-rule"].is_string())
        .collect();

    let (mut planted, mut missed) = (0, Vec::new());
    let mut matched = vec![false; secret_findings.len()];
    for s in list("secrets") {
        for branch in s["branches"].as_array().unwrap_or(&empty) {
            let branch = branch.as_str().unwrap_or("");
            planted += 1;
            let mut found = false;
            for (i, f) in secret_findings.iter().enumerate() {
                if at(f, s, branch) && f["data"]["secret-rule"] == s["rule"] {
                    found = true;
                    matched[i] = true;
                }
            }
            if !found {
                missed.push(format!(
                    "{} ({}) {} {}:{}",
                    s["rule"].as_str().unwrap_or(""),
                    s["how"].as_str().unwrap_or(""),
                    branch,
                    s["path"].as_str().unwrap_or(""),
                    s["line"]
                ));
            }
        }
    }
    let mut on_decoys = Vec::new();
    let mut other = Vec::new();
    for (i, f) in secret_findings.iter().enumerate() {
        if matched[i] {
            continue;
        }
        let decoy = list("decoys").iter().find(|d| {
            d["branches"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| at(f, d, b.as_str().unwrap_or(""))))
        });
        let text = format!(
            "{} on {} {}:{}",
            f["data"]["secret-rule"].as_str().unwrap_or(""),
            f["branch"].as_str().unwrap_or(""),
            f["path"].as_str().unwrap_or(""),
            f["line"]
        );
        match decoy {
            Some(d) => on_decoys.push(format!(
                "{text} — {} decoy: {}",
                d["kind"].as_str().unwrap_or(""),
                d["text"].as_str().unwrap_or("")
            )),
            None => other.push(text),
        }
    }

    let (mut v_planted, mut v_missed) = (0, Vec::new());
    for v in list("violations") {
        v_planted += 1;
        let branch = v["branch"].as_str().unwrap_or("");
        if !findings
            .iter()
            .any(|f| f["rule"] == v["rule"] && at(f, v, branch))
        {
            v_missed.push(format!("{} on {branch} {}", v["rule"], v["path"]));
        }
    }

    let decoys = list("decoys").len();
    println!("\n== recall (planted: {})", path.display());
    println!(
        "secrets (rule, branch, commit, path, line): {}/{} found ({:.1}%)",
        planted - missed.len(),
        planted,
        100.0 * (planted - missed.len()) as f64 / planted.max(1) as f64
    );
    for m in &missed {
        println!("  MISSED {m}");
    }
    println!(
        "violations (rule, branch, commit, path): {}/{} found",
        v_planted - v_missed.len(),
        v_planted
    );
    for m in &v_missed {
        println!("  MISSED {m}");
    }
    println!(
        "false positives on decoys: {} of {} decoy lines",
        on_decoys.len(),
        decoys
    );
    for d in &on_decoys {
        println!("  FALSE POSITIVE {d}");
    }
    println!(
        "other secret findings (neither planted nor decoys): {}",
        other.len()
    );
    for o in other.iter().take(20) {
        println!("  {o}");
    }
    missed.is_empty() && v_missed.is_empty()
}
