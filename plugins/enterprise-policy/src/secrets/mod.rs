//! Secrets in added lines, with rules in the gitleaks format.
//!
//! A [`Scanner`] compiles a rule set (the default set written for this plugin, a team's gitleaks
//! configuration, or both). Scanning a file's added lines first runs one Aho-Corasick automaton
//! with every rule's keywords over each line (ASCII case-insensitive, as gitleaks compares
//! keywords with the lower-cased text); only the rules whose keyword occurs on a line run their
//! regex on that line, so most lines never see a regex. Rules without keywords run on every line.
//!
//! Differences from gitleaks, all deliberate: a rule runs on the line that holds its keyword (a
//! multi-line rule — one whose regex can span lines, like private key blocks — on a window of up
//! to 64 following added lines), not on the whole diff fragment; composite rules (`required`)
//! are not supported. Findings never hold a secret in full: only its first four characters and
//! its length.

pub mod entropy;
pub mod gitleaks;

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use crate::error::ConfigError;
use crate::input::AddedLines;
use gitleaks::{GlAllowlist, GlRule};

pub use entropy::shannon_entropy;

/// The default rule set, written for this plugin in the gitleaks format.
pub const DEFAULT_RULES: &str = include_str!("default.toml");

/// How many following added lines a multi-line rule sees.
const WINDOW_LINES: usize = 64;
/// How many bytes a multi-line window holds at most.
const WINDOW_BYTES: usize = 16 * 1024;

/// What an allowlist regex tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

#[derive(Debug, Clone)]
struct Allowlist {
    and: bool,
    commits: Vec<String>,
    paths: Vec<Regex>,
    regexes: Vec<Regex>,
    target: Target,
    stopwords: Vec<String>,
    target_rules: Vec<String>,
}

/// Where a candidate was found, for the allowlists.
struct Candidate<'a> {
    secret: &'a str,
    matched: &'a str,
    line: &'a str,
    path: &'a str,
    commit: Option<&'a str>,
}

impl Allowlist {
    fn allows(&self, c: &Candidate<'_>) -> bool {
        let commit = || {
            c.commit.is_some_and(|id| {
                self.commits
                    .iter()
                    .any(|a| !a.is_empty() && (id.starts_with(a.as_str()) || a.starts_with(id)))
            })
        };
        let path = || self.paths.iter().any(|re| re.is_match(c.path));
        let regex = || {
            let target = match self.target {
                Target::Secret => c.secret,
                Target::Match => c.matched,
                Target::Line => c.line,
            };
            self.regexes.iter().any(|re| re.is_match(target))
        };
        let stopword = || {
            let lower = c.secret.to_lowercase();
            self.stopwords.iter().any(|w| lower.contains(w.as_str()))
        };
        if self.and {
            let mut checks = Vec::new();
            if !self.commits.is_empty() {
                checks.push(commit());
            }
            if !self.paths.is_empty() {
                checks.push(path());
            }
            if !self.regexes.is_empty() {
                checks.push(regex());
            }
            if !self.stopwords.is_empty() {
                checks.push(stopword());
            }
            !checks.is_empty() && checks.iter().all(|&b| b)
        } else {
            commit() || path() || regex() || stopword()
        }
    }
}

/// A rule's regex, compiled on first use: most rules' keywords never appear in a scan, and
/// compiling the whole default set is most of a small scan's cost inside wasm. Only the
/// default rules (compiled eagerly by a test) are lazy; a team's rules are compiled when the
/// configuration loads, so a bad one is an error naming its key.
#[derive(Debug, Clone)]
struct RuleRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Option<Regex>>,
}

impl RuleRegex {
    fn compiled(re: Regex) -> Self {
        RuleRegex {
            pattern: re.as_str().to_string(),
            compiled: std::sync::OnceLock::from(Some(re)),
        }
    }

