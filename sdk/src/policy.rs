//! Policies (world `policy`): check the facts of one repository against rules and report
//! violations as findings.
//!
//! Implement [`Policy`] and export it with [`export_policy!`].

use crate::{Finding, PluginError, ScanInput};

pub use crate::export_policy;

/// A policy checks the facts of one repository against rules and reports violations.
pub trait Policy {
    /// Called once per repository under scan.
    fn evaluate(input: ScanInput) -> Result<Vec<Finding>, PluginError>;
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
                -> ::core::result::Result<::std::vec::Vec<$crate::Finding>, $crate::PluginError>
                = $crate::policy::Policy
        }
    };
}
