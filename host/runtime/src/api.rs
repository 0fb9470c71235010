//! The WIT API versions this host serves, and which one a component was built against.

use std::fmt;

use semver::{Version, VersionReq};

/// Name of the custom section in which the SDK records the API version.
pub const API_VERSION_SECTION: &str = "trellis:api-version";

/// An API version the host serves; each has its own generated bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    /// `trellis:plugin@0.1.0`, frozen in `wit/v0.1.0`.
    V0_1_0,
    /// `trellis:plugin@0.2.0`, in `wit/v0.2.0`: batch history queries, findings with commits
    /// and lines, rule descriptions, extra facts.
    V0_2_0,
}

impl ApiVersion {
    /// Every served version, oldest first.
    pub const SERVED: &[ApiVersion] = &[ApiVersion::V0_1_0, ApiVersion::V0_2_0];

    /// The semver of this version.
    pub fn semver(self) -> Version {
        match self {
            ApiVersion::V0_1_0 => Version::new(0, 1, 0),
            ApiVersion::V0_2_0 => Version::new(0, 2, 0),
        }
    }

    /// The served versions as a readable list, e.g. `0.1.0, 0.2.0`.
    pub fn served_list() -> String {
        Self::SERVED
            .iter()
            .map(|v| v.semver().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Picks the version to link a component with: the one it records, if it records one,
    /// otherwise the newest served version the manifest's requirement accepts.
    pub fn select(required: &VersionReq, recorded: Option<&Version>) -> Result<Self, String> {
        if let Some(recorded) = recorded {
            let served = Self::SERVED
                .iter()
                .copied()
                .find(|v| v.semver() == *recorded)
                .ok_or_else(|| {
                    format!(
                        "built against API {recorded}, which this host does not serve (serves {})",
                        Self::served_list()
                    )
                })?;
            if !required.matches(recorded) {
                return Err(format!(
                    "built against API {recorded}, but its manifest requires API {required}"
                ));
            }
            return Ok(served);
        }
        Self::SERVED
            .iter()
            .rev()
            .copied()
            .find(|v| required.matches(&v.semver()))
            .ok_or_else(|| {
                format!(
                    "requires API {required}, but this host serves {}",
                    Self::served_list()
                )
            })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.semver())
    }
}

/// What a binary tells about itself before it is compiled.
#[derive(Debug)]
pub struct Inspection {
    /// The API version from the [`API_VERSION_SECTION`] custom section, if present.
    pub recorded: Option<Version>,
    /// Core instances the component creates, counted over its sections and those of the
    /// components nested in it: what the instance pool must have room for.
    pub core_instances: u64,
}

/// Checks that `wasm` is a component and reads the API version it records.
pub fn inspect(wasm: &[u8]) -> Result<Inspection, String> {
    if !wasmparser::Parser::is_component(wasm) {
        return Err(if wasmparser::Parser::is_core_wasm(wasm) {
            "is a core WebAssembly module, not a component (build for wasm32-wasip2)".into()
        } else {
            "is not a WebAssembly component".into()
        });
    }
    let (section, core_instances) = scan(wasm, API_VERSION_SECTION)?;
    let recorded = match section {
        None => None,
        Some(data) => {
            let text = std::str::from_utf8(data)
                .map_err(|_| format!("has a malformed `{API_VERSION_SECTION}` section"))?;
            Some(
                Version::parse(text.trim_end_matches('\0').trim()).map_err(|e| {
                    format!("records API version `{text}`, which is not semver: {e}")
                })?,
            )
        }
    };
    Ok(Inspection {
        recorded,
        core_instances,
    })
}

/// The data of the first custom section called `name`, in the component or any module nested
/// in it, and the number of core instances the component's sections create. Function bodies
/// are skipped, not parsed: this runs on every plugin load.
fn scan<'a>(wasm: &'a [u8], name: &str) -> Result<(Option<&'a [u8]>, u64), String> {
    use wasmparser::{Chunk, Parser, Payload};
    let invalid = |e: wasmparser::BinaryReaderError| format!("is not a valid component: {e}");
    let mut parents = Vec::new();
    let mut parser = Parser::new(0);
    let mut data = wasm;
    let mut found = None;
    let mut core_instances = 0u64;
    loop {
        let (consumed, payload) = match parser.parse(data, true).map_err(invalid)? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err("is truncated".into()),
        };
        data = &data[consumed..];
        match payload {
            Payload::CustomSection(section) if section.name() == name && found.is_none() => {
                found = Some(section.data());
            }
            Payload::InstanceSection(instances) => {
                // Only instantiations of modules take a slot of the pool; a bag of exports
                // does not.
                for instance in instances {
                    if let wasmparser::Instance::Instantiate { .. } = instance.map_err(invalid)? {
                        core_instances += 1;
                    }
                }
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                data = data.get(size as usize..).ok_or("is truncated")?;
            }
            Payload::ModuleSection { parser: nested, .. }
            | Payload::ComponentSection { parser: nested, .. } => {
                parents.push(std::mem::replace(&mut parser, nested));
            }
            Payload::End(_) => match parents.pop() {
                Some(parent) => parser = parent,
                None => return Ok((found, core_instances)),
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_prefers_the_recorded_version_and_names_both_on_mismatch() {
        let caret = VersionReq::parse("^0.1").unwrap();
        assert_eq!(
            ApiVersion::select(&caret, None).unwrap(),
            ApiVersion::V0_1_0
        );
        assert_eq!(
            ApiVersion::select(&caret, Some(&Version::new(0, 1, 0))).unwrap(),
            ApiVersion::V0_1_0
        );
        let err = ApiVersion::select(&caret, Some(&Version::new(0, 9, 0))).unwrap_err();
        assert!(err.contains("0.9.0") && err.contains("0.1.0"), "{err}");
        let err = ApiVersion::select(&VersionReq::parse("^2").unwrap(), None).unwrap_err();
        assert!(err.contains("^2") && err.contains("0.1.0"), "{err}");
    }

    #[test]
    fn core_modules_and_garbage_are_not_components() {
        let core = b"\0asm\x01\0\0\0";
        assert!(
            inspect(core)
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(
            inspect(b"hello")
                .unwrap_err()
                .contains("not a WebAssembly component")
        );
    }

    /// A released contract never changes: plugins built against it rely on every byte. A new
    /// API is a new folder.
    #[test]
    fn released_contracts_are_frozen() {
        use sha2::{Digest, Sha256};
        let frozen: &[(&str, &str)] = &[
            (
                "v0.1.0/host.wit",
                "d3431325b40b0596236ca284ae21ada5b3a51f38f3dc81a9fc63445606a2aa64",
            ),
            (
                "v0.1.0/types.wit",
                "22c2010926964524cf7131ee96fa209e33f648e6caf04d3ca630758d8f6461df",
            ),
            (
                "v0.1.0/worlds.wit",
                "de7076f2eeeda80d28f769925fdfd02619d19d11d142aa788f32d3b930aa27bf",
            ),
        ];
        let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        for (file, digest) in frozen {
            let bytes = std::fs::read(wit.join(file)).unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                *digest,
                "{file} changed"
            );
        }
        let files = std::fs::read_dir(wit.join("v0.1.0")).unwrap().count();
        assert_eq!(
            files,
            frozen.len(),
            "a file was added to a released contract"
        );
    }
}
