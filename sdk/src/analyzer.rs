//! Analyzers (world `analyzer`): read the facts of one repository and report findings.
//!
//! Implement [`Analyzer`] and export it with [`export_analyzer!`].

use crate::{Finding, Outcome, PluginError, RuleInfo, ScanInput};

pub use crate::export_analyzer;

/// An analyzer reads the facts of one repository and reports findings.
pub trait Analyzer {
    /// Called once per repository under scan.
    fn analyze(input: ScanInput) -> Result<Vec<Finding>, PluginError>;

    /// The rules this plugin checks, as configured, for reports (SARIF rule metadata) and
    /// for people; every `rule` its findings carry should be described here. None by default.
    fn rules() -> Vec<RuleInfo> {
        Vec::new()
    }
}

/// What the export macro calls: the findings and the rule descriptions, as the world returns
/// them.
#[doc(hidden)]
pub fn __run<P: Analyzer>(input: ScanInput) -> Result<Outcome, PluginError> {
    Ok(Outcome {
        findings: P::analyze(input)?,
        rules: P::rules(),
    })
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
                -> ::core::result::Result<$crate::Outcome, $crate::PluginError>
                = $crate::analyzer::__run::<$plugin>
        }
    };
}
