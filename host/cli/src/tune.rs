//! `trellis tune`: the plan a scan would use, and why, without scanning.

use std::io::Write;

use trellis_app::report::Status;
use trellis_app::scan::profile::PlanUsed;
use trellis_app::scan::{ScanRequest, TunePreview, tune};
use trellis_os::display::{Escaped, EscapedDisplay};

use super::scan::{Setup, request};
use super::{Cli, EXIT_FAILURE, EXIT_INPUT, EXIT_OK, ScanArgs, error_line};

/// Runs `trellis tune` and returns its exit code.
pub fn run(cli: &Cli, args: &ScanArgs) -> u8 {
    let config = match super::load_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let setup = match Setup::new(args, config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let history = setup
        .store
        .as_ref()
        .map(|s| s.run_history())
        .unwrap_or_default();
    let plugins = &setup.plugins;
    let request: ScanRequest<'_> = request(
        args,
        &setup.config,
        plugins.runtime.as_ref(),
        &plugins.plugins,
        &plugins.grants,
        &history,
        setup.repos.clone(),
        setup.scan_time,
    );
    let preview = tune(&request);
    let mut text = Vec::new();
    let written = render(&preview, history.len(), &mut text)
        .and_then(|()| std::io::stdout().lock().write_all(&text));
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        error_line(format!("cannot write the plan: {e}"));
        return EXIT_FAILURE;
    }
    let mut code = EXIT_OK;
    for (dir, e) in &plugins.failed {
        error_line(format!("{}: {e}", dir.display()));
        code = EXIT_INPUT;
    }
    for e in &preview.errors {
        error_line(&e.error);
        code = EXIT_INPUT;
    }
    code
}

/// Writes the preview for people; everything a plugin or a repository controls is escaped.
fn render(p: &TunePreview, history: usize, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "machine: {} cores, {} MiB memory",
        p.machine.cores,
        p.machine.memory_bytes / (1024 * 1024)
    )?;
    writeln!(out, "repositories: {}", p.repos.len())?;
    for r in &p.repos {
        let graph = match r.size.graph_commits {
            Some(commits) => format!("commit-graph with {commits} commits"),
            None => "no commit-graph".into(),
        };
        writeln!(
            out,
            "  {}: base {}, {} branches, {}, {} packed objects, {} KiB of packs",
            Escaped(&r.path),
            Escaped(&r.base),
            r.branches,
            graph,
            r.size.packed_objects,
            r.size.pack_bytes / 1024
        )?;
    }
    writeln!(out, "history: {history} earlier runs")?;
    match (&p.tuner, &p.plan) {
        (Some(tuner), Some(result)) => {
            let strategy = p.strategy.as_deref().unwrap_or("(the tuner's default)");
            writeln!(
                out,
                "tuner: {}, strategy {}",
                Escaped(tuner),
                Escaped(strategy)
            )?;
            match (&result.status, &result.output, &result.failure) {
                (Status::Ok, Some(plan), _) => {
                    writeln!(out, "why: {}", Escaped(&plan.reason))?;
                    if plan.adjustments.is_empty() {
                        writeln!(out, "adjustments: none")?;
                    } else {
                        writeln!(out, "adjustments:")?;
                        for a in &plan.adjustments {
                            writeln!(out, "  - {}", Escaped(a))?;
                        }
                    }
                }
                (_, _, failure) => {
                    let reason = failure
                        .as_ref()
                        .map(|f| EscapedDisplay(f).to_string())
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "tuner failed: {reason}; the scan falls back to the configured settings"
                    )?;
                }
            }
        }
        _ => writeln!(
            out,
            "tuner: none (add one with --plugin, e.g. target/plugins/tuning); the scan uses the configured settings"
        )?,
    }
    write_plan(&p.used, out)
}

fn write_plan(u: &PlanUsed, out: &mut dyn Write) -> std::io::Result<()> {
    let on = |b: bool| if b { "on" } else { "off" };
    writeln!(out, "plan ({}):", u.source.name())?;
    writeln!(out, "  repo-workers: {}", u.repo_workers)?;
    writeln!(out, "  branch-workers: {}", u.branch_workers)?;
    let batch = if u.batch_size == 0 {
        "host decides".to_string()
    } else {
        u.batch_size.to_string()
    };
    writeln!(out, "  batch-size: {batch}")?;
    writeln!(out, "  memory-mb: {}", u.memory_mb)?;
    writeln!(out, "  diffstat: {}", on(u.options.diffstat))?;
    writeln!(out, "  squash: {}", on(u.options.squash))?;
    writeln!(out, "  conflicts: {}", on(u.options.conflicts))?;
    writeln!(out, "  conflicts-scope: {}", u.conflicts_scope.name())?;
    writeln!(out, "  cache: {}", on(u.cache))
}
