//! A deterministic generator of realistic repositories for tests and benchmarks
//! (`cargo xtask fixture`): a long `main` with merged topics, and many branches forking at
//! different depths — merged, squash-merged, conflicting with the base, renaming files,
//! adding what the base adds too, and criss-crossing with the base.
//!
//! Everything is streamed into `git fast-import`, so 80k commits take seconds. The same
//! parameters always give the same commit ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, bail};

mod merges;
mod plant;
mod renames;

/// The shape of a generated repository.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    /// At least this many commits in total.
    pub commits: usize,
    /// Branches besides `main`.
    pub branches: usize,
    /// Files in the initial tree.
    pub files: usize,
    pub seed: u64,
    /// Write a commit-graph file after importing.
    pub commit_graph: bool,
    /// Topics merged into `main` at the end with a planted relation between their shape and
    /// whether they conflicted (see `merges`); listed in `OUT.merges.json`.
    pub merge_history: usize,
    /// Branches of the rename shapes real repositories have (see `renames`): a documentation
    /// tree renamed and packages with identical files moved while they were far behind.
    pub rename_history: usize,
}

impl Default for FixtureSpec {
    fn default() -> Self {
        FixtureSpec {
            commits: 2_000,
            branches: 50,
            files: 200,
            seed: 1,
            commit_graph: false,
            merge_history: 0,
            rename_history: 0,
        }
    }
}

/// Authors (and committers) of generated commits, by mark.
const AUTHORS: [&str; 3] = [
    "Ada Author <ada@example.com>",
    "Bo Builder <bo@example.com>",
    "Cy Coder <cy@example.com>",
];

/// Lines per generated file.
const LINES: u32 = 12;
/// Seconds between consecutive generated commits.
const TICK: i64 = 60;
const EPOCH: i64 = 1_500_000_000;

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A file's content: one version number per line, so edits are line-precise.
type Content = Vec<u32>;

fn render(path: &str, content: &Content) -> String {
    let mut out = String::new();
    for (i, v) in content.iter().enumerate() {
        let _ = writeln!(out, "{path} line {i} version {v}");
    }
    out
}

/// The fast-import stream under construction and the state of `main`.
struct Gen {
    rng: Rng,
    out: String,
    mark: u64,
    clock: i64,
    commits: usize,
    main: BTreeMap<String, Content>,
    /// Marks of main's commits, oldest first.
    main_marks: Vec<u64>,
    next_file: usize,
    /// The mark each branch points at (the last commit made on it).
    tips: BTreeMap<String, u64>,
}

/// One change of a commit.
enum Op {
    Put(String, Content),
    Delete(String),
    Rename(String, String),
    /// A file with exactly this content.
    Raw(String, String),
}

impl Gen {
    fn commit(
        &mut self,
        branch: &str,
        message: &str,
        from: Option<u64>,
        merge: &[u64],
        ops: &[Op],
    ) -> u64 {
        let who = AUTHORS[(self.mark + 1) as usize % AUTHORS.len()];
        self.commit_by(who, branch, message, from, merge, ops)
    }

    /// [`Gen::commit`] with the given author (and committer), `Name <email>`.
    fn commit_by(
        &mut self,
        who: &str,
        branch: &str,
        message: &str,
        from: Option<u64>,
        merge: &[u64],
        ops: &[Op],
    ) -> u64 {
        self.mark += 1;
        self.clock += TICK;
        self.commits += 1;
        let mark = self.mark;
        self.tips.insert(branch.to_string(), mark);
        let _ = write!(
            self.out,
            "commit refs/heads/{branch}\nmark :{mark}\nauthor {who} {} +0000\ncommitter {who} {} +0000\ndata {}\n{message}\n",
            self.clock,
            self.clock,
            message.len() + 1
        );
        if let Some(from) = from {
            let _ = writeln!(self.out, "from :{from}");
        }
        for m in merge {
            let _ = writeln!(self.out, "merge :{m}");
        }
        for op in ops {
            match op {
                Op::Put(path, content) => {
                    let data = render(path, content);
                    let _ = write!(
                        self.out,
                        "M 100644 inline {path}\ndata {}\n{data}\n",
                        data.len()
                    );
                }
                Op::Delete(path) => {
                    let _ = writeln!(self.out, "D {path}");
                }
                Op::Rename(from, to) => {
                    let _ = writeln!(self.out, "R {from} {to}");
                }
                Op::Raw(path, data) => {
                    let _ = write!(
                        self.out,
                        "M 100644 inline {path}\ndata {}\n{data}\n",
                        data.len()
                    );
                }
            }
        }
        self.out.push('\n');
        mark
    }

