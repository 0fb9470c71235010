//! Tuners (world `tuner`): choose how the host processes a scan.
//!
//! Implement [`Tuner`] and export it with [`export_tuner!`].

use crate::{Plan, PluginError, Probe, RunRecord};

pub use crate::export_tuner;

/// A tuner chooses how the host processes a scan.
pub trait Tuner {
    /// Called once before a scan with a probe of the work and the history of earlier runs.
    fn tune(probe: Probe, history: Vec<RunRecord>) -> Result<Plan, PluginError>;
}

/// Exports a type implementing [`Tuner`](crate::tuner::Tuner) as this component's tuner, making
/// the component one of the `tuner` world: `trellis_sdk::export_tuner!(MyTuner);` at most once
/// per crate, where the crate depends on the SDK under its own name (`trellis_sdk`).
#[macro_export]
macro_rules! export_tuner {
    ($plugin:ty) => {
        $crate::__export_plugin! {
            world: "tuner",
            plugin: $plugin,
            fn tune(probe: $crate::Probe, history: ::std::vec::Vec<$crate::RunRecord>)
                -> ::core::result::Result<$crate::Plan, $crate::PluginError>
                = <$plugin as $crate::tuner::Tuner>::tune
        }
    };
}
