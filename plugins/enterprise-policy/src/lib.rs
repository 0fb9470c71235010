//! The `enterprise-policy` plugin: a rule engine for branch, commit, change and secret policies.
//!
//! The engine is plain Rust, independent of the WIT bindings, and unit-tested natively:
//! [`Config::from_toml`] compiles the plugin's TOML configuration, [`evaluate`] runs it over one
//! repository's [`input::RepoInput`] and returns [`Violation`]s, [`describe_rules`] gives the
//! metadata of the configured rules. The SDK glue (built for `wasm32` only) maps the host's data
//! into the input types and the violations into findings.

pub mod config;
pub mod engine;
pub mod error;
pub mod glob;
pub mod input;
pub mod output;
pub mod rules;
pub mod secrets;
pub mod signing;

pub use config::Config;
pub use engine::{describe_rules, evaluate};
pub use error::ConfigError;
pub use output::{RuleInfo, Severity, Violation};

#[cfg(target_arch = "wasm32")]
mod glue;
