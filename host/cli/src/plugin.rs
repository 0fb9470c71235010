//! `trellis plugin …`: the plugin store's commands.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use semver::Version;
use trellis_app::config::Config;
use trellis_app::plugins::runtime_options;
use trellis_app::report::columns::{Column, write_columns};
use trellis_app::store::trust::{self, Trust};
use trellis_app::store::{InstallOptions, PluginState, Store, StoreError};
use trellis_os::display::{Escaped, escape};
use trellis_runtime::Runtime;
use trellis_runtime::plugin::{Capability, MANIFEST_FILE, PluginSource};

use super::{EXIT_FAILURE, EXIT_INPUT, EXIT_OK, error_line};

/// How `trellis plugin list` prints the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// One row per plugin, for people.
    Table,
    /// The store's state (`state.json`), for machines.
    Json,
}

/// `trellis plugin` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin directory, a directory of plugin directories, or a .wasm with its plugin.toml beside it.
    Install {
        path: PathBuf,
        /// Reinstall a version that is already installed.
        #[arg(long)]
        force: bool,
    },
    /// List installed plugins.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show everything about one installed plugin.
    Info { id: String },
    /// Enable an installed plugin: `trellis scan` runs it.
    Enable { id: String },
    /// Disable an installed plugin: `trellis scan` skips it.
    Disable { id: String },
    /// Install a newer version of an installed plugin and make it active.
    Upgrade { id: String, path: PathBuf },
    /// Make the previously active version (or --to VERSION) active again.
    Rollback {
        id: String,
        #[arg(long, value_name = "VERSION")]
        to: Option<Version>,
    },
    /// Remove one inactive version, or the whole plugin with --all.
    Remove {
        id: String,
        #[arg(long, value_name = "VERSION")]
        version: Option<Version>,
        /// Remove every version, the active one included.
        #[arg(long)]
        all: bool,
    },
    /// Re-hash every installed file and report what changed since install.
    Verify { id: Option<String> },
    /// Grant a capability (git.history, git.blobs, http=ORIGIN, fs.read=DIR) to an installed plugin.
    Grant { id: String, capability: String },
    /// Revoke a granted capability.
    Revoke { id: String, capability: String },
    /// Make a signing key: writes the secret key to FILE and prints the public key.
    Keygen { file: PathBuf },
    /// Sign a plugin directory: writes `sha256` and `signature` into its plugin.toml.
    Sign {
        /// The secret key file from `trellis plugin keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        dir: PathBuf,
    },
}

fn store() -> Result<Store, u8> {
    Store::default_home().map(Store::at).ok_or_else(|| {
        error_line("cannot find the plugin store: set TRELLIS_HOME (or HOME)");
        EXIT_INPUT
    })
}

/// Starts the plugin runtime with the configured stack limit and compile cache.
pub fn start_runtime(config: &Config, no_cache: bool) -> Result<Runtime, u8> {
    Runtime::new(&runtime_options(config, no_cache)).map_err(|e| {
        error_line(e);
        EXIT_FAILURE
    })
}

fn trust(config: &Config) -> Result<Trust, u8> {
    Trust::new(config.trust.require_signatures, &config.trust.keys).map_err(|e| {
        error_line(format!("config [trust] keys: {e}"));
        EXIT_INPUT
    })
}

/// Exit code of a store error: the user's input, or the machine.
fn code_of(e: &StoreError) -> u8 {
    match e {
        StoreError::Io { .. } | StoreError::Corrupt { .. } => EXIT_FAILURE,
        _ => EXIT_INPUT,
    }
}

fn fail(e: StoreError) -> u8 {
    let code = code_of(&e);
    error_line(e);
    code
}

/// Runs a `trellis plugin` command.
pub fn run(config: &Config, command: &PluginCommand) -> u8 {
    match run_inner(config, command) {
        Ok(code) | Err(code) => code,
    }
}

