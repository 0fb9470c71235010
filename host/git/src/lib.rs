//! Trellis's git engine: everything the host learns from git — opening repositories, the
//! commit graph and the alignment facts of every branch against a base.
//!
//! Plugins never touch a repository; they get the facts computed here and, with a grant,
//! the bounded answers of [`query`].

mod align;
mod cache;
mod changes;
mod commitgraph;
mod conflicts;
mod diffstat;
mod error;
pub mod facts;
mod graph;
mod lfs;
mod memory;
mod open;
mod packscan;
pub mod profile;
pub mod query;
mod refs;
mod renames;
mod squash;
mod stats;
mod walk;
mod xdiff;

pub use align::{AlignContext, Progress, align_repository, empty_repo_facts, repo_facts};
pub use cache::{CacheError, FactsCache};
pub use error::{BoxError, GitError, MergeError, ObjectError, ObjectKind, TreeFactsError};
pub use facts::{
    AlignOptions, BranchError, BranchFacts, RepoFacts, RepoScan, RepoStats, Signature,
};
pub use open::{BranchSelection, OpenedRepo, open_repository};
pub use stats::{SizeProbe, fill_stats, size_probe};
