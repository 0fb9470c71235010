//! Write [Trellis](https://example.invalid/trellis) plugins in Rust.
//!
//! A plugin is a WebAssembly component (`wasm32-wasip2`) that implements one world of the
//! `trellis:plugin` WIT package. This crate hides the bindings: implement [`Analyzer`],
//! [`Policy`] or [`Tuner`] and export it with the matching macro.
//!
//! ```no_run
//! use trellis_sdk::{Analyzer, Finding, PluginError, ScanInput};
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
//! The plugin kind is chosen with a cargo feature of this crate: none for an analyzer,
//! `policy` or `tuner` otherwise.

#[cfg(all(feature = "policy", feature = "tuner"))]
compile_error!("trellis-sdk: enable at most one plugin kind feature (`policy` or `tuner`)");

mod finding;
pub mod host;
pub mod http;

/// The WIT API version this SDK builds plugins against.
pub const API_VERSION: &str = "0.1.0";

/// Generated bindings; use the re-exports and macros of this crate instead.
#[doc(hidden)]
pub mod bindings {
    #[cfg(not(any(feature = "policy", feature = "tuner")))]
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "analyzer",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "trellis_sdk::bindings",
    });

    #[cfg(feature = "policy")]
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "policy",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "trellis_sdk::bindings",
    });

    #[cfg(feature = "tuner")]
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "tuner",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "trellis_sdk::bindings",
    });
}

pub use bindings::trellis::plugin::types::{
    BlobEntry, BranchFacts, ConflictPrediction, Diffstat, Finding, Machine, Plan, PluginError,
    Probe, RepoFacts, RepoStats, RunRecord, ScanInput, Severity, Signature,
};

/// An analyzer reads the facts of one repository and reports findings.
pub trait Analyzer {
    /// Called once per repository under scan.
    fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError>;
}

/// A policy checks the facts of one repository against rules and reports violations.
pub trait Policy {
    /// Called once per repository under scan.
    fn evaluate(input: ScanInput) -> Result<Vec<Finding>, PluginError>;
}

/// A tuner chooses how the host processes a scan.
pub trait Tuner {
    /// Called once before a scan with a probe of the work and the history of earlier runs.
    fn tune(probe: Probe, history: Vec<RunRecord>) -> Result<Plan, PluginError>;
}

/// Records the API version in the component (custom section `trellis:api-version`), so the
/// host picks the right bindings before instantiating.
#[doc(hidden)]
#[macro_export]
macro_rules! __api_version_section {
    () => {
        #[used]
        #[unsafe(link_section = "trellis:api-version")]
        static __TRELLIS_API_VERSION: [u8; 5] = *b"0.1.0";
    };
}

/// Exports a type implementing [`Analyzer`] as this component's analyzer.
#[macro_export]
macro_rules! export_analyzer {
    ($plugin:ty) => {
        const _: () = {
            struct __TrellisExport;
            impl $crate::bindings::Guest for __TrellisExport {
                fn analyze(
                    input: $crate::ScanInput,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, $crate::PluginError>
                {
                    <$plugin as $crate::Analyzer>::analyze(input)
                }
            }
    $crate::bindings::__export_world!(__TrellisExport with_types_in $crate::bindings);
        };
        $crate::__api_version_section!();
    };
}

/// Exports a type implementing [`Policy`] as this component's policy
/// (needs the `policy` feature).
#[macro_export]
macro_rules! export_policy {
    ($plugin:ty) => {
        const _: () = {
            struct __TrellisExport;
            impl $crate::bindings::Guest for __TrellisExport {
                fn evaluate(
                    input: $crate::ScanInput,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, $crate::PluginError>
                {
                    <$plugin as $crate::Policy>::evaluate(input)
                }
            }
    $crate::bindings::__export_world!(__TrellisExport with_types_in $crate::bindings);
        };
        $crate::__api_version_section!();
    };
}

/// Exports a type implementing [`Tuner`] as this component's tuner (needs the `tuner` feature).
#[macro_export]
macro_rules! export_tuner {
    ($plugin:ty) => {
        const _: () = {
            struct __TrellisExport;
            impl $crate::bindings::Guest for __TrellisExport {
                fn tune(
                    probe: $crate::Probe,
                    history: ::std::vec::Vec<$crate::RunRecord>,
                ) -> ::core::result::Result<$crate::Plan, $crate::PluginError> {
                    <$plugin as $crate::Tuner>::tune(probe, history)
                }
            }
    $crate::bindings::__export_world!(__TrellisExport with_types_in $crate::bindings);
        };
        $crate::__api_version_section!();
    };
}
