//! SSH commit signatures: git's allowed signers file and verification with the `ssh-key` crate
//! (the `SshSig` format of `ssh-keygen -Y sign`, namespace `git`).
//!
//! What is verified: the signature is a well-formed SSHSIG over the commit payload in namespace
//! `git`, made by a key listed in the allowed signers file, whose line allows the namespace `git`
//! and whose `valid-after` / `valid-before` cover the committer time. What is not: certificate
//! authorities (`cert-authority` lines are skipped), revocation lists, and whether the principal
//! is the committer (the principal is reported so that a rule or a person can compare).

use ssh_key::public::KeyData;
use ssh_key::{PublicKey, SshSig};
use thiserror::Error;

/// The namespace git signs commits in.
pub const GIT_NAMESPACE: &str = "git";

/// A parse error in an allowed signers file.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct SignersError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The armored signature is not a valid SSHSIG.
    #[error("malformed SSH signature: {0}")]
    Malformed(String),
    /// The signing key is in no line of the allowed signers.
    #[error("key {0} is not an allowed signer")]
    UnknownKey(String),
    /// The key is allowed, but not for the namespace `git` or not at the commit's time.
    #[error("key {fingerprint} is not allowed here: {reason}")]
    NotAllowed {
        /// The key's SHA-256 fingerprint.
        fingerprint: String,
        /// Namespace or validity period.
        reason: String,
    },
    /// The signature does not match the commit.
    #[error("bad signature: {0}")]
    BadSignature(String),
}

/// One line of an allowed signers file.
#[derive(Debug, Clone)]
struct Signer {
    principals: Vec<String>,
    namespaces: Option<Vec<String>>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
    key: KeyData,
}

/// A parsed allowed signers file (`gpg.ssh.allowedSignersFile`, see ssh-keygen(1)
/// "ALLOWED SIGNERS").
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    signers: Vec<Signer>,
}

