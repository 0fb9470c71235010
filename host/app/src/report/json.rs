//! The JSON rendering of a report, in the wire format of `trellis-report`.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use trellis_git::facts::BranchFacts;

use super::ScanReport;
use super::wire::{self, Branches};

/// Writes `report` as pretty-printed JSON followed by a newline.
///
/// Branches are nearly all of a report: each repository's are converted and rendered on every
/// core, at the depth they have in the report, and written in place of the empty arrays the
/// rest of the report is serialized with. The bytes are those of `serde_json`'s pretty printer.
pub fn write_json(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let rendered = report
        .repositories
        .iter()
        .map(|r| render_branches(&r.branches))
        .collect::<io::Result<Vec<_>>>()?;
    let expected = rendered.len();
    let pretty = Pretty::splicing(rendered);
    let spliced = std::rc::Rc::clone(&pretty.spliced);
    // Stdout is line-buffered: without a buffer, every line of the report is a syscall.
    let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffered, pretty);
    wire::report(report, Branches::Left).serialize(&mut serializer)?;
    if spliced.get() != expected {
        return Err(io::Error::other(
            "the branches of some repository had no place in the report",
        ));
    }
    writeln!(buffered)?;
    buffered.flush()
}

/// Where a repository's `branches` array is: `{ "repositories": [ { "branches": [`.
const BRANCHES_DEPTH: usize = 3;

/// The `branches` array of one repository, as [`Pretty`] writes it at [`BRANCHES_DEPTH`], in
/// pieces rendered in parallel.
fn render_branches(branches: &[BranchFacts]) -> io::Result<Vec<Vec<u8>>> {
    if branches.is_empty() {
        return Ok(vec![b"[]".to_vec()]);
    }
    // Enough branches per piece to keep every core busy without a buffer per branch.
    const PIECE: usize = 64;
    let mut pieces = branches
        .par_chunks(PIECE)
        .enumerate()
        .map(|(n, chunk)| {
            let mut piece = Vec::with_capacity(chunk.len() * 1024);
            for (i, b) in chunk.iter().enumerate() {
                let mut pretty = Pretty::at_depth(BRANCHES_DEPTH + 1);
                pretty.line(&mut piece, n == 0 && i == 0)?;
                let mut serializer = serde_json::Serializer::with_formatter(&mut piece, pretty);
                wire::branch(b).serialize(&mut serializer)?;
            }
            Ok(piece)
        })
        .collect::<io::Result<Vec<Vec<u8>>>>()?;
    pieces.insert(0, b"[".to_vec());
    let mut close = Vec::new();
    Pretty::at_depth(BRANCHES_DEPTH).line(&mut close, true)?;
    close.push(b']');
    pieces.push(close);
    Ok(pieces)
}

/// serde_json's `PrettyFormatter` (two-space indentation), byte for byte, writing each line
/// break with its indentation at once: serde_json writes the indentation level by level,
/// several writes per line, and a report of thousands of branches has a hundred thousand lines.
///
/// When splicing, the empty `branches` arrays at [`BRANCHES_DEPTH`] are written as the next
/// pre-rendered array instead.
#[derive(Default)]
struct Pretty {
    depth: usize,
    /// Whether the innermost array or object has a value yet.
    has_value: bool,
    /// `,\n` then as many spaces as the deepest indentation so far.
    breaks: Vec<u8>,
    /// The key being written, and whether one is.
    key: Vec<u8>,
    in_key: bool,
    /// Arrays to write in place of the empty `branches` arrays, in order.
    splices: std::vec::IntoIter<Vec<Vec<u8>>>,
    /// How many were written.
    spliced: std::rc::Rc<std::cell::Cell<usize>>,
    /// The empty array just replaced: its closing bracket is not written.
    in_splice: bool,
}

impl Pretty {
    fn at_depth(depth: usize) -> Self {
        Pretty {
            depth,
            ..Pretty::default()
        }
    }

    fn splicing(arrays: Vec<Vec<Vec<u8>>>) -> Self {
        Pretty {
            splices: arrays.into_iter(),
            ..Pretty::default()
        }
    }

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
        if self.depth == BRANCHES_DEPTH
            && self.key == b"branches"
            && let Some(pieces) = self.splices.next()
        {
            self.spliced.set(self.spliced.get() + 1);
            self.in_splice = true;
            self.depth += 1;
            return pieces.iter().try_for_each(|p| out.write_all(p));
        }
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        if std::mem::take(&mut self.in_splice) {
            self.depth -= 1;
            return Ok(());
        }
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        if self.in_splice {
            // Only an empty array may be replaced: its values would be lost.
            return Err(io::Error::other("a spliced `branches` array was not empty"));
        }
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
        self.key.clear();
        self.in_key = true;
        self.line(out, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        out: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            self.key.extend_from_slice(fragment.as_bytes());
        }
        out.write_all(fragment.as_bytes())
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

    /// Splicing replaces only empty `branches` arrays: one with values fails rather than
    /// writing both.
    #[test]
    fn splicing_refuses_to_replace_an_array_with_values() {
        let splice = || Pretty::splicing(vec![vec![b"[\"spliced\"]".to_vec()]]);
        let mut out = Vec::new();
        let empty = serde_json::json!({"repositories": [{"branches": [], "n": 1}]});
        empty
            .serialize(&mut serde_json::Serializer::with_formatter(
                &mut out,
                splice(),
            ))
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("\"branches\": [\"spliced\"],\n"), "{out}");

        let full = serde_json::json!({"repositories": [{"branches": [1]}]});
        let mut out = Vec::new();
        let written = full.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            splice(),
        ));
        assert!(written.is_err(), "{}", String::from_utf8_lossy(&out));
    }
}
