//! The plugin's configuration: TOML text → typed, compiled rules.
//!
//! Every rule is a table of `[[rules]]` with the common keys `id`, `kind`, `severity`,
//! `branches`, `exclude`, `cleanup` and `description`, and the options of its family. Each
//! family's options are a struct with `deny_unknown_fields`, deserialized with
//! `serde_path_to_error` so that an error names its key path (`rules[3].pattern: …`).

use std::collections::HashSet;

use regex::Regex;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ConfigError;
use crate::glob::{GlobKind, Globs};
use crate::output::Severity;
use crate::rules::commits::conventional::ConventionalOptions;
use crate::secrets::Scanner;
use crate::signing::AllowedSigners;

/// A compiled configuration.
#[derive(Debug)]
pub struct Config {
    /// The rules, in configuration order.
    pub rules: Vec<Rule>,
}

/// One configured rule.
#[derive(Debug)]
pub struct Rule {
    /// The id given in the configuration (unique).
    pub id: String,
    /// The severity of its violations.
    pub severity: Severity,
    /// Which branches it applies to.
    pub filter: BranchFilter,
    /// Whether it is a cleanup rule (protected branches are exempt from cleanup rules).
    pub cleanup: bool,
    /// An optional description from the configuration, used as help text.
    pub description: Option<String>,
    /// The family and its options.
    pub family: Family,
}

/// The branches a rule applies to: those matching `branches` (all when empty) and not `exclude`.
#[derive(Debug, Clone)]
pub struct BranchFilter {
    /// Globs a branch name must match (any); empty means every branch.
    pub include: Globs,
    /// Globs that exempt a branch.
    pub exclude: Globs,
}

impl BranchFilter {
    /// Whether the rule applies to the branch named `name`.
    pub fn applies(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.is_match(name)) && !self.exclude.is_match(name)
    }
}

/// A rule family with its compiled options.
#[derive(Debug)]
pub enum Family {
    /// `branch-naming`: names match a regex, a glob, or start with an allowed prefix.
    BranchNaming(BranchNaming),
    /// `protected-branches`: patterns exempt from cleanup rules; required branches must exist.
    ProtectedBranches(ProtectedBranches),
    /// `ahead-behind`: limits on commits ahead of / behind the base.
    AheadBehind(AheadBehind),
    /// `stale-branch`: no commit for N days.
    StaleBranch(DaysLimit),
    /// `unmerged-old`: not merged and older than N days.
    UnmergedOld(DaysLimit),
    /// `conventional-commits`: commit messages checked as commitlint's config-conventional does.
    ConventionalCommits(ConventionalOptions),
    /// `dco`: a `Signed-off-by` trailer matching the author.
    Dco(Dco),
    /// `signed-commits`: signature presence, kind, and SSH verification.
    SignedCommits(SignedCommits),
    /// `forbidden-paths`: paths a branch may not add or change.
    ForbiddenPaths(ForbiddenPaths),
    /// `file-size`: a size limit for changed files (LFS pointers exempt).
    FileSize(FileSize),
    /// `binary-files`: binary files only where allowed.
    BinaryFiles(BinaryFiles),
    /// `secrets`: secrets in added lines, with gitleaks-format rules.
    Secrets(Box<Scanner>),
}

impl Family {
    /// The family's name as written in `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Family::BranchNaming(_) => "branch-naming",
            Family::ProtectedBranches(_) => "protected-branches",
            Family::AheadBehind(_) => "ahead-behind",
            Family::StaleBranch(_) => "stale-branch",
            Family::UnmergedOld(_) => "unmerged-old",
            Family::ConventionalCommits(_) => "conventional-commits",
            Family::Dco(_) => "dco",
            Family::SignedCommits(_) => "signed-commits",
            Family::ForbiddenPaths(_) => "forbidden-paths",
            Family::FileSize(_) => "file-size",
            Family::BinaryFiles(_) => "binary-files",
            Family::Secrets(_) => "secrets",
        }
    }
}

/// Every family name, for the error on an unknown `kind`.
pub const KINDS: &[&str] = &[
    "branch-naming",
    "protected-branches",
    "ahead-behind",
    "stale-branch",
    "unmerged-old",
    "conventional-commits",
    "dco",
    "signed-commits",
    "forbidden-paths",
    "file-size",
    "binary-files",
    "secrets",
];

/// Options of `branch-naming`. A name passes when it meets every configured condition.
#[derive(Debug)]
pub struct BranchNaming {
    /// A regex the whole name must match (anchor it yourself).
    pub pattern: Option<Regex>,
    /// Globs of which the name must match one.
    pub globs: Option<Globs>,
    /// Prefixes of which the name must start with one.
    pub prefixes: Vec<String>,
    /// Check a remote-tracking branch without its remote name (`origin/feature/x` → `feature/x`).
    pub strip_remote: bool,
}

