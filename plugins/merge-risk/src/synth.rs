//! Synthetic repositories with a planted signal, for the tests and the benchmark.
//!
//! Paths come from a tree of `tree_files` files whose popularity follows Zipf's law (a few files,
//! like `Cargo.lock` or a central module, are touched by many changes; most by few), which is
//! what real repositories look like. A merge conflicts with probability
//! `σ(intercept + shared_coef·ln(1 + shared files) + behind_coef·ln(1 + commits behind))`: the
//! conflict risk rises with files changed on both sides and with commits behind, and with
//! nothing else, so a fit must recover exactly those two signs. Everything is driven by a fixed
//! seed: the same options give the same data on every platform.

use crate::features::facts;
use crate::input::{Candidate, FileStat, PastMerge, Side, Trial};
use crate::model::sigmoid;

/// A small, fast, deterministic generator (xorshift64*); not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift's state must be non-zero).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform integer in [lo, hi] (heavy-tailed like commit and file counts).
    pub fn log_uniform(&mut self, lo: u32, hi: u32) -> u32 {
        let (a, b) = (f64::from(lo) + 1.0, f64::from(hi) + 1.0);
        let v = (a.ln() + self.unit() * (b.ln() - a.ln())).exp() - 1.0;
        (v.floor() as u32).clamp(lo, hi)
    }
}

/// A file tree with Zipf-distributed popularity.
#[derive(Debug, Clone)]
pub struct Tree {
    paths: Vec<String>,
    cumulative: Vec<f64>,
}

impl Tree {
    /// `files` files; the k-th most popular has weight `1 / k^s`.
    pub fn new(files: usize, s: f64) -> Tree {
        let files = files.max(1);
        let paths = (0..files)
            .map(|k| format!("src/m{:02}/f{k:05}.rs", k % 37))
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=files)
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect();
        Tree { paths, cumulative }
    }

    /// A random path index, by popularity.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= u)
            .min(self.paths.len() - 1)
    }

    /// `count` distinct random paths (fewer if the draws repeat a lot).
    pub fn sample_paths(&self, rng: &mut Rng, count: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::with_capacity(count);
        for _ in 0..count * 2 {
            if out.len() == count {
                break;
            }
            let k = self.sample(rng);
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// The path of index `k`.
    pub fn path(&self, k: usize) -> &str {
        &self.paths[k]
    }
}

/// Options for the synthetic generators.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Past merges to generate.
    pub merges: usize,
    /// The seed.
    pub seed: u64,
    /// Files in the tree.
    pub tree_files: usize,
    /// Zipf exponent of path popularity.
    pub zipf: f64,
    /// The planted log-odds at zero shared files and zero behind.
    pub intercept: f64,
    /// The planted coefficient of ln(1 + shared files).
    pub shared_coef: f64,
    /// The planted coefficient of ln(1 + commits behind).
    pub behind_coef: f64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            merges: 2000,
            seed: 1,
            tree_files: 5000,
            zipf: 1.0,
            intercept: -6.0,
            shared_coef: 1.5,
            behind_coef: 0.6,
        }
    }
}

fn side(rng: &mut Rng, tree: &Tree, commits: u32, files: usize, first: i64, last: i64) -> Side {
    let files = tree
        .sample_paths(rng, files)
        .into_iter()
        .map(|k| FileStat {
            path: tree.path(k).to_string(),
            added: rng.log_uniform(0, 300),
            deleted: rng.log_uniform(0, 100),
        })
        .collect();
    Side {
        commits,
        authors: rng.log_uniform(1, 4),
        files,
        files_truncated: false,
        files_total: None,
        first_time: first,
        last_time: last,
    }
}

