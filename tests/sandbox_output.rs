//! Output meant to hurt a person's terminal or the report: control sequences, forged lines and
//! bidi overrides in everything a plugin or a repository controls, huge errors, and floods of
//! denied capabilities. What reaches a terminal is escaped, what reaches the report is capped,
//! and JSON keeps the exact text within the caps.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{Repo, plugin, trellis};

/// What the fixture puts in every string (`tests/fixtures/plugins/hostile-output`).
const NASTY: &str = "\u{1b}[31mred\u{1b}[0m \u{1b}]0;pwned\u{7} bell\u{7} \
     cr\r  other@1.0.0: FAILED: forged by cr\nother@1.0.0: FAILED: forged by lf \
     c1\u{9b}2J evil\u{202e}gnp.exe del\u{7f} tab\tend";

/// The caps of `trellis_runtime::caps`, as the report shows them.
const MAX_TEXT: usize = 4096;
const MAX_NAME: usize = 256;
const MAX_BRANCH: usize = 1024;
const MAX_DENIED: usize = 32;

/// A plugin directory running the hostile-output fixture as `id` in `mode`.
fn hostile(parent: &Path, id: &str, mode: &str) -> PathBuf {
    let built = plugin("tests/fixtures/plugins/hostile-output");
    let dir = parent.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.join("hostile_output.wasm"),
        dir.join("hostile_output.wasm"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(built.join("plugin.toml"))
        .unwrap()
        .replace("id = \"hostile-output\"", &format!("id = \"{id}\""))
        .replace("mode = \"controls\"", &format!("mode = \"{mode}\""));
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

/// A repository whose branch name and committer name carry controls.
fn nasty_repo() -> Repo {
    let mut repo = Repo::new();
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "evil\u{202e}gnp.\u{9b}exe"]);
    let name = "Mallory \u{1b}[31mRed\u{1b}]0;title\u{7} \u{202e}gnp \u{9b}2J";
    let out = support::git_command(repo.path())
        .args(["commit", "-q", "--allow-empty", "-m", "evil"])
        .env("GIT_COMMITTER_NAME", name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.git(&["checkout", "-q", "main"]);
    repo
}

fn scan(format: &str, repo: &Repo, plugins: &[PathBuf], extra: &[&str]) -> Output {
    let mut cmd = trellis();
    cmd.args(["scan", "--format", format])
        .arg(repo.path())
        .args(extra);
    for p in plugins {
        cmd.arg("--plugin").arg(p);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every byte of `bytes` is printable text or a newline: no C0 control (CR, TAB, ESC, BEL…),
/// no DEL, no C1 control, no bidi control; and no forged line starts with a failure.
fn assert_safe_for_a_terminal(what: &str, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        assert!(
            *b == b'\n' || (*b >= 0x20 && *b != 0x7f),
            "{what}: raw control byte {b:#04x} at {i}: {}",
            String::from_utf8_lossy(&bytes[i.saturating_sub(60)..(i + 20).min(bytes.len())])
        );
    }
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    for c in text.chars() {
        assert!(
            !matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{2028}' | '\u{2029}'),
            "{what}: raw {c:?}"
        );
    }
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("other@1.0.0"),
            "{what}: a plugin forged a line: {line}"
        );
    }
}

fn plugin_results(report: &Value) -> Vec<Value> {
    report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .clone()
}

fn result<'a>(results: &'a [Value], id: &str) -> &'a Value {
    results.iter().find(|p| p["id"] == id).unwrap()
}

/// `text` is cut to at most `max` bytes, then the truncation marker with the
/// original length.
fn assert_capped(text: &str, max: usize, original: usize) {
    let marker = format!("… [truncated, {original} bytes]");
    assert!(
        text.ends_with(&marker),
        "no marker: {}",
        &text[text.len() - 60..]
    );
    assert!(text.len() <= max + marker.len(), "{} bytes", text.len());
    assert!(text.len() + 3 >= max + marker.len(), "{} bytes", text.len());
}

