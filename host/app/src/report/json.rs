//! The JSON rendering of a report, in the wire format of `trellis-report`.

use std::io::Write;

use super::ScanReport;

/// Writes `report` as pretty-printed JSON followed by a newline.
pub fn write_json(report: &ScanReport, out: &mut dyn Write) -> std::io::Result<()> {
    // Stdout is line-buffered: without a buffer, every line of the report is a syscall.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, &trellis_report::Report::from(report))?;
    writeln!(buffered)?;
    buffered.flush()
}
