//! Text shown to a person: escaping control characters, and capping lengths.
//!
//! Plugins are untrusted, and so is repository data (a committer name, a branch name, a path):
//! any of it can carry terminal control sequences (ESC/CSI/OSC, BEL), carriage returns and
//! newlines that forge whole lines, C1 controls, or bidirectional overrides that reorder what a
//! person reads. Everything the host prints for a person goes through [`escape`] (or
//! [`Escaped`]), so such text is shown as visible escapes (`\x1b`, `\u{202e}`) and never acts
//! on the terminal. Machine output (JSON) keeps the exact text.
//!
//! It lives in `trellis-os`, the bottom of the layering (`trellis-os` ← `trellis-git` ←
//! `trellis-runtime` ← `trellis-app` ← `trellis`), because it is the one crate every layer that
//! writes to a terminal or a log already depends on: the runtime (plugin log lines, result
//! caps), the application (the table report, warnings) and the command line (error lines,
//! `plugin list` and `plugin info`) all use this one function, and no crate is added.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// Whether `c` must not reach a terminal as is: C0 controls (TAB, LF and CR included: every
/// display context is a single line), DEL, C1 controls, the line and paragraph separators,
/// and the bidirectional controls (embeddings, overrides, isolates, marks).
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{061c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every character of [`needs_escape`] written as a visible escape: `\xNN` below
/// U+0100 (`\x1b`, `\x0a`, `\x9b`), `\u{NNNN}` above (`\u{202e}`). Borrowed when nothing
/// needs escaping.
pub fn escape(text: &str) -> Cow<'_, str> {
    if text.chars().any(needs_escape) {
        Cow::Owned(Escaped(text).to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// Formats a string escaped as [`escape`] does, without allocating: `format!("{}",
/// Escaped(name))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(needs_escape) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            if (c as u32) < 0x100 {
                write!(f, "\\x{:02x}", c as u32)?;
            } else {
                write!(f, "\\u{{{:x}}}", c as u32)?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Displays anything [`fmt::Display`] escaped as [`escape`] does: `EscapedDisplay(&error)`.
#[derive(Debug, Clone, Copy)]
pub struct EscapedDisplay<T>(pub T);

impl<T: fmt::Display> fmt::Display for EscapedDisplay<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl Write for Escaping<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                write!(self.0, "{}", Escaped(s))
            }
        }
        write!(Escaping(f), "{}", self.0)
    }
}

/// Cuts `text` to at most `max_bytes` bytes (on a character boundary) followed by the marker
/// `… [truncated, N bytes]`, N being the original length. Text within the cap is unchanged.
pub fn truncate(text: &mut String, max_bytes: usize) {
    if text.len() <= max_bytes {
        return;
    }
    let original = text.len();
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("… [truncated, {original} bytes]"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_class_is_escaped_visibly() {
        let cases = [
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
            ("a\rb\nc\td", "a\\x0db\\x0ac\\x09d"),
            ("nul\0bs\x08", "nul\\x00bs\\x08"),
            ("del\x7f", "del\\x7f"),
            ("c1\u{9b}31m\u{85}", "c1\\x9b31m\\x85"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
            ),
            ("\u{200e}\u{200f}\u{61c}", "\\u{200e}\\u{200f}\\u{61c}"),
            ("\u{2028}\u{2029}", "\\u{2028}\\u{2029}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape(raw), shown, "{raw:?}");
            assert_eq!(Escaped(raw).to_string(), shown);
            assert_eq!(EscapedDisplay(format_args!("{raw}")).to_string(), shown);
        }
    }

    #[test]
    fn printable_text_is_kept_and_borrowed() {
        for text in ["plain", "Zoë 名前 🦀 \\x1b", "", "ä€\u{a0}"] {
            assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
        }
        // Every char in the control ranges is escaped, and nothing else in the BMP's low part.
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let shown = escape(&c.to_string()).into_owned();
            assert_eq!(shown != c.to_string(), needs_escape(c), "{c:?}");
            assert!(!shown.chars().any(needs_escape), "{c:?}");
        }
    }

    #[test]
    fn truncation_keeps_char_boundaries_and_says_so() {
        let mut short = "short".to_string();
        truncate(&mut short, 5);
        assert_eq!(short, "short");
        let mut long = "ab€cd".to_string(); // € is 3 bytes at 2..5
        truncate(&mut long, 3);
        assert_eq!(long, "ab… [truncated, 7 bytes]");
        let mut huge = "x".repeat(1 << 20);
        truncate(&mut huge, 100);
        assert!(huge.starts_with(&"x".repeat(100)));
        assert!(huge.ends_with("… [truncated, 1048576 bytes]"));
    }
}
