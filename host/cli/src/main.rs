//! The `trellis` command line: parsing, and the edge where errors become messages and exit
//! codes. Everything else lives in the library crates (`trellis-app` and below).

mod plugin;
mod scan;
mod tune;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: the command ran.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command could not run as asked (internal failure).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or bad input (a path, a base, a plugin, a config).
pub const EXIT_INPUT: u8 = 2;
/// Exit code: the scan ran and the gate failed: findings at or above `--fail-on` exist (or a
/// policy plugin failed to run). Bad input (2) and internal failure (1) win over it.
pub const EXIT_GATE: u8 = 3;
/// Exit code: interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Trellis: how the branches of git repositories line up with their base.
#[derive(Debug, Parser)]
#[command(name = "trellis", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file merged over the defaults [default: $XDG_CONFIG_HOME/trellis/trellis.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug, -vvv trace); TRELLIS_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Align every branch of one or more repositories with their base and run plugins.
    Scan(ScanArgs),
    /// Print the plan a scan of these repositories would use, and why, without scanning: what
    /// the tuner learns of them, its strategy and plan, and what the host changed. Takes the
    /// options of `scan` (those about the report are ignored).
    Tune(ScanArgs),
    /// Install, list, enable, disable, upgrade, roll back, remove and verify plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// How `trellis scan` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Aligned tables, for people.
    Table,
    /// The JSON report (schema in `host/report/schema/report.schema.json`), for machines.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF tools.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

impl ScanFormat {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ScanFormat::Table => "table",
            ScanFormat::Json => "json",
            ScanFormat::Sarif => "sarif",
            ScanFormat::Junit => "junit",
        }
    }
}

/// `--fail-on`: from which severity on findings fail the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Error findings (and policies that failed to run).
    Error,
    /// Warning and error findings (and policies that failed to run).
    Warning,
    /// Nothing: the exit code ignores findings.
    Never,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Repositories to scan (work trees or bare repositories).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repos: Vec<PathBuf>,
    /// Base branch [default: the repository's default branch].
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Also align remote-tracking branches.
    #[arg(long)]
    pub remotes: bool,
    /// A plugin directory (with plugin.toml) to run; repeat for several.
    #[arg(long = "plugin", value_name = "DIR")]
    pub plugins: Vec<PathBuf>,
    /// Grant a capability to a plugin, e.g. `--grant my-plugin:git.history`.
    #[arg(long = "grant", value_name = "ID:CAP")]
    pub grants: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Also write the report in FORMAT (json, table, sarif, junit) to PATH, atomically; `-` is
    /// stdout (instead of --format). Repeat for several.
    #[arg(long = "output", value_name = "FORMAT=PATH", value_parser = scan::parse_output)]
    pub outputs: Vec<scan::OutputSpec>,
    /// Exit 3 when findings at or above this severity exist [config: gate.fail_on, default error].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,
    /// An earlier JSON report: findings it already has are not reported, nor counted.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not read or write any cache: neither precompiled plugins nor branch facts.
    #[arg(long)]
    pub no_cache: bool,
    /// The tuner's strategy (its config key `strategy`), e.g. `adaptive` or `large` for the
    /// tuning plugin [default: the tuner's config].
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    #[command(flatten)]
    pub engine: scan::EngineArgs,
}

/// Parses the command line, runs the command and returns its exit code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let code = match &cli.command {
        Command::Scan(args) => scan::run(&cli, args),
        Command::Tune(args) => tune::run(&cli, args),
        Command::Plugin(command) => match load_config(&cli) {
            Ok(config) => plugin::run(&config, command),
            Err(code) => code,
        },
    };
    ExitCode::from(code)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRELLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// Prints one error line for the user, escaped for display: an error can quote a plugin, a
/// manifest or a repository, and none of them may act on the terminal or add lines.
pub fn error_line(message: impl std::fmt::Display) {
    eprintln!("error: {}", trellis_os::display::EscapedDisplay(message));
}

/// The configuration: defaults, with `--config FILE` or the user's file merged on top.
pub fn load_config(cli: &Cli) -> Result<trellis_app::config::Config, u8> {
    let path = cli.config.clone().or_else(user_config);
    trellis_app::config::Config::load(path.as_deref()).map_err(|e| {
        error_line(e);
        EXIT_INPUT
    })
}

/// `$XDG_CONFIG_HOME/trellis/trellis.toml` (or `~/.config/...`), if it exists.
fn user_config() -> Option<PathBuf> {
    Some(trellis_os::dirs::config_home()?.join("trellis.toml")).filter(|p| p.is_file())
}
