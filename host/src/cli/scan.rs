//! `trellis scan`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use trellis::git::BranchSelection;
use trellis::report::{write_json, write_table};
use trellis::scan::{ScanRequest, run as run_scan};

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
    let request = ScanRequest {
        repos: args.repos.clone(),
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
    };
    let report = run_scan(&request);
    record_outcomes(&config, &report);

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