#[test]
fn controls_from_plugins_and_repositories_are_escaped_for_people_and_exact_in_json() {
    let work = tempfile::tempdir().unwrap();
    let repo = nasty_repo();
    let plugins = [
        hostile(work.path(), "controls", "controls"),
        hostile(work.path(), "huge-error", "huge-error"),
        hostile(work.path(), "panics", "panic"),
        hostile(work.path(), "logs", "logs"),
    ];

    let table = scan("table", &repo, &plugins, &[]);
    assert_safe_for_a_terminal("stdout", &table.stdout);
    assert_safe_for_a_terminal("stderr", &table.stderr);
    let stdout = String::from_utf8_lossy(&table.stdout);
    let stderr = String::from_utf8_lossy(&table.stderr);
    // Shown, visibly: the finding, the failures, the panic, the branch and committer names.
    for shown in [
        "message \\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07 bell\\x07 cr\\x0d  other@1.0.0: FAILED",
        "forged by lf c1\\x9b2J evil\\u{202e}gnp.exe del\\x7f tab\\x09end",
        "huge-error@0.1.0: FAILED: plugin error code\\x1b[31mred",
        "panics@0.1.0: FAILED: trap:",
        "panicked \\x1b[31mred",
        "evil\\u{202e}gnp.\\x9bexe",
        "Mallory \\x1b[31mRed\\x1b]0;title\\x07 \\u{202e}gnp \\x9b2J",
    ] {
        assert!(stdout.contains(shown), "`{shown}` not in:\n{stdout}");
    }
    // Log lines and failure warnings on stderr, escaped too.
    assert!(stderr.contains("log \\x1b[31mred"), "{stderr}");
    assert!(stderr.contains("\\x0d  other@1.0.0: FAILED: forged by cr\\x0aother@1.0.0"));
    // The 16 MiB error is capped on the terminal as well.
    assert!(stdout.len() < 64 * 1024, "{} bytes of table", stdout.len());
    assert!(stderr.len() < 64 * 1024, "{} bytes of stderr", stderr.len());

    let json = scan("json", &repo, &plugins, &[]);
    let report = support::report(&json.stdout);
    let results = plugin_results(&report);
    let finding = &result(&results, "controls")["output"][0];
    assert_eq!(finding["message"], format!("message {NASTY}"));
    assert_eq!(finding["rule"], format!("rule{NASTY}"));
    assert_eq!(finding["branch"], format!("branch{NASTY}"));
    assert_eq!(finding["path"], format!("path{NASTY}"));
    assert_eq!(
        finding["data"][format!("key{NASTY}")],
        format!("value {NASTY}")
    );
    let failure = &result(&results, "huge-error")["failure"];
    assert_eq!(failure["reason"], "plugin-error", "{failure}");
    assert_eq!(failure["code"], format!("code{NASTY}"));
    let message = failure["message"].as_str().unwrap();
    assert!(message.starts_with(NASTY), "the exact text is kept");
    assert_capped(message, MAX_TEXT, NASTY.len() + 1 + (16 << 20));
    let branches = support::branches(&report);
    let evil = &branches["evil\u{202e}gnp.\u{9b}exe"];
    assert!(
        evil["committer"]["name"]
            .as_str()
            .unwrap()
            .contains("\u{1b}[31mRed\u{1b}]0;title\u{7}")
    );
}

#[test]
fn every_plugin_string_in_the_report_is_capped() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("base");
    let plugins = [hostile(work.path(), "huge", "huge")];
    let out = scan("json", &repo, &plugins, &[]);
    let report = support::report(&out.stdout);
    let results = plugin_results(&report);
    let r = result(&results, "huge");
    assert_eq!(r["status"], "ok", "{r}");
    let finding = &r["output"][0];
    let message = finding["message"].as_str().unwrap();
    assert!(message.starts_with(NASTY));
    assert_capped(message, MAX_TEXT, NASTY.len() + 1 + (1 << 20));
    assert_capped(finding["data"]["big"].as_str().unwrap(), MAX_TEXT, 1 << 20);
    let finding = &r["output"][1];
    assert_capped(finding["rule"].as_str().unwrap(), MAX_NAME, 1 << 18);
    assert_capped(finding["branch"].as_str().unwrap(), MAX_BRANCH, 1 << 18);
    assert_capped(finding["path"].as_str().unwrap(), MAX_TEXT, 1 << 18);
    let data = finding["data"].as_object().unwrap();
    assert_eq!(data.len(), 1);
    assert_capped(data.keys().next().unwrap(), MAX_NAME, 1 << 18);
    assert!(out.stdout.len() < 64 * 1024, "{} bytes", out.stdout.len());
}

