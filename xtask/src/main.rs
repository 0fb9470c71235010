//! `cargo xtask plugins [OUT]`: builds every first-party plugin into `OUT/<name>/`
//! (default `target/plugins`).
//! `cargo xtask demo`: builds the plugins, generates a small repository (`target/demo-repo`) and
//! scans it and this checkout with them — the README's run command.
//! `cargo xtask fixture [--commits N] [--branches M] [--files F] [--seed S] [--commit-graph] [--merge-history N] [--rename-history N] [--plant-secrets] OUT`:
//! generates a deterministic test repository (see `xtask::fixture`); with `--plant-secrets`, also
//! secrets, decoys and policy violations, listed in `OUT.planted.json`; with `--merge-history N`,
//! N merged topics with a planted relation between their shape and conflicts (`OUT.merges.json`);
//! with `--rename-history N`, N branches far behind a documentation tree rename and package moves
//! with identical files (the shapes real repositories showed).
//! `cargo xtask bench [--commits N] [--branches M] [--files F] [--seed S] [--jobs J] [--trellis BIN] [--dir DIR] [--ahead-behind-only]`:
//! Trellis against the git CLI on a generated repository (see `bench/run.sh`).
//! `cargo xtask bench-policy [--repo PATH] [--commits N] [--branches M] [--files F] [--seed S] [--jobs J] [--trellis BIN] [--plugin DIR] [--dir DIR] [--runs R]`:
//! a full scan by the enterprise-policy plugin, with recall of planted secrets (see
//! `xtask::bench_policy`); exits 1 when a planted secret or violation is missed.
//! `cargo xtask bench-risk [--repo PATH] [--base BRANCH] [--max-merges N] [fixture options] [--trellis BIN] [--plugin DIR] [--dir DIR]`:
//! the merge-risk plugin fitting on a repository's merges and scoring its branches (see
//! `xtask::bench_risk`).
//! `cargo xtask bench-tune [--trellis BIN] [--plugin DIR] [--dir DIR] [--reps R] [--scale-down K]`:
//! the fastest plan for three shapes of work, and the tuning plugin's presets and adaptive
//! strategy against it (see `xtask::bench_tune`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xtask::bench::BenchSpec;
use xtask::bench_policy::PolicyBenchSpec;
use xtask::fixture::{FixtureSpec, generate, generate_planted};

const USAGE: &str = "usage: cargo xtask plugins [OUT_DIR]\n       cargo xtask demo\n       cargo xtask fixture [--commits N] [--branches M] [--files F] [--seed S] [--commit-graph] [--merge-history N] [--rename-history N] [--plant-secrets] OUT_DIR\n       cargo xtask bench [--commits N] [--branches M] [--files F] [--seed S] [--jobs J] [--trellis BIN] [--dir DIR] [--ahead-behind-only]\n       cargo xtask bench-policy [--repo PATH] [--commits N] [--branches M] [--files F] [--seed S] [--jobs J] [--trellis BIN] [--plugin DIR] [--dir DIR] [--runs R]\n       cargo xtask bench-risk [--repo PATH] [--base BRANCH] [--max-merges N] [--commits N] [--branches M] [--files F] [--seed S] [--merge-history N] [--trellis BIN] [--plugin DIR] [--dir DIR]\n       cargo xtask bench-tune [--trellis BIN] [--plugin DIR] [--dir DIR] [--reps R] [--scale-down K]";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("plugins") => {
            let out = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| xtask::workspace_root().join("target").join("plugins"));
            for crate_dir in xtask::first_party_plugins()? {
                let name = crate_dir.file_name().unwrap_or_default();
                let dir = xtask::build_plugin_dir(&crate_dir, &out.join(name))?;
                println!("built {}", dir.display());
            }
            Ok(())
        }
        Some("demo") => demo(),
        Some("fixture") => {
            let (spec, plant, out) = fixture_args(&args[1..])?;
            if plant {
                generate_planted(&spec, &out)?;
            } else {
                generate(&spec, &out)?;
            }
            println!("generated {}", out.display());
            Ok(())
        }
        Some("bench") => {
            let root = xtask::workspace_root();
            let mut bench = BenchSpec {
                fixture: FixtureSpec {
                    commits: 80_000,
                    branches: 2_000,
                    files: 3_000,
                    ..FixtureSpec::default()
                },
                trellis: root.join("target").join("release").join("trellis"),
                dir: root.join("target").join("bench"),
                jobs: 2,
                ahead_behind_only: false,
            };
            let mut rest = Vec::new();
            let mut it = args[1..].iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--jobs" => bench.jobs = it.next().context("--jobs needs a value")?.parse()?,
                    "--trellis" => {
                        bench.trellis = it.next().context("--trellis needs a value")?.into()
                    }
                    "--dir" => bench.dir = it.next().context("--dir needs a value")?.into(),
                    "--ahead-behind-only" => bench.ahead_behind_only = true,
                    _ => rest.push(arg.clone()),
                }
            }
            bench.fixture = fixture_with_defaults(&rest, &bench.fixture)?;
            xtask::bench::run(&bench)
        }
        Some("bench-risk") => bench_risk(&args[1..]),
        Some("bench-policy") => {
            if bench_policy(&args[1..])? {
                Ok(())
            } else {
                eprintln!("bench-policy: a planted secret or violation was missed");
                std::process::exit(1);
            }
        }
        Some("bench-tune") => bench_tune(&args[1..]),
        _ => bail!("{USAGE}"),
    }
}

