//! Commits of a range with their whole messages and, on request, their signatures.

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::super::facts::Signature;
use super::super::graph::signature;
use super::{QueryError, ResolvedRange};

/// How a commit is signed, from the armour of its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// OpenPGP.
    Gpg,
    /// SSH (`gpg.format=ssh`).
    Ssh,
    /// X.509 / CMS (gpgsm, gitsign).
    X509,
    /// An armour the host does not know.
    Unknown,
}

impl SignatureKind {
    /// The kind of an armored signature, by its first line.
    fn of(armored: &str) -> Self {
        let first = armored.lines().next().unwrap_or_default().trim();
        match first {
            "-----BEGIN PGP SIGNATURE-----" => SignatureKind::Gpg,
            "-----BEGIN SSH SIGNATURE-----" => SignatureKind::Ssh,
            "-----BEGIN SIGNED MESSAGE-----" => SignatureKind::X509,
            _ => SignatureKind::Unknown,
        }
    }
}

/// A commit's signature and the bytes it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSignature {
    /// Its kind.
    pub kind: SignatureKind,
    /// The `gpgsig` header's value.
    pub armored: String,
    /// The commit object without its `gpgsig*` headers: what was signed.
    pub payload: Vec<u8>,
}

/// One commit with its whole (bounded) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDetail {
    /// The commit's id.
    pub id: String,
    /// Its parents' ids.
    pub parents: Vec<String>,
    /// Its author.
    pub author: Signature,
    /// Its committer.
    pub committer: Signature,
    /// The message, cut at the requested size.
    pub message: String,
    /// Whether `message` was cut.
    pub message_truncated: bool,
    /// The signature, when asked for and present.
    pub signature: Option<CommitSignature>,
}

impl CommitDetail {
    /// Bytes this answer costs against a plugin's query budget.
    pub fn cost(&self) -> u64 {
        let sig = self
            .signature
            .as_ref()
            .map_or(0, |s| s.armored.len() + s.payload.len());
        (self.id.len()
            + self.parents.iter().map(String::len).sum::<usize>()
            + self.author.name.len()
            + self.author.email.len()
            + self.committer.name.len()
            + self.committer.email.len()
            + self.message.len()
            + sig
            + 48) as u64
    }
}

/// What [`range_history`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryOptions {
    /// At most this many commits.
    pub limit: u32,
    /// Follow first parents only.
    pub first_parent: bool,
    /// Cut messages at this many bytes.
    pub max_message_bytes: u32,
    /// Include signatures.
    pub signatures: bool,
}

/// The commits of `range` (`base..tip`), newest first; [`QueryError::TooLarge`] as soon as
/// their cost passes `budget` bytes, so the host never holds more than that.
pub fn range_history(
    repo: &gix::Repository,
    range: &ResolvedRange,
    options: &HistoryOptions,
    budget: u64,
) -> Result<Vec<CommitDetail>, QueryError> {
    crate::memory::bound_resident_memory();
    let mut out = Vec::new();
    let mut cost = 0u64;
    for id in range.commits(repo, options.limit, options.first_parent)? {
        let detail = detail(repo, id, options)?;
        cost += detail.cost();
        if cost > budget {
            return Err(QueryError::TooLarge(cost));
        }
        out.push(detail);
    }
    Ok(out)
}

fn detail(
    repo: &gix::Repository,
    id: ObjectId,
    options: &HistoryOptions,
) -> Result<CommitDetail, QueryError> {
    let fail = |e: &dyn std::fmt::Display| QueryError::Failed(format!("commit {id}: {e}"));
    let commit = repo.find_commit(id).map_err(|e| fail(&e))?;
    let decoded = commit.decode().map_err(|e| fail(&e))?;
    let (message, message_truncated) = cut(
        &decoded.message.to_str_lossy(),
        options.max_message_bytes as usize,
    );
    let signature = if options.signatures {
        split_signature(&commit.data)
    } else {
        None
    };
    Ok(CommitDetail {
        id: id.to_string(),
        parents: decoded.parents().map(|p| p.to_string()).collect(),
        author: signature_of(decoded.author().map_err(|e| fail(&e))?),
        committer: signature_of(decoded.committer().map_err(|e| fail(&e))?),
        message,
        message_truncated,
        signature,
    })
}

fn signature_of(sig: gix::actor::SignatureRef<'_>) -> Signature {
    signature(&sig)
}

/// `text` cut to at most `max` bytes at a character boundary, and whether it was cut.
fn cut(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// Splits a raw commit object into its `gpgsig` signature and the signed payload, as git's
/// `parse_buffer_signed_by_header` does: every header named `gpgsig` or `gpgsig-*` is removed
/// from the payload with its continuation lines, so a second signature header added to a
/// signed commit cannot change what the first one covers.
fn split_signature(raw: &[u8]) -> Option<CommitSignature> {
    let header_end = raw
        .find(b"\n\n")
        .map_or(raw.len(), |i| i + 1)
        .min(raw.len());
    let mut payload = Vec::with_capacity(raw.len());
    let mut armored: Option<Vec<u8>> = None;
    let mut in_sig_header = false;
    let mut is_primary = false;
    for line in raw[..header_end].split_inclusive(|b| *b == b'\n') {
        if let Some(continuation) = line.strip_prefix(b" ") {
            if in_sig_header {
                if is_primary && let Some(sig) = armored.as_mut() {
                    sig.extend_from_slice(continuation);
                }
                continue;
            }
        } else {
            let name = line.split(|b| *b == b' ').next().unwrap_or_default();
            in_sig_header = name == b"gpgsig" || name.starts_with(b"gpgsig-");
            is_primary = name == b"gpgsig" && armored.is_none();
            if in_sig_header {
                if is_primary {
                    armored = Some(line[name.len()..].trim_start().to_vec());
                }
                continue;
            }
        }
        payload.extend_from_slice(line);
    }
    payload.extend_from_slice(&raw[header_end..]);
    let armored = String::from_utf8_lossy(&armored?).into_owned();
    Some(CommitSignature {
        kind: SignatureKind::of(&armored),
        armored,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_headers_are_cut_from_the_payload() {
        let raw = b"tree 1111\nparent 2222\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\ngpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n xyz\n -----END PGP SIGNATURE-----\n\nsubject\n\n body\n";
        let sig = split_signature(raw).expect("signed");
        assert_eq!(sig.kind, SignatureKind::Ssh);
        assert_eq!(
            sig.armored,
            "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(
            sig.payload,
            b"tree 1111\nparent 2222\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nsubject\n\n body\n"
        );
        assert_eq!(split_signature(b"tree 1\n\nmsg\n"), None);
    }

    #[test]
    fn messages_are_cut_at_a_character_boundary() {
        assert_eq!(cut("héllo", 2), ("h".to_string(), true));
        assert_eq!(cut("héllo", 3), ("hé".to_string(), true));
        assert_eq!(cut("hi", 2), ("hi".to_string(), false));
    }
}
