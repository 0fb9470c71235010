//! `trellis scan`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use trellis::config::Config;
use trellis::git::BranchSelection;
use trellis::plugin::Capability;
use trellis::report::{write_json, write_table};
use trellis::runtime::{Runtime, RuntimeOptions};
use trellis::scan::{ScanRequest, run as run_scan};

use super::{Cli, EXIT_FAILURE, EXIT_INPUT, EXIT_OK, Format, ScanArgs, error_line};

pub fn run(cli: &Cli, args: &ScanArgs) -> u8 {
    let config_path = cli.config.clone().or_else(user_config);
    let config = match Config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            error_line(e);
            return EXIT_INPUT;
        }
    };
    let grants = match grants(&config, &args.grants) {
        Ok(g) => g,
        Err(e) => {
            error_line(e);
            return EXIT_INPUT;
        }
    };

    let runtime = if args.plugins.is_empty() {
        None
    } else {
        let options = RuntimeOptions {
            max_wasm_stack: (config.runtime.max_wasm_stack_kb as usize).saturating_mul(1024),
            cache_dir: (config.runtime.cache && !args.no_cache)
                .then(cache_dir)
                .flatten(),
        };
        match Runtime::new(&options) {
            Ok(r) => Some(r),
            Err(e) => {
                error_line(e);
                return EXIT_FAILURE;
            }
        }
    };
    let mut plugins = Vec::new();
    if let Some(runtime) = &runtime {
        let mut failed = false;
        for dir in &args.plugins {
            match runtime.load_dir(dir) {
                Ok(p) => plugins.push(p),
                Err(e) => {
                    error_line(e);
                    failed = true;
                }
            }
        }
        if failed {
            return EXIT_INPUT;
        }
    }

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
    if report.errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}

/// Grants from `[plugins.ID] grants` and `--grant ID:CAP`.
fn grants(
    config: &Config,
    cli: &[String],
) -> Result<BTreeMap<String, BTreeSet<Capability>>, String> {
    let mut out: BTreeMap<String, BTreeSet<Capability>> = BTreeMap::new();
    for (id, plugin) in &config.plugins {
        for cap in &plugin.grants {
            let cap = cap
                .parse()
                .map_err(|e| format!("config plugins.{id}.grants: {e}"))?;
            out.entry(id.clone()).or_default().insert(cap);
        }
    }
    for grant in cli {
        let (id, cap) = grant
            .split_once(':')
            .ok_or_else(|| format!("--grant {grant}: expected ID:CAPABILITY"))?;
        let cap = cap.parse().map_err(|e| format!("--grant {grant}: {e}"))?;
        out.entry(id.to_string()).or_default().insert(cap);
    }
    Ok(out)
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_CONFIG_HOME/trellis/trellis.toml` (or `~/.config/...`), if it exists.
fn user_config() -> Option<PathBuf> {
    let base = env_dir("XDG_CONFIG_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".config")))?;
    Some(base.join("trellis").join("trellis.toml")).filter(|p| p.is_file())
}

/// `$TRELLIS_CACHE_DIR`, else `$XDG_CACHE_HOME/trellis`, else `~/.cache/trellis`.
fn cache_dir() -> Option<PathBuf> {
    env_dir("TRELLIS_CACHE_DIR").or_else(|| {
        env_dir("XDG_CACHE_HOME")
            .or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
            .map(|d| d.join("trellis"))
    })
}