    fn new_path(&mut self, dir: &str) -> String {
        self.next_file += 1;
        format!("{dir}/d{}/f{}.txt", self.next_file % 37, self.next_file)
    }

    /// A random existing path of `main` (the tree is never empty).
    fn any_main_path(&mut self) -> String {
        let n = self.rng.below(self.main.len());
        self.main.keys().nth(n).cloned().unwrap_or_default()
    }

    /// Edits one line of `content` (a new version of that line).
    fn edit(&mut self, content: &mut Content) {
        let line = self.rng.below(content.len());
        content[line] += 1 + self.rng.below(3) as u32;
    }

    /// One ordinary commit on `main`: edits, sometimes an added, deleted or renamed file.
    fn main_commit(&mut self) {
        let mut ops = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let mut path = self.any_main_path();
            // Squash-merged work stays as merged, so those branches remain recognisable.
            while path.starts_with("squashed/") {
                path = self.any_main_path();
            }
            let mut content = self.main.get(&path).cloned().unwrap_or_default();
            self.edit(&mut content);
            self.main.insert(path.clone(), content.clone());
            ops.push(Op::Put(path, content));
        }
        let roll = self.rng.below(1000);
        if roll < 20 {
            let path = self.new_path("src");
            let content = vec![0; LINES as usize];
            self.main.insert(path.clone(), content.clone());
            ops.push(Op::Put(path, content));
        } else if roll < 25 && self.main.len() > 10 {
            let path = self.any_main_path();
            self.main.remove(&path);
            ops.retain(|op| !matches!(op, Op::Put(p, _) if *p == path));
            ops.push(Op::Delete(path));
        } else if roll < 30 && self.main.len() > 10 {
            let from = self.any_main_path();
            if let Some(content) = self.main.remove(&from) {
                let to = self.new_path("moved");
                ops.retain(|op| !matches!(op, Op::Put(p, _) if *p == from));
                ops.push(Op::Rename(from, to.clone()));
                self.main.insert(to, content);
            }
        }
        let from = self.main_marks.last().copied();
        let n = self.main_marks.len();
        let mark = self.commit("main", &format!("main change {n}"), from, &[], &ops);
        self.main_marks.push(mark);
    }
}

/// What a generated branch does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Plain,
    Merged,
    Squashed,
    Conflicting,
    Renaming,
    AddAdd,
    CrissCross,
    FromTopic,
}

const KINDS: [(Kind, u64); 8] = [
    (Kind::Plain, 36),
    (Kind::Merged, 15),
    (Kind::Squashed, 10),
    (Kind::Conflicting, 10),
    (Kind::Renaming, 8),
    (Kind::AddAdd, 5),
    (Kind::CrissCross, 8),
    (Kind::FromTopic, 8),
];

/// Work scheduled on `main` at a later step.
enum Later {
    /// Merge the branch tip (`mark`) with a merge commit that also applies `ops`.
    Merge {
        name: String,
        mark: u64,
        ops: Vec<(String, Content)>,
    },
    /// Apply the branch's final files in one commit.
    Squash {
        name: String,
        ops: Vec<(String, Content)>,
    },
    /// Add `path` on main with other content.
    Add { path: String },
    /// Change the line the branch changed, differently.
    Clash { path: String, line: usize },
}

/// Generates the repository at `out` (created; must not exist or be empty).
pub fn generate(spec: &FixtureSpec, out: &Path) -> Result<()> {
    generate_repo(spec, false, out)
}

/// [`generate`], then secrets, decoys and policy violations planted on some branches (see
/// `plant`), listed in `OUT.planted.json` ([`planted_manifest_path`]). The rest of the
/// repository is the same as without them.
pub fn generate_planted(spec: &FixtureSpec, out: &Path) -> Result<()> {
    generate_repo(spec, true, out)
}

