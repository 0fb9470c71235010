//! The merge-risk plugin end to end, through the host: fitted on a generated history with a
//! planted relation between a merge's shape and its conflicts (`xtask::fixture`'s
//! `merge_history`), kept in the plugin's store between scans, refusing thin histories, and
//! summarising through a fake OpenAI-compatible endpoint on 127.0.0.1 that checks every request.

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{Repo, plugin, scan_json_cached};

const GRANTS: [&str; 6] = [
    "--grant",
    "merge-risk:git.history",
    "--grant",
    "merge-risk:git.merge",
    "--grant",
    "merge-risk:store",
];

/// A generated repository with `merges` planted merges on main, and its manifest.
fn planted(dir: &Path, merges: usize) -> (std::path::PathBuf, Value) {
    let repo = dir.join("repo");
    let spec = xtask::fixture::FixtureSpec {
        commits: 600,
        branches: 16,
        files: 60,
        seed: 11,
        commit_graph: true,
        merge_history: merges,
        rename_history: 0,
    };
    xtask::fixture::generate(&spec, &repo).expect("generate");
    let manifest = std::fs::read_to_string(xtask::fixture::merges_manifest_path(&repo))
        .expect("merges manifest");
    (
        repo,
        serde_json::from_str(&manifest).expect("manifest JSON"),
    )
}

fn config(dir: &Path, extra: &str) -> String {
    let file = dir.join("trellis.toml");
    // Training re-merges hundreds of merges: more time than the default invocation's.
    std::fs::write(
        &file,
        format!("[plugins.merge-risk]\nlimits = {{ timeout_ms = 300000 }}\n{extra}"),
    )
    .unwrap();
    file.to_str().unwrap().to_string()
}

/// Scans `repo` with the merge-risk plugin, its grants and `config`, then `extra` arguments,
/// with caches in `cache`; returns the report.
fn risk_scan(repo: &Path, config: &str, cache: &Path, extra: &[&str]) -> Value {
    let risk = plugin("plugins/merge-risk");
    let mut args = vec![
        repo.to_str().unwrap(),
        "--plugin",
        risk.to_str().unwrap(),
        "--config",
        config,
    ];
    args.extend(GRANTS);
    args.extend(extra);
    scan_json_cached(cache, &args)
}

fn risk_result(report: &Value) -> &Value {
    report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "merge-risk")
        .expect("a merge-risk result")
}

fn of<'a>(result: &'a Value, rule: &str) -> Vec<&'a Value> {
    result["output"]
        .as_array()
        .map(|o| o.iter().filter(|f| f["rule"] == rule).collect())
        .unwrap_or_default()
}

fn number(finding: &Value, key: &str) -> f64 {
    finding["data"][key]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no number {key} in {finding}"))
}

#[test]
fn the_model_learns_the_planted_relation_and_is_kept_between_scans() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, manifest) = planted(dir.path(), 240);
    let config = config(dir.path(), "");
    let cache = dir.path().join("cache");
    let report = risk_scan(&repo, &config, &cache, &[]);
    let result = risk_result(&report);
    assert_eq!(result["status"], "ok", "{result}");
    let model = of(result, "merge-risk/model");
    assert_eq!(model.len(), 1, "{result}");
    let model = model[0];
    println!("{}", model["message"]);

    // The labels are git's verdicts on the re-merged parents: exactly the planted conflicts
    // (the generator's other merges are clean).
    let planted = manifest["merges"].as_array().unwrap();
    let planted_conflicts = planted.iter().filter(|m| m["conflict"] == true).count();
    assert!(
        planted_conflicts > 20,
        "the fixture plants too few conflicts"
    );
    assert_eq!(number(model, "conflicts") as usize, planted_conflicts);
    assert!(number(model, "merges") as usize >= planted.len());
    // The planted signs: conflicts rise with the files both sides changed (the overlap, which
    // the shared-file features carry together) and with the commits behind.
    let overlap = number(model, "coef.shared_files") + number(model, "coef.shared_base_churn");
    assert!(overlap > 0.0, "{model}");
    assert!(number(model, "coef.behind") > 0.0, "{model}");
    // Better than chance on held-out merges (the planted relation is noisy by design).
    assert!(number(model, "roc-auc") > 0.7, "{model}");

    // Every branch ahead of the base is scored, with factors and a recommendation.
    let branches = support::branches(&report);
    let ahead = branches.values().filter(|b| b["ahead"] != 0).count();
    let scored = of(result, "merge-risk/branch");
    assert_eq!(scored.len(), ahead, "{result}");
    for f in &scored {
        let score = number(f, "score");
        assert!((0.0..=100.0).contains(&score), "{f}");
        let factors: Vec<Value> =
            serde_json::from_str(f["data"]["factors"].as_str().unwrap()).unwrap();
        assert!(!factors.is_empty(), "{f}");
        assert!(
            f["data"]["recommendation"]
                .as_str()
                .unwrap()
                .contains("action")
        );
    }
    // The riskiest ones get a summary from the facts (no LLM configured).
    let summaries = of(result, "merge-risk/summary");
    assert_eq!(summaries.len(), ahead.min(10));
    assert!(summaries.iter().all(|s| s["data"]["source"] == "facts"));

    // A re-scan finds the model in the store: no history read, no re-merges of the past.
    let again = risk_scan(&repo, &config, &cache, &[]);
    let second = risk_result(&again);
    assert_eq!(
        of(second, "merge-risk/model")[0]["message"],
        model["message"]
    );
    let queries = |r: &Value| r["metrics"]["queries"].as_u64().unwrap();
    assert!(
        queries(second) < queries(result),
        "{} queries, then {}",
        queries(result),
        queries(second)
    );
}

