//! Branch facts against the git CLI: every number `trellis scan` reports must equal git's.

use crate::support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{Repo, branches, scan_json};

/// Checks every local branch of `repo` in `report` against `git rev-list --left-right --count`,
/// `git merge-base --all`, `git branch --merged` and `git rev-parse`.
fn assert_matches_git(repo: &Repo, base: &str, report: &Value) {
    let facts = branches(report);
    let listed = repo.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"]);
    let names: Vec<&str> = listed.lines().filter(|n| *n != base).collect();
    assert_eq!(
        facts.len(),
        names.len(),
        "branches reported: {:?}",
        facts.keys()
    );
    let merged: BTreeSet<String> = repo
        .git(&["branch", "--format=%(refname:short)", "--merged", base])
        .lines()
        .map(String::from)
        .collect();
    for name in names {
        let b = &facts[name];
        let counts = repo.git(&[
            "rev-list",
            "--left-right",
            "--count",
            &format!("{base}...{name}"),
        ]);
        let mut counts = counts.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        let (behind, ahead) = (counts.next().unwrap(), counts.next().unwrap());
        assert_eq!(b["ahead"], ahead, "ahead of {name}");
        assert_eq!(b["behind"], behind, "behind of {name}");

        let expected: BTreeSet<String> = xtask::git::merge_bases(repo.path(), base, name)
            .expect("git merge-base")
            .into_iter()
            .collect();
        let actual: BTreeSet<String> = b["merge_bases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(actual, expected, "merge bases of {name}");

        assert_eq!(b["merged"], merged.contains(name), "merged of {name}");
        assert_eq!(b["tip"], repo.git(&["rev-parse", name]), "tip of {name}");
    }
}

/// Linear history, merged and unmerged topics, a criss-cross merge with the base, an orphan
/// branch, an alias of the base, and a detached HEAD.
fn shaped_repo() -> Repo {
    let mut r = Repo::new();
    r.commit("c1");
    let c2 = r.commit("c2");
    r.commit("c3");

    r.git(&["checkout", "-q", "-b", "feature-a"]);
    r.commit("a1");
    r.commit("a2");

    r.git(&["checkout", "-q", "-b", "merged-b", &c2]);
    r.commit("b1");
    r.git(&["checkout", "-q", "main"]);
    r.merge("merged-b", "merge b");
    r.git(&["branch", "old-main", &c2]);

    // Criss-cross: main and `cross` each merge the other's earlier tip.
    r.git(&["checkout", "-q", "-b", "cross"]);
    let x1 = r.commit("x1");
    r.git(&["checkout", "-q", "main"]);
    let m1 = r.commit("m1");
    r.merge(&x1, "main takes x1");
    r.git(&["checkout", "-q", "cross"]);
    r.merge(&m1, "cross takes m1");
    r.commit("x3");
    r.git(&["checkout", "-q", "main"]);
    r.commit("m3");

    r.git(&["checkout", "-q", "--orphan", "lonely"]);
    r.git(&["rm", "-rfq", "."]);
    r.commit("orphan root");
    r.commit("orphan tip");

    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "alias-of-main"]);
    r.git(&["checkout", "-q", "--detach", "feature-a"]);
    r
}

#[test]
fn facts_match_git_on_a_shaped_repository() {
    let repo = shaped_repo();
    let report = scan_json(&[repo.path().to_str().unwrap()]);
    let facts = &report["repositories"][0]["facts"];
    assert_eq!(facts["base"], "main", "default base despite detached HEAD");
    assert_eq!(facts["head_branch"], Value::Null);
    assert_eq!(facts["head_commit"], repo.git(&["rev-parse", "feature-a"]));
    assert_matches_git(&repo, "main", &report);

    // Spot checks that make the shapes explicit.
    let b = branches(&report);
    assert_eq!(b["cross"]["merge_bases"].as_array().unwrap().len(), 2);
    assert_eq!(b["lonely"]["merge_bases"].as_array().unwrap().len(), 0);
    assert_eq!(b["lonely"]["ahead"], 2);
    assert_eq!(b["merged-b"]["merged"], true);
    assert_eq!(b["alias-of-main"]["ahead"], 0);
    assert_eq!(b["alias-of-main"]["behind"], 0);
    assert_eq!(b["feature-a"]["committer"]["name"], "Cy Committer");
    assert_eq!(b["feature-a"]["author"]["email"], "ada@example.com");
    assert_eq!(b["feature-a"]["summary"], "a2");
}

