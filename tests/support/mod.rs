//! Shared helpers of the end-to-end tests: real git repositories built with the git CLI,
//! real plugins built for wasm32-wasip2, and the real `trellis` binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Now, in seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A scratch repository driven by the git CLI with a fixed identity and no user config.
pub struct Repo {
    dir: tempfile::TempDir,
    /// Commit time used by the next commit; each commit advances it by a minute.
    pub clock: i64,
}

impl Repo {
    /// `git init -b main` in a fresh temporary directory.
    pub fn new() -> Self {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
            clock: 1_600_000_000,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository and returns its stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Runs git in the repository and returns the whole output.
    pub fn git_output(&self, args: &[&str]) -> Output {
        git_command(self.path())
            .args(args)
            .env("GIT_AUTHOR_DATE", format!("@{} +0000", self.clock))
            .env("GIT_COMMITTER_DATE", format!("@{} +0000", self.clock))
            .output()
            .expect("run git")
    }

    /// Writes `file` with `content` and commits it; returns the new commit id.
    pub fn commit_file(&mut self, file: &str, content: &str, message: &str) -> String {
        let path = self.path().join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write");
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.clock += 60;
        self.git(&["rev-parse", "HEAD"])
    }

    /// Commits a change to a file named after `message`.
    pub fn commit(&mut self, message: &str) -> String {
        let file = format!("{}.txt", message.replace([' ', '/'], "-"));
        self.commit_file(&file, message, message)
    }

    /// Commits with both dates set to `time`.
    pub fn commit_at(&mut self, message: &str, time: i64) -> String {
        let saved = self.clock;
        self.clock = time;
        let id = self.commit(message);
        self.clock = saved.max(time + 60);
        id
    }

    /// Commits what is staged (everything, `git add -A`) signed with the SSH key `key` (see
    /// [`SshKey`]), as `gpg.format=ssh` does; returns the new commit id.
    pub fn commit_signed(&mut self, message: &str, key: &SshKey) -> String {
        self.git(&["add", "-A"]);
        self.git(&[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={}", key.private.display()),
            "commit",
            "-q",
            "-S",
            "-m",
            message,
        ]);
        self.clock += 60;
        self.git(&["rev-parse", "HEAD"])
    }

    /// `git merge --no-ff` of `what` into the current branch.
    pub fn merge(&mut self, what: &str, message: &str) -> String {
        self.git(&["merge", "-q", "--no-ff", "-m", message, what]);
        self.clock += 60;
        self.git(&["rev-parse", "HEAD"])
    }
}

/// An ed25519 SSH key made by `ssh-keygen` in a temporary directory, for signed commits.
pub struct SshKey {
    _dir: tempfile::TempDir,
    /// The private key file.
    pub private: PathBuf,
    /// The public key line (`ssh-ed25519 AAAA… comment`).
    pub public: String,
}

impl SshKey {
    /// A fresh key.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let private = dir.path().join("id_ed25519");
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test key", "-f"])
            .arg(&private)
            .output()
            .expect("ssh-keygen is needed to sign commits (package openssh-client)");
        assert!(keygen.status.success(), "ssh-keygen failed");
        let public = std::fs::read_to_string(private.with_extension("pub"))
            .expect("public key")
            .trim()
            .to_string();
        SshKey {
            _dir: dir,
            private,
            public,
        }
    }

    /// A line of git's allowed signers file letting `principal` sign with this key.
    pub fn allowed_signer(&self, principal: &str) -> String {
        format!("{principal} {}", self.public)
    }
}

/// A git command with a fixed identity and neither system nor global config.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = xtask::git::command(dir);
    cmd.env("GIT_AUTHOR_NAME", "Ada Author")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Cy Committer")
        .env("GIT_COMMITTER_EMAIL", "cy@example.com");
    cmd
}

