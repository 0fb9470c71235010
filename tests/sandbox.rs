//! The hostile suite: plugins that loop, hoard memory, recurse, flood, panic, trap, reach for
//! files, environment, sockets and paths outside the repository, or overuse host queries. For
//! each, the host survives, reports the precise reason, and the other plugins of the same scan
//! produce their normal results.

use crate::support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Repo, plugin, trellis};

/// A plugin directory running the hostile fixture as `id` in `mode`.
fn hostile(parent: &Path, id: &str, mode: &str, path: &str) -> PathBuf {
    let built = plugin("tests/fixtures/plugins/hostile");
    let dir = parent.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(built.join("hostile.wasm"), dir.join("hostile.wasm")).unwrap();
    let manifest = std::fs::read_to_string(built.join("plugin.toml"))
        .unwrap()
        .replace("id = \"hostile\"", &format!("id = \"{id}\""))
        .replace(
            "mode = \"ok\"",
            &format!("mode = \"{mode}\"\npath = \"{path}\""),
        );
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

/// Adds a line to the `[capabilities]` the manifest of plugin directory `dir` asks for.
fn ask_for(dir: &Path, line: &str) {
    let manifest = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("git.blobs = true", &format!("git.blobs = true\n{line}"));
    std::fs::write(&manifest, text).unwrap();
}

/// Writes `config` as a `trellis.toml` in `work` and returns the scan arguments for `repo` with it.
fn repo_with_config(work: &Path, repo: &Repo, config: impl AsRef<str>) -> Vec<String> {
    let path = work.join("trellis.toml");
    std::fs::write(&path, config.as_ref()).unwrap();
    vec![
        repo.path().display().to_string(),
        "--config".into(),
        path.display().to_string(),
    ]
}

/// Runs a JSON scan; returns the report and the plugin results of the first repository by id.
fn scan(args: &[String]) -> (Value, HashMap<String, Value>) {
    let run = support::sandbox_scan(trellis(), args);
    (run.report, run.results)
}

fn failure(results: &HashMap<String, Value>, id: &str) -> Value {
    let r = &results[id];
    assert_eq!(r["status"], "failed", "{id} should have failed: {r}");
    r["failure"].clone()
}

fn message(results: &HashMap<String, Value>, id: &str) -> String {
    let r = &results[id];
    assert_eq!(r["status"], "ok", "{id} failed: {r}");
    r["output"][0]["message"].as_str().unwrap().to_string()
}

#[test]
fn every_hostile_plugin_is_contained_and_the_others_still_run() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("link")).unwrap();
    repo.git(&["add", "link"]);
    repo.git(&["commit", "-q", "-m", "a link out of the repository"]);
    repo.git(&["branch", "topic"]);

    let cases = [
        ("h-deadline", "loop", ""),
        ("h-fuel", "loop", ""),
        ("h-memory", "memory", ""),
        ("h-recursion", "recursion", ""),
        ("h-huge", "huge-result", ""),
        ("h-panic", "panic", ""),
        ("h-trap", "trap", ""),
        ("h-file", "file", ""),
        ("h-env", "env", ""),
        ("h-socket", "socket", ""),
        ("h-dotdot", "blob", "../outside"),
        ("h-absolute", "blob", "/etc/passwd"),
        ("h-link", "blob", "link"),
        ("h-budget", "query-budget", ""),
        ("h-sleep", "sleep", ""),
        ("h-chatty", "chatty", ""),
        ("h-ok", "ok", ""),
    ];
    let mut args = repo_with_config(
        work.path(),
        &repo,
        r#"
[plugins.h-deadline]
limits = { timeout_ms = 300, fuel = 1_000_000_000_000_000 }
[plugins.h-fuel]
limits = { fuel = 5_000_000, timeout_ms = 60_000 }
[plugins.h-memory]
limits = { memory_mb = 64 }
[plugins.h-huge]
limits = { max_result_kb = 1024 }
[plugins.h-dotdot]
grants = ["git.blobs"]
[plugins.h-absolute]
grants = ["git.blobs"]
[plugins.h-link]
grants = ["git.blobs"]
[plugins.h-budget]
grants = ["git.history"]
limits = { queries = 5 }
[plugins.h-sleep]
limits = { timeout_ms = 300 }
[plugins.h-chatty]
limits = { log_lines = 10 }
"#,
    );
    for (id, mode, path) in cases {
        args.push("--plugin".into());
        args.push(hostile(work.path(), id, mode, path).display().to_string());
    }
    args.push("--plugin".into());
    args.push(plugin("plugins/stale-branches").display().to_string());
    let (report, r) = scan(&args);

    assert_eq!(
        failure(&r, "h-deadline"),
        serde_json::json!({"reason": "deadline", "timeout_ms": 300})
    );
    assert_eq!(
        failure(&r, "h-fuel"),
        serde_json::json!({"reason": "out-of-fuel", "limit": 5_000_000})
    );
    let memory = failure(&r, "h-memory");
    assert_eq!(memory["reason"], "memory");
    assert_eq!(memory["limit_bytes"], 64 << 20);
    assert!(
        memory["requested_bytes"].as_u64().unwrap() > 64 << 20,
        "{memory}"
    );
    assert_eq!(failure(&r, "h-recursion")["reason"], "stack-overflow");
    let huge = failure(&r, "h-huge");
    assert_eq!(huge["reason"], "result-too-large");
    assert_eq!(huge["limit_bytes"], 1024 * 1024);
    let panic = failure(&r, "h-panic");
    assert_eq!(panic["reason"], "trap");
    assert!(
        panic["message"]
            .as_str()
            .unwrap()
            .contains("hostile plugin panicked on purpose"),
        "{panic}"
    );
    let trap = failure(&r, "h-trap");
    assert_eq!(trap["reason"], "trap");
    assert!(
        trap["message"].as_str().unwrap().contains("unreachable"),
        "{trap}"
    );

    let file = message(&r, "h-file");
    assert!(
        file.starts_with("error:") && !file.contains("root:"),
        "{file}"
    );
    assert_eq!(message(&r, "h-env"), "0 variables");
    assert!(message(&r, "h-socket").starts_with("error:"));
    assert!(message(&r, "h-dotdot").contains("Invalid"));
    assert!(message(&r, "h-absolute").contains("Invalid"));
    // A symlink is its target text, never followed out of the repository.
    assert_eq!(message(&r, "h-link"), "ok: /etc/passwd");
    let budget = message(&r, "h-budget");
    assert!(
        budget.starts_with("5 answered, then") && budget.contains("BudgetExceeded"),
        "{budget}"
    );
    assert_eq!(r["h-budget"]["metrics"]["queries"], 5);
    assert!(r["h-budget"]["metrics"]["query_bytes"].as_u64().unwrap() > 0);
    let sleep = failure(&r, "h-sleep");
    assert_eq!(sleep["reason"], "deadline");
    assert!(
        r["h-sleep"]["metrics"]["duration_ms"].as_f64().unwrap() < 20_000.0,
        "the sleep was not cut off"
    );
    assert_eq!(message(&r, "h-chatty"), "done");
    assert_eq!(r["h-chatty"]["metrics"]["logs_dropped"], 10_000 - 10);

    // The well-behaved plugins of the same scan are unaffected.
    assert_eq!(message(&r, "h-ok"), "1 branches");
    assert_eq!(r["stale-branches"]["status"], "ok");
    assert!(
        r["h-memory"]["metrics"]["peak_memory_bytes"]
            .as_u64()
            .unwrap()
            <= 64 << 20
    );
    assert_eq!(
        report["repositories"][0]["branches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_same_plugin_twice_and_over_eight_repositories_in_parallel() {
    let work = tempfile::tempdir().unwrap();
    let ok = hostile(work.path(), "h-ok", "ok", "");
    let panics = hostile(work.path(), "h-panic", "panic", "");
    let repos: Vec<Repo> = (0..8)
        .map(|i| {
            let mut r = Repo::new();
            r.commit("one");
            for b in 0..i {
                r.git(&["branch", &format!("b{b}")]);
            }
            r
        })
        .collect();
    let mut args: Vec<String> = repos
        .iter()
        .map(|r| r.path().display().to_string())
        .collect();
    for dir in [&ok, &ok, &panics] {
        args.push("--plugin".into());
        args.push(dir.display().to_string());
    }
    args.extend(["--jobs".to_string(), "8".to_string()]);
    let (report, _) = scan(&args);
    let repositories = report["repositories"].as_array().unwrap();
    assert_eq!(repositories.len(), 8);
    for (i, repo) in repositories.iter().enumerate() {
        let plugins = repo["plugins"].as_array().unwrap();
        let statuses: Vec<(&str, &str)> = plugins
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            statuses,
            vec![("h-ok", "ok"), ("h-ok", "ok"), ("h-panic", "failed")]
        );
        assert_eq!(plugins[0]["output"][0]["message"], format!("{i} branches"));
    }
}

