//! Conventional Commits with the verdicts of `@commitlint/cli` + `@commitlint/config-conventional`
//! (commitlint 20.5): the same ignore list (`@commitlint/is-ignored`), the same parse
//! (`conventional-commits-parser` 6 with the `conventional-changelog-conventionalcommits` preset:
//! header pattern with `!`, `BREAKING CHANGE` notes, issue references that move a line into the
//! footer), and the same rules and levels:
//!
//! | rule | level | check |
//! | --- | --- | --- |
//! | `type-enum` | error | type in the allowed types |
//! | `type-case` | error | type in lower case |
//! | `type-empty` | error | type present |
//! | `subject-empty` | error | subject present |
//! | `subject-case` | error | subject not sentence-, start-, pascal- or upper-case |
//! | `subject-full-stop` | error | header does not end with `.` (an ellipsis is fine) |
//! | `header-max-length` | error | header at most 100 UTF-16 code units |
//! | `header-trim` | error | header not surrounded by whitespace |
//! | `body-max-line-length` | error | body lines at most 100 (lines with a URL are exempt) |
//! | `footer-max-line-length` | error | footer lines at most 100 (lines with a URL are exempt) |
//! | `body-leading-blank` | warning | a blank line before the body |
//! | `footer-leading-blank` | warning | a blank line before the footer |
//!
//! JavaScript details are kept where they change a verdict: lengths count UTF-16 code units,
//! `\s` and `trim` use JavaScript's whitespace set, `.` stops at `\r`, U+2028 and U+2029, case
//! folding in the ignore and reference patterns is ASCII-only. The agreement test
//! (`tests/commitlint.rs`) runs the real commitlint over a corpus and compares.
//!
//! Options beyond config-conventional (`scopes`, `require_scope`) add commitlint's
//! `scope-enum` and `scope-empty` rules.

use std::sync::OnceLock;

use regex::Regex;

/// The types of config-conventional's `type-enum`.
pub const DEFAULT_TYPES: &[&str] = &[
    "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
];

/// Options of the `conventional-commits` family; the defaults are config-conventional's.
#[derive(Debug, Clone)]
pub struct ConventionalOptions {
    /// Allowed types (`type-enum`).
    pub types: Vec<String>,
    /// Allowed scopes (`scope-enum`), when restricted.
    pub scopes: Option<Vec<String>>,
    /// Whether a scope is required (`scope-empty`).
    pub require_scope: bool,
    /// `header-max-length`.
    pub max_header_length: usize,
    /// `body-max-line-length` and `footer-max-line-length`.
    pub max_line_length: usize,
    /// Also report the warning-level rules (`body-leading-blank`, `footer-leading-blank`).
    pub warnings: bool,
}

impl Default for ConventionalOptions {
    fn default() -> Self {
        ConventionalOptions {
            types: DEFAULT_TYPES.iter().map(|s| s.to_string()).collect(),
            scopes: None,
            require_scope: false,
            max_header_length: 100,
            max_line_length: 100,
            warnings: false,
        }
    }
}

/// A commit message parsed as `conventional-commits-parser` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The first line (after dropping leading newlines and `gpg:` lines).
    pub header: Option<String>,
    /// The type (`feat`); `None` when empty or when the header does not match.
    pub kind: Option<String>,
    /// The scope.
    pub scope: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The body.
    pub body: Option<String>,
    /// The footer (notes and lines with issue references, and what follows them).
    pub footer: Option<String>,
    /// Whether the header has `!` or a `BREAKING CHANGE` note is present.
    pub breaking: bool,
}

/// The level of a failed commitlint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// config-conventional level 2: the message is invalid.
    Error,
    /// config-conventional level 1.
    Warning,
}

/// One failed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// commitlint's rule name (`type-enum`).
    pub rule: &'static str,
    /// Its level.
    pub level: Level,
    /// commitlint's message.
    pub message: String,
}

/// The verdict on one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Whether commitlint ignores the message (merges, reverts, fixups, versions, …).
    pub ignored: bool,
    /// The parse, unless ignored or empty.
    pub parsed: Option<Parsed>,
    /// The failed rules.
    pub problems: Vec<Problem>,
}

