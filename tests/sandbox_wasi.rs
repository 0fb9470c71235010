//! WASI resources live on the host: a plugin must not be able to make `trellis` hold unbounded
//! memory through them (header fields, request bodies), nor leave requests behind that starve
//! the next plugin. Each scan runs the real binary while its peak RSS (`VmHWM`) is watched.

use crate::support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Repo, plugin, trellis};

const MIB: u64 = 1 << 20;

/// A plugin directory running the hostile-wasi fixture as `id` with `config` (TOML lines of
/// its `[config]`), granted nothing unless `origin` is given.
fn hostile_wasi(parent: &Path, id: &str, config: &str, origin: Option<&str>) -> PathBuf {
    let built = plugin("tests/fixtures/plugins/hostile-wasi");
    let dir = parent.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.join("hostile_wasi.wasm"),
        dir.join("hostile_wasi.wasm"),
    )
    .unwrap();
    let mut manifest = std::fs::read_to_string(built.join("plugin.toml"))
        .unwrap()
        .replace("id = \"hostile-wasi\"", &format!("id = \"{id}\""))
        .replace("mode = \"ok\"", config);
    if let Some(origin) = origin {
        manifest = manifest.replace(
            "git.history = true",
            &format!("git.history = true\nhttp = [\"{origin}\"]"),
        );
    }
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

/// What a scan produced, and the peak RSS of the `trellis` process while it ran.
struct Run {
    /// Plugin results of the first repository, by id.
    results: HashMap<String, Value>,
    /// The whole report.
    report: Value,
    peak_rss: u64,
    elapsed: Duration,
}

/// Runs `trellis scan --format json` on `repo` with `config` and `plugins`, watching the
/// child's `VmHWM` until it exits (bounded: two minutes at most).
fn scan(work: &Path, repo: &Repo, config: &str, plugins: &[PathBuf]) -> Run {
    scan_repos(work, &[repo], config, plugins)
}

