//! Analyzers (world `analyzer`): read the facts of one repository and report findings.
//!
//! Implement [`Analyzer`] and export it with [`export_analyzer!`].

use crate::{Finding, PluginError, ScanInput};

pub use crate::export_analyzer;

/// An analyzer reads the facts of one repository and reports findings.
pub trait Analyzer {
    /// Called once per repository under scan.
    fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError>;
}

/// Exports a type implementing [`Analyzer`](crate::analyzer::Analyzer) as this component's
/// analyzer, making the component one of the `analyzer` world:
/// `trellis_sdk::export_analyzer!(MyAnalyzer);` at most once per crate, where the crate depends
/// on the SDK under its own name (`trellis_sdk`).
#[macro_export]
macro_rules! export_analyzer {
    ($plugin:ty) => {
        $crate::__export_plugin! {
            world: "analyzer",
            plugin: $plugin,
            fn analyze(input: $crate::ScanInput)
                -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, $crate::PluginError>
                = $crate::analyzer::Analyzer
        }
    };
}