    fn lazy(pattern: &str) -> Self {
        RuleRegex {
            pattern: pattern.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// The regex; `None` only if a lazy pattern does not compile, which the default rules'
    /// test rules out.
    fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }
}

#[derive(Debug, Clone)]
struct SecretRule {
    id: String,
    description: String,
    regex: Option<RuleRegex>,
    secret_group: usize,
    entropy: Option<f64>,
    keywords: Vec<String>,
    path: Option<Regex>,
    allowlists: Vec<Allowlist>,
    multiline: bool,
    report: bool,
}

/// A secret found in added lines (redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct SecretFinding {
    /// The gitleaks rule id.
    pub rule: String,
    /// The line (number in the new file) where the match starts.
    pub line: u32,
    /// A sentence for people, with the secret redacted.
    pub message: String,
    /// `secret-rule`, `secret-preview` (first 4 characters), `secret-length`, `entropy`.
    pub data: BTreeMap<String, String>,
}

/// A compiled secret rule set.
#[derive(Debug, Clone)]
pub struct Scanner {
    rules: Vec<SecretRule>,
    global: Vec<Allowlist>,
    keywords: Option<AhoCorasick>,
    /// For each keyword pattern, the rules it triggers.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every line.
    always: Vec<usize>,
    has_commit_allowlists: bool,
}

fn compile_regex(pattern: &str, path: String) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| ConfigError::new(path, e.to_string()))
}

fn compile_allowlist(a: &GlAllowlist, path: &str) -> Result<Allowlist, ConfigError> {
    let and = match a
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("OR") => false,
        Some("AND") => true,
        Some(other) => {
            return Err(ConfigError::new(
                format!("{path}.condition"),
                format!("expected OR or AND, found `{other}`"),
            ));
        }
    };
    let target = match a.regex_target.as_deref() {
        None | Some("secret") | Some("") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => {
            return Err(ConfigError::new(
                format!("{path}.regexTarget"),
                format!("expected secret, match or line, found `{other}`"),
            ));
        }
    };
    let paths = a
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| compile_regex(p, format!("{path}.paths[{i}]")))
        .collect::<Result<_, _>>()?;
    let regexes = a
        .regexes
        .iter()
        .enumerate()
        .map(|(i, p)| compile_regex(p, format!("{path}.regexes[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Allowlist {
        and,
        commits: a.commits.clone(),
        paths,
        regexes,
        target,
        stopwords: a.stopwords.iter().map(|w| w.to_lowercase()).collect(),
        target_rules: a.target_rules.clone(),
    })
}

/// Whether a pattern can match across lines (and so needs a window of lines).
fn spans_lines(pattern: &str) -> bool {
    pattern.contains(r"[\s\S]")
        || pattern.contains(r"\n")
        || pattern.contains("(?s")
        || pattern.contains(r"[\S\s]")
}

/// Compiles a rule; with `lazy`, its regex waits for its first use (see [`RuleRegex`]).
fn compile_rule(r: &GlRule, path: &str, lazy: bool) -> Result<SecretRule, ConfigError> {
    if r.id.trim().is_empty() {
        return Err(ConfigError::new(format!("{path}.id"), "must not be empty"));
    }
    if r.regex.is_none() && r.path.is_none() {
        return Err(ConfigError::new(
            path,
            format!("rule `{}` needs `regex` or `path`", r.id),
        ));
    }
    let secret_group = r.secret_group.unwrap_or(0);
    let regex = match &r.regex {
        None => None,
        Some(p) if lazy => Some(RuleRegex::lazy(p)),
        Some(p) => {
            let re = compile_regex(p, format!("{path}.regex"))?;
            if secret_group >= re.captures_len() {
                return Err(ConfigError::new(
                    format!("{path}.secretGroup"),
                    format!(
                        "group {secret_group} does not exist (the regex has {} groups)",
                        re.captures_len() - 1
                    ),
                ));
            }
            Some(RuleRegex::compiled(re))
        }
    };
    let mut allowlists = Vec::new();
    if let Some(a) = &r.allowlist {
        allowlists.push(compile_allowlist(a, &format!("{path}.allowlist"))?);
    }
    for (i, a) in r.allowlists.iter().enumerate() {
        allowlists.push(compile_allowlist(a, &format!("{path}.allowlists[{i}]"))?);
    }
    Ok(SecretRule {
        id: r.id.clone(),
        description: r.description.clone().unwrap_or_else(|| r.id.clone()),
        multiline: r.regex.as_deref().is_some_and(spans_lines),
        regex,
        secret_group,
        entropy: r.entropy.filter(|e| *e != 0.0),
        keywords: r.keywords.iter().map(|k| k.to_lowercase()).collect(),
        path: match &r.path {
            Some(p) => Some(compile_regex(p, format!("{path}.path"))?),
            None => None,
        },
        allowlists,
        report: !r.skip_report.unwrap_or(false),
    })
}

