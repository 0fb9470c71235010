//! Policies (world `policy`): check the facts of one repository against rules and report
//! violations as findings.
//!
//! Implement [`Policy`] and export it with [`export_policy!`].

use crate::{Finding, Outcome, PluginError, RuleInfo, ScanInput};

pub use crate::export_policy;

/// A policy checks the facts of one repository against rules and reports violations.
pub trait Policy {
    /// Called once per repository under scan.
    fn evaluate(input: ScanInput) -> Result<Vec<Finding>, PluginError>;

    /// The rules this plugin checks, as configured, for reports (SARIF rule metadata) and
    /// for people; every `rule` its findings carry should be described here. None by default.
    fn rules() -> Vec<RuleInfo> {
        Vec::new()
    }
}

/// What the export macro calls: the findings and the rule descriptions, as the world returns
/// them.
#[doc(hidden)]
pub fn __run<P: Policy>(input: ScanInput) -> Result<Outcome, PluginError> {
    Ok(Outcome {
        findings: P::evaluate(input)?,
        rules: P::rules(),
    })
}

/// Exports a type implementing [`Policy`](crate::policy::Policy) as this component's policy,
/// making the component one of the `policy` world: `trellis_sdk::export_policy!(MyPolicy);` at
/// most once per crate, where the crate depends on the SDK under its own name (`trellis_sdk`).
#[macro_export]
macro_rules! export_policy {
    ($plugin:ty) => {
        $crate::__export_plugin! {
            world: "policy",
            plugin: $plugin,
            fn evaluate(input: $crate::ScanInput)
                -> ::core::result::Result<$crate::Outcome, $crate::PluginError>
                = $crate::policy::__run::<$plugin>
        }
    };
}
