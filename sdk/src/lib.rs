//! Write [Trellis](https://example.invalid/trellis) plugins in Rust.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that implements one world of the
//! `trellis:plugin` WIT package. This crate hides the bindings: each world has a module with
//! the trait to implement and the macro that exports it —
//!
//! | kind | implement | export with |
//! |---|---|---|
//! | analyzer | [`analyzer::Analyzer`] | [`export_analyzer!`] |
//! | policy | [`policy::Policy`] | [`export_policy!`] |
//! | tuner | [`tuner::Tuner`] | [`export_tuner!`] |
//!
//! ```no_run
//! use trellis_sdk::analyzer::Analyzer;
//! use trellis_sdk::{Finding, PluginError, ScanInput};
//!
//! struct Unmerged;
//!
//! impl Analyzer for Unmerged {
//!     fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError> {
//!         Ok(input
//!             .branches
//!             .iter()
//!             .filter(|b| !b.merged)
//!             .map(|b| Finding::info("unmerged", format!("{} is not merged", b.name)).branch(&b.name))
//!             .collect())
//!     }
//! }
//!
//! trellis_sdk::export_analyzer!(Unmerged);
//! ```
//!
//! The facts, findings and errors are shared by every kind, and plugins of every kind may share
//! a workspace: there are no features to choose a kind. A component is one of the world of the
//! macro it calls and nothing else: the macro generates that world's bindings in the plugin
//! crate, which must therefore depend on this crate under its own name, `trellis_sdk`.

#![deny(missing_docs)]

mod bindings;
mod finding;
pub mod host;
pub mod http;

pub mod analyzer;
pub mod policy;
pub mod tuner;

/// The WIT API version this SDK builds plugins against: the version of the newest contract in
/// the crate's `wit/` folder, read by the build script.
pub const API_VERSION: &str = env!("TRELLIS_API_VERSION");

pub use bindings::trellis::plugin::types::{
    BlobEntry, BranchFacts, ConflictPrediction, Diffstat, Fact, FactValue, Finding, Machine,
    Outcome, Plan, PluginError, Probe, RepoFacts, RepoStats, RuleInfo, RunRecord, ScanInput,
    Severity, Signature,
};

/// What the export macros use; they expand in plugin crates.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::trellis::plugin::{host, types};
    pub use wit_bindgen;

    /// The contents of the `trellis:api-version` custom section: the API version's bytes.
    pub const API_VERSION_SECTION: [u8; crate::API_VERSION.len()] =
        match crate::API_VERSION.as_bytes().first_chunk() {
            Some(bytes) => *bytes,
            None => unreachable!(),
        };
}

/// What every `export_*!` macro does: binds world `$world` in the plugin crate (see
/// `bindings.rs` for why there), implements its generated `Guest` trait for `$plugin` by calling
/// `$call` (the kind's adapter over `$plugin`'s implementation of its trait; the world's one
/// function is `$name`),
/// exports it, and records the API version. A second export in one crate clashes on the names
/// of the module and the static.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    (
        world: $world:literal,
        plugin: $plugin:ty,
        fn $name:ident($($arg:ident: $arg_ty:ty),*) -> $ret:ty = $call:expr
    ) => {
        // Generated code: the plugin's lints are not meant for it.
        #[doc(hidden)]
        #[allow(unused, clippy::all)]
        mod __trellis_world {
            $crate::__with_contract!(__world_bindings { world: $world });
        }
        const _: () = {
            // The generated export macro takes a type name, not a type.
            type __TrellisPlugin = $plugin;
            impl __trellis_world::Guest for __TrellisPlugin {
                fn $name($($arg: $arg_ty),*) -> $ret {
                    $call($($arg),*)
                }
            }
            __trellis_world::export!(__TrellisPlugin with_types_in __trellis_world);
        };
        // The host reads this section before instantiating, to pick the bindings to link with.
        #[used]
        #[unsafe(link_section = "trellis:api-version")]
        static __TRELLIS_API_VERSION: [u8; $crate::API_VERSION.len()] =
            $crate::__private::API_VERSION_SECTION;
    };
}
