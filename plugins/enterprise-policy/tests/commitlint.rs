//! Agreement with the real commitlint: runs `@commitlint/lint` with
//! `@commitlint/config-conventional` (pinned in `tests/commitlint/package-lock.json`) over every
//! message of `tests/commitlint/corpus.json` in one Node process, and compares its verdicts with
//! the engine's message by message: valid or not, and the set of failed error-level rules.
//!
//! Not skipped without Node: a missing `node` or `npm` fails the test and says so. The first run
//! installs the pinned packages with `npm ci` into the git-ignored `node_modules`.
//!
//! The corpus holds no whitespace-only message on purpose: commitlint's parser throws on those
//! (`Expected a raw commit`) instead of giving a verdict, so there is nothing to agree with; the
//! engine reports them as a missing type and subject.

use std::path::{Path, PathBuf};
use std::process::Command;

use enterprise_policy::rules::commits::conventional::{ConventionalOptions, Level, lint};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/commitlint")
}

fn require_tool(name: &str) {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the commitlint agreement test needs `{name}` (Node.js >= 20 with npm) on PATH; install it \
         (e.g. `apt-get install nodejs npm`) — this test is never skipped"
    );
}

fn install(dir: &Path) {
    if dir
        .join("node_modules/@commitlint/lint/package.json")
        .exists()
        && dir
            .join("node_modules/@commitlint/config-conventional/package.json")
            .exists()
    {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm ci in {}: {e}", dir.display()));
    assert!(
        out.status.success(),
        "npm ci failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn engine_agrees_with_commitlint_on_the_corpus() {
    require_tool("node");
    require_tool("npm");
    let dir = dir();
    install(&dir);
    let corpus_path = dir.join("corpus.json");
    let corpus: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(&corpus_path).unwrap_or_else(|e| panic!("corpus.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("corpus.json: {e}"));
    assert!(
        corpus.len() >= 500,
        "the corpus must hold at least 500 messages"
    );
    let out = Command::new("node")
        .arg(dir.join("lint.mjs"))
        .arg(&corpus_path)
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    assert!(
        out.status.success(),
        "lint.mjs failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("lint.mjs printed no JSON verdicts: {e}"));
    assert_eq!(verdicts.len(), corpus.len());

    let options = ConventionalOptions::default();
    let mut agree = 0;
    let mut differ = Vec::new();
    for (entry, theirs) in corpus.iter().zip(&verdicts) {
        let message = entry["message"].as_str().unwrap_or_default();
        let source = entry["source"].as_str().unwrap_or_default();
        let their_valid = theirs["valid"].as_bool().unwrap_or(false);
        let mut their_errors: Vec<&str> = theirs["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        their_errors.sort_unstable();
        let mut their_warnings: Vec<&str> = theirs["warnings"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        their_warnings.sort_unstable();
        let ours = lint(message, &options);
        let mut our_warnings: Vec<&str> = ours
            .problems
            .iter()
            .filter(|p| p.level == Level::Warning)
            .map(|p| p.rule)
            .collect();
        our_warnings.sort_unstable();
        // Warnings do not decide validity, but they are compared too: they show that the
        // body / footer split matches the parser's.
        if ours.valid() == their_valid
            && ours.errors() == their_errors
            && our_warnings == their_warnings
        {
            agree += 1;
        } else {
            differ.push(format!(
                "{source} {message:?}\n  commitlint: valid={their_valid} {their_errors:?} warnings {their_warnings:?}\n  engine:     valid={} {:?} warnings {our_warnings:?}",
                ours.valid(),
                ours.errors()
            ));
        }
    }
    println!(
        "commitlint agreement: {agree}/{} messages (valid/invalid, error-level and warning-level rule names)",
        corpus.len()
    );
    assert!(
        differ.is_empty(),
        "{} messages differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}
