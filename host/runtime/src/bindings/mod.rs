//! Generated bindings, one module per served API version, each converting to and from the
//! host's own types so the rest of the host never sees a versioned type.

#[macro_use]
mod convert;
pub mod v0_1_0;
pub mod v0_2_0;

use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

use super::api::ApiVersion;
use super::state::State;
use crate::plan::{Plan, Probe, RunRecord};
use crate::plugin::{Outcome, PluginKind};
use trellis_git::RepoScan;

/// What a plugin returned as its own error, whatever API version it spoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginErr {
    /// The plugin's machine-readable code.
    pub code: String,
    /// The plugin's message.
    pub message: String,
}

/// Adds the host side of every served API version to `linker`.
pub fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    v0_1_0::add_to_linker(linker)?;
    v0_2_0::add_to_linker(linker)
}

/// A plugin pre-linked for its API version and world, ready to instantiate cheaply.
pub enum VersionedPre {
    V0_1_0(v0_1_0::Pre),
    V0_2_0(v0_2_0::Pre),
}

impl VersionedPre {
    /// Checks that the pre-linked component exports the world of `kind` at `api`.
    pub fn new(
        api: ApiVersion,
        kind: PluginKind,
        pre: InstancePre<State>,
    ) -> wasmtime::Result<Self> {
        match api {
            ApiVersion::V0_1_0 => Ok(VersionedPre::V0_1_0(v0_1_0::Pre::new(kind, pre)?)),
            ApiVersion::V0_2_0 => Ok(VersionedPre::V0_2_0(v0_2_0::Pre::new(kind, pre)?)),
        }
    }

    /// Instantiates and calls an analyzer's `analyze` or a policy's `evaluate`.
    pub async fn analyze(
        &self,
        store: &mut Store<State>,
        scan: &RepoScan,
        scan_time: i64,
    ) -> wasmtime::Result<Result<Outcome, PluginErr>> {
        match self {
            VersionedPre::V0_1_0(pre) => pre.analyze(store, scan, scan_time).await,
            VersionedPre::V0_2_0(pre) => pre.analyze(store, scan, scan_time).await,
        }
    }

    /// Instantiates and calls a tuner's `tune`.
    pub async fn tune(
        &self,
        store: &mut Store<State>,
        probe: Probe<'_>,
        history: &[RunRecord],
    ) -> wasmtime::Result<Result<Plan, PluginErr>> {
        match self {
            VersionedPre::V0_1_0(pre) => pre.tune(store, probe, history).await,
            VersionedPre::V0_2_0(pre) => pre.tune(store, probe, history).await,
        }
    }
}