#[test]
fn a_flood_of_denied_capabilities_is_capped_and_its_warnings_rate_limited() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("base");
    let plugins = [hostile(work.path(), "denied", "denied")];

    let out = scan("json", &repo, &plugins, &[]);
    let report = support::report(&out.stdout);
    let results = plugin_results(&report);
    let r = result(&results, "denied");
    assert_eq!(r["output"][0]["message"], "3000 refused", "{r}");
    let denied = r["metrics"]["denied"].as_array().unwrap();
    assert_eq!(denied.len(), MAX_DENIED, "{denied:?}");
    for d in denied {
        let d = d.as_str().unwrap();
        assert!(d.starts_with("http=http://h"), "{d}");
        assert!(d.len() <= 256 + 40, "{} bytes", d.len());
    }

    let stderr = String::from_utf8(out.stderr).unwrap();
    let warnings = stderr
        .lines()
        .filter(|l| l.contains("denied capability `"))
        .count();
    assert!(warnings <= 8, "{warnings} warnings:\n{stderr}");
    assert!(
        stderr.contains("2992 more denied capability attempts not shown"),
        "{stderr}"
    );
    assert!(
        stderr.len() < 16 * 1024,
        "{} bytes of warnings",
        stderr.len()
    );
}

#[test]
fn plugin_list_and_info_escape_descriptions_and_disabled_reasons() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let dir = hostile(work.path(), "sneaky", "huge-error");
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
    let description =
        "\"about \\u001b[31mred\\r\\nother@1.0.0: FAILED: forged \\u202egnp \\u009b2J\"";
    let manifest = manifest
        .lines()
        .map(|l| {
            if l.starts_with("description") {
                format!("description = {description}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    let store = |args: &[&str]| {
        let out = trellis()
            .env("TRELLIS_HOME", &home)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    store(&["plugin", "install", dir.to_str().unwrap()]);

    // One failure disables it; the reason (the plugin's own error) goes into state.json.
    let config = work.path().join("trellis.toml");
    std::fs::write(&config, "[runtime]\ndisable_after_failures = 1\n").unwrap();
    let mut repo = Repo::new();
    repo.commit("base");
    let scanned = store(&[
        "scan",
        repo.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_safe_for_a_terminal("scan stdout", &scanned.stdout);
    assert_safe_for_a_terminal("scan stderr", &scanned.stderr);

    let state: Value =
        serde_json::from_slice(&store(&["plugin", "list", "--format", "json"]).stdout).unwrap();
    let reason = state["plugins"]["sneaky"]["disabled_reason"]
        .as_str()
        .expect("disabled with a reason");
    assert!(reason.contains(NASTY), "the exact text is kept: {reason:?}");
    assert!(reason.len() < 2 * MAX_TEXT, "{} bytes", reason.len());

    let list = store(&["plugin", "list"]);
    assert_safe_for_a_terminal("plugin list", &list.stdout);
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("last: plugin error code\\x1b[31mred"),
        "{list}"
    );

    let info = store(&["plugin", "info", "sneaky"]);
    assert_safe_for_a_terminal("plugin info", &info.stdout);
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(
        info.contains("about:     about \\x1b[31mred\\x0d\\x0aother@1.0.0: FAILED: forged \\u{202e}gnp \\x9b2J"),
        "{info}"
    );
    assert!(info.contains("enabled:   no (disabled after 1 consecutive failures; last: plugin error code\\x1b[31mred"), "{info}");
}

#[test]
fn a_plan_reason_is_capped_and_escaped() {
    let repo = nasty_repo();
    let tuner = [plugin("tests/fixtures/plugins/hostile-output-tuner")];
    let table = scan("table", &repo, &tuner, &[]);
    assert_safe_for_a_terminal("stdout", &table.stdout);
    assert_safe_for_a_terminal("stderr", &table.stderr);
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout.contains("workers — \\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07"),
        "{stdout}"
    );
    assert!(stdout.len() < 64 * 1024, "{} bytes of table", stdout.len());

    let report = support::report(&scan("json", &repo, &tuner, &[]).stdout);
    let reason = report["plan"]["output"]["reason"].as_str().unwrap();
    assert!(reason.starts_with(NASTY), "the exact text is kept");
    assert_capped(reason, MAX_TEXT, NASTY.len() + 1 + (16 << 20));
    // Each unknown setting of the plan (API 0.2 `extra`) is said, within the caps.
    let adjustments = report["plan"]["output"]["adjustments"].as_array().unwrap();
    assert_eq!(adjustments.len(), 33, "{adjustments:?}");
    assert_eq!(adjustments[32], "… and 968 more");
    for a in &adjustments[..32] {
        let a = a.as_str().unwrap();
        assert!(a.starts_with("ignored `") && a.contains(NASTY), "{a}");
        assert!(a.len() <= MAX_TEXT + 64, "{} bytes", a.len());
    }
}