#[test]
fn a_plugin_failing_again_and_again_is_disabled() {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let failing = hostile(work.path(), "h-fail", "fail", "");
    let install = trellis()
        .env("TRELLIS_HOME", &home)
        .args(["plugin", "install"])
        .arg(&failing)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let mut repo = Repo::new();
    repo.commit("one");
    let scan_once = || {
        let out = trellis()
            .env("TRELLIS_HOME", &home)
            .args(["scan", "--format", "json"])
            .arg(repo.path())
            .output()
            .unwrap();
        let report = support::report(&out.stdout);
        (
            report["repositories"][0]["plugins"]
                .as_array()
                .unwrap()
                .len(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(scan_once().0, 1);
    assert_eq!(scan_once().0, 1);
    let (ran, stderr) = scan_once();
    assert_eq!(ran, 1);
    assert!(
        stderr.contains("plugin h-fail disabled after 3 consecutive failures"),
        "{stderr}"
    );
    assert_eq!(scan_once().0, 0, "a disabled plugin is skipped");
    let list = trellis()
        .env("TRELLIS_HOME", &home)
        .args(["plugin", "list"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("no (disabled after 3 consecutive failures; last: plugin error failing: fails on purpose)"), "{list}");
}

/// What the test server saw: request paths and arrival times.
type RequestLog = std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant)>>>;

/// A local HTTP server: `/flaky` answers 503 twice then 200, `/busy` 429 once then 200,
/// anything else 200. Returns its origin and the log of (path, arrival) it saw.
fn http_server() -> (String, RequestLog) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut log = seen.lock().unwrap();
            let earlier = log.iter().filter(|(p, _)| *p == path).count();
            log.push((path.clone(), std::time::Instant::now()));
            drop(log);
            let (status, body) = match (path.as_str(), earlier) {
                ("/flaky", 0 | 1) => ("503 Service Unavailable", "down"),
                ("/flaky", _) => ("200 OK", "hello after retries"),
                ("/busy", 0) => ("429 Too Many Requests", "slow down"),
                ("/busy", _) => ("200 OK", "not busy now"),
                _ => ("200 OK", "ok"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (origin, log)
}

#[test]
fn http_goes_only_to_granted_origins_with_retries_and_a_shared_rate_limit() {
    let work = tempfile::tempdir().unwrap();
    let (origin, log) = http_server();
    let mut repo = Repo::new();
    repo.commit("one");
    let mut args = repo_with_config(
        work.path(),
        &repo,
        format!(
            "[http]\nrate_per_second = 5.0\nburst = 1\nbackoff_ms = 10\n\
             [plugins.h-flaky]\ngrants = [\"http={origin}\"]\n\
             [plugins.h-busy]\ngrants = [\"http={origin}\"]\n"
        ),
    );
    for (id, path) in [
        ("h-flaky", format!("{origin}/flaky")),
        ("h-busy", format!("{origin}/busy")),
        ("h-denied", format!("{origin}/secret")),
    ] {
        let dir = hostile(work.path(), id, "http", &path);
        // The manifest asks for the origin; only the config above grants it.
        ask_for(&dir, &format!("http = [\"{origin}\"]"));
        args.push("--plugin".into());
        args.push(dir.display().to_string());
    }
    let out = trellis()
        .args(["scan", "--format", "json"])
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report = support::report(&out.stdout);
    let r: HashMap<String, Value> = report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p.clone()))
        .collect();

    assert_eq!(message(&r, "h-flaky"), "200 hello after retries");
    assert_eq!(message(&r, "h-busy"), "200 not busy now");
    let denied = message(&r, "h-denied");
    assert!(
        denied.starts_with("error:") && denied.contains("HttpRequestDenied"),
        "{denied}"
    );
    assert_eq!(
        r["h-denied"]["metrics"]["denied"],
        serde_json::json!([format!("http={origin}")])
    );
    assert!(stderr.contains("denied capability"), "{stderr}");

    let log = log.lock().unwrap();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec!["/flaky", "/flaky", "/flaky", "/busy", "/busy"],
        "the denied request must never arrive"
    );
    // One bucket of 5 requests a second, burst 1: arrivals are spaced by the rate.
    for pair in log.windows(2) {
        let gap = pair[1].1.duration_since(pair[0].1);
        assert!(
            gap >= std::time::Duration::from_millis(150),
            "requests {gap:?} apart"
        );
    }
}

#[test]
fn fs_read_grants_one_directory_of_the_repository_read_only() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit_file("docs/guide.md", "the guide", "docs");
    repo.commit_file("secret.txt", "top secret", "secret");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("docs").join("escape")).unwrap();
    let grants = "grants = [\"fs.read=docs/\"]";
    let mut args = repo_with_config(
        work.path(),
        &repo,
        format!(
            "[plugins.f-guide]\n{grants}\n[plugins.f-secret]\n{grants}\n\
             [plugins.f-escape]\n{grants}\n[plugins.f-ungranted]\n"
        ),
    );
    for (id, path) in [
        ("f-guide", "docs/guide.md"),
        ("f-secret", "secret.txt"),
        ("f-escape", "docs/escape"),
        ("f-ungranted", "docs/guide.md"),
    ] {
        let dir = hostile(work.path(), id, "read-file", path);
        ask_for(&dir, "fs.read = [\"docs/\"]");
        args.push("--plugin".into());
        args.push(dir.display().to_string());
    }
    let (_, r) = scan(&args);
    assert_eq!(message(&r, "f-guide"), "read: the guide");
    for id in ["f-secret", "f-escape", "f-ungranted"] {
        let m = message(&r, id);
        assert!(
            m.starts_with("error:") && !m.contains("secret") && !m.contains("root:"),
            "{id}: {m}"
        );
    }
}