/// Redacts a secret: its first four characters and its length.
pub fn redact(secret: &str) -> String {
    // A multi-line secret (a key block) starts with its line break: show text, not that.
    let head: String = secret.trim_start().chars().take(4).collect();
    format!("{head}… ({} characters)", secret.chars().count())
}

impl Scanner {
    /// The default rule set alone.
    pub fn default_rules() -> Result<Scanner, ConfigError> {
        Scanner::from_config(None, None)
    }

    /// Compiles a rule set: `gitleaks` is a gitleaks TOML configuration (inline text). The
    /// default set is used when there is no configuration, or when the configuration's
    /// `[extend] useDefault` or `use_default` says so (`use_default = false` wins).
    pub fn from_config(
        gitleaks: Option<&str>,
        use_default: Option<bool>,
    ) -> Result<Scanner, ConfigError> {
        let user = match gitleaks {
            Some(text) => Some(gitleaks::parse(text)?),
            None => None,
        };
        if let Some(ext) = user.as_ref().and_then(|u| u.extend.as_ref()) {
            if ext.path.is_some() {
                return Err(ConfigError::new(
                    "extend.path",
                    "extending a file is not supported: paste its rules inline",
                ));
            }
            if ext.url.is_some() {
                return Err(ConfigError::new(
                    "extend.url",
                    "extending a URL is not supported: paste its rules inline",
                ));
            }
        }
        let wants_default = match (&user, use_default) {
            (_, Some(explicit)) => explicit,
            (None, None) => true,
            (Some(u), None) => u
                .extend
                .as_ref()
                .and_then(|e| e.use_default)
                .unwrap_or(false),
        };
        let mut rules: Vec<SecretRule> = Vec::new();
        let mut global = Vec::new();
        if wants_default {
            let base = gitleaks::parse(DEFAULT_RULES).map_err(|e| e.under("(default rules)"))?;
            let disabled: Vec<String> = user
                .as_ref()
                .and_then(|u| u.extend.as_ref())
                .map(|e| e.disabled_rules.clone())
                .unwrap_or_default();
            for (i, r) in base.rules.iter().enumerate() {
                if !disabled.contains(&r.id) {
                    rules.push(
                        compile_rule(r, &format!("rules[{i}]"), true)
                            .map_err(|e| e.under("(default rules)"))?,
                    );
                }
            }
            for (i, a) in base
                .allowlist
                .iter()
                .chain(base.allowlists.iter())
                .enumerate()
            {
                global.push(compile_allowlist(a, &format!("allowlists[{i}]"))?);
            }
        }
        if let Some(u) = &user {
            for (i, r) in u.rules.iter().enumerate() {
                let path = format!("rules[{i}]");
                let existing = rules.iter().position(|x| x.id == r.id);
                match existing {
                    // gitleaks' extension: a rule with an existing id and no pattern of its own
                    // adds its keywords and allowlists to that rule.
                    Some(at) if r.regex.is_none() && r.path.is_none() => {
                        let mut extra = Vec::new();
                        if let Some(a) = &r.allowlist {
                            extra.push(compile_allowlist(a, &format!("{path}.allowlist"))?);
                        }
                        for (k, a) in r.allowlists.iter().enumerate() {
                            extra.push(compile_allowlist(a, &format!("{path}.allowlists[{k}]"))?);
                        }
                        rules[at].allowlists.extend(extra);
                        rules[at]
                            .keywords
                            .extend(r.keywords.iter().map(|k| k.to_lowercase()));
                    }
                    Some(at) => rules[at] = compile_rule(r, &path, false)?,
                    None => rules.push(compile_rule(r, &path, false)?),
                }
            }
            if let Some(a) = &u.allowlist {
                global.push(compile_allowlist(a, "allowlist")?);
            }
            for (i, a) in u.allowlists.iter().enumerate() {
                global.push(compile_allowlist(a, &format!("allowlists[{i}]"))?);
            }
        }
        if rules.is_empty() {
            return Err(ConfigError::new(
                "",
                "no secret rules: give a gitleaks configuration with rules, or use the default set",
            ));
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
            }
            for k in &r.keywords {
                match patterns.iter().position(|p| p == k) {
                    Some(at) => keyword_rules[at].push(i),
                    None => {
                        patterns.push(k.clone());
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| ConfigError::new("rules", format!("keywords: {e}")))?,
            )
        };
        let has_commit_allowlists = global
            .iter()
            .chain(rules.iter().flat_map(|r| r.allowlists.iter()))
            .any(|a| !a.commits.is_empty());
        Ok(Scanner {
            rules,
            global,
            keywords,
            keyword_rules,
            always,
            has_commit_allowlists,
        })
    }