/// `cargo xtask bench-tune`.
fn bench_tune(args: &[String]) -> Result<()> {
    let root = xtask::workspace_root();
    // A release build when there is one, else the dev build.
    let release = target_dir().join("release").join("trellis");
    let mut spec = xtask::bench_tune::TuneBenchSpec {
        trellis: if release.is_file() {
            release
        } else {
            target_dir().join("debug").join("trellis")
        },
        plugin: root.join("target").join("plugins").join("tuning"),
        dir: root.join("target").join("bench-tune"),
        reps: 3,
        scale_down: 1,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--trellis" => spec.trellis = value()?.into(),
            "--plugin" => spec.plugin = value()?.into(),
            "--dir" => spec.dir = value()?.into(),
            "--reps" => spec.reps = value()?.parse()?,
            "--scale-down" => spec.scale_down = value()?.parse()?,
            _ => bail!("{USAGE}"),
        }
    }
    xtask::bench_tune::run(&spec)
}

/// The host's target directory (`CARGO_TARGET_DIR`, else `target/`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| xtask::workspace_root().join("target"))
}

/// `cargo xtask bench-policy`; whether everything planted was found.
fn bench_risk(args: &[String]) -> Result<()> {
    let root = xtask::workspace_root();
    let mut spec = xtask::bench_risk::RiskBenchSpec {
        fixture: FixtureSpec {
            commits: 3_000,
            branches: 200,
            files: 300,
            merge_history: 1_000,
            rename_history: 0,
            commit_graph: true,
            ..FixtureSpec::default()
        },
        repo: None,
        base: None,
        trellis: default_trellis(),
        plugin: root.join("target").join("plugins").join("merge-risk"),
        dir: root.join("target").join("bench-risk"),
        max_merges: 2_000,
    };
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--repo" => spec.repo = Some(value()?.into()),
            "--base" => spec.base = Some(value()?.clone()),
            "--max-merges" => spec.max_merges = value()?.parse()?,
            "--trellis" => spec.trellis = value()?.into(),
            "--plugin" => spec.plugin = value()?.into(),
            "--dir" => spec.dir = value()?.into(),
            _ => rest.push(arg.clone()),
        }
    }
    spec.fixture = fixture_with_defaults(&rest, &spec.fixture)?;
    xtask::bench_risk::run(&spec)
}

/// A release build of `trellis` when there is one, else the dev build.
fn default_trellis() -> PathBuf {
    let release = target_dir().join("release").join("trellis");
    if release.is_file() {
        release
    } else {
        target_dir().join("debug").join("trellis")
    }
}

fn bench_policy(args: &[String]) -> Result<bool> {
    let root = xtask::workspace_root();
    let mut spec = PolicyBenchSpec {
        fixture: FixtureSpec {
            commits: 20_000,
            branches: 1_000,
            files: 1_000,
            ..FixtureSpec::default()
        },
        repo: None,
        trellis: default_trellis(),
        plugin: root
            .join("target")
            .join("plugins")
            .join("enterprise-policy"),
        dir: root.join("target").join("bench-policy"),
        jobs: 2,
        runs: 3,
        limits: xtask::bench_policy::default_limits(),
    };
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--repo" => spec.repo = Some(value()?.into()),
            "--jobs" => spec.jobs = value()?.parse()?,
            "--trellis" => spec.trellis = value()?.into(),
            "--plugin" => spec.plugin = value()?.into(),
            "--dir" => spec.dir = value()?.into(),
            "--runs" => spec.runs = value()?.parse()?,
            _ => rest.push(arg.clone()),
        }
    }
    spec.fixture = fixture_with_defaults(&rest, &spec.fixture)?;
    xtask::bench_policy::run(&spec)
}