fn run_inner(config: &Config, command: &PluginCommand) -> Result<u8, u8> {
    let store = store()?;
    match command {
        PluginCommand::Install { path, force } => {
            let runtime = start_runtime(config, false)?;
            let trust = trust(config)?;
            let dirs = plugin_dirs(path)?;
            let mut code = EXIT_OK;
            for dir in dirs {
                let options = InstallOptions {
                    force: *force,
                    upgrade: false,
                };
                let installed = PluginSource::read(&dir)
                    .map_err(StoreError::from)
                    .and_then(|source| install(&store, &runtime, &trust, source, options));
                match installed {
                    Ok(()) => {}
                    Err(e) => code = code.max(fail(e)),
                }
            }
            Ok(code)
        }
        PluginCommand::Upgrade { id, path } => {
            let runtime = start_runtime(config, false)?;
            let trust = trust(config)?;
            let source = PluginSource::read(path).map_err(|e| fail(e.into()))?;
            if source.manifest.id != *id {
                error_line(format!(
                    "{}: is plugin `{}`, not `{id}`",
                    path.display(),
                    source.manifest.id
                ));
                return Err(EXIT_INPUT);
            }
            let options = InstallOptions {
                force: false,
                upgrade: true,
            };
            install(&store, &runtime, &trust, source, options).map_err(fail)?;
            Ok(EXIT_OK)
        }
        PluginCommand::List { format } => list(&store, *format),
        PluginCommand::Info { id } => info(&store, id),
        PluginCommand::Enable { id } => {
            store.set_enabled(id, true).map_err(fail)?;
            println!("enabled {id}");
            Ok(EXIT_OK)
        }
        PluginCommand::Disable { id } => {
            store.set_enabled(id, false).map_err(fail)?;
            println!("disabled {id}");
            Ok(EXIT_OK)
        }
        PluginCommand::Rollback { id, to } => {
            let version = store.rollback(id, to.as_ref()).map_err(fail)?;
            println!("{id}: active version is now {version}");
            Ok(EXIT_OK)
        }
        PluginCommand::Remove { id, version, all } => {
            let removed = store.remove(id, version.as_ref(), *all).map_err(fail)?;
            for v in removed {
                println!("removed {id}@{v}");
            }
            Ok(EXIT_OK)
        }
        PluginCommand::Verify { id } => {
            let problems = store.verify(id.as_deref()).map_err(fail)?;
            for p in &problems {
                error_line(format!("{}@{}: {}", p.id, p.version, p.message));
            }
            if problems.is_empty() {
                println!("all installed plugins verified");
                Ok(EXIT_OK)
            } else {
                Ok(EXIT_FAILURE)
            }
        }
        PluginCommand::Grant { id, capability } | PluginCommand::Revoke { id, capability } => {
            let grant = matches!(command, PluginCommand::Grant { .. });
            let parsed: Capability = capability.parse().map_err(|e| {
                error_line(e);
                EXIT_INPUT
            })?;
            store
                .set_grant(id, &parsed.to_string(), grant)
                .map_err(fail)?;
            println!(
                "{} {parsed} {} {id}",
                if grant { "granted" } else { "revoked" },
                if grant { "to" } else { "from" }
            );
            Ok(EXIT_OK)
        }
        PluginCommand::Keygen { file } => keygen(file),
        PluginCommand::Sign { key, dir } => sign(key, dir),
    }
}

fn install(
    store: &Store,
    runtime: &Runtime,
    trust: &Trust,
    source: PluginSource,
    options: InstallOptions,
) -> Result<(), StoreError> {
    let (installed, _) = store.install(runtime, trust, source, options)?;
    match &installed.previous {
        Some(previous) if *previous != installed.version => println!(
            "installed {}@{} (was {previous})",
            installed.id, installed.version
        ),
        _ => println!("installed {}@{}", installed.id, installed.version),
    }
    Ok(())
}

