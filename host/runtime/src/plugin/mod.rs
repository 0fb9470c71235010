//! What a plugin is on disk (a directory with `plugin.toml` and a component) and what it reports.

mod capability;
mod finding;
mod manifest;
mod source;

pub use capability::{Capability, CapabilityError};
pub use finding::{Analysis, Finding, RuleInfo, Severity};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestError, PluginKind};
pub use source::{PluginSource, SourceError, sha256_hex};
