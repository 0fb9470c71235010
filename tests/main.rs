//! The end-to-end tests, one module per concern; `support` builds the repositories, the
//! plugins and the commands they share.

mod support;

mod api_versions;
mod bad_input;
mod foreign_plugins;
mod gate;
mod git_engine;
mod git_facts;
mod git_real_cases;
mod lifecycle;
mod merge_risk;
mod merge_trials;
mod plugin_engines;
mod plugins;
mod policy;
mod sandbox;
mod sandbox_contain;
mod sandbox_output;
mod sandbox_wasi;
mod tuning;