    /// The number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The rule ids, in order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Scans one file's added lines. Findings are in line order (then rule order).
    pub fn scan(&self, added: &AddedLines) -> Vec<SecretFinding> {
        let mut out = Vec::new();
        let path = added.path.as_str();
        let commit = added.commit.as_deref();
        // Rules restricted to paths that do not match never run on this file.
        let path_ok: Vec<bool> = self
            .rules
            .iter()
            .map(|r| r.path.as_ref().is_none_or(|re| re.is_match(path)))
            .collect();
        // Path-only rules: the file itself is the finding.
        for (i, r) in self.rules.iter().enumerate() {
            if r.regex.is_none() && path_ok[i] && r.report && !added.lines.is_empty() {
                let cand = Candidate {
                    secret: path,
                    matched: path,
                    line: "",
                    path,
                    commit,
                };
                if !self.allowed(r, &cand) {
                    let line = added.lines.first().map_or(1, |l| l.0);
                    out.push(SecretFinding {
                        rule: r.id.clone(),
                        line,
                        message: format!("{} ({}): {path}", r.description, r.id),
                        data: BTreeMap::from([("secret-rule".to_string(), r.id.clone())]),
                    });
                }
            }
        }
        let mut stamp = vec![usize::MAX; self.rules.len()];
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut triggered: Vec<usize> = Vec::new();
        for (idx, (number, text)) in added.lines.iter().enumerate() {
            triggered.clear();
            // The common case, no keyword at all, is settled by the automaton's fast
            // (prefiltered) search; only then does the overlapping search list every keyword.
            if let Some(ac) = &self.keywords
                && ac.is_match(text.as_str())
            {
                for m in ac.find_overlapping_iter(text.as_str()) {
                    for &r in &self.keyword_rules[m.pattern().as_usize()] {
                        if stamp[r] != idx {
                            stamp[r] = idx;
                            triggered.push(r);
                        }
                    }
                }
            }
            for &r in &self.always {
                if stamp[r] != idx {
                    stamp[r] = idx;
                    triggered.push(r);
                }
            }
            if triggered.is_empty() {
                continue;
            }
            triggered.sort_unstable();
            // Secrets already reported on this line: a later rule (e.g. the generic assignment
            // rule after a provider's token rule) does not report the same text again.
            taken.clear();
            for &r in &triggered {
                let rule = &self.rules[r];
                let (Some(re), true) = (
                    rule.regex.as_ref().and_then(RuleRegex::get),
                    path_ok[r] && rule.report,
                ) else {
                    continue;
                };
                if rule.multiline {
                    let window = window(&added.lines, idx);
                    for caps in re.captures_iter(&window) {
                        let Some(m) = caps.get(0) else { continue };
                        // Only matches that start on this line: the others belong to later lines.
                        if m.start() >= text.len() {
                            break;
                        }
                        self.report(
                            rule, &caps, text, path, commit, *number, &mut taken, &mut out,
                        );
                    }
                } else {
                    for caps in re.captures_iter(text) {
                        self.report(
                            rule, &caps, text, path, commit, *number, &mut taken, &mut out,
                        );
                    }
                }
            }
        }
        out
    }