/// The `trellis` binary, isolated from the user's config, with a shared compile cache.
pub fn trellis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
    let root = xtask::workspace_root();
    cmd.env("TRELLIS_CACHE_DIR", root.join("target").join("test-cache"))
        // An empty plugin store, unless a test points TRELLIS_HOME elsewhere.
        .env("TRELLIS_HOME", root.join("target").join("test-no-store"))
        .env("XDG_CONFIG_HOME", root.join("target").join("no-config"))
        .env_remove("TRELLIS_LOG");
    cmd
}

/// Runs `trellis scan --format json ARGS` and returns the report; panics unless it exits 0.
pub fn scan_json(args: &[&str]) -> Value {
    scan_json_with(trellis(), args)
}

/// Like [`scan_json`], with facts and commit caches in `cache` instead of the shared one.
pub fn scan_json_cached(cache: &Path, args: &[&str]) -> Value {
    let mut cmd = trellis();
    cmd.env("TRELLIS_CACHE_DIR", cache);
    scan_json_with(cmd, args)
}

fn scan_json_with(mut cmd: Command, args: &[&str]) -> Value {
    let out = cmd
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .expect("run trellis");
    assert!(
        out.status.success(),
        "trellis scan {args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    report(&out.stdout)
}

/// Parses a JSON report as `trellis scan` printed it, and checks it against the wire
/// contract: it validates against the checked-in JSON Schema, and reads back into
/// `trellis_report::Report` and writes out again unchanged.
pub fn report(stdout: &[u8]) -> Value {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let json: Value = serde_json::from_slice(stdout).expect("JSON report");
    let validator = VALIDATOR.get_or_init(|| {
        let path = checkout().join("host/report/schema/report.schema.json");
        let text = std::fs::read_to_string(&path).expect("report schema");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("a valid JSON Schema")
    });
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema: {errors:?}\n{json}"
    );
    let typed = trellis_report::from_json(&json.to_string()).expect("the report reads back");
    let again = serde_json::to_value(&typed).expect("the report writes out");
    assert_eq!(again, json, "the report changed in a round trip");
    json
}

/// The checkout these tests were compiled from (the `xtask` library may have been built from
/// another work tree sharing the target directory).
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a sandbox scan produced: the report, its first repository's plugin results by id, and
/// stderr.
pub struct SandboxScan {
    /// The JSON report.
    pub report: Value,
    /// The first repository's plugin results, by plugin id.
    pub results: HashMap<String, Value>,
    /// What `trellis` wrote to stderr.
    pub stderr: String,
}

/// Runs `trellis scan --format json ARGS` with `cmd`; the scan must exit 0 and the host must
/// not panic, whatever the plugins did.
pub fn sandbox_scan(mut cmd: Command, args: &[String]) -> SandboxScan {
    let out = cmd
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .expect("run trellis");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "scan failed: {stderr}");
    // A host panic starts a line with "thread '"; a plugin's panic is quoted inside a warning.
    assert!(
        !stderr.lines().any(|l| l.starts_with("thread '")),
        "the host panicked: {stderr}"
    );
    let report = report(&out.stdout);
    let results = report["repositories"][0]["plugins"]
        .as_array()
        .expect("plugin results")
        .iter()
        .map(|p| (p["id"].as_str().expect("id").to_string(), p.clone()))
        .collect();
    SandboxScan {
        report,
        results,
        stderr,
    }
}

/// Builds the plugin crate at `crate_dir` (relative to the workspace root) once per test
/// process and returns its assembled plugin directory.
pub fn plugin(crate_dir: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = built.get(crate_dir) {
        return dir.clone();
    }
    let out = OUT.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let source = checkout().join(crate_dir);
    let name = source.file_name().expect("crate dir name").to_owned();
    let dir = xtask::build_plugin_dir(&source, &out.path().join(name))
        .unwrap_or_else(|e| panic!("cannot build {crate_dir}: {e:#}"));
    built.insert(crate_dir.to_string(), dir.clone());
    dir
}