fn generate_repo(spec: &FixtureSpec, plant_secrets: bool, out: &Path) -> Result<()> {
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} exists and is not empty", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    crate::git::run(out, &["init", "-q", "-b", "main"])?;

    let (stream, planted, merges) = stream(spec, plant_secrets);
    // Absolute: git runs in `out`.
    let marks = std::fs::canonicalize(out)
        .with_context(|| format!("cannot resolve {}", out.display()))?
        .join(".git")
        .join("trellis-fixture-marks");
    let mut child = crate::git::command(out)
        .args(["fast-import", "--quiet", "--force"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
        .context("cannot run git fast-import")?;
    child
        .stdin
        .take()
        .context("no stdin for git fast-import")?
        .write_all(&stream)
        .context("cannot feed git fast-import")?;
    let status = child.wait().context("git fast-import")?;
    if !status.success() {
        bail!("git fast-import failed ({status})");
    }
    crate::git::run(out, &["update-ref", "-d", "refs/heads/tmp-topic"])?;
    let marks_text = std::fs::read_to_string(&marks)
        .with_context(|| format!("cannot read {}", marks.display()))?;
    std::fs::remove_file(&marks).with_context(|| format!("cannot remove {}", marks.display()))?;
    if spec.merge_history > 0 {
        let manifest = merges_manifest_path(out);
        let json = merges::to_json(&merges, &plant::parse_marks(&marks_text)?)?;
        std::fs::write(&manifest, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", manifest.display()))?;
    }
    if let Some(planted) = planted {
        let manifest = planted_manifest_path(out);
        let json = planted.to_json(&plant::parse_marks(&marks_text)?)?;
        std::fs::write(&manifest, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", manifest.display()))?;
    }
    // As after a clone or `git gc`: references packed.
    crate::git::run(out, &["pack-refs", "--all"])?;
    // The work tree shows main, as after a clone.
    crate::git::run(out, &["reset", "-q", "--hard", "main"])?;
    if spec.commit_graph {
        crate::git::run(out, &["commit-graph", "write", "--reachable"])?;
    }
    Ok(())
}

/// Where [`generate`] writes what it planted in the repository at `out`: `OUT.planted.json`
/// beside it.
pub fn planted_manifest_path(out: &Path) -> std::path::PathBuf {
    sibling(out, ".planted.json")
}

/// Where [`generate`] lists the merges of `FixtureSpec::merge_history` for the repository at
/// `out`: `OUT.merges.json` beside it.
pub fn merges_manifest_path(out: &Path) -> std::path::PathBuf {
    sibling(out, ".merges.json")
}

/// `OUT` + `suffix`, beside `out`.
fn sibling(out: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    out.with_file_name(name)
}

/// The fast-import stream of `spec`, and what was planted in it (by mark): secrets, merges.
fn stream(
    spec: &FixtureSpec,
    plant_secrets: bool,
) -> (Vec<u8>, Option<plant::Planted>, Vec<merges::PlantedMerge>) {
    let mut g = Gen {
        rng: Rng(spec.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        out: String::new(),
        mark: 0,
        clock: EPOCH,
        commits: 0,
        main: BTreeMap::new(),
        main_marks: Vec::new(),
        next_file: 0,
        tips: BTreeMap::new(),
    };
    let mut ops = Vec::new();
    for _ in 0..spec.files.max(1) {
        let path = g.new_path("src");
        let content = vec![0; LINES as usize];
        g.main.insert(path.clone(), content.clone());
        ops.push(Op::Put(path, content));
    }
    let root = g.commit("main", "initial import", None, &[], &ops);
    g.main_marks.push(root);

    // Branches are spread over main's history (more of them near the end, as in real
    // repositories) and created when main reaches their fork point.
    let branch_commits = spec.branches * 3;
    let main_steps = spec
        .commits
        .saturating_sub(branch_commits + 1)
        .max(spec.branches + 10);
    let mut forks: Vec<usize> = (0..spec.branches)
        .map(|_| {
            let a = g.rng.below(main_steps);
            let b = g.rng.below(main_steps);
            a.max(b)
        })
        .collect();
    forks.sort_unstable();
    let mut later: BTreeMap<usize, Vec<Later>> = BTreeMap::new();
    let mut next_branch = 0usize;
    let mut topic_marks: Vec<u64> = Vec::new();

    let mut step = 0usize;
    while step < main_steps || g.commits < spec.commits || !later.is_empty() {
        if let Some(work) = later.remove(&step) {
            for w in work {
                apply_later(&mut g, w, &mut topic_marks);
            }
        } else if step % 12 == 11 {
            // A merged topic of one to three commits forked a few steps back.
            let n = g.main_marks.len();
            let fork = g.main_marks[n.saturating_sub(1 + g.rng.below(5))];
            let path = g.new_path("topic");
            let mut content = vec![0; LINES as usize];
            let mut mark = fork;
            for i in 0..1 + g.rng.below(3) {
                g.edit(&mut content);
                mark = g.commit(
                    "tmp-topic",
                    &format!("topic work {step}.{i}"),
                    Some(mark),
                    &[],
                    &[Op::Put(path.clone(), content.clone())],
                );
                topic_marks.push(mark);
            }
            g.main.insert(path.clone(), content.clone());
            let from = g.main_marks.last().copied();
            let merge = g.commit(
                "main",
                &format!("Merge topic {step}"),
                from,
                &[mark],
                &[Op::Put(path, content)],
            );
            g.main_marks.push(merge);
        } else {
            g.main_commit();
        }
        while next_branch < forks.len() && forks[next_branch] <= step {
            let name = format!("b{next_branch:05}");
            make_branch(&mut g, &name, step, &mut later, &topic_marks);
            next_branch += 1;
        }
        step += 1;
        if step > main_steps * 4 + 1000 {
            break;
        }
    }
    // Planted last, each with a generator of its own, so the rest of the repository is the
    // same with or without them.
    let merges = merges::plant_merges(&mut g, spec.merge_history, spec.seed);
    renames::plant_rename_history(&mut g, spec.rename_history, spec.seed);
    let planted = plant_secrets.then(|| plant::plant(&mut g, spec.seed));
    (g.out.into_bytes(), planted, merges)
}

fn make_branch(
    g: &mut Gen,
    name: &str,
    step: usize,
    later: &mut BTreeMap<usize, Vec<Later>>,
    topics: &[u64],
) {
    let total: u64 = KINDS.iter().map(|k| k.1).sum();
    let mut roll = g.rng.next() % total;
    let mut kind = Kind::Plain;
    for (k, weight) in KINDS {
        if roll < weight {
            kind = k;
            break;
        }
        roll -= weight;
    }
    let fork = match g.main_marks.last() {
        Some(m) => *m,
        None => return,
    };
    let when = step + 1 + g.rng.below(30);
    let branch = format!(
        "{}/{name}",
        match kind {
            Kind::Plain => "feature",
            Kind::Merged => "merged",
            Kind::Squashed => "squashed",
            Kind::Conflicting => "clash",
            Kind::Renaming => "rename",
            Kind::AddAdd => "addadd",
            Kind::CrissCross => "cross",
            Kind::FromTopic => "stacked",
        }
    );
    match kind {
        Kind::Plain | Kind::Conflicting => {
            let mut mark = fork;
            let n = 1 + g.rng.below(4);
            for i in 0..n {
                let path = g.any_main_path();
                let mut content = g.main.get(&path).cloned().unwrap_or_default();
                let before = content.clone();
                g.edit(&mut content);
                mark = g.commit(
                    &branch,
                    &format!("{branch} work {i}"),
                    Some(mark),
                    &[],
                    &[Op::Put(path.clone(), content.clone())],
                );
                if kind == Kind::Conflicting && i == 0 {
                    let line = content
                        .iter()
                        .zip(&before)
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    later
                        .entry(when)
                        .or_default()
                        .push(Later::Clash { path, line });
                }
            }
        }
        Kind::Merged | Kind::Squashed => {
            let path = g.new_path(if kind == Kind::Merged {
                "merged"
            } else {
                "squashed"
            });
            let mut content = vec![0; LINES as usize];
            let mut mark = fork;
            for i in 0..1 + g.rng.below(4) {
                g.edit(&mut content);
                mark = g.commit(
                    &branch,
                    &format!("{branch} work {i}"),
                    Some(mark),
                    &[],
                    &[Op::Put(path.clone(), content.clone())],
                );
            }
            let ops = vec![(path, content)];
            let work = if kind == Kind::Merged {
                Later::Merge {
                    name: branch,
                    mark,
                    ops,
                }
            } else {
                Later::Squash { name: branch, ops }
            };
            later.entry(when).or_default().push(work);
        }
        Kind::Renaming => {
            let from = g.any_main_path();
            let to = g.new_path("renamed");
            let mut mark = g.commit(
                &branch,
                &format!("{branch}: rename"),
                Some(fork),
                &[],
                &[Op::Rename(from.clone(), to)],
            );
            if g.rng.chance(50) {
                let path = g.any_main_path();
                if path != from {
                    let mut content = g.main.get(&path).cloned().unwrap_or_default();
                    g.edit(&mut content);
                    mark = g.commit(
                        &branch,
                        &format!("{branch}: edit"),
                        Some(mark),
                        &[],
                        &[Op::Put(path, content)],
                    );
                }
            }
            let _ = mark;
            // Sometimes main deletes or edits the renamed file later: rename/delete, rename/modify.
            if g.rng.chance(50) {
                later.entry(when).or_default().push(Later::Clash {
                    path: from,
                    line: usize::MAX,
                });
            } else {
                later.entry(when).or_default().push(Later::Clash {
                    path: from,
                    line: 0,
                });
            }
        }
        Kind::AddAdd => {
            let path = g.new_path("added");
            g.commit(
                &branch,
                &format!("{branch}: add"),
                Some(fork),
                &[],
                &[Op::Put(path.clone(), vec![1; LINES as usize])],
            );
            later.entry(when).or_default().push(Later::Add { path });
        }
        Kind::CrissCross => {
            // The branch and main each merge the other's earlier commit.
            let path = g.new_path("cross");
            let b1 = g.commit(
                &branch,
                &format!("{branch}: x1"),
                Some(fork),
                &[],
                &[Op::Put(path.clone(), vec![0; LINES as usize])],
            );
            g.main_commit();
            let m1 = *g.main_marks.last().unwrap_or(&fork);
            // Main's tree plus the branch's file is the merge result; main is the first parent.
            let b2 = g.commit(
                &branch,
                &format!("{branch}: takes main"),
                Some(m1),
                &[b1],
                &[Op::Put(path.clone(), vec![0; LINES as usize])],
            );
            let mut c = vec![0; LINES as usize];
            g.edit(&mut c);
            g.commit(
                &branch,
                &format!("{branch}: x3"),
                Some(b2),
                &[],
                &[Op::Put(path.clone(), c)],
            );
            later.entry(when).or_default().push(Later::Merge {
                name: format!("{branch} (x1)"),
                mark: b1,
                ops: vec![(path, vec![0; LINES as usize])],
            });
        }
        Kind::FromTopic => {
            let at = if topics.is_empty() {
                fork
            } else {
                topics[topics.len() - 1 - g.rng.below(topics.len().min(20))]
            };
            let path = g.new_path("stacked");
            g.commit(
                &branch,
                &format!("{branch}: on a topic"),
                Some(at),
                &[],
                &[Op::Put(path, vec![2; LINES as usize])],
            );
        }
    }
}

fn apply_later(g: &mut Gen, work: Later, _topics: &mut Vec<u64>) {
    let from = g.main_marks.last().copied();
    let mark = match work {
        Later::Merge { name, mark, ops } => {
            let ops: Vec<Op> = ops
                .into_iter()
                .map(|(p, c)| {
                    g.main.insert(p.clone(), c.clone());
                    Op::Put(p, c)
                })
                .collect();
            g.commit("main", &format!("Merge {name}"), from, &[mark], &ops)
        }
        Later::Squash { name, ops } => {
            let ops: Vec<Op> = ops
                .into_iter()
                .map(|(p, c)| {
                    g.main.insert(p.clone(), c.clone());
                    Op::Put(p, c)
                })
                .collect();
            g.commit("main", &format!("{name} (squashed)"), from, &[], &ops)
        }
        Later::Add { path } => {
            let content = vec![7; LINES as usize];
            g.main.insert(path.clone(), content.clone());
            g.commit(
                "main",
                &format!("main adds {path}"),
                from,
                &[],
                &[Op::Put(path, content)],
            )
        }
        Later::Clash { path, line } => {
            let Some(mut content) = g.main.get(&path).cloned() else {
                return;
            };
            if line == usize::MAX {
                g.main.remove(&path);
                g.commit(
                    "main",
                    &format!("main deletes {path}"),
                    from,
                    &[],
                    &[Op::Delete(path)],
                )
            } else {
                let l = line.min(content.len() - 1);
                content[l] += 100;
                g.main.insert(path.clone(), content.clone());
                g.commit(
                    "main",
                    &format!("main edits {path}"),
                    from,
                    &[],
                    &[Op::Put(path, content)],
                )
            }
        }
    };
    g.main_marks.push(mark);
}
