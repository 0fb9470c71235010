//! `plugin.toml`: who a plugin is, what it implements and what it asks for.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use semver::{Version, VersionReq};
use serde::Deserialize;

use super::capability::Capability;

/// The file name of a plugin manifest.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// Which WIT world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Facts in, findings out (world `analyzer`).
    Analyzer,
    /// Facts in, violations out (world `policy`).
    Policy,
    /// Probe and history in, a plan out (world `tuner`).
    Tuner,
}

impl PluginKind {
    /// The world's name in the WIT package.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Analyzer => "analyzer",
            PluginKind::Policy => "policy",
            PluginKind::Tuner => "tuner",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A manifest that cannot be used, naming the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The manifest.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: {message}")]
    Syntax {
        /// The manifest.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key is missing or has a bad value.
    #[error("{path}: key `{key}`: {message}")]
    Key {
        /// The manifest.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// A validated `plugin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The plugin's id: lowercase letters, digits, `-`, `_`; at most 64.
    pub id: String,
    /// The plugin's version.
    pub version: Version,
    /// The world it implements.
    pub kind: PluginKind,
    /// The WIT API versions the plugin works with.
    pub api: VersionReq,
    /// The component, relative to the plugin directory.
    pub wasm: PathBuf,
    /// Shown to users.
    pub description: String,
    /// Shown to users.
    pub authors: Vec<String>,
    /// Shown to users.
    pub license: Option<String>,
    /// Capabilities it asks for (the user grants them).
    pub capabilities: Vec<Capability>,
    /// Expected sha256 of the component (lowercase hex), if the author pinned it.
    pub sha256: Option<String>,
    /// ed25519 signature over the component's sha256 (hex), if signed.
    pub signature: Option<String>,
    /// Default configuration handed to the plugin.
    pub config: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: String,
    version: String,
    kind: String,
    api: String,
    wasm: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    authors: Vec<String>,
    license: Option<String>,
    #[serde(default)]
    capabilities: RawCapabilities,
    sha256: Option<String>,
    signature: Option<String>,
    #[serde(default)]
    config: toml::Table,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCapabilities {
    #[serde(default)]
    git: RawGit,
    #[serde(default)]
    http: Vec<String>,
    #[serde(default)]
    fs: RawFs,
    #[serde(default)]
    store: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGit {
    #[serde(default)]
    history: bool,
    #[serde(default)]
    blobs: bool,
    #[serde(default)]
    merge: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFs {
    #[serde(default)]
    read: Vec<String>,
}

/// What `http = ["*"]` in a manifest is recorded as: any origin the user grants.
pub const ANY_ORIGIN: &str = "*";

impl Manifest {
    /// Whether the plugin asks for `capability`, so that a grant of it takes effect. An
    /// `http=ORIGIN` grant matches that origin, or `*` (an origin the user chooses).
    pub fn asks_for(&self, capability: &Capability) -> bool {
        self.capabilities.iter().any(|asked| {
            asked == capability
                || matches!((asked, capability), (Capability::Http(any), Capability::Http(_)) if any == ANY_ORIGIN)
        })
    }

    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates manifest text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            path: path.into(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let key = |key: &'static str, message: String| ManifestError::Key {
            path: path.into(),
            key,
            message,
        };

        let id_ok = !raw.id.is_empty()
            && raw.id.len() <= 64
            && raw
                .id
                .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(key(
                "id",
                format!(
                    "`{}` is not a plugin id (lowercase letters, digits, `-` and `_`, at most 64)",
                    raw.id
                ),
            ));
        }
        let version = Version::parse(&raw.version)
            .map_err(|e| key("version", format!("`{}` is not semver: {e}", raw.version)))?;
        let kind = match raw.kind.as_str() {
            "analyzer" => PluginKind::Analyzer,
            "policy" => PluginKind::Policy,
            "tuner" => PluginKind::Tuner,
            other => {
                return Err(key(
                    "kind",
                    format!("unknown kind `{other}` (expected analyzer, policy or tuner)"),
                ));
            }
        };
        let api = VersionReq::parse(&raw.api).map_err(|e| {
            key(
                "api",
                format!("`{}` is not a semver requirement: {e}", raw.api),
            )
        })?;
        let wasm = PathBuf::from(&raw.wasm);
        let inside = !raw.wasm.is_empty()
            && wasm
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(key(
                "wasm",
                format!(
                    "`{}` must be a relative path inside the plugin directory",
                    raw.wasm
                ),
            ));
        }
        if let Some(sha) = &raw.sha256
            && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(key(
                "sha256",
                format!("`{sha}` is not 64 hexadecimal digits"),
            ));
        }
        if let Some(sig) = &raw.signature
            && (sig.len() != 128 || !sig.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(key(
                "signature",
                "expected an ed25519 signature as 128 hexadecimal digits".into(),
            ));
        }

        let mut capabilities = Vec::new();
        if raw.capabilities.git.history {
            capabilities.push(Capability::GitHistory);
        }
        if raw.capabilities.git.blobs {
            capabilities.push(Capability::GitBlobs);
        }
        if raw.capabilities.git.merge {
            capabilities.push(Capability::GitMerge);
        }
        if raw.capabilities.store {
            capabilities.push(Capability::Store);
        }
        for origin in &raw.capabilities.http {
            // `*`: an origin the user chooses (e.g. a configurable API endpoint); only an
            // exact origin the user grants is ever allowed.
            if origin == "*" {
                capabilities.push(Capability::Http(ANY_ORIGIN.into()));
                continue;
            }
            capabilities.push(
                format!("http={origin}")
                    .parse()
                    .map_err(|e| key("capabilities.http", format!("{e}")))?,
            );
        }
        for dir in &raw.capabilities.fs.read {
            capabilities.push(
                format!("fs.read={dir}")
                    .parse()
                    .map_err(|e| key("capabilities.fs.read", format!("{e}")))?,
            );
        }

        Ok(Manifest {
            id: raw.id,
            version,
            kind,
            api,
            wasm,
            description: raw.description,
            authors: raw.authors,
            license: raw.license,
            capabilities,
            sha256: raw.sha256.map(|s| s.to_ascii_lowercase()),
            signature: raw.signature.map(|s| s.to_ascii_lowercase()),
            config: raw.config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "stale-branches"
version = "1.2.3"
kind = "analyzer"
api = "^0.1"
wasm = "stale.wasm"
[capabilities]
git.history = true
http = ["https://api.example.com"]
[config]
max_age_days = 30
"#;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("dir/plugin.toml"))
    }

    #[test]
    fn parses_a_full_manifest() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.id, "stale-branches");
        assert_eq!(m.version, Version::new(1, 2, 3));
        assert_eq!(m.kind, PluginKind::Analyzer);
        assert!(m.api.matches(&Version::new(0, 1, 0)));
        assert_eq!(
            m.capabilities,
            vec![
                Capability::GitHistory,
                Capability::Http("https://api.example.com".into())
            ]
        );
        assert_eq!(m.config["max_age_days"].as_integer(), Some(30));
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let cases = [
            (GOOD.replace("id = \"stale-branches\"\n", ""), "id"),
            (GOOD.replace("1.2.3", "1.2"), "version"),
            (GOOD.replace("\"analyzer\"", "\"linter\""), "kind"),
            (GOOD.replace("^0.1", "not a req"), "api"),
            (GOOD.replace("stale.wasm", "../stale.wasm"), "wasm"),
            (GOOD.replace("stale.wasm", "/tmp/stale.wasm"), "wasm"),
            (GOOD.replace("stale-branches", "Stale Branches"), "id"),
            (GOOD.replace("git.history", "git.everything"), "everything"),
            (format!("unknown_key = 1\n{GOOD}"), "unknown_key"),
        ];
        for (text, key) in cases {
            let err = error_of(&text);
            assert!(err.starts_with("dir/plugin.toml"), "{err}");
            assert!(err.contains(key), "{err} does not name {key}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_is_an_error_naming_the_file_or_a_valid_manifest(text in "\\PC{0,300}") {
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(e.to_string().starts_with("dir/plugin.toml"), "{}", e);
            }
        }

        #[test]
        fn generated_fields_are_validated(
            id in "[a-zA-Z0-9_ ./-]{0,12}",
            version in "[0-9a-z.+-]{0,10}",
            kind in "(analyzer|policy|tuner|[a-z]{0,8})",
            api in "[~^=<>0-9., *]{0,8}",
            wasm in "[a-z./]{0,12}",
        ) {
            let text = format!(
                "id = {id:?}\nversion = {version:?}\nkind = {kind:?}\napi = {api:?}\nwasm = {wasm:?}\n"
            );
            match parse(&text) {
                Ok(m) => {
                    proptest::prop_assert!(m.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'));
                    proptest::prop_assert!(!m.wasm.to_string_lossy().split('/').any(|p| p == ".."));
                    proptest::prop_assert!(!m.wasm.is_absolute());
                }
                Err(e) => {
                    let msg = e.to_string();
                    proptest::prop_assert!(msg.starts_with("dir/plugin.toml: key `"), "{}", msg);
                }
            }
        }
    }
}
