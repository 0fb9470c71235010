//! Trellis's application layer: everything a command does, between the command line and the
//! engines below it.
//!
//! - [`config`]: the embedded default configuration and the user's overrides.
//! - [`scan`]: one scan end to end — repositories aligned by `trellis-git`, plugins run by
//!   `trellis-runtime`; [`report`]: its result, as JSON or a table.
//! - [`gate`]: the CI gate — which findings fail a scan, fingerprints, baselines.
//! - [`plugins`]: which plugins a scan runs, with which grants, and their outcomes.
//! - [`store`]: installed plugins, versions, enable/disable, rollback, integrity.
//!
//! Dependencies point one way: `trellis-os` ← `trellis-git` ← `trellis-runtime` ← this crate
//! ← the `trellis` command line.

pub mod config;
pub mod gate;
pub mod plugins;
pub mod report;
pub mod scan;
pub mod store;