    fn allowed(&self, rule: &SecretRule, cand: &Candidate<'_>) -> bool {
        self.global
            .iter()
            .filter(|a| a.target_rules.is_empty() || a.target_rules.contains(&rule.id))
            .chain(rule.allowlists.iter())
            .any(|a| a.allows(cand))
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        rule: &SecretRule,
        caps: &regex::Captures<'_>,
        line: &str,
        path: &str,
        commit: Option<&str>,
        number: u32,
        taken: &mut Vec<(usize, usize)>,
        out: &mut Vec<SecretFinding>,
    ) {
        let Some(whole) = caps.get(0) else { return };
        // gitleaks: the configured group, else the first non-empty group, else the match.
        let secret_match = if rule.secret_group > 0 {
            caps.get(rule.secret_group)
        } else {
            caps.iter()
                .skip(1)
                .flatten()
                .find(|m| !m.as_str().is_empty())
        };
        let (secret, span) = match secret_match {
            Some(m) => (m.as_str(), (m.start(), m.end())),
            None => (whole.as_str(), (whole.start(), whole.end())),
        };
        if secret.is_empty() || taken.iter().any(|&(s, e)| span.0 < e && s < span.1) {
            return;
        }
        let entropy = shannon_entropy(secret);
        if let Some(min) = rule.entropy
            && entropy <= min
        {
            return;
        }
        let cand = Candidate {
            secret,
            matched: whole.as_str(),
            line,
            path,
            commit,
        };
        if self.allowed(rule, &cand) {
            return;
        }
        taken.push(span);
        let preview: String = secret.trim_start().chars().take(4).collect();
        let mut data = BTreeMap::new();
        data.insert("secret-rule".to_string(), rule.id.clone());
        data.insert("secret-preview".to_string(), preview);
        data.insert(
            "secret-length".to_string(),
            secret.chars().count().to_string(),
        );
        data.insert("entropy".to_string(), format!("{entropy:.2}"));
        out.push(SecretFinding {
            rule: rule.id.clone(),
            line: number,
            // The finding carries its path and line; reports show them beside the message.
            message: format!("{} ({}): `{}`", rule.description, rule.id, redact(secret)),
            data,
        });
    }
}

/// The added lines from `idx` on, joined with newlines, bounded in lines and bytes.
fn window(lines: &[(u32, String)], idx: usize) -> String {
    let mut out = String::new();
    for (_, text) in lines.iter().skip(idx).take(WINDOW_LINES) {
        if !out.is_empty() {
            if out.len() + text.len() > WINDOW_BYTES {
                break;
            }
            out.push('\n');
        }
        out.push_str(text);
    }
    out
}

/// Findings per (blob, path[, commit]) within one run: each blob's added content is scanned
/// once however many branches share it.
#[derive(Debug, Default)]
pub struct ScanCache {
    found: HashMap<(String, String, Option<String>), Vec<SecretFinding>>,
    scans: usize,
}

impl ScanCache {
    /// The findings for `added`, scanning only on the first sight of its blob at its path.
    pub fn scan(&mut self, scanner: &Scanner, added: &AddedLines) -> Vec<SecretFinding> {
        if added.blob.is_empty() {
            self.scans += 1;
            return scanner.scan(added);
        }
        // Path rules and allowlists depend on the path, commit allowlists on the commit.
        let commit = if scanner.has_commit_allowlists {
            added.commit.clone()
        } else {
            None
        };
        let key = (added.blob.clone(), added.path.clone(), commit);
        if let Some(found) = self.found.get(&key) {
            return found.clone();
        }
        self.scans += 1;
        let found = scanner.scan(added);
        self.found.insert(key, found.clone());
        found
    }

    /// How many scans actually ran.
    pub fn scans(&self) -> usize {
        self.scans
    }
}

#[cfg(test)]
mod tests {
    /// The default rules' regexes are compiled lazily in a scan: they must all compile, with
    /// their secret groups.
    #[test]
    fn every_default_rule_compiles() {
        let base = super::gitleaks::parse(super::DEFAULT_RULES).unwrap();
        assert!(base.rules.len() > 20);
        for (i, r) in base.rules.iter().enumerate() {
            super::compile_rule(r, &format!("rules[{i}]"), false)
                .unwrap_or_else(|e| panic!("{}: {e}", r.id));
        }
    }
}