/// Builds the plugin written in another language whose sources are in `src_dir` (relative to
/// the workspace root; `python` or `javascript` toolchain) once per test process, and returns
/// its plugin directory.
pub fn foreign_plugin(src_dir: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = built.get(src_dir) {
        return dir.clone();
    }
    let root = xtask::workspace_root();
    let source = root.join(src_dir);
    let name = source.file_name().expect("plugin dir name").to_owned();
    let out = xtask::wasm_target_dir().join("foreign-test").join(name);
    let wit = root.join("wit/v0.1.0");
    let dir = if source.join("package.json").is_file() {
        xtask::foreign::build_js_plugin(&source, &wit, &out)
    } else {
        xtask::foreign::build_python_plugin(&source, &wit, &out)
    }
    .unwrap_or_else(|e| panic!("cannot build {src_dir}: {e:#}"));
    built.insert(src_dir.to_string(), dir.clone());
    dir
}

/// The branch objects of the first repository of a report, by name.
pub fn branches(report: &Value) -> HashMap<String, Value> {
    report["repositories"][0]["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .map(|b| (b["name"].as_str().expect("name").to_string(), b.clone()))
        .collect()
}

/// The findings of plugin `id` in the first repository of a report.
pub fn findings(report: &Value, id: &str) -> Vec<Value> {
    let plugin = report["repositories"][0]["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no result of {id} in {report}"));
    assert_eq!(plugin["status"], "ok", "{id} failed: {plugin}");
    plugin["output"].as_array().expect("findings").clone()
}

/// Parses a SARIF log as `trellis scan` wrote it and checks it against the published OASIS
/// SARIF 2.1.0 schema (`../shared/schemas/sarif-schema-2.1.0.json`, beside the project; a
/// draft-04 schema): every SARIF a test produces goes through here.
pub fn sarif(bytes: &[u8]) -> Value {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let log: Value = serde_json::from_slice(bytes).expect("SARIF is JSON");
    let validator = VALIDATOR.get_or_init(|| {
        let path = checkout().join("../shared/schemas/sarif-schema-2.1.0.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the SARIF schema {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("a valid JSON Schema")
    });
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "the SARIF log breaks the SARIF 2.1.0 schema: {errors:?}\n{log}"
    );
    assert_eq!(log["version"], "2.1.0");
    log
}

/// One JUnit test case as read back from XML.
#[derive(Debug, Clone)]
pub struct JunitCase {
    /// The suite's name.
    pub suite: String,
    /// The case's name.
    pub name: String,
    /// `failure`, `error`, `skipped` or `passed`.
    pub status: String,
    /// The failure's (error's, skip's) message.
    pub message: Option<String>,
    /// The failure's text, or the passing case's system-out.
    pub text: String,
}

/// Parses JUnit XML as `trellis scan` wrote it (a real XML parser: it must be well-formed) and
/// returns every test case; the suites' `tests`/`failures`/`errors` counts must match them.
pub fn junit(bytes: &[u8]) -> Vec<JunitCase> {
    let text = std::str::from_utf8(bytes).expect("JUnit XML is UTF-8");
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("bad XML ({e}):\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut cases = Vec::new();
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let suite_name = suite.attribute("name").expect("suite name").to_string();
        let mut counts = HashMap::<String, usize>::new();
        let mut total = 0;
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            total += 1;
            let outcome = case
                .children()
                .find(|n| ["failure", "error", "skipped"].contains(&n.tag_name().name()));
            let status = outcome
                .map_or("passed", |n| n.tag_name().name())
                .to_string();
            *counts.entry(status.clone()).or_default() += 1;
            let text = outcome
                .or_else(|| case.children().find(|n| n.has_tag_name("system-out")))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_string();
            cases.push(JunitCase {
                suite: suite_name.clone(),
                name: case.attribute("name").expect("case name").to_string(),
                message: outcome
                    .and_then(|n| n.attribute("message"))
                    .map(String::from),
                status,
                text,
            });
        }
        for (attribute, status) in [
            ("tests", None),
            ("failures", Some("failure")),
            ("errors", Some("error")),
        ] {
            let expected = status.map_or(total, |s| counts.get(s).copied().unwrap_or(0));
            assert_eq!(
                suite.attribute(attribute),
                Some(expected.to_string().as_str()),
                "{attribute} of suite {suite_name}"
            );
        }
    }
    cases
}
