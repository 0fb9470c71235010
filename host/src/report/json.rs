//! The JSON rendering of a report.

use std::io::Write;

use super::ScanReport;

/// Writes `report` as pretty-printed JSON followed by a newline.
pub fn write_json(report: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
