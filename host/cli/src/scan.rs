//! `trellis scan`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use trellis_app::config::Config;
use trellis_app::gate::{Baseline, FailOn, GateVerdict, verdict};
use trellis_app::plugins::{ScanPlugins, SetupError, record_outcomes, scan_plugins};
use trellis_app::report::InputError;
use trellis_app::report::{ScanReport, write_json, write_junit, write_sarif, write_table};
use trellis_app::scan::{
    EngineSettings, ForcedOptions, ScanProgress, ScanRequest, run as run_scan,
};
use trellis_app::store::Store;
use trellis_git::{AlignOptions, BranchSelection};
use trellis_runtime::plan::RunRecord;
use trellis_runtime::plugin::PluginKind;

use super::{
    Cli, EXIT_FAILURE, EXIT_GATE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, FailOnArg, ScanArgs,
    ScanFormat, error_line,
};

/// Runs `trellis scan` and returns its exit code.
pub fn run(cli: &Cli, args: &ScanArgs) -> u8 {
    let config = match super::load_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let fail_on = match args.fail_on {
        Some(FailOnArg::Error) => FailOn::Error,
        Some(FailOnArg::Warning) => FailOn::Warning,
        Some(FailOnArg::Never) => FailOn::Never,
        None => config.gate.fail_on,
    };
    if args.outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        error_line("--output: at most one output can go to stdout (`-`)");
        return EXIT_INPUT;
    }
    // Read before scanning: a baseline that cannot be used is bad input, found in a moment
    // rather than after a long scan.
    let baseline = match args.baseline.as_deref().map(Baseline::load).transpose() {
        Ok(b) => b,
        Err(e) => {
            error_line(e);
            return EXIT_INPUT;
        }
    };
    let Setup {
        config,
        store,
        plugins:
            ScanPlugins {
                runtime,
                plugins,
                grants,
                refused,
                failed,
            },
        repos,
        scan_time,
    } = match Setup::new(args, config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let progress = (!args.engine.quiet)
        .then(ProgressBar::on_terminal)
        .flatten();
    let interrupt = interrupt_on_ctrl_c();
    // Only a tuner reads the run history; parsing it costs a small scan a few milliseconds.
    let has_tuner = plugins.iter().any(|p| p.manifest.kind == PluginKind::Tuner);
    let history = store
        .as_ref()
        .filter(|_| has_tuner)
        .map(|s| s.run_history())
        .unwrap_or_default();
    let request = ScanRequest {
        progress: progress.as_ref().map(|p| p as &dyn ScanProgress),
        should_interrupt: Some(&interrupt),
        ..request(
            args,
            &config,
            runtime.as_ref(),
            &plugins,
            &grants,
            &history,
            repos,
            scan_time,
        )
    };
    let mut report = run_scan(&request);
    // A plugin that cannot be loaded is bad input like a repository that cannot be opened:
    // reported beside the others' results, never instead of them.
    report
        .errors
        .extend(failed.iter().map(|(dir, e)| InputError {
            path: dir.display().to_string(),
            error: e.to_string(),
        }));
    report.errors.extend(refused.iter().map(|e| {
        InputError {
            path: store
                .as_ref()
                .map(|s| s.home().display().to_string())
                .unwrap_or_default(),
            error: format!("installed plugin refused: {e}"),
        }
    }));
    if let Some(progress) = &progress {
        progress.0.finish_and_clear();
    }
    let interrupted = interrupt.load(Ordering::Relaxed);
    if let Some(profile) = &report.profile {
        for line in profile.summary() {
            tracing::info!("{line}");
        }
    }
    let mut run = None;
    if let Some(store) = &store {
        for disabled in record_outcomes(&config, store, &report) {
            error_line(format!(
                "plugin {} disabled after {} consecutive failures (see `trellis plugin list`)",
                disabled.id, disabled.after_failures
            ));
        }
        let repos = report.repositories.len() as u32;
        // An interrupted scan's times say nothing about its plan.
        run = report
            .profile
            .as_ref()
            .filter(|_| !interrupted)
            .map(|p| (store, p.run_record(scan_time, repos)));
    }
    std::thread::scope(|scope| {
        // Recording the run (reading, rewriting and syncing the history) overlaps the output.
        let recording = run.map(|(store, run)| scope.spawn(move || store.record_run(run)));
        let code = deliver(args, report, baseline.as_ref(), fail_on, interrupted);
        match recording.map(|r| r.join()) {
            Some(Ok(Err(e))) => tracing::warn!("cannot record the run for tuners: {e}"),
            Some(Err(_)) => tracing::warn!("cannot record the run for tuners: it panicked"),
            Some(Ok(Ok(()))) | None => {}
        }
        code
    })
}

