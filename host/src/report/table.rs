//! The human rendering of a report: per repository, a branch table and the findings.

use std::io::Write;

use super::{ScanReport, Status};

const SECONDS_PER_DAY: i64 = 86_400;

/// Writes `report` as aligned text tables.
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
                plan.id, plan.version, p.workers, p.reason
            )?,
            None => writeln!(
                out,
                "tuner {}@{} failed: {}",
                plan.id,
                plan.version,
                plan.failure
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )?,
        }
    }
    for (i, repo) in report.repositories.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let f = &repo.facts;
        writeln!(
            out,
            "{}  base {} @ {}  ({} branches, {} commits)",
            f.path,
            f.base,
            &f.base_tip[..f.base_tip.len().min(10)],
            repo.branches.len(),
            f.stats.commits.map_or("?".into(), |c| c.to_string())
        )?;
        let rows: Vec<[String; 6]> = repo
            .branches
            .iter()
            .map(|b| {
                let age = (report.scan_time - b.committer.time).div_euclid(SECONDS_PER_DAY);
                [
                    b.name.clone(),
                    b.ahead.to_string(),
                    b.behind.to_string(),
                    if b.merged { "yes" } else { "no" }.to_string(),
                    format!("{age}d"),
                    b.committer.name.clone(),
                ]
            })
            .collect();
        let header = [
            "branch",
            "ahead",
            "behind",
            "merged",
            "age",
            "last committer",
        ];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 6], out: &mut dyn Write| -> std::io::Result<()> {
            let text = format!(
                "  {:<w0$}  {:>w1$}  {:>w2$}  {:<w3$}  {:>w4$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4],
            );
            writeln!(out, "{}", text.trim_end())
        };
        if rows.is_empty() {
            writeln!(out, "  (no branches besides the base)")?;
        } else {
            line(header, out)?;
            for row in &rows {
                line(row.each_ref().map(String::as_str), out)?;
            }
        }
        for e in &repo.branch_errors {
            writeln!(out, "  ! {}: {}", e.name, e.error)?;
        }
        for plugin in &repo.plugins {
            match (plugin.status, &plugin.output) {
                (Status::Ok, Some(findings)) => {
                    writeln!(
                        out,
                        "  {}@{}: {} findings ({:.1} ms)",
                        plugin.id,
                        plugin.version,
                        findings.len(),
                        plugin.metrics.duration_ms
                    )?;
                    for finding in findings {
                        writeln!(
                            out,
                            "    {:<7} {}: {}",
                            finding.severity.as_str(),
                            finding.rule,
                            finding.message
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
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )?,
            }
        }
    }
    Ok(())
}