/// [`scan`] over several repositories (in parallel, a worker each).
fn scan_repos(work: &Path, repos: &[&Repo], config: &str, plugins: &[PathBuf]) -> Run {
    let config_path = work.join("trellis.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut cmd = trellis();
    cmd.args(["scan", "--format", "json"])
        .args(repos.iter().map(|r| r.path()))
        .args(["--jobs", &repos.len().to_string()])
        .arg("--config")
        .arg(&config_path);
    for dir in plugins {
        cmd.arg("--plugin").arg(dir);
    }
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut peak_rss = 0;
    let status = loop {
        if let Some(rss) = trellis_os::memory::peak_rss_bytes_of(pid) {
            peak_rss = peak_rss.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("trellis did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(0), "scan failed: {stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("thread '")),
        "the host panicked: {stderr}"
    );
    let report = support::report(&stdout);
    let results = report["repositories"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p.clone()))
        .collect();
    Run {
        results,
        report,
        peak_rss,
        elapsed,
    }
}

fn failure(run: &Run, id: &str) -> Value {
    let r = &run.results[id];
    assert_eq!(r["status"], "failed", "{id} should have failed: {r}");
    r["failure"].clone()
}

fn message(run: &Run, id: &str) -> String {
    let r = &run.results[id];
    assert_eq!(r["status"], "ok", "{id} failed: {r}");
    r["output"][0]["message"].as_str().unwrap().to_string()
}

/// A local server on 127.0.0.1 answering `200 ok` to at most `connections` connections,
/// reading (and discarding) each request's head and up to 4 MiB of body.
fn http_server(connections: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0u64;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let _ = std::io::copy(&mut reader.take(length.min(4 * MIB)), &mut std::io::sink());
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    origin
}

#[test]
fn header_fields_without_any_grant_are_bounded_on_the_host() {
    let work = tempfile::tempdir().unwrap();
    let mut repo = Repo::new();
    repo.commit("one");
    // Two millions of small fields (the count gives out first), then 16,000 fields of 60 kB
    // (the bytes give out first): unbounded, ~0.3 GiB and ~1 GiB on the host.
    let plugins = [
        hostile_wasi(
            work.path(),
            "w-many",
            "mode = \"fields\"\ncount = 2000000\nsize = 16",
            None,
        ),
        hostile_wasi(
            work.path(),
            "w-big",
            "mode = \"fields\"\ncount = 16000\nsize = 60000",
            None,
        ),
        hostile_wasi(work.path(), "w-ok", "mode = \"ok\"", None),
    ];
    let run = scan(work.path(), &repo, "[limits]\nmemory_mb = 16\n", &plugins);
    assert_eq!(
        failure(&run, "w-many"),
        serde_json::json!({"reason": "host-resources", "resource": "handles", "limit": 1000, "requested": 1001})
    );
    let big = failure(&run, "w-big");
    assert_eq!(big["reason"], "host-resources", "{big}");
    assert_eq!(big["resource"], "bytes", "{big}");
    assert_eq!(big["limit"], 16 * MIB, "{big}");
    assert!(big["requested"].as_u64().unwrap() > 16 * MIB, "{big}");
    // The host-side bytes count in the plugin's reported memory (its linear memory is 16 MiB at
    // most).
    let reported = run.results["w-big"]["metrics"]["peak_memory_bytes"]
        .as_u64()
        .unwrap();
    assert!(reported > 16 * MIB, "reported {reported}");
    assert_eq!(message(&run, "w-ok"), "ok");
    assert!(
        run.peak_rss < 256 * MIB,
        "trellis peaked at {} MiB",
        run.peak_rss / MIB
    );
    eprintln!("fields: trellis peak RSS {} MiB", run.peak_rss / MIB);
}

#[test]
fn a_huge_request_body_is_refused_before_it_is_buffered() {
    let work = tempfile::tempdir().unwrap();
    let origin = http_server(10);
    let mut repo = Repo::new();
    repo.commit("one");
    let plugins = [hostile_wasi(
        work.path(),
        "w-body",
        &format!(
            "mode = \"body\"\norigin = \"{origin}\"\nsize = {}",
            192 * MIB
        ),
        Some(&origin),
    )];
    let run = scan(
        work.path(),
        &repo,
        &format!("[plugins.w-body]\ngrants = [\"http={origin}\"]\n"),
        &plugins,
    );
    let f = failure(&run, "w-body");
    assert_eq!(f["reason"], "host-resources", "{f}");
    assert_eq!(f["resource"], "request-body", "{f}");
    assert_eq!(f["limit"], 1024 * 1024, "{f}");
    // Refused within a chunk of the limit, long before the 192 MiB were written.
    assert!(f["requested"].as_u64().unwrap() <= 2 * MIB, "{f}");
    assert!(
        run.peak_rss < 128 * MIB,
        "trellis peaked at {} MiB",
        run.peak_rss / MIB
    );
    eprintln!("body: trellis peak RSS {} MiB", run.peak_rss / MIB);
}

#[test]
fn requests_left_behind_are_cancelled_and_cannot_starve_the_next_plugin() {
    let work = tempfile::tempdir().unwrap();
    let origin = http_server(2100);
    let mut repo = Repo::new();
    repo.commit("one");
    let queue = hostile_wasi(
        work.path(),
        "a-queue",
        &format!("mode = \"queue\"\norigin = \"{origin}\"\ncount = 2000"),
        Some(&origin),
    );
    // The next plugin asks for one response, with five seconds to get it.
    let single = single_get(work.path(), &origin);
    let run = scan(
        work.path(),
        &repo,
        &format!(
            "[http]\nrate_per_second = 10.0\nburst = 5\n\
             [plugins.a-queue]\ngrants = [\"http={origin}\"]\nlimits = {{ host_resources = 5000 }}\n\
             [plugins.b-single]\ngrants = [\"http={origin}\"]\nlimits = {{ timeout_ms = 5000 }}\n"
        ),
        &[queue, single],
    );
    assert_eq!(message(&run, "a-queue"), "2000 requests queued");
    assert_eq!(message(&run, "b-single"), "200 ok");
    let took = run.results["b-single"]["metrics"]["duration_ms"]
        .as_f64()
        .unwrap();
    assert!(took < 2000.0, "the single request took {took} ms");
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
}

/// The hostile fixture as `b-single`, granted `origin`: one `GET /single` through the SDK.
fn single_get(parent: &Path, origin: &str) -> PathBuf {
    let built = plugin("tests/fixtures/plugins/hostile");
    let dir = parent.join("b-single");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(built.join("hostile.wasm"), dir.join("hostile.wasm")).unwrap();
    let manifest = std::fs::read_to_string(built.join("plugin.toml"))
        .unwrap()
        .replace("id = \"hostile\"", "id = \"b-single\"")
        .replace(
            "mode = \"ok\"",
            &format!("mode = \"http\"\npath = \"{origin}/single\""),
        )
        .replace(
            "git.blobs = true",
            &format!("git.blobs = true\nhttp = [\"{origin}\"]"),
        );
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

#[test]
fn a_plugin_queueing_requests_gets_only_its_share_while_another_runs() {
    let work = tempfile::tempdir().unwrap();
    let origin = http_server(2100);
    // In `hogged` the queueing plugin queues 2,000 requests and waits (until its 3 s deadline);
    // meanwhile, in `quiet`, scanned in parallel, it sleeps a second (so that the queue is
    // there) and the next plugin asks for one response.
    let mut hogged = Repo::new();
    hogged.commit("one");
    hogged.git(&["branch", "hog"]);
    let mut quiet = Repo::new();
    quiet.commit("one");
    let queue = hostile_wasi(
        work.path(),
        "a-queue",
        &format!(
            "mode = \"queue\"\norigin = \"{origin}\"\ncount = 2000\nwait = true\n\
             only_with_branch = \"hog\"\nidle_ms = 1000"
        ),
        Some(&origin),
    );
    let single = single_get(work.path(), &origin);
    let run = scan_repos(
        work.path(),
        &[&hogged, &quiet],
        &format!(
            "[http]\nrate_per_second = 10.0\nburst = 5\n\
             [plugins.a-queue]\ngrants = [\"http={origin}\"]\n\
             limits = {{ host_resources = 5000, timeout_ms = 3000 }}\n\
             [plugins.b-single]\ngrants = [\"http={origin}\"]\nlimits = {{ timeout_ms = 2000 }}\n"
        ),
        &[queue, single],
    );
    let repos = run.report["repositories"].as_array().unwrap();
    let result = |repo: &Repo, id: &str| {
        let path = repo.path().display().to_string();
        let r = repos
            .iter()
            .find(|r| r["facts"]["path"] == path.as_str())
            .unwrap_or_else(|| panic!("no {path} in {}", run.report));
        r["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(result(&hogged, "a-queue")["failure"]["reason"], "deadline");
    let idle = result(&quiet, "a-queue");
    assert_eq!(idle["output"][0]["message"], "idle", "{idle}");
    let single = result(&quiet, "b-single");
    assert_eq!(single["status"], "ok", "{single}");
    assert_eq!(single["output"][0]["message"], "200 ok", "{single}");
}

#[test]
fn one_plugin_cannot_queue_more_requests_than_it_may_hold() {
    let work = tempfile::tempdir().unwrap();
    let origin = http_server(100);
    let mut repo = Repo::new();
    repo.commit("one");
    let queue = hostile_wasi(
        work.path(),
        "a-queue",
        &format!("mode = \"queue\"\norigin = \"{origin}\"\ncount = 2000"),
        Some(&origin),
    );
    let run = scan(
        work.path(),
        &repo,
        &format!("[plugins.a-queue]\ngrants = [\"http={origin}\"]\n"),
        &[queue],
    );
    let f = failure(&run, "a-queue");
    assert_eq!(f["reason"], "host-resources", "{f}");
    assert_eq!(f["resource"], "handles", "{f}");
}