/// Builds the first-party plugins, regenerates `target/demo-repo` and scans it and this checkout.
fn demo() -> Result<()> {
    let root = xtask::workspace_root();
    let plugins = root.join("target").join("plugins");
    let mut plugin_args = Vec::new();
    for crate_dir in xtask::first_party_plugins()? {
        let name = crate_dir.file_name().unwrap_or_default();
        let dir = xtask::build_plugin_dir(&crate_dir, &plugins.join(name))?;
        plugin_args.push("--plugin".into());
        plugin_args.push(dir.display().to_string());
    }
    let repo = root.join("target").join("demo-repo");
    if repo.exists() {
        std::fs::remove_dir_all(&repo)
            .with_context(|| format!("cannot remove {}", repo.display()))?;
    }
    let spec = FixtureSpec {
        commits: 3_000,
        branches: 40,
        files: 200,
        // Merges to learn from, for the merge-risk plugin; a commit-graph, as `git gc` writes.
        merge_history: 300,
        rename_history: 0,
        commit_graph: true,
        ..FixtureSpec::default()
    };
    // Secrets, decoys and policy violations planted, for the policy plugin to find.
    generate_planted(&spec, &repo)?;
    let out = root.join("target").join("demo");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let sarif = out.join("trellis.sarif");
    let junit = out.join("trellis.junit.xml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(&root)
        .args([
            "run",
            "--quiet",
            "-p",
            "trellis",
            "--",
            "scan",
            "--conflicts",
            "--config",
            "config/demo.toml",
            "--output",
        ])
        .arg(format!("sarif={}", sarif.display()))
        .arg("--output")
        .arg(format!("junit={}", junit.display()))
        .arg(".")
        .arg(&repo)
        .args(&plugin_args)
        .status()
        .context("cannot run cargo")?;
    println!(
        "SARIF (for GitHub code scanning): {}\nJUnit XML: {}",
        sarif.display(),
        junit.display()
    );
    // Exit code 3 is the CI gate failing (findings at or above `--fail-on`): what the demo
    // shows when a policy finds violations, not a failure of the demo.
    match status.code() {
        Some(0) => println!("trellis scan exited 0: the gate passed"),
        Some(3) => {
            println!("trellis scan exited 3: the gate failed (findings at or above --fail-on)")
        }
        _ => bail!("trellis scan exited with {status}"),
    }
    Ok(())
}

/// The fixture options in `args` (no output directory), the size options not given taken from
/// `defaults`.
fn fixture_with_defaults(args: &[String], defaults: &FixtureSpec) -> Result<FixtureSpec> {
    let mut args = args.to_vec();
    args.push("unused".into());
    let (mut fixture, _, _) = fixture_args(&args)?;
    let given = |flag: &str| args.iter().any(|a| a == flag);
    if !given("--commits") {
        fixture.commits = defaults.commits;
    }
    if !given("--branches") {
        fixture.branches = defaults.branches;
    }
    if !given("--files") {
        fixture.files = defaults.files;
    }
    if !given("--merge-history") {
        fixture.merge_history = defaults.merge_history;
    }
    fixture.commit_graph |= defaults.commit_graph;
    Ok(fixture)
}

/// The fixture options, whether to plant secrets, and the output directory.
fn fixture_args(args: &[String]) -> Result<(FixtureSpec, bool, PathBuf)> {
    let mut spec = FixtureSpec::default();
    let mut plant = false;
    let mut out = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64> {
            let value = it
                .next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))?;
            value
                .parse()
                .with_context(|| format!("{name} {value}: not a number"))
        };
        match arg.as_str() {
            "--commits" => spec.commits = number("--commits")? as usize,
            "--branches" => spec.branches = number("--branches")? as usize,
            "--files" => spec.files = number("--files")? as usize,
            "--seed" => spec.seed = number("--seed")?,
            "--commit-graph" => spec.commit_graph = true,
            "--merge-history" => spec.merge_history = number("--merge-history")? as usize,
            "--rename-history" => spec.rename_history = number("--rename-history")? as usize,
            "--plant-secrets" => plant = true,
            other if other.starts_with('-') => bail!("unknown option {other}\n{USAGE}"),
            other => out = Some(PathBuf::from(other)),
        }
    }
    let out = out.with_context(|| format!("no output directory\n{USAGE}"))?;
    Ok((spec, plant, out))
}