#[test]
fn a_thin_history_is_refused_with_the_reason() {
    let mut repo = Repo::new();
    repo.commit("start");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("topic work");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main work");
    repo.merge("topic", "Merge topic");
    repo.git(&["checkout", "-q", "-b", "open"]);
    repo.commit("open work");
    repo.git(&["checkout", "-q", "main"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "");
    let report = risk_scan(repo.path(), &config, &dir.path().join("cache"), &[]);
    let result = risk_result(&report);
    assert_eq!(result["status"], "ok", "{result}");
    let model = of(result, "merge-risk/model");
    let message = model[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("not scoring branches: too few usable merges: 1"),
        "{message}"
    );
    assert!(of(result, "merge-risk/branch").is_empty(), "{result}");
}

/// What the fake endpoint does with each request.
#[derive(Clone, Copy)]
enum Mode {
    Answer,
    Fail,
    Hang,
}

/// A fake OpenAI-compatible endpoint on 127.0.0.1: records every request's path and JSON
/// body and answers as `mode` says.
struct FakeLlm {
    port: u16,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeLlm {
    fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or_default();
                let path = line.split(' ').nth(1).unwrap_or_default().to_string();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap_or_default();
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push((path, json));
                    seen.len()
                };
                let (status, body) = match mode {
                    Mode::Answer => (
                        "200 OK",
                        serde_json::json!({
                            "choices": [{"message": {"role": "assistant", "content": format!("Canned summary {n}.")}}]
                        })
                        .to_string(),
                    ),
                    Mode::Fail => (
                        "500 Internal Server Error",
                        r#"{"error": {"message": "model overloaded", "type": "server_error"}}"#
                            .to_string(),
                    ),
                    Mode::Hang => {
                        std::thread::sleep(Duration::from_secs(5));
                        continue;
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeLlm { port, requests }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }
}

/// Scans the planted repository with the LLM at `llm` configured (2 summaries).
fn llm_scan(dir: &Path, repo: &Path, llm: &FakeLlm, cache: &Path) -> BTreeMap<String, Value> {
    let config = config(
        dir,
        &format!(
            "config = {{ llm = {{ endpoint = \"{}/v1\", model = \"test-model\", max_tokens = 77, context_tokens = 1024, top_n = 2 }} }}\n\
             [http]\nretries = 0\nfirst_byte_timeout_ms = 500\n",
            llm.origin()
        ),
    );
    let grant = format!("merge-risk:http={}", llm.origin());
    let report = risk_scan(repo, &config, cache, &["--grant", &grant]);
    let result = risk_result(&report);
    assert_eq!(result["status"], "ok", "{result}");
    of(result, "merge-risk/summary")
        .into_iter()
        .map(|f| (f["branch"].as_str().unwrap().to_string(), f.clone()))
        .collect()
}

#[test]
fn summaries_come_from_the_configured_llm_cached_and_fall_back_to_the_facts() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = planted(dir.path(), 120);
    let cache = dir.path().join("cache");

    let llm = FakeLlm::start(Mode::Answer);
    let summaries = llm_scan(dir.path(), &repo, &llm, &cache);
    assert_eq!(summaries.len(), 2);
    let requests = llm.requests();
    assert_eq!(requests.len(), 2, "one request per summarised branch");
    for (path, body) in &requests {
        assert_eq!(path, "/v1/chat/completions");
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["max_tokens"], 77);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], "system");
        // The prompt stays within the context left beside the completion (4 bytes a token).
        let prompt: usize = messages
            .iter()
            .map(|m| m["content"].as_str().unwrap().len())
            .sum();
        assert!(prompt <= (1024 - 77) * 4, "{prompt} bytes");
    }
    for s in summaries.values() {
        assert!(
            s["message"].as_str().unwrap().starts_with("Canned summary"),
            "{s}"
        );
        assert_eq!(s["data"]["source"], "llm:test-model");
    }
    // Again: the answers come from the store, the endpoint is not asked.
    let again = llm_scan(dir.path(), &repo, &llm, &cache);
    assert_eq!(llm.requests().len(), 2);
    for s in again.values() {
        assert_eq!(s["data"]["source"], "llm:test-model (cached)");
    }

    // An endpoint that fails, or never answers: the facts' summary, and why.
    for (mode, why) in [(Mode::Fail, "model overloaded"), (Mode::Hang, "")] {
        let llm = FakeLlm::start(mode);
        let fresh = dir.path().join(format!("cache-{why}"));
        let summaries = llm_scan(dir.path(), &repo, &llm, &fresh);
        assert_eq!(summaries.len(), 2);
        for s in summaries.values() {
            let source = s["data"]["source"].as_str().unwrap();
            assert!(source.starts_with("facts (the LLM failed: "), "{source}");
            assert!(source.contains(why), "{source}");
            assert!(!s["message"].as_str().unwrap().starts_with("Canned"));
        }
    }
}
