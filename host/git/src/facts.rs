//! The facts model: what the git engine fills in and plugins receive.
//!
//! Object ids are lowercase hex strings so the model serialises as-is to JSON and converts
//! to every WIT API version without lookups. Facts that are not always computed are `Option`.

use serde::{Deserialize, Serialize};

/// Who made a commit, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The name, as recorded.
    pub name: String,
    /// The email address, as recorded.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

/// An object id in hex, as the facts carry it (`Display` goes through the formatting
/// machinery: a visible cost over thousands of branches).
pub fn hex(id: &gix::oid) -> String {
    let mut buf = [0u8; gix::hash::Kind::longest().len_in_hex()];
    id.hex_to_buf(&mut buf).to_owned()
}

/// Lines and files changed between two commits (renames off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diffstat {
    /// Files changed.
    pub files_changed: u32,
    /// Lines added.
    pub insertions: u32,
    /// Lines removed.
    pub deletions: u32,
}

/// What merging a branch into the base would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "paths", rename_all = "kebab-case")]
pub enum ConflictPrediction {
    /// The merge is clean.
    Clean,
    /// The merge conflicts in these paths, sorted.
    Conflicts(Vec<String>),
}

/// A large blob at the base tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// Its path in the base's tree.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Repository-wide statistics; what was not computed is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoStats {
    /// Commits in the history the scan loaded.
    pub commits: Option<u64>,
    /// Local branches.
    pub branches: u32,
    /// Remote-tracking branches.
    pub remote_branches: u32,
    /// Tags (with statistics on).
    pub tags: Option<u32>,
    /// Objects in packs (with statistics on).
    pub objects: Option<u64>,
    /// Bytes of pack files (with statistics on).
    pub pack_bytes: Option<u64>,
    /// Files in the base's tree (with statistics on).
    pub files_at_base: Option<u64>,
    /// Bytes of the blobs in the base's tree (with statistics on).
    pub bytes_at_base: Option<u64>,
    /// The largest blobs of the base's tree, largest first (with statistics on).
    pub largest_blobs: Vec<BlobEntry>,
    /// Git LFS pointer files in the base's tree (with statistics on).
    pub lfs_pointers: Option<u64>,
    /// Whether the repository is a shallow clone.
    pub shallow: bool,
    /// Whether the repository is a partial clone (`git clone --filter`).
    pub partial_clone: bool,
}

/// One repository under scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFacts {
    /// The path as the user gave it.
    pub path: String,
    /// Short name of the base branch.
    pub base: String,
    /// Full reference name of the base branch.
    pub base_ref: String,
    /// The commit the base points at (empty in a repository without commits).
    pub base_tip: String,
    /// The branch checked out, if any.
    pub head_branch: Option<String>,
    /// The commit checked out, if any.
    pub head_commit: Option<String>,
    /// Whether the repository has no work tree.
    pub bare: bool,
    /// Repository-wide statistics.
    pub stats: RepoStats,
}

/// How one branch lines up with the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchFacts {
    /// Short name (`feature`, `origin/feature`).
    pub name: String,
    /// Full reference name.
    pub reference: String,
    /// Whether it is a remote-tracking branch.
    pub remote: bool,
    /// The commit the branch points at.
    pub tip: String,
    /// Commits on the branch that the base lacks (`git rev-list --count BASE..BRANCH`).
    pub ahead: u32,
    /// Commits on the base that the branch lacks (`git rev-list --count BRANCH..BASE`).
    pub behind: u32,
    /// `git merge-base --all BASE BRANCH`, sorted; empty for unrelated histories.
    pub merge_bases: Vec<String>,
    /// Whether the tip is reachable from the base (`git branch --merged BASE`).
    pub merged: bool,
    /// Whether merging would change nothing although the branch has changes; `None` when not computed.
    pub squash_merged: Option<bool>,
    /// The tip commit's author.
    pub author: Signature,
    /// The tip commit's committer.
    pub committer: Signature,
    /// The first line of the tip commit's message.
    pub summary: String,
    /// `git diff --no-renames --shortstat BASE...BRANCH`; `None` when not computed.
    pub diffstat: Option<Diffstat>,
    /// What merging the branch into the base would do; `None` when not computed.
    pub conflicts: Option<ConflictPrediction>,
}

/// A branch whose facts could not be computed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchError {
    /// Short name of the branch.
    pub name: String,
    /// Full reference name.
    pub reference: String,
    /// What went wrong, naming the object or reference involved.
    pub error: String,
}

/// The facts of one repository: every branch that could be aligned, and the ones that could not.
#[derive(Debug, Clone)]
pub struct RepoScan {
    /// Facts about the repository as a whole.
    pub facts: RepoFacts,
    /// Every branch that could be aligned, local ones first, by reference name.
    pub branches: Vec<BranchFacts>,
    /// Branches whose facts could not (all) be computed.
    pub errors: Vec<BranchError>,
    /// Where the alignment spent its time, and its caches' use.
    pub profile: crate::profile::AlignProfile,
}

/// Which optional facts to compute; part of the facts cache key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlignOptions {
    /// Compute `git diff --shortstat BASE...BRANCH`.
    pub diffstat: bool,
    /// Detect squash- and rebase-merged branches.
    pub squash: bool,
    /// Predict merge conflicts.
    pub conflicts: bool,
}

impl AlignOptions {
    pub(crate) fn needs_trees(&self) -> bool {
        self.diffstat || self.squash || self.conflicts
    }
}
