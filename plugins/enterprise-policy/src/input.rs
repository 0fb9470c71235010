//! What the engine checks: plain data about one repository, filled by the SDK glue from the host's
//! queries (or by tests directly). Nothing here depends on the WIT bindings.

/// A person in a commit: author or committer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// The name as recorded in the commit.
    pub name: String,
    /// The e-mail address as recorded in the commit (without angle brackets).
    pub email: String,
    /// When, in seconds since the Unix epoch.
    pub time: i64,
    /// The time zone offset, in seconds east of UTC (as the host reports it).
    pub offset: i32,
}

/// A branch under scan, compared with the base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branch {
    /// The short name (`feature/x`, or `origin/feature/x` for a remote-tracking branch).
    pub name: String,
    /// The full reference (`refs/heads/feature/x`).
    pub reference: String,
    /// Whether this is a remote-tracking branch.
    pub remote: bool,
    /// The commit id of the tip.
    pub tip: String,
    /// Commits on the branch that are not on the base.
    pub ahead: u32,
    /// Commits on the base that are not on the branch.
    pub behind: u32,
    /// Whether the tip is reachable from the base.
    pub merged: bool,
    /// The merge base with the base, when there is one.
    pub merge_base: Option<String>,
    /// The author of the tip commit.
    pub tip_author: Person,
    /// The committer of the tip commit (its time is the branch's last activity).
    pub tip_committer: Person,
}

/// The kind of signature on a commit (its `gpgsig` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigKind {
    /// An OpenPGP signature (`-----BEGIN PGP SIGNATURE-----`).
    Gpg,
    /// An SSH signature (`-----BEGIN SSH SIGNATURE-----`).
    Ssh,
    /// An X.509 / CMS signature (`-----BEGIN SIGNED MESSAGE-----`, gitsign or smimesign).
    X509,
    /// A signature of a kind the host did not recognise.
    Unknown,
}

impl SigKind {
    /// The name used in configuration and messages (`gpg`, `ssh`, `x509`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigKind::Gpg => "gpg",
            SigKind::Ssh => "ssh",
            SigKind::X509 => "x509",
            SigKind::Unknown => "unknown",
        }
    }

    /// Classifies an armored signature by its first armor line, as git does.
    pub fn from_armor(armored: &str) -> SigKind {
        let first = armored.trim_start().lines().next().unwrap_or("");
        if first.starts_with("-----BEGIN PGP SIGNATURE-----") {
            SigKind::Gpg
        } else if first.starts_with("-----BEGIN SSH SIGNATURE-----") {
            SigKind::Ssh
        } else if first.starts_with("-----BEGIN SIGNED MESSAGE-----") {
            SigKind::X509
        } else {
            SigKind::Unknown
        }
    }
}

/// The signature of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSignature {
    /// The kind of signature.
    pub kind: SigKind,
    /// The armored signature as stored in the `gpgsig` header (continuation spaces removed).
    pub armored: String,
    /// The signed bytes: the raw commit object without its `gpgsig` header.
    pub payload: Vec<u8>,
}

/// A commit on a branch since its merge base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// The commit id.
    pub id: String,
    /// The parents' ids (more than one for a merge commit).
    pub parents: Vec<String>,
    /// The author.
    pub author: Person,
    /// The committer.
    pub committer: Person,
    /// The full message (bounded by the host).
    pub message: String,
    /// The signature, when the commit is signed.
    pub signature: Option<CommitSignature>,
}

/// The mode of a changed path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileMode {
    /// A regular file.
    #[default]
    Regular,
    /// An executable file.
    Executable,
    /// A symbolic link.
    Symlink,
    /// A submodule (gitlink).
    Submodule,
}

/// How a path changed between the merge base and the tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeStatus {
    /// The path is new.
    Added,
    /// The content changed.
    Modified,
    /// The path was removed.
    Deleted,
    /// The path was renamed from `from` (and maybe modified).
    Renamed {
        /// The path before the rename.
        from: String,
    },
    /// The kind of entry changed (e.g. file to symlink).
    TypeChanged,
}

/// A path changed on a branch since its merge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path on the branch (the new path for a rename).
    pub path: String,
    /// How it changed.
    pub status: ChangeStatus,
    /// The mode on the branch.
    pub mode: FileMode,
    /// The size of the new blob in bytes, when known.
    pub size: Option<u64>,
    /// Whether the new content is binary (git's heuristic: a NUL in the first 8000 bytes).
    pub binary: bool,
    /// When the new content is a Git LFS pointer: the size of the object it points to.
    pub lfs_pointer: Option<u64>,
    /// The id of the new blob.
    pub blob: Option<String>,
    /// The newest commit of the branch that changed the path, when the host knows it.
    pub commit: Option<String>,
}

/// The lines a branch adds to one file (new side of the diff merge base → tip).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddedLines {
    /// The path of the file on the branch.
    pub path: String,
    /// The id of the new blob: the key by which the secret scan is cached within one run.
    pub blob: String,
    /// The commit that introduced the lines, when the host knows it.
    pub commit: Option<String>,
    /// The added lines: line number in the new file (1-based) and its text, without newline.
    pub lines: Vec<(u32, String)>,
}

/// Everything the engine needs about one branch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchInput {
    /// The branch.
    pub branch: Branch,
    /// The commits since the merge base (not on the base), newest first.
    pub commits: Vec<Commit>,
    /// The paths changed since the merge base.
    pub changes: Vec<FileChange>,
    /// The lines added since the merge base, per file.
    pub added: Vec<AddedLines>,
}

/// Everything the engine needs about one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoInput {
    /// The base branch the others are compared with.
    pub base: String,
    /// The time of the scan, in seconds since the Unix epoch.
    pub scan_time: i64,
    /// The branches under scan (the base excluded).
    pub branches: Vec<BranchInput>,
    /// The repository's allowed signers file (git's `gpg.ssh.allowedSignersFile` format), when
    /// the host found one; the configuration can also give one inline.
    pub allowed_signers: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_kinds_by_armor() {
        assert_eq!(
            SigKind::from_armor("-----BEGIN PGP SIGNATURE-----\n\nx"),
            SigKind::Gpg
        );
        assert_eq!(
            SigKind::from_armor("\n-----BEGIN SSH SIGNATURE-----\nx"),
            SigKind::Ssh
        );
        assert_eq!(
            SigKind::from_armor("-----BEGIN SIGNED MESSAGE-----\nx"),
            SigKind::X509
        );
        assert_eq!(SigKind::from_armor("garbage"), SigKind::Unknown);
        assert_eq!(SigKind::from_armor(""), SigKind::Unknown);
    }
}
