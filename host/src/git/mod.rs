//! Everything the host learns from git: opening repositories, the commit graph and the
//! alignment facts of every branch against a base.
//!
//! Plugins never touch a repository; they get the facts computed here and, with a grant,
//! the bounded answers of [`query`].

mod align;
mod commitgraph;
mod error;
pub mod facts;
mod graph;
mod open;
pub mod query;
mod walk;

pub use align::{align_repository, repo_facts};
pub use error::GitError;
pub use facts::{BranchError, BranchFacts, RepoFacts, RepoScan, RepoStats, Signature};
pub use open::{BranchSelection, OpenedRepo, open_repository};