/// Options of `protected-branches`.
#[derive(Debug)]
pub struct ProtectedBranches {
    /// Branches matching these globs are exempt from cleanup rules.
    pub patterns: Globs,
    /// Branch names that must exist (locally or as remote-tracking branches, or as the base).
    pub required: Vec<String>,
}

/// Options of `ahead-behind`.
#[derive(Debug)]
pub struct AheadBehind {
    /// At most this many commits ahead of the base.
    pub max_ahead: Option<u32>,
    /// At most this many commits behind the base.
    pub max_behind: Option<u32>,
}

/// Options of `stale-branch` and `unmerged-old`.
#[derive(Debug)]
pub struct DaysLimit {
    /// The limit in days.
    pub days: u32,
}

/// Options of `dco`.
#[derive(Debug)]
pub struct Dco {
    /// The sign-off must name the author (name and e-mail); otherwise any sign-off passes.
    pub match_author: bool,
    /// Merge commits need no sign-off.
    pub skip_merges: bool,
}

/// Options of `signed-commits`.
#[derive(Debug)]
pub struct SignedCommits {
    /// Every commit must be signed.
    pub require: bool,
    /// The allowed kinds (`gpg`, `ssh`, `x509`).
    pub kinds: Vec<String>,
    /// Verify SSH signatures against the allowed signers.
    pub verify_ssh: bool,
    /// Allowed signers given inline in the configuration (else the repository's).
    pub allowed_signers: Option<AllowedSigners>,
    /// Merge commits need no signature.
    pub skip_merges: bool,
}

/// Options of `forbidden-paths`.
#[derive(Debug)]
pub struct ForbiddenPaths {
    /// Paths a branch may not add, modify or rename to.
    pub paths: Globs,
    /// Exceptions.
    pub allow: Globs,
}

/// Options of `file-size`.
#[derive(Debug)]
pub struct FileSize {
    /// The largest allowed size in bytes.
    pub max_bytes: u64,
    /// Only these paths (all when empty).
    pub paths: Globs,
    /// Exempt paths.
    pub exempt: Globs,
    /// Git LFS pointers are exempt from `max_bytes`; when set, the size an LFS pointer declares
    /// for its object must not exceed this.
    pub lfs_max_bytes: Option<u64>,
}

/// Options of `binary-files`.
#[derive(Debug)]
pub struct BinaryFiles {
    /// Binary files are allowed at these paths.
    pub allow: Globs,
}

// ---- raw (serde) forms ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    rules: Vec<toml::Table>,
    #[serde(default)]
    secrets: Option<RawSecrets>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    gitleaks_config: Option<String>,
    use_default: Option<bool>,
}

/// One string or a list of strings.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommon {
    id: String,
    kind: String,
    #[serde(default = "default_severity")]
    severity: Severity,
    branches: Option<OneOrMany>,
    exclude: Option<OneOrMany>,
    cleanup: Option<bool>,
    description: Option<String>,
}