/// Applies the baseline, writes the report to stdout and every `--output`, tells stderr what
/// failed, and returns the exit code.
fn deliver(
    args: &ScanArgs,
    mut report: ScanReport,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
    interrupted: bool,
) -> u8 {
    if let Some(baseline) = baseline {
        baseline.apply(&mut report);
    }
    let gate = verdict(&report, fail_on);

    // Stdout gets --format, unless an --output goes to `-`.
    let stdout_format = args
        .outputs
        .iter()
        .find(|o| o.path.is_none())
        .map_or(args.format, |o| o.format);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = render(&report, stdout_format, fail_on, &mut out);
    if let Err(e) = written.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        error_line(format!("cannot write the report: {e}"));
        return EXIT_FAILURE;
    }
    drop(out);
    let mut unwritable = false;
    for output in &args.outputs {
        let Some(path) = &output.path else { continue };
        let mut bytes = Vec::new();
        let written = render(&report, output.format, fail_on, &mut bytes)
            .and_then(|()| trellis_os::write_atomically(path, &bytes));
        if let Err(e) = written {
            // The user named the path: one that cannot be written is bad input, like a
            // repository path that does not exist.
            error_line(format!(
                "--output {}={}: cannot write: {e}",
                output.format.name(),
                path.display()
            ));
            unwritable = true;
        }
    }
    // Inputs that could not be scanned go to stderr in every format; the error already names the path.
    for e in &report.errors {
        error_line(&e.error);
    }
    if gate.failed() {
        gate_line(&gate, fail_on);
    }
    let code = if interrupted {
        EXIT_INTERRUPTED
    } else if !report.errors.is_empty() || unwritable {
        EXIT_INPUT
    } else if gate.failed() {
        EXIT_GATE
    } else {
        EXIT_OK
    };
    // Thousands of branches are tens of thousands of allocations: freeing them one by one
    // only delays the exit, which gives all memory back at once.
    std::mem::forget(report);
    code
}

/// What a scan and `trellis tune` both set up.
pub struct Setup {
    /// The configuration.
    pub config: Config,
    /// The plugin store, when there is a home for it.
    pub store: Option<Store>,
    /// The plugins and their runtime.
    pub plugins: ScanPlugins,
    /// The repositories named.
    pub repos: Vec<PathBuf>,
    /// Seconds since the Unix epoch now.
    pub scan_time: i64,
}

impl Setup {
    /// Loads the plugins and lists the repositories; an error is reported and its exit code
    /// returned.
    pub fn new(args: &ScanArgs, config: Config) -> Result<Self, u8> {
        let store = Store::default_home().map(Store::at);
        let plugins = scan_plugins(
            &config,
            store.as_ref(),
            &args.plugins,
            &args.grants,
            args.no_cache,
        )
        .map_err(|e| {
            error_line(&e);
            match e {
                SetupError::Grant(_) | SetupError::Store(_) => EXIT_INPUT,
                SetupError::Runtime(_) => EXIT_FAILURE,
            }
        })?;
        let scan_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let repos = repos(args).map_err(|e| {
            error_line(e);
            EXIT_INPUT
        })?;
        Ok(Setup {
            config,
            store,
            plugins,
            repos,
            scan_time,
        })
    }
}

