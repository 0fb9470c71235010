//! Running the git CLI, and what it says about a branch: the reference every fact of Trellis is
//! compared with, by the benchmarks and the tests alike (one parser for each git answer).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// `git` in `dir`, isolated from the machine's and the user's configuration.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

/// Runs `git ARGS` in `dir` and returns its stdout; an error names the command and says why.
pub fn output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = command(dir)
        .args(args)
        .output()
        .with_context(|| format!("cannot run git {args:?}"))?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `git ARGS` in `dir`, output left to the terminal.
pub fn run(dir: &Path, args: &[&str]) -> Result<()> {
    let status = command(dir)
        .args(args)
        .status()
        .with_context(|| format!("cannot run git {args:?}"))?;
    if !status.success() {
        bail!("git {args:?} failed in {} ({status})", dir.display());
    }
    Ok(())
}

/// What `git merge-tree --write-tree --name-only BASE BRANCH` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeTree {
    /// The merge result's tree.
    pub tree: String,
    /// The conflicted paths, sorted and distinct; `None` when the merge is clean.
    pub conflicts: Option<Vec<String>>,
}

/// Merges `branch` into `base` with `git merge-tree` (nothing is written to any ref).
pub fn merge_tree(dir: &Path, base: &str, branch: &str) -> Result<MergeTree> {
    let out = command(dir)
        .args([
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            base,
            branch,
        ])
        .output()
        .context("cannot run git merge-tree")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let tree = lines.next().unwrap_or_default().to_string();
    let conflicts = match out.status.code() {
        Some(0) => None,
        Some(1) => {
            let paths: BTreeSet<String> =
                lines.filter(|l| !l.is_empty()).map(String::from).collect();
            Some(paths.into_iter().collect())
        }
        code => bail!(
            "git merge-tree {base} {branch} exited {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    Ok(MergeTree { tree, conflicts })
}

/// `git diff --no-renames --shortstat BASE...BRANCH` as (files, insertions, deletions).
pub fn shortstat(dir: &Path, base: &str, branch: &str) -> Result<(u64, u64, u64)> {
    let range = format!("{base}...{branch}");
    let stat = output(dir, &["diff", "--no-renames", "--shortstat", &range])?;
    let number = |word: &str| -> Result<u64> {
        stat.split(',')
            .find(|part| part.contains(word))
            .and_then(|part| part.split_whitespace().next())
            .map_or(Ok(0), |n| {
                n.parse()
                    .with_context(|| format!("`{stat}` is not a shortstat"))
            })
    };
    Ok((
        number("changed")?,
        number("insertion")?,
        number("deletion")?,
    ))
}

/// `git merge-base --all BASE BRANCH`, sorted; empty for unrelated histories.
pub fn merge_bases(dir: &Path, base: &str, branch: &str) -> Result<Vec<String>> {
    // Exit code 1 with no output means "no merge base", not a failure.
    let out = command(dir)
        .args(["merge-base", "--all", base, branch])
        .output()
        .context("cannot run git merge-base")?;
    let mut bases: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    if bases.is_empty() && out.status.code() != Some(1) {
        bail!(
            "git merge-base {base} {branch} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    bases.sort();
    Ok(bases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_answers_are_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let env = |cmd: &mut Command| {
            cmd.env("GIT_AUTHOR_NAME", "A")
                .env("GIT_AUTHOR_EMAIL", "a@x")
                .env("GIT_COMMITTER_NAME", "C")
                .env("GIT_COMMITTER_EMAIL", "c@x");
        };
        let git = |args: &[&str]| {
            let mut cmd = command(d);
            env(&mut cmd);
            assert!(cmd.args(args).status().unwrap().success(), "{args:?}");
        };
        git(&["init", "-q", "-b", "main"]);
        std::fs::write(d.join("f"), "a\nb\n").unwrap();
        git(&["add", "f"]);
        git(&["commit", "-qm", "one"]);
        git(&["checkout", "-qb", "topic"]);
        std::fs::write(d.join("f"), "a\nc\n").unwrap();
        git(&["commit", "-qam", "topic"]);
        git(&["checkout", "-q", "main"]);
        std::fs::write(d.join("f"), "a\nd\n").unwrap();
        git(&["commit", "-qam", "main"]);
        assert_eq!(shortstat(d, "main", "topic").unwrap(), (1, 1, 1));
        assert_eq!(merge_bases(d, "main", "topic").unwrap().len(), 1);
        let merge = merge_tree(d, "main", "topic").unwrap();
        assert_eq!(merge.conflicts, Some(vec!["f".to_string()]));
        assert_eq!(merge.tree.len(), 40);
    }
}