fn default_severity() -> Severity {
    Severity::Error
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranchNaming {
    pattern: Option<String>,
    glob: Option<OneOrMany>,
    prefixes: Option<Vec<String>>,
    #[serde(default = "yes")]
    strip_remote: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProtected {
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAheadBehind {
    max_ahead: Option<u32>,
    max_behind: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDays {
    days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConventional {
    types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    #[serde(default)]
    require_scope: bool,
    max_header_length: Option<usize>,
    max_line_length: Option<usize>,
    #[serde(default)]
    warnings: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDco {
    #[serde(default = "yes")]
    match_author: bool,
    #[serde(default = "yes")]
    skip_merges: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigned {
    #[serde(default = "yes")]
    require: bool,
    kinds: Option<Vec<String>>,
    #[serde(default = "yes")]
    verify_ssh: bool,
    allowed_signers: Option<String>,
    #[serde(default)]
    skip_merges: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForbidden {
    paths: Vec<String>,
    #[serde(default)]
    allow: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileSize {
    max_bytes: u64,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    exempt: Vec<String>,
    lfs_max_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinary {
    #[serde(default)]
    allow: Vec<String>,
}

/// Deserializes `value` as `T`; an error names its path under `prefix`.
fn typed<T: DeserializeOwned>(value: toml::Value, prefix: &str) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let message = e.into_inner().to_string();
        let message = message.trim().to_string();
        let error = if inner == "." || inner.is_empty() {
            ConfigError::new("", message)
        } else {
            ConfigError::new(inner, message)
        };
        error.under(prefix)
    })
}

const COMMON_KEYS: &[&str] = &[
    "id",
    "kind",
    "severity",
    "branches",
    "exclude",
    "cleanup",
    "description",
];

impl Config {
    /// Parses and compiles the configuration. Every error names the key path it concerns.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let value: toml::Value = toml::from_str(text)
            .map_err(|e| ConfigError::new("config", e.to_string().trim().to_string()))?;
        Config::from_value(value)
    }

    /// Compiles a configuration already parsed into a value (the host hands the plugin its
    /// configuration as JSON; the glue converts it).
    pub fn from_value(value: toml::Value) -> Result<Config, ConfigError> {
        let raw: RawConfig = typed(value, "")?;
        let defaults = raw.secrets.unwrap_or_default();
        let mut rules = Vec::with_capacity(raw.rules.len());
        let mut ids = HashSet::new();
        for (i, table) in raw.rules.into_iter().enumerate() {
            let prefix = format!("rules[{i}]");
            let rule = compile_rule(table, &prefix, &defaults)?;
            if !ids.insert(rule.id.clone()) {
                return Err(ConfigError::new(
                    format!("{prefix}.id"),
                    format!("duplicate rule id `{}`", rule.id),
                ));
            }
            rules.push(rule);
        }
        Ok(Config { rules })
    }

    /// The globs of every `protected-branches` rule: branches matching one are exempt from
    /// cleanup rules.
    pub fn protected(&self) -> impl Iterator<Item = &Globs> {
        self.rules.iter().filter_map(|r| match &r.family {
            Family::ProtectedBranches(p) => Some(&p.patterns),
            _ => None,
        })
    }
}

fn compile_rule(
    mut table: toml::Table,
    prefix: &str,
    defaults: &RawSecrets,
) -> Result<Rule, ConfigError> {
    let mut common = toml::Table::new();
    for key in COMMON_KEYS {
        if let Some(v) = table.remove(*key) {
            common.insert((*key).to_string(), v);
        }
    }
    let common: RawCommon = typed(toml::Value::Table(common), prefix)?;
    if common.id.trim().is_empty() {
        return Err(ConfigError::new(
            format!("{prefix}.id"),
            "must not be empty",
        ));
    }
    let options = toml::Value::Table(table);
    let at = |key: &str| format!("{prefix}.{key}");
    let family = match common.kind.as_str() {
        "branch-naming" => {
            let raw: RawBranchNaming = typed(options, prefix)?;
            let pattern = match raw.pattern {
                Some(p) => Some(
                    Regex::new(&p).map_err(|e| ConfigError::new(at("pattern"), e.to_string()))?,
                ),
                None => None,
            };
            let globs = match raw.glob {
                Some(g) => Some(Globs::new(&g.into_vec(), GlobKind::Branch, &at("glob"))?),
                None => None,
            };
            let prefixes = raw.prefixes.unwrap_or_default();
            if pattern.is_none() && globs.is_none() && prefixes.is_empty() {
                return Err(ConfigError::new(
                    prefix,
                    "branch-naming needs `pattern`, `glob` or `prefixes`",
                ));
            }
            Family::BranchNaming(BranchNaming {
                pattern,
                globs,
                prefixes,
                strip_remote: raw.strip_remote,
            })
        }
        "protected-branches" => {
            let raw: RawProtected = typed(options, prefix)?;
            if raw.patterns.is_empty() && raw.required.is_empty() {
                return Err(ConfigError::new(
                    prefix,
                    "protected-branches needs `patterns` or `required`",
                ));
            }
            // A required branch is protected too: it must not be reported for cleanup.
            let mut patterns = raw.patterns.clone();
            for name in &raw.required {
                patterns.push(globset_escape(name));
            }
            Family::ProtectedBranches(ProtectedBranches {
                patterns: Globs::new(&patterns, GlobKind::Branch, &at("patterns"))?,
                required: raw.required,
            })
        }
        "ahead-behind" => {
            let raw: RawAheadBehind = typed(options, prefix)?;
            if raw.max_ahead.is_none() && raw.max_behind.is_none() {
                return Err(ConfigError::new(
                    prefix,
                    "ahead-behind needs `max_ahead` or `max_behind`",
                ));
            }
            Family::AheadBehind(AheadBehind {
                max_ahead: raw.max_ahead,
                max_behind: raw.max_behind,
            })
        }
        "stale-branch" => {
            let raw: RawDays = typed(options, prefix)?;
            Family::StaleBranch(DaysLimit { days: raw.days })
        }
        "unmerged-old" => {
            let raw: RawDays = typed(options, prefix)?;
            Family::UnmergedOld(DaysLimit { days: raw.days })
        }
        "conventional-commits" => {
            let raw: RawConventional = typed(options, prefix)?;
            let mut o = ConventionalOptions::default();
            if let Some(types) = raw.types {
                if types.is_empty() {
                    return Err(ConfigError::new(at("types"), "must not be empty"));
                }
                o.types = types;
            }
            o.scopes = raw.scopes;
            o.require_scope = raw.require_scope;
            if let Some(n) = raw.max_header_length {
                o.max_header_length = n;
            }
            if let Some(n) = raw.max_line_length {
                o.max_line_length = n;
            }
            o.warnings = raw.warnings;
            Family::ConventionalCommits(o)
        }
        "dco" => {
            let raw: RawDco = typed(options, prefix)?;
            Family::Dco(Dco {
                match_author: raw.match_author,
                skip_merges: raw.skip_merges,
            })
        }
        "signed-commits" => {
            let raw: RawSigned = typed(options, prefix)?;
            let kinds = raw
                .kinds
                .unwrap_or_else(|| vec!["gpg".into(), "ssh".into(), "x509".into()]);
            for (k, kind) in kinds.iter().enumerate() {
                if !matches!(kind.as_str(), "gpg" | "ssh" | "x509") {
                    return Err(ConfigError::new(
                        format!("{prefix}.kinds[{k}]"),
                        format!("unknown signature kind `{kind}` (expected gpg, ssh or x509)"),
                    ));
                }
            }
            let allowed_signers = match raw.allowed_signers {
                Some(text) => Some(
                    AllowedSigners::parse(&text)
                        .map_err(|e| ConfigError::new(at("allowed_signers"), e.to_string()))?,
                ),
                None => None,
            };
            Family::SignedCommits(SignedCommits {
                require: raw.require,
                kinds,
                verify_ssh: raw.verify_ssh,
                allowed_signers,
                skip_merges: raw.skip_merges,
            })
        }
        "forbidden-paths" => {
            let raw: RawForbidden = typed(options, prefix)?;
            Family::ForbiddenPaths(ForbiddenPaths {
                paths: Globs::new(&raw.paths, GlobKind::Path, &at("paths"))?,
                allow: Globs::new(&raw.allow, GlobKind::Path, &at("allow"))?,
            })
        }
        "file-size" => {
            let raw: RawFileSize = typed(options, prefix)?;
            Family::FileSize(FileSize {
                max_bytes: raw.max_bytes,
                paths: Globs::new(&raw.paths, GlobKind::Path, &at("paths"))?,
                exempt: Globs::new(&raw.exempt, GlobKind::Path, &at("exempt"))?,
                lfs_max_bytes: raw.lfs_max_bytes,
            })
        }
        "binary-files" => {
            let raw: RawBinary = typed(options, prefix)?;
            Family::BinaryFiles(BinaryFiles {
                allow: Globs::new(&raw.allow, GlobKind::Path, &at("allow"))?,
            })
        }
        "secrets" => {
            let raw: RawSecrets = typed(options, prefix)?;
            let gitleaks = raw
                .gitleaks_config
                .as_deref()
                .or(defaults.gitleaks_config.as_deref());
            let use_default = raw.use_default.or(defaults.use_default);
            let key = if raw.gitleaks_config.is_some() {
                at("gitleaks_config")
            } else {
                "secrets.gitleaks_config".to_string()
            };
            let scanner = Scanner::from_config(gitleaks, use_default).map_err(|e| e.under(&key))?;
            Family::Secrets(Box::new(scanner))
        }
        other => {
            return Err(ConfigError::new(
                format!("{prefix}.kind"),
                format!(
                    "unknown rule kind `{other}`; expected one of {}",
                    KINDS.join(", ")
                ),
            ));
        }
    };
    let include = match common.branches {
        Some(b) => Globs::new(&b.into_vec(), GlobKind::Branch, &at("branches"))?,
        None => Globs::empty(),
    };
    let exclude = match common.exclude {
        Some(b) => Globs::new(&b.into_vec(), GlobKind::Branch, &at("exclude"))?,
        None => Globs::empty(),
    };
    // Stale and old unmerged branches are what cleanup means; other rules opt in.
    let cleanup = common.cleanup.unwrap_or(matches!(
        family,
        Family::StaleBranch(_) | Family::UnmergedOld(_)
    ));
    Ok(Rule {
        id: common.id,
        severity: common.severity,
        filter: BranchFilter { include, exclude },
        cleanup,
        description: common.description,
        family,
    })
}

/// Escapes glob metacharacters so that a branch name matches only itself.
fn globset_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}
