//! The `merge-risk` analyzer plugin: merge risk learned from the repository's own history.
//!
//! The engine is plain Rust, independent of the WIT bindings, and unit-tested natively:
//!
//! - [`input`]: what the glue builds from the host's queries — past merges re-merged
//!   ([`PastMerge`]) and current branches ([`Candidate`]);
//! - [`features`]: the feature vector of a (real or hypothetical) merge;
//! - [`model`]: L2-regularised, class-weighted logistic regression fitted by Newton's method;
//! - [`eval`]: time-ordered evaluation on held-out merges, and refusal to score when history
//!   cannot support a model;
//! - [`risk`]: a branch's score, its explanation and a recommendation;
//! - [`overlap`]: clusters of branches touching the same files;
//! - [`summary`]: deterministic summaries and OpenAI-compatible LLM requests (no I/O);
//! - [`config`]: the plugin's TOML/JSON configuration;
//! - [`synth`]: synthetic repositories with a planted signal, for tests and the benchmark.
//!
//! There is no I/O, no clock and no threads here: times come in as arguments, so the same engine
//! runs natively and as a wasm32-wasip2 component.

#![warn(missing_docs)]

pub mod config;
pub mod eval;
pub mod features;
pub mod input;
pub mod model;
pub mod overlap;
pub mod risk;
pub mod summary;
pub mod synth;

pub use config::{Config, ConfigError};
pub use eval::{Evaluation, Refusal, Trained, train_and_evaluate};
pub use features::{FEATURE_NAMES, features};
pub use input::{Candidate, FileStat, PastMerge, Side, Trial};
pub use model::{FitError, FitOptions, Model, ModelError};
pub use overlap::{OverlapInfo, OverlapOptions, OverlapReport, clusters};
pub use risk::{Assessment, Factor, Recommendation, RiskOptions, assess, assess_with, recommend};

#[cfg(target_arch = "wasm32")]
mod glue;