#[test]
fn facts_match_git_against_another_base_and_in_a_bare_clone() {
    let repo = shaped_repo();
    let report = scan_json(&[repo.path().to_str().unwrap(), "--base", "feature-a"]);
    assert_eq!(report["repositories"][0]["facts"]["base"], "feature-a");
    // `main` is a branch like any other now, and `feature-a` is not listed.
    assert!(branches(&report).contains_key("main"));
    assert_matches_git(&repo, "feature-a", &report);

    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("clone.git");
    repo.git(&["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()]);
    let from_bare = scan_json(&[bare_path.to_str().unwrap()]);
    assert_eq!(from_bare["repositories"][0]["facts"]["bare"], true);
    assert_eq!(
        from_bare["repositories"][0]["branches"],
        scan_json(&[repo.path().to_str().unwrap()])["repositories"][0]["branches"],
        "a bare clone has the same facts"
    );
}

/// A small deterministic generator (xorshift) for random histories.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn facts_match_git_on_random_histories() {
    for seed in [7, 1234] {
        let mut repo = Repo::new();
        let mut rng = Rng(seed);
        repo.commit("root");
        let mut names = vec!["main".to_string()];
        for step in 0..120 {
            let current = names[rng.below(names.len())].clone();
            repo.git(&["checkout", "-q", &current]);
            match rng.below(10) {
                0..=4 => {
                    repo.commit(&format!("s{step}"));
                }
                5..=7 => {
                    let other = names[rng.below(names.len())].clone();
                    if other != current {
                        repo.merge(&other, &format!("merge {other} into {current}"));
                    }
                }
                _ => {
                    // Fork a new branch somewhere in the current branch's history.
                    let log = repo.git(&["rev-list", &current]);
                    let commits: Vec<&str> = log.lines().collect();
                    let at = commits[rng.below(commits.len())].to_string();
                    let name = format!("topic/{step}");
                    repo.git(&["branch", &name, &at]);
                    names.push(name);
                }
            }
        }
        let report = scan_json(&[repo.path().to_str().unwrap()]);
        assert_matches_git(&repo, "main", &report);
        let other = names.last().unwrap().clone();
        let report = scan_json(&[repo.path().to_str().unwrap(), "--base", &other]);
        assert_matches_git(&repo, &other, &report);
    }
}

#[test]
fn scans_several_repositories_in_one_run() {
    let a = shaped_repo();
    let mut b = Repo::new();
    b.commit("only");
    let report = scan_json(&[
        a.path().to_str().unwrap(),
        b.path().to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    let repos = report["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 2);
    assert_eq!(repos[1]["branches"].as_array().unwrap().len(), 0);
    assert_eq!(repos[1]["facts"]["stats"]["commits"], 1);
    assert_eq!(report["schema_version"], 1);
}

/// What a tip commit says about itself (signatures, subject) equals git's, whatever headers
/// come between the committer and the message: a signature, an encoding, a title folded over
/// two lines. Written as raw objects, so the headers are exactly these.
#[test]
fn tip_signatures_and_subject_match_git_around_extra_headers() {
    let mut repo = Repo::new();
    let parent = repo.commit("root");
    let tree = repo.git(&["rev-parse", "main^{tree}"]);
    let shapes = [
        (
            "signed",
            "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n =abcd\n -----END PGP SIGNATURE-----\n",
            "A title that goes on\nover two lines\n\nThe body.\n",
        ),
        (
            "encoded",
            "encoding ISO-8859-1\n",
            "Subject with trailing spaces   \n",
        ),
        ("bare", "", ""),
    ];
    for (branch, headers, message) in shapes {
        let object = format!(
            "tree {tree}\nparent {parent}\n\
             author Ada Lovelace <ada@example.com> 1600000000 +0130\n\
             committer Cy Committer <cy@example.com> 1600000100 -0700\n\
             {headers}\n{message}"
        );
        let file = repo.path().join(format!("{branch}.commit"));
        std::fs::write(&file, object).unwrap();
        let id = repo.git(&["hash-object", "-t", "commit", "-w", file.to_str().unwrap()]);
        repo.git(&["branch", branch, &id]);
    }
    let report = scan_json(&[repo.path().to_str().unwrap()]);
    let facts = branches(&report);
    for (branch, _, _) in shapes {
        let b = &facts[branch];
        let git = repo.git(&[
            "log",
            "-1",
            // The dot keeps an empty subject from being trimmed away.
            "--format=%an%n%ae%n%at%n%cn%n%ce%n%ct%n%s%n.",
            branch,
        ]);
        let git: Vec<&str> = git.split('\n').take(7).collect();
        let ours = [
            &b["author"]["name"],
            &b["author"]["email"],
            &b["author"]["time"],
            &b["committer"]["name"],
            &b["committer"]["email"],
            &b["committer"]["time"],
            &b["summary"],
        ]
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        assert_eq!(ours.as_slice(), git.as_slice(), "{branch}");
        assert_eq!(b["author"]["offset"], 5400, "{branch}");
        assert_eq!(b["committer"]["offset"], -25200, "{branch}");
    }
}

/// The branches listed, and where they point, equal `git for-each-ref`'s however the
/// references are stored: packed, loose, a loose file shadowing a packed line of the same name
/// (a branch moved after `git pack-refs`), nested directories, a symbolic branch. A file that
/// is no valid reference name is not a branch (as for git); a loose file that does not decode
/// is a branch error under its own name (git skips it with a warning).
#[test]
fn branches_match_git_with_loose_packed_and_shadowed_references() {
    let mut repo = Repo::new();
    let first = repo.commit("c1");
    for name in ["packed-only", "moved-later", "deep/er/topic", "remote-side"] {
        repo.git(&["branch", name]);
    }
    repo.git(&["tag", "v1"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    repo.git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);
    repo.git(&["pack-refs", "--all"]);
    let second = repo.commit("c2");
    // Loose now, shadowing the packed line that still says `first`.
    repo.git(&["update-ref", "refs/heads/moved-later", &second]);
    repo.git(&["branch", "deep/loose-only", &first]);
    repo.git(&["tag", "v2"]);
    // Loose now too, over its packed line: still one tag.
    repo.git(&["tag", "-f", "v1", &second]);
    repo.git(&["update-ref", "refs/remotes/origin/loose", &first]);
    repo.git(&["symbolic-ref", "refs/heads/alias", "refs/heads/moved-later"]);
    let heads = repo.path().join(".git/refs/heads");
    std::fs::write(heads.join("stale.lock"), format!("{first}\n")).unwrap();
    std::fs::write(heads.join("broken"), "not a reference\n").unwrap();
    let packed = std::fs::read_to_string(repo.path().join(".git/packed-refs")).unwrap();
    assert!(
        packed.contains(&format!("{first} refs/heads/moved-later")),
        "the packed line to shadow: {packed}"
    );

    let report = scan_json(&[repo.path().to_str().unwrap(), "--remotes"]);
    let ours: BTreeSet<(String, String)> = branches(&report)
        .into_iter()
        .map(|(name, b)| (name, b["tip"].as_str().unwrap().to_string()))
        .collect();
    let theirs: BTreeSet<(String, String)> = repo
        .git(&[
            "for-each-ref",
            "--format=%(refname:short) %(objectname)",
            "refs/heads",
            "refs/remotes",
        ])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| *name != "main" && *name != "origin")
        .map(|(name, id)| (name.to_string(), id.to_string()))
        .collect();
    assert_eq!(ours, theirs);
    assert!(ours.contains(&("moved-later".to_string(), second.clone())));
    assert!(ours.contains(&("alias".to_string(), second)));

    let repo_report = &report["repositories"][0];
    let errors = repo_report["branch_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["name"], "broken");
    assert_eq!(errors[0]["reference"], "refs/heads/broken");
    let stats = &repo_report["facts"]["stats"];
    // main, packed-only, moved-later, deep/er/topic, remote-side, deep/loose-only, alias, broken.
    assert_eq!(stats["branches"], 8);
    assert_eq!(stats["remote_branches"], 2, "origin/HEAD is an alias");
    assert_eq!(stats["tags"], 2, "v1 (loose over packed) and v2");

    // Without `--remotes` they are counted by name only, to the same figures.
    let local_only = scan_json(&[repo.path().to_str().unwrap()]);
    let stats = &local_only["repositories"][0]["facts"]["stats"];
    assert_eq!(stats["remote_branches"], 2, "origin/HEAD is an alias");
    assert_eq!(stats["tags"], 2);
}