/// Splits a line into whitespace-separated tokens, keeping double-quoted parts together.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if c.is_whitespace() && !quoted {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Splits `a="x,y",b` at the commas outside quotes.
fn split_options(options: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in options.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if c == ',' && !quoted {
            out.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
    }
    out.push(current);
    out
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

fn is_key_type(token: &str) -> bool {
    token.starts_with("ssh-") || token.starts_with("ecdsa-") || token.starts_with("sk-")
}

/// Parses `YYYYMMDD[HHMM[SS]][Z]` as UTC seconds since the epoch (ssh-keygen reads it as local
/// time without `Z`; a plugin has no time zone, so UTC is used).
fn parse_time(value: &str) -> Option<i64> {
    let digits = value.strip_suffix('Z').unwrap_or(value);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm) = if digits.len() >= 12 {
        (num(8..10)?, num(10..12)?)
    } else {
        (0, 0)
    };
    let ss = if digits.len() == 14 { num(12..14)? } else { 0 };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `text` matches an ssh-style pattern (`*` and `?` wildcards).
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl AllowedSigners {
    /// Parses an allowed signers file. Comment and empty lines are skipped, and so are
    /// `cert-authority` lines (certificates are not supported).
    pub fn parse(text: &str) -> Result<AllowedSigners, SignersError> {
        let mut signers = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| SignersError {
                line: n + 1,
                message,
            };
            let toks = tokens(line);
            let mut it = toks.iter();
            let principals = it
                .next()
                .map(|p| {
                    unquote(p)
                        .split(',')
                        .map(|p| unquote(p).to_string())
                        .collect::<Vec<_>>()
                })
                .ok_or_else(|| err("no principals".into()))?;
            let mut next = it
                .next()
                .ok_or_else(|| err("no key after the principals".into()))?;
            let mut namespaces = None;
            let (mut valid_after, mut valid_before) = (None, None);
            let mut cert_authority = false;
            if !is_key_type(next) {
                for option in split_options(next) {
                    let (name, value) = match option.split_once('=') {
                        Some((n, v)) => (n.to_ascii_lowercase(), Some(unquote(v).to_string())),
                        None => (option.to_ascii_lowercase(), None),
                    };
                    match (name.as_str(), value) {
                        ("cert-authority", _) => cert_authority = true,
                        ("namespaces", Some(v)) => {
                            namespaces = Some(v.split(',').map(str::to_string).collect())
                        }
                        ("valid-after", Some(v)) => {
                            valid_after = Some(
                                parse_time(&v)
                                    .ok_or_else(|| err(format!("bad valid-after `{v}`")))?,
                            )
                        }
                        ("valid-before", Some(v)) => {
                            valid_before = Some(
                                parse_time(&v)
                                    .ok_or_else(|| err(format!("bad valid-before `{v}`")))?,
                            )
                        }
                        (other, _) => return Err(err(format!("unknown option `{other}`"))),
                    }
                }
                next = it
                    .next()
                    .ok_or_else(|| err("no key after the options".into()))?;
            }
            let blob = it
                .next()
                .ok_or_else(|| err(format!("no key data after `{next}`")))?;
            if cert_authority {
                continue;
            }
            let key = PublicKey::from_openssh(&format!("{next} {blob}"))
                .map_err(|e| err(format!("bad public key: {e}")))?;
            signers.push(Signer {
                principals,
                namespaces,
                valid_after,
                valid_before,
                key: key.key_data().clone(),
            });
        }
        Ok(AllowedSigners { signers })
    }

    /// The number of usable signer lines.
    pub fn len(&self) -> usize {
        self.signers.len()
    }

    /// Whether no signer is usable.
    pub fn is_empty(&self) -> bool {
        self.signers.is_empty()
    }

    /// Verifies an armored SSH signature over `payload` in namespace `git` at time `time`
    /// (the committer time); returns the principals of the signer's line.
    pub fn verify(&self, armored: &str, payload: &[u8], time: i64) -> Result<String, VerifyError> {
        let sig = SshSig::from_pem(armored.trim().as_bytes())
            .map_err(|e| VerifyError::Malformed(e.to_string()))?;
        let key = sig.public_key();
        let fingerprint = PublicKey::from(key.clone())
            .fingerprint(Default::default())
            .to_string();
        let lines: Vec<&Signer> = self.signers.iter().filter(|s| &s.key == key).collect();
        if lines.is_empty() {
            return Err(VerifyError::UnknownKey(fingerprint));
        }
        let mut reason = String::new();
        let usable = lines.into_iter().find(|s| {
            if let Some(ns) = &s.namespaces
                && !ns.iter().any(|n| wildcard(n, GIT_NAMESPACE))
            {
                reason = format!("namespaces=\"{}\" excludes git", ns.join(","));
                return false;
            }
            if s.valid_after.is_some_and(|t| time < t) {
                reason = "signed before valid-after".into();
                return false;
            }
            if s.valid_before.is_some_and(|t| time > t) {
                reason = "signed after valid-before".into();
                return false;
            }
            true
        });
        let Some(signer) = usable else {
            return Err(VerifyError::NotAllowed {
                fingerprint,
                reason,
            });
        };
        if sig.namespace() != GIT_NAMESPACE {
            return Err(VerifyError::BadSignature(format!(
                "namespace `{}`, expected `git`",
                sig.namespace()
            )));
        }
        PublicKey::from(key.clone())
            .verify(GIT_NAMESPACE, payload, &sig)
            .map_err(|e| VerifyError::BadSignature(e.to_string()))?;
        Ok(signer.principals.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("19700101"), Some(0));
        assert_eq!(parse_time("20240229Z"), Some(1_709_164_800));
        assert_eq!(parse_time("202402291230"), Some(1_709_164_800 + 45_000));
        assert_eq!(parse_time("2024"), None);
        assert_eq!(parse_time("20241301"), None);
    }

    #[test]
    fn wildcards_match_like_ssh() {
        assert!(wildcard("*@example.com", "a@example.com"));
        assert!(wildcard("g?t", "git"));
        assert!(!wildcard("file", "git"));
    }

    #[test]
    fn options_and_quotes_parse() {
        let text = "# team\n\
            alice@example.com,\"bob@example.com\" namespaces=\"git,file\",valid-after=\"20200101\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl comment\n\
            * cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
        let signers = AllowedSigners::parse(text).expect("parses");
        assert_eq!(signers.len(), 1);
        let s = &signers.signers[0];
        assert_eq!(s.principals, vec!["alice@example.com", "bob@example.com"]);
        assert_eq!(
            s.namespaces.as_deref(),
            Some(&["git".to_string(), "file".to_string()][..])
        );
        assert_eq!(s.valid_after, Some(parse_time("20200101").unwrap_or(0)));
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        let err = AllowedSigners::parse("\nalice bogus=1 ssh-ed25519 AAAA\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("bogus"), "{err}");
        let err = AllowedSigners::parse("alice ssh-ed25519 notbase64!!\n").unwrap_err();
        assert!(err.message.contains("bad public key"), "{err}");
    }
}
