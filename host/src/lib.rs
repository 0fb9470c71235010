//! Trellis: how the branches of git repositories line up with their base, with advanced
//! features as sandboxed WebAssembly plugins.
//!
//! The crate is the engine; the `trellis` binary is a thin CLI over it.
//! - [`git`]: repositories, the commit graph and branch alignment facts.
//! - [`plugin`]: plugin directories, manifests, capabilities and findings.
//! - [`runtime`]: the wasmtime engine, sandbox, limits and versioned bindings.
//! - [`scan`]: one scan end to end; [`report`]: its result, as JSON or a table.
//! - [`store`]: installed plugins, versions, enable/disable, rollback, integrity.
//! - [`config`]: the embedded default configuration and the user's overrides.

pub mod config;
pub mod fs;
pub mod git;
pub mod plan;
pub mod plugin;
pub mod report;
pub mod runtime;
pub mod scan;
pub mod store;
