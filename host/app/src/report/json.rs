//! The JSON rendering of a report, in the wire format of `trellis-report`.

use std::io::{self, Write};

use serde::Serialize;

use super::ScanReport;

/// Writes `report` as pretty-printed JSON followed by a newline.
pub fn write_json(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    // Stdout is line-buffered: without a buffer, every line of the report is a syscall.
    let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffered, Pretty::default());
    trellis_report::Report::from(report).serialize(&mut serializer)?;
    writeln!(buffered)?;
    buffered.flush()
}

/// serde_json's `PrettyFormatter` (two-space indentation), byte for byte, writing each line
/// break with its indentation at once: serde_json writes the indentation level by level,
/// several writes per line, and a report of thousands of branches has a hundred thousand lines.
#[derive(Default)]
struct Pretty {
    depth: usize,
    /// Whether the innermost array or object has a value yet.
    has_value: bool,
    /// `,\n` then as many spaces as the deepest indentation so far.
    breaks: Vec<u8>,
}

impl Pretty {
    /// A line break at the current depth, after a comma unless `first`.
    fn line<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        let end = 2 + 2 * self.depth;
        if self.breaks.len() < end {
            self.breaks.clear();
            self.breaks.extend_from_slice(b",\n");
            self.breaks.resize(end, b' ');
        }
        out.write_all(&self.breaks[usize::from(first)..end])
    }

    fn open<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(out, true)?;
        }
        out.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.line(out, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.line(out, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nested, empty and escaped values come out as serde_json's own pretty printer writes them.
    #[test]
    fn pretty_is_serde_json_pretty_byte_for_byte() {
        let value = serde_json::json!({
            "empty_object": {},
            "empty_array": [],
            "nested": [[], [[1, 2], {}], {"a": {"b": {"c": [null, true, "x\"\n\u{1b}"]}}}],
            "deep": [[[[[[[[[["ten levels"]]]]]]]]]],
            "after": 1.5,
        });
        let mut ours = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
        value.serialize(&mut serializer).unwrap();
        let theirs = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(String::from_utf8(ours), String::from_utf8(theirs));
    }
}