/// A random trial ending at `at`, without an outcome.
fn trial(rng: &mut Rng, tree: &Tree, at: i64) -> Trial {
    let behind = rng.log_uniform(0, 300);
    let ahead = rng.log_uniform(1, 60);
    let age = i64::from(rng.log_uniform(0, 120)) * 86_400 + 3600;
    let base_time = at - age;
    let base_files = (behind as usize * 2).min(400) + rng.log_uniform(0, 5) as usize;
    let branch_files = rng.log_uniform(1, 20) as usize;
    let idle = i64::from(rng.log_uniform(0, 30)) * 86_400;
    Trial {
        merge_base_time: Some(base_time),
        ours: side(rng, tree, behind, base_files, base_time + 60, at),
        theirs: side(
            rng,
            tree,
            ahead,
            branch_files,
            base_time + 60,
            (at - idle).max(base_time + 60),
        ),
        conflicted: None,
        conflict_paths: Vec::new(),
    }
}

/// `opts.merges` past merges, six hours apart, with the planted conflict signal.
pub fn synthetic_history(opts: &SynthOptions) -> Vec<PastMerge> {
    let mut rng = Rng::new(opts.seed);
    let tree = Tree::new(opts.tree_files, opts.zipf);
    (0..opts.merges)
        .map(|i| {
            let time = 1_600_000_000 + i as i64 * 6 * 3600;
            let mut trial = trial(&mut rng, &tree, time);
            let f = facts(&trial, time);
            let logit = opts.intercept
                + opts.shared_coef * (f.shared_files as f64).ln_1p()
                + opts.behind_coef * f64::from(f.behind).ln_1p();
            let conflicted = rng.unit() < sigmoid(logit);
            if conflicted {
                trial.conflict_paths = crate::features::shared_paths(&trial);
            }
            trial.conflicted = Some(conflicted);
            PastMerge {
                id: format!("{i:040x}"),
                time,
                trial,
            }
        })
        .collect()
}

/// `count` current branches scanned at `now`.
pub fn synthetic_candidates(opts: &SynthOptions, count: usize, now: i64) -> Vec<Candidate> {
    let mut rng = Rng::new(opts.seed ^ 0x00C0_FFEE);
    let tree = Tree::new(opts.tree_files, opts.zipf);
    (0..count)
        .map(|i| Candidate {
            branch: format!("feature/b{i}"),
            tip: format!("{:040x}", i + 1),
            now,
            trial: trial(&mut rng, &tree, now),
            exact_conflict: None,
            subject_lines: vec![format!("Change {i}"), "Fix tests".into()],
        })
        .collect()
}

/// `count` branches with the paths they change: most change 1–20 files drawn by popularity.
pub fn synthetic_branch_paths(
    count: usize,
    tree_files: usize,
    seed: u64,
) -> Vec<(String, Vec<String>)> {
    let mut rng = Rng::new(seed);
    let tree = Tree::new(tree_files, 1.0);
    (0..count)
        .map(|i| {
            let n = rng.log_uniform(1, 20) as usize;
            let paths = tree
                .sample_paths(&mut rng, n)
                .into_iter()
                .map(|k| tree.path(k).to_string())
                .collect();
            (format!("feature/b{i}"), paths)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_plausible() {
        let opts = SynthOptions {
            merges: 300,
            ..SynthOptions::default()
        };
        let a = synthetic_history(&opts);
        assert_eq!(a, synthetic_history(&opts));
        let rate = a
            .iter()
            .filter(|m| m.trial.conflicted == Some(true))
            .count() as f64
            / 300.0;
        // Conflicts are the minority class, as in real repositories.
        assert!(rate > 0.03 && rate < 0.4, "conflict rate {rate}");
        let mut rng = Rng::new(3);
        assert!((0..1000).all(|_| (5..=9).contains(&rng.log_uniform(5, 9))));
        let tree = Tree::new(100, 1.0);
        let hits = (0..10_000).filter(|_| tree.sample(&mut rng) == 0).count();
        // Zipf s = 1 over 100 files: the top file has 1/H(100) ≈ 19% of the draws.
        assert!((1700..2200).contains(&hits), "{hits}");
    }
}
