//! The human rendering of a report: per repository, a branch table and the findings.

use std::io::Write;

use super::columns::{Column, write_columns};
use super::{ScanReport, Status};
use trellis_git::facts::ConflictPrediction;
use trellis_os::display::{Escaped, EscapedDisplay, escape};

const SECONDS_PER_DAY: i64 = 86_400;

/// Writes `report` as aligned text tables. Every string from a repository or a plugin is
/// escaped for display ([`trellis_os::display`]): nothing it holds acts on the terminal or
/// starts a line of its own.
pub fn write_table(report: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    // Stdout is line-buffered: without a buffer, every row is a syscall.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    render(report, &mut buffered)?;
    buffered.flush()
}

fn render(report: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    if let Some(plan) = &report.plan {
        match &plan.output {
            Some(p) => writeln!(
                out,
                "plan from {}@{}: {} workers — {}",
                plan.id,
                plan.version,
                p.workers,
                Escaped(&p.reason)
            )?,
            None => writeln!(
                out,
                "tuner {}@{} failed: {}",
                plan.id,
                plan.version,
                plan.failure
                    .as_ref()
                    .map(|f| EscapedDisplay(f).to_string())
                    .unwrap_or_default()
            )?,
        }
    }
    for (i, repo) in report.repositories.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let f = &repo.facts;
        if f.base_tip.is_empty() {
            writeln!(
                out,
                "{}  empty repository (no commits yet)",
                Escaped(&f.path)
            )?;
            continue;
        }
        writeln!(
            out,
            "{}  base {} @ {}  ({} branches, {} commits)",
            Escaped(&f.path),
            Escaped(&f.base),
            &f.base_tip[..f.base_tip.len().min(10)],
            repo.branches.len(),
            f.stats.commits.map_or("?".into(), |c| c.to_string())
        )?;
        let rows: Vec<Vec<String>> = repo
            .branches
            .iter()
            .map(|b| {
                let age = (report.scan_time - b.committer.time).div_euclid(SECONDS_PER_DAY);
                let merged = match (b.merged, b.squash_merged) {
                    (true, _) => "yes",
                    (false, Some(true)) => "squash",
                    _ => "no",
                };
                let changes = b.diffstat.map_or(String::new(), |d| {
                    format!("+{} -{} ({})", d.insertions, d.deletions, d.files_changed)
                });
                let conflicts = match &b.conflicts {
                    None => String::new(),
                    Some(ConflictPrediction::Clean) => "clean".into(),
                    Some(ConflictPrediction::Conflicts(paths)) if paths.len() == 1 => {
                        "1 path".into()
                    }
                    Some(ConflictPrediction::Conflicts(paths)) => {
                        format!("{} paths", paths.len())
                    }
                };
                vec![
                    escape(&b.name).into_owned(),
                    b.ahead.to_string(),
                    b.behind.to_string(),
                    merged.to_string(),
                    changes,
                    conflicts,
                    format!("{age}d"),
                    escape(&b.committer.name).into_owned(),
                ]
            })
            .collect();
        if rows.is_empty() {
            writeln!(out, "  (no branches besides the base)")?;
        } else {
            let columns = [
                Column::left("branch"),
                Column::right("ahead"),
                Column::right("behind"),
                Column::left("merged"),
                Column::right("changes"),
                Column::left("conflicts"),
                Column::right("age"),
                Column::left("last committer"),
            ];
            write_columns(out, "  ", &columns, &rows)?;
        }
        for e in &repo.branch_errors {
            writeln!(out, "  ! {}: {}", Escaped(&e.name), Escaped(&e.error))?;
        }
        for plugin in &repo.plugins {
            match (plugin.status, &plugin.output) {
                (Status::Ok, Some(findings)) => {
                    let suppressed = match plugin.suppressed_by_baseline {
                        Some(n) if n > 0 => format!(", {n} more in the baseline"),
                        _ => String::new(),
                    };
                    writeln!(
                        out,
                        "  {}@{}: {} findings{suppressed} ({:.1} ms)",
                        plugin.id,
                        plugin.version,
                        findings.len(),
                        plugin.metrics.duration_ms
                    )?;
                    for finding in findings {
                        let at = location(finding);
                        writeln!(
                            out,
                            "    {:<7} {}: {}{at}",
                            finding.severity.as_str(),
                            Escaped(&finding.rule),
                            Escaped(&finding.message)
                        )?;
                    }
                }
                _ => writeln!(
                    out,
                    "  {}@{}: FAILED: {}",
                    plugin.id,
                    plugin.version,
                    plugin
                        .failure
                        .as_ref()
                        .map(|f| EscapedDisplay(f).to_string())
                        .unwrap_or_default()
                )?,
            }
        }
    }
    Ok(())
}

/// Where a finding applies, for the end of its line: the branch (unless the message already
/// names it), the commit (abbreviated) and the path with its line, e.g.
/// ` (feature/x, 1a2b3c4d5e, src/keys.env:4)`; empty when it says nothing of them.
fn location(f: &trellis_runtime::plugin::Finding) -> String {
    let mut parts = Vec::new();
    if let Some(branch) = f.branch.as_deref().filter(|b| !f.message.contains(b)) {
        parts.push(Escaped(branch).to_string());
    }
    if let Some(commit) = &f.commit {
        let short: String = commit.chars().take(10).collect();
        parts.push(Escaped(&short).to_string());
    }
    match (&f.path, f.line) {
        (Some(path), Some(line)) => parts.push(format!("{}:{line}", Escaped(path))),
        (Some(path), None) => parts.push(Escaped(path).to_string()),
        _ => {}
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