impl Verdict {
    /// Valid when no error-level rule failed.
    pub fn valid(&self) -> bool {
        !self.problems.iter().any(|p| p.level == Level::Error)
    }

    /// The names of the failed error-level rules, sorted.
    pub fn errors(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self
            .problems
            .iter()
            .filter(|p| p.level == Level::Error)
            .map(|p| p.rule)
            .collect();
        v.sort_unstable();
        v
    }
}

/// JavaScript's `\s` (WhiteSpace and LineTerminator).
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JavaScript's line terminators (what `.` does not match, and where `^` matches with `m`).
fn js_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

const JS_DOT: &str = r"[^\n\r\u{2028}\u{2029}]";

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn regex(cell: &'static OnceLock<Regex>, pattern: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| match Regex::new(&pattern()) {
        Ok(re) => re,
        // The patterns are constants of this module, tested below.
        Err(e) => panic!("built-in pattern: {e}"),
    })
}

fn header_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(&RE, || {
        format!(r"^([A-Za-z0-9_]*)(?:\(({JS_DOT}*)\))?!?: ({JS_DOT}*)$")
    })
}

fn breaking_header_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(&RE, || {
        format!(r"^([A-Za-z0-9_]*)(?:\(({JS_DOT}*)\))?!: ({JS_DOT}*)$")
    })
}

fn semver_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(&RE, || {
        let num = r"(?:0|[1-9][0-9]*)";
        let pre = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][a-zA-Z0-9-]*)";
        format!(
            r"^v?{num}\.{num}\.{num}(?:-{pre}(?:\.{pre})*)?(?:\+[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)?$"
        )
    })
}

fn url_re() -> &'static Regex {
    // conventional-commits-parser: a sentence with a URL holds no reference.
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(&RE, || {
        r"(?-u:\b)https?://(?:www\.)?[-a-zA-Z0-9@:%_+.~#?&/=]+(?-u:\b)".to_string()
    })
}

