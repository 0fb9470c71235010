//! `trellis scan`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use trellis::config::Config;
use trellis::git::{AlignOptions, BranchSelection};
use trellis::plan::{RunRecord, peak_rss_bytes};
use trellis::report::{write_json, write_table};
use trellis::scan::{EngineSettings, ForcedOptions, ScanRequest, run as run_scan};

use super::plugin::{ScanPlugins, record_outcomes, scan_plugins};
use super::{Cli, EXIT_FAILURE, EXIT_INPUT, EXIT_OK, Format, ScanArgs, error_line};

pub fn run(cli: &Cli, args: &ScanArgs) -> u8 {
    let config = match super::load_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let ScanPlugins {
        runtime,
        plugins,
        grants,
        refused,
    } = match scan_plugins(&config, &args.plugins, &args.grants, args.no_cache) {
        Ok(p) => p,
        Err(code) => return code,
    };

    let selection = if args.remotes || config.scan.remotes {
        BranchSelection::LocalAndRemote
    } else {
        BranchSelection::Local
    };
    let scan_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let repos = match repos(args) {
        Ok(r) => r,
        Err(e) => {
            error_line(e);
            return EXIT_INPUT;
        }
    };
    let store = trellis::store::Store::default_home().map(trellis::store::Store::at);
    let history = store.as_ref().map(|s| s.run_history()).unwrap_or_default();
    let started = std::time::Instant::now();
    let request = ScanRequest {
        repos,
        base: args
            .base
            .clone()
            .or_else(|| config.base().map(String::from)),
        selection,
        jobs: args.jobs.unwrap_or(config.scan.jobs),
        scan_time,
        runtime: runtime.as_ref(),
        plugins: &plugins,
        config: &config,
        grants: &grants,
        engine: engine_settings(&config, args),
        history: &history,
    };
    let report = run_scan(&request);
    record_outcomes(&config, &report);
    if let Some(store) = &store {
        let workers = report
            .plan
            .as_ref()
            .and_then(|p| p.output.as_ref())
            .map(|p| p.workers as usize)
            .filter(|w| *w > 0)
            .unwrap_or(request.jobs);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let run = RunRecord {
            started: scan_time,
            repos: report.repositories.len() as u32,
            branches: report
                .repositories
                .iter()
                .map(|r| r.branches.len() as u32)
                .sum(),
            workers: if workers == 0 { cores } else { workers } as u32,
            batch_size: 0,
            wall_ms: started.elapsed().as_millis() as u64,
            peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
        };
        if let Err(e) = store.record_run(run) {
            tracing::debug!("cannot record the run for tuners: {e}");
        }
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Json => write_json(&report, &mut out),
        Format::Table => write_table(&report, &mut out),
    };
    if let Err(e) = written.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        error_line(format!("cannot write the report: {e}"));
        return EXIT_FAILURE;
    }
    // Inputs that could not be scanned go to stderr in every format; the error already names the path.
    for e in &report.errors {
        error_line(&e.error);
    }
    if report.errors.is_empty() && !refused {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}

/// Flags of the git engine.
#[derive(Debug, Default, clap::Args)]
pub struct EngineArgs {
    /// Read more repository paths from FILE, one per line (`-`: stdin; `#` starts a comment).
    #[arg(long, value_name = "FILE")]
    pub repos_from: Option<PathBuf>,
    /// Compute diffstats since the merge base [config: scan.diffstat, default on].
    #[arg(long, overrides_with = "no_diffstat")]
    pub diffstat: bool,
    /// Skip diffstats.
    #[arg(long)]
    pub no_diffstat: bool,
    /// Detect squash- and rebase-merged branches [config: scan.squash, default on].
    #[arg(long, overrides_with = "no_squash")]
    pub squash: bool,
    /// Skip squash detection.
    #[arg(long)]
    pub no_squash: bool,
    /// Predict merge conflicts against the base, in memory [config: scan.conflicts, default off].
    #[arg(long, overrides_with = "no_conflicts")]
    pub conflicts: bool,
    /// Skip conflict prediction.
    #[arg(long)]
    pub no_conflicts: bool,
    /// Compute repository statistics (objects, packs, base tree, largest blobs, LFS pointers).
    #[arg(long)]
    pub stats: bool,
    /// Memory budget of the git engine in MiB [config: scan.memory_mb; 0: half the memory].
    #[arg(long, value_name = "MIB")]
    pub memory_mb: Option<u64>,
    /// No progress bar (there is none anyway when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn forced(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

fn engine_settings(config: &Config, args: &ScanArgs) -> EngineSettings {
    let e = &args.engine;
    let memory_mb = e.memory_mb.unwrap_or(config.scan.memory_mb);
    let memory_bytes = if memory_mb == 0 {
        total_memory() / 2
    } else {
        memory_mb.saturating_mul(1024 * 1024)
    };
    EngineSettings {
        configured: AlignOptions {
            diffstat: config.scan.diffstat,
            squash: config.scan.squash,
            conflicts: config.scan.conflicts,
        },
        forced: ForcedOptions {
            diffstat: forced(e.diffstat, e.no_diffstat),
            squash: forced(e.squash, e.no_squash),
            conflicts: forced(e.conflicts, e.no_conflicts),
        },
        cache_dir: (config.scan.cache && !args.no_cache)
            .then(super::cache_dir)
            .flatten(),
        progress: !e.quiet,
        memory_bytes,
        stats: e.stats || config.scan.stats,
    }
}

/// The machine's memory in bytes (0 when unknown: no budget).
fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The repositories to scan: the arguments, then `--repos-from`. The default `.` only
/// applies when neither names a repository.
fn repos(args: &ScanArgs) -> Result<Vec<PathBuf>, String> {
    let Some(file) = &args.engine.repos_from else {
        return Ok(args.repos.clone());
    };
    let listed = read_repo_list(file)?;
    let explicit = !(args.repos.len() == 1 && args.repos[0] == Path::new("."));
    let mut out = if explicit || listed.is_empty() {
        args.repos.clone()
    } else {
        Vec::new()
    };
    out.extend(listed);
    Ok(out)
}

fn read_repo_list(file: &Path) -> Result<Vec<PathBuf>, String> {
    let fail = |e: std::io::Error| format!("--repos-from {}: {e}", file.display());
    let lines: Vec<String> = if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(fail)?
    } else {
        std::fs::read_to_string(file)
            .map_err(fail)?
            .lines()
            .map(String::from)
            .collect()
    };
    Ok(lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect())
}