/// What `install PATH` means: a plugin directory, a `.wasm` whose `plugin.toml` sits beside
/// it, or a directory of plugin directories.
fn plugin_dirs(path: &Path) -> Result<Vec<PathBuf>, u8> {
    let input = |message: String| {
        error_line(message);
        EXIT_INPUT
    };
    if path.is_file() && path.extension().is_some_and(|e| e == "wasm") {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let source = PluginSource::read(&dir).map_err(|e| input(e.to_string()))?;
        if source.wasm_path.file_name() != path.file_name() {
            return Err(input(format!(
                "{}: the {MANIFEST_FILE} beside it names `{}`",
                path.display(),
                source.manifest.wasm.display()
            )));
        }
        return Ok(vec![dir]);
    }
    if !path.is_dir() {
        return Err(input(format!(
            "{}: not a plugin directory or .wasm file",
            path.display()
        )));
    }
    if path.join(MANIFEST_FILE).is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| input(format!("{}: {e}", path.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(input(format!(
            "{}: no {MANIFEST_FILE} in it or in its subdirectories",
            path.display()
        )));
    }
    Ok(dirs)
}

fn list(store: &Store, format: ListFormat) -> Result<u8, u8> {
    let state = store.state().map_err(fail)?;
    if format == ListFormat::Json {
        let json = serde_json::to_string_pretty(&state).map_err(|e| {
            error_line(e);
            EXIT_FAILURE
        })?;
        println!("{json}");
        return Ok(EXIT_OK);
    }
    if state.plugins.is_empty() {
        println!("no plugins installed in {}", store.home().display());
        return Ok(EXIT_OK);
    }
    let rows: Vec<Vec<String>> = state
        .plugins
        .iter()
        .map(|(id, p)| {
            let kind = p.versions.get(&p.active).map_or("?", |v| v.kind.as_str());
            let versions: Vec<String> = p.versions.keys().map(ToString::to_string).collect();
            // `state.json` and manifests are data, not trusted text: escaped for display.
            vec![
                escape(id).into_owned(),
                p.active.to_string(),
                kind.to_string(),
                escape(&versions.join(", ")).into_owned(),
                enabled_text(p),
            ]
        })
        .collect();
    let columns = ["id", "active", "kind", "installed", "enabled"].map(Column::left);
    let stdout = std::io::stdout();
    write_columns(&mut stdout.lock(), "", &columns, &rows).map_err(|e| {
        error_line(e);
        EXIT_FAILURE
    })?;
    Ok(EXIT_OK)
}

/// `yes`, `no`, or `no (why the host disabled it)`, escaped for display.
fn enabled_text(p: &PluginState) -> String {
    match (&p.enabled, &p.disabled_reason) {
        (true, _) => "yes".to_string(),
        (false, Some(reason)) => format!("no ({})", Escaped(reason)),
        (false, None) => "no".to_string(),
    }
}

fn info(store: &Store, id: &str) -> Result<u8, u8> {
    let state = store.state().map_err(fail)?;
    let Some(p) = state.plugins.get(id) else {
        return Err(fail(StoreError::NotInstalled(id.into())));
    };
    // Everything from `state.json` and the manifest is escaped for display.
    println!("id:        {}", Escaped(id));
    println!("active:    {}", p.active);
    println!("enabled:   {}", enabled_text(p));
    let grants: Vec<&str> = p.grants.iter().map(String::as_str).collect();
    println!(
        "grants:    {}",
        if grants.is_empty() {
            "none".to_string()
        } else {
            escape(&grants.join(", ")).into_owned()
        }
    );
    let history: Vec<String> = p.history.iter().map(ToString::to_string).collect();
    println!("history:   {}", history.join(" → "));
    if let Some(v) = p.versions.get(&p.active)
        && let Ok(source) = PluginSource::read(&store.home().join(&v.dir))
    {
        let m = &source.manifest;
        println!("kind:      {}", m.kind);
        println!("api:       {} (requires {})", v.api, m.api);
        println!("about:     {}", Escaped(&m.description));
        if !m.authors.is_empty() {
            println!("authors:   {}", Escaped(&m.authors.join(", ")));
        }
        if let Some(license) = &m.license {
            println!("license:   {}", Escaped(license));
        }
        let asked: Vec<String> = m.capabilities.iter().map(ToString::to_string).collect();
        println!(
            "asks for:  {}",
            if asked.is_empty() {
                "nothing".to_string()
            } else {
                escape(&asked.join(", ")).into_owned()
            }
        );
    }
    println!("versions:");
    for (version, v) in &p.versions {
        println!(
            "  {version}  sha256 {}  installed {}  {}{}",
            Escaped(&v.sha256),
            v.installed_at,
            Escaped(&v.dir),
            v.signer
                .as_ref()
                .map(|s| format!("  signed by {}", Escaped(s)))
                .unwrap_or_default()
        );
    }
    Ok(EXIT_OK)
}

fn keygen(file: &Path) -> Result<u8, u8> {
    let (secret, public) = trust::generate_key().map_err(|e| {
        error_line(e);
        EXIT_FAILURE
    })?;
    if file.exists() {
        error_line(format!("{}: exists; not overwriting a key", file.display()));
        return Err(EXIT_INPUT);
    }
    write_secret(file, &secret).map_err(|e| {
        error_line(format!("{}: {e}", file.display()));
        EXIT_FAILURE
    })?;
    println!("{public}");
    Ok(EXIT_OK)
}

#[cfg(unix)]
fn write_secret(file: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    writeln!(f, "{secret}")
}

#[cfg(not(unix))]
fn write_secret(file: &Path, secret: &str) -> std::io::Result<()> {
    std::fs::write(file, format!("{secret}\n"))
}

fn sign(key: &Path, dir: &Path) -> Result<u8, u8> {
    let input = |message: String| {
        error_line(message);
        EXIT_INPUT
    };
    let secret =
        std::fs::read_to_string(key).map_err(|e| input(format!("{}: {e}", key.display())))?;
    let manifest_path = dir.join(MANIFEST_FILE);
    // Read the component through the manifest, ignoring a stale pinned digest.
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|e| input(format!("{}: {e}", manifest_path.display())))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| input(format!("{}: {e}", manifest_path.display())))?;
    doc.remove("sha256");
    doc.remove("signature");
    let unpinned = trellis_runtime::plugin::Manifest::parse(&doc.to_string(), &manifest_path)
        .map_err(|e| input(e.to_string()))?;
    let wasm_path = dir.join(&unpinned.wasm);
    let wasm =
        std::fs::read(&wasm_path).map_err(|e| input(format!("{}: {e}", wasm_path.display())))?;
    let sha256 = trellis_runtime::plugin::sha256_hex(&wasm);
    let signature =
        trust::sign(&secret, &sha256).map_err(|e| input(format!("{}: {e}", key.display())))?;
    let public = trust::public_of(&secret).map_err(|e| input(e.to_string()))?;
    doc["sha256"] = toml_edit::value(sha256.clone());
    doc["signature"] = toml_edit::value(signature);
    // Top-level keys must come before the first table; toml_edit keeps new values in the root.
    trellis_os::write_atomically(&manifest_path, doc.to_string().as_bytes())
        .map_err(|e| input(format!("{}: {e}", manifest_path.display())))?;
    println!(
        "signed {} (sha256 {sha256}) with key {public}",
        dir.display()
    );
    Ok(EXIT_OK)
}