/// `@commitlint/ensure` max-line-length: a line containing `\bhttps?://\S+` is exempt.
fn long_line_url(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find("http") {
        let at = from + pos;
        let boundary = at == 0 || !is_word_byte(bytes[at - 1]);
        let rest = &line[at + 4..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        if boundary
            && let Some(after) = rest.strip_prefix("://")
            && after.chars().next().is_some_and(|c| !js_space(c))
        {
            return true;
        }
        from = at + 4;
    }
    false
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `@commitlint/is-ignored`'s default wildcards.
pub fn is_ignored(message: &str) -> bool {
    // Wildcards with the `m` flag test every line start.
    for line in message.split(js_line_break) {
        if line.starts_with("Merge pull request")
            || line.starts_with("Merge branch ")
            || line.starts_with("Merge tag ")
            || line
                .strip_prefix("Merge ")
                .is_some_and(|rest| rest.contains(" into "))
        {
            return true;
        }
    }
    let first = message.split(js_line_break).next().unwrap_or("");
    if message.starts_with("Revert ")
        || message.starts_with("revert ")
        || message.starts_with("Reapply ")
        || message.starts_with("reapply ")
        || ["amend!", "fixup!", "squash!"]
            .iter()
            .any(|p| message.starts_with(p))
        || first.starts_with("Merge remote-tracking branch")
        || first.starts_with("Automatic merge")
    {
        return true;
    }
    if let Some(rest) = first.strip_prefix("Merged ")
        && (rest.contains("in ") || rest.contains("into "))
    {
        return true;
    }
    if let Some(rest) = first.strip_prefix("Merged PR ")
        && rest.contains(": ")
    {
        return true;
    }
    if let Some(rest) = first.strip_prefix("Auto-merged ")
        && rest.contains(" into ")
    {
        return true;
    }
    is_semver_line(message.split('\n').next().unwrap_or(""))
}

/// The `isSemver` wildcard: a release commit whose first line is a version.
fn is_semver_line(first: &str) -> bool {
    static CHORE: OnceLock<Regex> = OnceLock::new();
    static SKIP_BRACKET: OnceLock<Regex> = OnceLock::new();
    static SKIP_PAREN: OnceLock<Regex> = OnceLock::new();
    let chore = regex(&CHORE, || r"^chore(?:\([^)]+\))?:".to_string());
    let skip_ws = r"[\t\n\x0B\x0C\r \u{A0}\u{1680}\u{2000}-\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}\u{FEFF}]";
    let bracket = regex(&SKIP_BRACKET, || {
        format!(r"(?i:\[(skip|ci)(-|{skip_ws})(ci|skip)\])")
    });
    let paren = regex(&SKIP_PAREN, || {
        format!(r"(?i:\((skip|ci)(-|{skip_ws})(ci|skip)\))")
    });
    let s = chore.replace(first, "");
    let s = bracket.replace(&s, "");
    let s = paren.replace(&s, "");
    let s = s.trim_matches(js_space);
    s.len() <= 256 && semver_re().is_match(s)
}

const ACTIONS: &[&str] = &[
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

/// Whether `sentence` holds an issue reference (`#12` followed by a space, the end, or `,;)]`),
/// as `parseReference` finds one.
fn sentence_has_reference(sentence: &str) -> bool {
    if url_re().is_match(sentence) {
        return false;
    }
    let bytes = sentence.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'#' {
            continue;
        }
        let mut j = i + 1;
        while j < bytes.len() && (is_word_byte(bytes[j]) || bytes[j] == b'-') {
            j += 1;
        }
        if j == i + 1 {
            continue;
        }
        let next = sentence[j..].chars().next();
        match next {
            None => return true,
            Some(c) if js_space(c) || matches!(c, ',' | ';' | ')' | ']') => return true,
            _ => {}
        }
    }
    false
}

/// Whether a line holds issue references, as `CommitParser.parseReferences` finds them: with a
/// reference action (`fixes`, `closes`, …) only the text after each action counts.
fn has_references(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let keyword_at = |p: usize| ACTIONS.iter().any(|k| lower[p..].starts_with(k));
    // Each action match: (start of its sentence, end of the sentence).
    let mut sentences = Vec::new();
    let mut p = 0;
    while p < lower.len() {
        if !lower.is_char_boundary(p) {
            p += 1;
            continue;
        }
        let mut matched = None;
        for k in ACTIONS {
            if !lower[p..].starts_with(k) {
                continue;
            }
            let after = p + k.len();
            let ws: usize = lower[after..]
                .chars()
                .take_while(|&c| js_space(c))
                .map(char::len_utf8)
                .sum();
            if ws == 0 {
                continue;
            }
            let start = after + ws;
            // The lazy sentence stops where a keyword starts, or at the end.
            let mut end = start;
            while end < lower.len() && !(lower.is_char_boundary(end) && keyword_at(end)) {
                end += 1;
            }
            if lower[start..end].chars().any(js_line_break) {
                continue;
            }
            matched = Some((start, end));
            break;
        }
        match matched {
            Some((start, end)) => {
                sentences.push(&line[start..end]);
                p = end.max(p + 1);
            }
            None => p += 1,
        }
    }
    if sentences.is_empty() {
        // No action: every run of characters up to a line break is a sentence.
        return line
            .split(js_line_break)
            .filter(|s| !s.is_empty())
            .any(sentence_has_reference);
    }
    sentences.into_iter().any(sentence_has_reference)
}

fn is_note(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| js_space(c) || c == '|' || c == '*');
    let upper = rest.get(..15).map(str::to_ascii_uppercase);
    if !matches!(
        upper.as_deref(),
        Some("BREAKING CHANGE") | Some("BREAKING-CHANGE")
    ) {
        return false;
    }
    rest[15..]
        .chars()
        .next()
        .is_some_and(|c| c == ':' || js_space(c))
}

/// `appendLine` of conventional-commits-parser: an empty accumulator is replaced.
fn append(acc: &mut Option<String>, line: &str) {
    match acc {
        Some(s) if !s.is_empty() => {
            s.push('\n');
            s.push_str(line);
        }
        _ => *acc = Some(line.to_string()),
    }
}

/// Removes leading and trailing `\r` / `\n` (`trimNewLines`).
fn trim_newlines(s: &str) -> &str {
    s.trim_matches(|c| c == '\r' || c == '\n')
}

fn split_crlf(s: &str) -> Vec<&str> {
    s.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Parses a message as commitlint does (`None` for a message commitlint treats as empty).
pub fn parse(message: &str) -> Option<Parsed> {
    if message.is_empty() {
        return None;
    }
    let lines: Vec<&str> = split_crlf(trim_newlines(message))
        .into_iter()
        .filter(|l| !l.trim_start_matches(js_space).starts_with("gpg:"))
        .collect();
    let mut parsed = Parsed::default();
    let mut idx = 0;
    let header = lines.first().copied();
    idx += usize::from(header.is_some());
    if let Some(h) = header.filter(|h| !h.is_empty()) {
        parsed.header = Some(h.to_string());
        let caps = breaking_header_re()
            .captures(h)
            .map(|c| (c, true))
            .or_else(|| header_re().captures(h).map(|c| (c, false)));
        if let Some((caps, bang)) = caps {
            let group = |i| {
                caps.get(i)
                    .map(|m| m.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            parsed.kind = group(1);
            parsed.scope = group(2);
            parsed.subject = group(3);
            parsed.breaking = bang;
        }
    }
    let (mut body, mut footer) = (None::<String>, None::<String>);
    let mut is_body = true;
    let n = lines.len();
    while idx < n {
        // parseNotes, with its tail recursion as a loop.
        if is_note(lines[idx]) {
            parsed.breaking = true;
            'note: loop {
                append(&mut footer, lines[idx]);
                idx += 1;
                while idx < n {
                    if is_note(lines[idx]) {
                        continue 'note;
                    }
                    let refs = has_references(lines[idx]);
                    append(&mut footer, lines[idx]);
                    idx += 1;
                    if refs {
                        break;
                    }
                }
                break;
            }
            is_body = false;
        }
        // parseBodyAndFooter.
        if idx < n {
            let still_body = is_body && !has_references(lines[idx]);
            if still_body {
                append(&mut body, lines[idx]);
            } else {
                append(&mut footer, lines[idx]);
            }
            idx += 1;
            if !still_body {
                is_body = false;
            }
        }
    }
    parsed.body = body.map(|b| trim_newlines(&b).to_string());
    parsed.footer = footer.map(|f| trim_newlines(&f).to_string());
    if parsed.header.is_none() && parsed.body.is_none() && parsed.footer.is_none() {
        return None;
    }
    Some(parsed)
}

fn subject_case_violated(subject: &str) -> bool {
    static LETTER: OnceLock<Regex> = OnceLock::new();
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    let letter = regex(&LETTER, || r"(?i)^[\p{Ll}\p{Lu}\p{Lt}]".to_string());
    if !letter.is_match(subject) {
        return false;
    }
    let quoted = regex(&QUOTED, || {
        format!("`{JS_DOT}*?`|\"{JS_DOT}*?\"|'{JS_DOT}*?'")
    });
    let stripped = quoted.replace_all(subject, "");
    let input = stripped.trim_matches(js_space);
    // sentence-case: upperFirst(input) === input; the other three cases of the list imply it
    // for a subject that starts with a letter.
    let Some(first) = input.chars().next() else {
        return true;
    };
    if first.len_utf16() == 2 {
        // JavaScript upper-cases the lone high surrogate: unchanged.
        return true;
    }
    first.to_uppercase().eq(std::iter::once(first))
}

fn split_scopes(scope: &str) -> Vec<&str> {
    // commitlint's scope-enum splits multiple scopes at `/`, `\` and `,` (with an optional space).
    scope
        .split(['/', '\\', ','])
        .map(|s| s.strip_prefix(' ').unwrap_or(s))
        .collect()
}

/// Lints one message (`ConventionalOptions::default()` is config-conventional).
pub fn lint(message: &str, o: &ConventionalOptions) -> Verdict {
    if is_ignored(message) {
        return Verdict {
            ignored: true,
            ..Verdict::default()
        };
    }
    let parsed = if message.trim_matches(js_space).is_empty() && !message.is_empty() {
        // commitlint's parser throws on a blank message; treat it as a missing header.
        Some(Parsed {
            header: Some(message.to_string()),
            ..Parsed::default()
        })
    } else {
        parse(message)
    };
    let Some(p) = parsed else {
        return Verdict::default();
    };
    let mut problems = Vec::new();
    let mut fail = |rule: &'static str, level: Level, message: String| {
        problems.push(Problem {
            rule,
            level,
            message,
        })
    };
    let max_line = o.max_line_length;
    let long_line = |text: &str| {
        split_crlf(text)
            .into_iter()
            .any(|l| !long_line_url(l) && utf16_len(l) > max_line)
    };
    if let Some(body) = p.body.as_deref().filter(|b| !b.is_empty())
        && long_line(body)
    {
        fail(
            "body-max-line-length",
            Level::Error,
            format!("body's lines must not be longer than {max_line} characters"),
        );
    }
    if let Some(footer) = p.footer.as_deref().filter(|f| !f.is_empty())
        && long_line(footer)
    {
        fail(
            "footer-max-line-length",
            Level::Error,
            format!("footer's lines must not be longer than {max_line} characters"),
        );
    }
    let header_len = p.header.as_deref().map(utf16_len);
    if header_len.is_none_or(|n| n > o.max_header_length) {
        fail(
            "header-max-length",
            Level::Error,
            format!(
                "header must not be longer than {} characters, current length is {}",
                o.max_header_length,
                header_len.unwrap_or(0)
            ),
        );
    }
    if let Some(h) = p.header.as_deref().filter(|h| !h.is_empty()) {
        let start = h.starts_with(js_space);
        let end = h.ends_with(js_space);
        if start || end {
            let how = match (start, end) {
                (true, true) => "must not be surrounded by whitespace",
                (true, false) => "must not start with whitespace",
                _ => "must not end with whitespace",
            };
            fail("header-trim", Level::Error, format!("header {how}"));
        }
    }
    if let Some(subject) = &p.subject
        && subject_case_violated(subject)
    {
        fail(
            "subject-case",
            Level::Error,
            "subject must not be sentence-case, start-case, pascal-case, upper-case".into(),
        );
    }
    if p.subject.is_none() {
        fail(
            "subject-empty",
            Level::Error,
            "subject may not be empty".into(),
        );
    }
    if let Some(h) = &p.header
        && h.ends_with('.')
        && !h.ends_with("...")
    {
        fail(
            "subject-full-stop",
            Level::Error,
            "subject may not end with full stop".into(),
        );
    }
    if let Some(t) = &p.kind {
        let lower = t.to_lowercase();
        if !lower.starts_with(|c: char| c.is_ascii_digit()) && lower != *t {
            fail("type-case", Level::Error, "type must be lower-case".into());
        }
        if !o.types.iter().any(|allowed| allowed == t) {
            fail(
                "type-enum",
                Level::Error,
                format!("type must be one of [{}]", o.types.join(", ")),
            );
        }
    } else {
        fail("type-empty", Level::Error, "type may not be empty".into());
    }
    if o.require_scope && p.scope.is_none() {
        fail("scope-empty", Level::Error, "scope may not be empty".into());
    }
    if let (Some(scopes), Some(scope)) = (&o.scopes, &p.scope)
        && !split_scopes(scope)
            .iter()
            .all(|s| scopes.iter().any(|a| a == s))
    {
        fail(
            "scope-enum",
            Level::Error,
            format!("scope must be one of [{}]", scopes.join(", ")),
        );
    }
    // Warning-level rules look at the raw message.
    let raw: Vec<&str> = split_crlf(message);
    if p.body.as_deref().is_some_and(|b| !b.is_empty()) && raw.get(1) != Some(&"") {
        fail(
            "body-leading-blank",
            Level::Warning,
            "body must have leading blank line".into(),
        );
    }
    if let Some(footer) = p.footer.as_deref().filter(|f| !f.is_empty()) {
        let first = split_crlf(footer)[0];
        let offset = raw
            .iter()
            .position(|l| *l == first)
            .map_or(-1, |i| i as i64);
        // JavaScript's `slice(offset - 1)[0]`: a negative start counts from the end.
        let at = if offset - 1 < 0 {
            (raw.len() as i64 + offset - 1).max(0)
        } else {
            offset - 1
        };
        if raw.get(at as usize) != Some(&"") {
            fail(
                "footer-leading-blank",
                Level::Warning,
                "footer must have leading blank line".into(),
            );
        }
    }
    Verdict {
        ignored: false,
        parsed: Some(p),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(message: &str) -> Vec<&'static str> {
        lint(message, &ConventionalOptions::default()).errors()
    }

    #[test]
    fn built_in_patterns_compile() {
        header_re();
        breaking_header_re();
        semver_re();
        url_re();
        assert!(is_semver_line("chore(release): v1.2.3 [skip ci]"));
        assert!(!is_semver_line("chore: 1.2"));
    }

    #[test]
    fn headers_parse_like_the_preset() {
        let p = parse("feat(api)!: drop v1\n\nBREAKING CHANGE: gone").unwrap_or_default();
        assert_eq!(p.kind.as_deref(), Some("feat"));
        assert_eq!(p.scope.as_deref(), Some("api"));
        assert_eq!(p.subject.as_deref(), Some("drop v1"));
        assert!(p.breaking);
        assert_eq!(p.footer.as_deref(), Some("BREAKING CHANGE: gone"));
        // The greedy scope of the non-breaking pattern.
        let p = parse("feat(a): b (c): d").unwrap_or_default();
        assert_eq!(p.scope.as_deref(), Some("a): b (c"));
        assert_eq!(p.subject.as_deref(), Some("d"));
    }

    #[test]
    fn references_move_lines_to_the_footer() {
        let p = parse("fix: a\n\nbody line\nsee #12 here\nafter").unwrap_or_default();
        assert_eq!(p.body.as_deref(), Some("body line"));
        assert_eq!(p.footer.as_deref(), Some("see #12 here\nafter"));
        assert!(!has_references("#12 fixes the thing"));
        assert!(has_references("fixes #12"));
        assert!(!has_references("see https://x.org/a#12 "));
        assert!(has_references("#include <x>"));
    }

    #[test]
    fn verdicts_of_config_conventional() {
        assert!(errors("feat: add a thing").is_empty());
        assert!(errors("feat!: drop node 16").is_empty());
        assert_eq!(
            errors("Feat: Add thing."),
            vec![
                "subject-case",
                "subject-full-stop",
                "type-case",
                "type-enum"
            ]
        );
        assert_eq!(
            errors(" feat: x"),
            vec!["header-trim", "subject-empty", "type-empty"]
        );
        assert!(errors("Merge branch 'main' into x").is_empty());
        assert!(errors("Revert \"feat: x\"").is_empty());
        assert!(errors("fixup! feat: x").is_empty());
        assert!(errors("v1.2.3").is_empty());
        assert_eq!(
            errors(&format!("feat: {}", "a".repeat(95))),
            vec!["header-max-length"]
        );
        assert!(errors("feat: wait for it...").is_empty());
        let w = lint("feat: x\nbody", &ConventionalOptions::default());
        assert!(w.valid());
        assert_eq!(w.problems[0].rule, "body-leading-blank");
    }

    #[test]
    fn extra_options_add_scope_rules() {
        let o = ConventionalOptions {
            scopes: Some(vec!["api".into(), "cli".into()]),
            require_scope: true,
            ..ConventionalOptions::default()
        };
        assert!(lint("feat(api,cli): x", &o).valid());
        assert_eq!(lint("feat(web): x", &o).errors(), vec!["scope-enum"]);
        assert_eq!(lint("feat: x", &o).errors(), vec!["scope-empty"]);
    }
}