/// The scan request of `args` (no progress, no interruption).
#[allow(clippy::too_many_arguments)]
pub fn request<'a>(
    args: &'a ScanArgs,
    config: &'a Config,
    runtime: Option<&'a trellis_runtime::Runtime>,
    plugins: &'a [trellis_runtime::LoadedPlugin],
    grants: &'a std::collections::BTreeMap<
        String,
        std::collections::BTreeSet<trellis_runtime::plugin::Capability>,
    >,
    history: &'a [RunRecord],
    repos: Vec<PathBuf>,
    scan_time: i64,
) -> ScanRequest<'a> {
    let selection = if args.remotes || config.scan.remotes {
        BranchSelection::LocalAndRemote
    } else {
        BranchSelection::Local
    };
    ScanRequest {
        repos,
        base: args
            .base
            .clone()
            .or_else(|| config.base().map(String::from)),
        selection,
        jobs: args.jobs.unwrap_or(config.scan.jobs),
        scan_time,
        runtime,
        plugins,
        config,
        grants,
        engine: engine_settings(config, args),
        history,
        strategy: args.strategy.as_deref(),
        progress: None,
        should_interrupt: None,
    }
}

/// Writes `report` in `format`.
fn render(
    report: &ScanReport,
    format: ScanFormat,
    fail_on: FailOn,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        ScanFormat::Json => write_json(report, out),
        ScanFormat::Table => write_table(report, out),
        ScanFormat::Sarif => write_sarif(report, out),
        ScanFormat::Junit => write_junit(report, fail_on, out),
    }
}

/// Says on stderr why the gate failed, so a CI log shows it whatever went to stdout.
fn gate_line(gate: &GateVerdict, fail_on: FailOn) {
    let mut reasons = Vec::new();
    if gate.failing_findings > 0 {
        reasons.push(format!(
            "{} finding{} at or above {}",
            gate.failing_findings,
            if gate.failing_findings == 1 { "" } else { "s" },
            fail_on.as_str()
        ));
    }
    for policy in &gate.failed_policies {
        reasons.push(format!("policy {policy} failed to run"));
    }
    eprintln!(
        "gate failed (--fail-on {}): {}",
        fail_on.as_str(),
        trellis_os::display::EscapedDisplay(reasons.join("; "))
    );
}

/// One `--output FORMAT=PATH`.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// What to write.
    pub format: ScanFormat,
    /// Where; `None` for stdout (`-`).
    pub path: Option<PathBuf>,
}

/// Parses `FORMAT=PATH` (clap reports an error as a usage error, exit code 2, quoting the value).
pub fn parse_output(spec: &str) -> Result<OutputSpec, String> {
    let Some((format, path)) = spec.split_once('=') else {
        return Err("expected FORMAT=PATH, e.g. sarif=trellis.sarif".into());
    };
    let format = match format {
        "json" => ScanFormat::Json,
        "table" => ScanFormat::Table,
        "sarif" => ScanFormat::Sarif,
        "junit" => ScanFormat::Junit,
        other => {
            return Err(format!(
                "unknown format `{other}`: expected json, table, sarif or junit"
            ));
        }
    };
    let path = match path {
        "" => return Err("the PATH after `=` is empty (`-` is stdout)".into()),
        "-" => None,
        p => Some(PathBuf::from(p)),
    };
    Ok(OutputSpec { format, path })
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
            .then(trellis_os::dirs::trusted_cache_home)
            .flatten(),
        memory_bytes,
        stats: e.stats || config.scan.stats,
    }
}

/// The machine's memory in bytes (0 when unknown: no budget).
fn total_memory() -> u64 {
    trellis_os::memory::total_bytes().unwrap_or(0)
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

/// The progress bar over all branches, on stderr.
struct ProgressBar(indicatif::ProgressBar);

impl ProgressBar {
    /// A bar when stderr is a terminal; none otherwise (logs and pipes stay clean).
    fn on_terminal() -> Option<Self> {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} aligning {pos}/{len} branches [{bar:30}] {elapsed_precise} (eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Some(ProgressBar(bar))
    }
}

impl trellis_git::Progress for ProgressBar {
    fn branches_done(&self, n: u64) {
        self.0.inc(n);
    }
}

impl ScanProgress for ProgressBar {
    fn branches_found(&self, branches: u64) {
        self.0.set_length(branches);
    }
}

/// A flag set by the first Ctrl-C, which lets the scan stop and still print what it has; a
/// second Ctrl-C ends the process at once.
fn interrupt_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let registered = signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_INTERRUPTED.into(),
        flag.clone(),
    )
    .and_then(|_| signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone()));
    if let Err(e) = registered {
        tracing::debug!("Ctrl-C stops the process at once: {e}");
    }
    flag
}
