//! The git engine against the git CLI on generated repositories (with and without a
//! commit-graph) and on hand-made conflict shapes: ahead/behind, merge bases, merged,
//! diffstat, squash-merged and conflict prediction must all equal git's. Also robustness:
//! broken refs, missing and corrupt objects, shallow clones, odd ref names, the facts cache.

use crate::support;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use support::{Repo, branches, git_command, scan_json, scan_json_cached, trellis};

/// Runs git in `dir` and returns stdout; panics on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// What `git merge-tree --write-tree --name-only BASE NAME` says: the result tree and the
/// conflicted paths (`None` when clean).
fn merge_tree(dir: &Path, base: &str, name: &str) -> (String, Option<Vec<String>>) {
    let merge = xtask::git::merge_tree(dir, base, name).expect("git merge-tree");
    (merge.tree, merge.conflicts)
}

/// `git diff --no-renames --shortstat BASE...NAME` as numbers.
fn shortstat(dir: &Path, base: &str, name: &str) -> (u64, u64, u64) {
    xtask::git::shortstat(dir, base, name).expect("git diff --shortstat")
}

/// Checks every fact of every branch in `report` against the git CLI.
fn assert_all_facts_match_git(dir: &Path, base: &str, report: &Value) {
    let repo = &report["repositories"][0];
    assert_eq!(
        repo["branch_errors"],
        Value::Array(vec![]),
        "no branch errors"
    );
    let facts = branches(report);
    let listed = git(
        dir,
        &[
            "for-each-ref",
            &format!("--format=%(refname:short) %(ahead-behind:{base})"),
            "refs/heads",
        ],
    );
    let merged: BTreeSet<String> = git(
        dir,
        &["branch", "--format=%(refname:short)", "--merged", base],
    )
    .lines()
    .map(String::from)
    .collect();
    let base_tree = git(dir, &["rev-parse", &format!("{base}^{{tree}}")]);
    let mut checked = 0;
    for line in listed.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let name = parts[0];
        if name == base {
            continue;
        }
        let b = facts
            .get(name)
            .unwrap_or_else(|| panic!("{name} not reported"));
        assert_eq!(b["ahead"].to_string(), parts[1], "ahead of {name}");
        assert_eq!(b["behind"].to_string(), parts[2], "behind of {name}");
        let expected: BTreeSet<String> = xtask::git::merge_bases(dir, base, name)
            .expect("git merge-base")
            .into_iter()
            .collect();
        let actual: BTreeSet<String> = b["merge_bases"]
            .as_array()
            .expect("merge bases")
            .iter()
            .map(|v| v.as_str().expect("id").to_string())
            .collect();
        assert_eq!(actual, expected, "merge bases of {name}");
        assert_eq!(b["merged"], merged.contains(name), "merged of {name}");
        if expected.is_empty() {
            continue;
        }
        let (files, insertions, deletions) = shortstat(dir, base, name);
        assert_eq!(
            (
                &b["diffstat"]["files_changed"],
                &b["diffstat"]["insertions"],
                &b["diffstat"]["deletions"]
            ),
            (
                &Value::from(files),
                &Value::from(insertions),
                &Value::from(deletions)
            ),
            "diffstat of {name}"
        );
        let (tree, conflicts) = merge_tree(dir, base, name);
        match &conflicts {
            None => assert_eq!(
                b["conflicts"]["verdict"], "clean",
                "conflicts of {name}: {}",
                b["conflicts"]
            ),
            Some(paths) => {
                assert_eq!(
                    b["conflicts"]["verdict"], "conflicts",
                    "conflicts of {name}"
                );
                assert_eq!(
                    b["conflicts"]["paths"],
                    Value::from(paths.clone()),
                    "conflicting paths of {name}"
                );
            }
        }
        let squashed = conflicts.is_none() && tree == base_tree && files > 0 && b["ahead"] != 0;
        assert_eq!(b["squash_merged"], squashed, "squash-merged of {name}");
        checked += 1;
    }
    assert!(checked > 0, "no branch was checked");
}

fn scan_all(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        dir.to_str().expect("utf-8 path"),
        "--conflicts",
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    scan_json(&args)
}

/// The rename shapes real repositories showed (`--rename-history`): a documentation tree renamed
/// `*.txt` → `*.adoc` and packages with identical license files moved to new directories, while
/// branches far behind edit or add files there. Every fact equals git's, and the shapes make
/// both clean merges and conflicts.
#[test]
fn generated_rename_history_matches_git() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let spec = xtask::fixture::FixtureSpec {
        commits: 200,
        branches: 5,
        files: 20,
        seed: 11,
        rename_history: 60,
        ..Default::default()
    };
    xtask::fixture::generate(&spec, &repo).expect("generate");
    let report = scan_all(&repo, &[]);
    assert_all_facts_match_git(&repo, "main", &report);
    let history: Vec<&Value> = report["repositories"][0]["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .filter(|b| {
            b["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("history/"))
        })
        .collect();
    assert_eq!(history.len(), 60);
    for verdict in ["clean", "conflicts"] {
        assert!(
            history.iter().any(|b| b["conflicts"]["verdict"] == verdict),
            "some rename-history branches are {verdict}"
        );
    }
}

#[test]
fn generated_repository_matches_git_with_and_without_commit_graph() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let spec = xtask::fixture::FixtureSpec {
        commits: 700,
        branches: 40,
        files: 40,
        seed: 5,
        commit_graph: false,
        // Merged topics, some after a resolved conflict, on main's first-parent history.
        merge_history: 30,
        rename_history: 0,
    };
    xtask::fixture::generate(&spec, &repo).expect("generate");
    let without = scan_all(&repo, &[]);
    assert_all_facts_match_git(&repo, "main", &without);
    let kinds: BTreeSet<&str> = without["repositories"][0]["branches"]
        .as_array()
        .expect("branches")
        .iter()
        .filter_map(|b| b["name"].as_str()?.split('/').next())
        .collect();
    assert!(
        kinds.len() >= 6,
        "the generator makes many kinds of branches: {kinds:?}"
    );
    let some = |f: &dyn Fn(&Value) -> bool| {
        without["repositories"][0]["branches"]
            .as_array()
            .expect("branches")
            .iter()
            .any(f)
    };
    assert!(
        some(&|b| b["conflicts"]["verdict"] == "conflicts"),
        "some branch conflicts"
    );
    assert!(
        some(&|b| b["squash_merged"] == true),
        "some branch is squash-merged"
    );
    assert!(some(&|b| b["merged"] == true), "some branch is merged");
    assert!(
        some(&|b| b["merge_bases"].as_array().is_some_and(|m| m.len() > 1)),
        "some criss-cross"
    );

    git(&repo, &["commit-graph", "write", "--reachable"]);
    let with = scan_all(&repo, &[]);
    assert_eq!(
        with["repositories"][0]["branches"], without["repositories"][0]["branches"],
        "same facts with a commit-graph"
    );

    // Against another base, too.
    let other = "feature/b00039";
    if git_command(&repo)
        .args(["rev-parse", "--verify", other])
        .output()
        .expect("git")
        .status
        .success()
    {
        assert_all_facts_match_git(&repo, other, &scan_all(&repo, &["--base", other]));
    }
}

/// Where a pack's commits are cached: `commits/<pack checksum>.bin` under the cache dir.
fn pack_cache_files(cache: &Path) -> BTreeSet<String> {
    std::fs::read_dir(cache.join("commits"))
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn packed_histories_without_commit_graph_are_scanned_and_cached_per_pack() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let spec = xtask::fixture::FixtureSpec {
        commits: 300,
        branches: 12,
        files: 20,
        seed: 9,
        commit_graph: false,
        merge_history: 0,
        rename_history: 0,
    };
    xtask::fixture::generate(&spec, &repo).expect("generate");
    // A second pack, and loose commits on top of both: the table covers the packs and the
    // walker decodes the rest.
    let commit = |message: &str| {
        std::fs::write(repo.join("extra.txt"), message).expect("write");
        git(&repo, &["add", "extra.txt"]);
        git(&repo, &["commit", "-q", "-m", message]);
    };
    git(&repo, &["checkout", "-q", "-f", "main"]);
    commit("packed one");
    git(&repo, &["checkout", "-q", "-b", "late", "HEAD~3"]);
    commit("packed two");
    git(&repo, &["repack", "-q", "-d"]);
    commit("loose one");
    git(&repo, &["checkout", "-q", "main"]);
    commit("loose two");
    let packs: BTreeSet<String> = std::fs::read_dir(repo.join(".git/objects/pack"))
        .expect("pack dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            let hash = name.strip_prefix("pack-")?.strip_suffix(".pack")?;
            Some(format!("{hash}.bin"))
        })
        .collect();
    assert_eq!(packs.len(), 2, "two packs");
    assert!(!repo.join(".git/objects/info/commit-graph").exists());

    let cache = tempfile::tempdir().expect("cache dir");
    let path = repo.to_str().expect("utf-8 path").to_string();
    let scan = |extra: &[&str]| -> Value {
        let mut args = vec!["--conflicts", path.as_str()];
        args.extend_from_slice(extra);
        scan_json_cached(cache.path(), &args)
    };
    let first = scan(&[]);
    assert_all_facts_match_git(&repo, "main", &first);
    assert_eq!(
        pack_cache_files(cache.path()),
        packs,
        "one cache file per pack"
    );
    assert_eq!(scan(&[])["repositories"], first["repositories"]);

    // Poison the cache: give a packed branch tip the root commit as its only parent (with a
    // valid digest). The next scan must believe it, a --no-cache scan must not.
    let facts = branches(&first);
    let (name, _) = facts
        .iter()
        .filter(|(n, _)| n.as_str() != "late")
        .find(|(_, b)| b["ahead"].as_u64().is_some_and(|a| a >= 2))
        .expect("a generated branch two commits ahead");
    let tip = hex::decode(facts[name]["tip"].as_str().expect("tip")).expect("hex");
    let root = hex::decode(git(&repo, &["rev-list", "--max-parents=0", "main"])).expect("hex");
    let poisoned = packs.iter().any(|file| {
        let file = cache.path().join("commits").join(file);
        let mut bytes = std::fs::read(&file).expect("read cache");
        let word =
            |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
        let count = word(24);
        let ids = 32;
        let starts = ids + count * 20;
        let parents = starts + (count + 1) * 4;
        let Some(i) = (0..count).find(|i| bytes[ids + i * 20..ids + i * 20 + 20] == tip) else {
            return false;
        };
        let first_parent = parents + word(starts + i * 4) * 20;
        bytes[first_parent..first_parent + 20].copy_from_slice(&root);
        let body = bytes.len() - 32;
        let digest = blake3::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(digest.as_bytes());
        std::fs::write(&file, &bytes).expect("write cache");
        true
    });
    assert!(poisoned, "the tip of {name} is in a pack");
    let honest = facts[name]["ahead"].as_u64().expect("ahead");
    let believed = branches(&scan(&[]))[name]["ahead"].as_u64().expect("ahead");
    assert_ne!(believed, honest, "the cache is read");
    assert_eq!(
        branches(&scan(&["--no-cache"]))[name]["ahead"].as_u64(),
        Some(honest),
        "--no-cache scans the packs"
    );

    // A damaged file (digest no longer matches) is ignored and rewritten.
    for file in &packs {
        let file = cache.path().join("commits").join(file);
        let mut bytes = std::fs::read(&file).expect("read cache");
        bytes[40] ^= 0xff;
        std::fs::write(&file, &bytes).expect("write cache");
    }
    let repaired = scan(&[]);
    assert_all_facts_match_git(&repo, "main", &repaired);
    assert_eq!(scan(&[])["repositories"], first["repositories"]);
}

#[test]
fn the_generator_is_deterministic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = xtask::fixture::FixtureSpec {
        commits: 200,
        branches: 10,
        files: 10,
        seed: 9,
        commit_graph: false,
        merge_history: 0,
        rename_history: 0,
    };
    let refs: Vec<String> = ["a", "b"]
        .iter()
        .map(|name| {
            let repo = dir.path().join(name);
            xtask::fixture::generate(&spec, &repo).expect("generate");
            git(
                &repo,
                &["for-each-ref", "--format=%(refname) %(objectname)"],
            )
        })
        .collect();
    assert_eq!(refs[0], refs[1]);
    let commits: u64 = git(&dir.path().join("a"), &["rev-list", "--all", "--count"])
        .parse()
        .expect("count");
    assert!(commits >= 200, "at least the commits asked for: {commits}");
}

/// Hand-made conflict shapes: each branch against `main`.
fn conflict_repo() -> Repo {
    let mut r = Repo::new();
    let lines: String = (0..20).map(|i| format!("line {i}\n")).collect();
    r.commit_file("keep.txt", &lines, "keep");
    r.commit_file("moved.txt", &lines, "moved");
    r.commit_file("edited.txt", &lines, "edited");
    r.commit_file("dir/inner.txt", "inner\n", "dir");
    for (file, text) in [
        ("code/app/a.txt", "alpha\n"),
        ("code/app/b.txt", "beta\n"),
        ("code/app/sub/c.txt", "gamma\n"),
        ("docs/guide.txt", "guide\n"),
        ("docs/faq.txt", "faq\n"),
    ] {
        r.commit_file(file, text, file);
    }
    // Lines that differ only in their first part: git's rename score (hashes of line ends)
    // calls a rewrite of all of them a rename, a line diff does not.
    let stamped = |path: &str| -> String {
        (0..12)
            .map(|i| format!("{path} line {i} version 0\n"))
            .collect()
    };
    r.commit_file("src/d4/f8292.txt", &stamped("src/d4/f8292.txt"), "stamped");
    let root = r.git(&["rev-parse", "HEAD"]);
    // Base side: move a whole directory, and add a file to one the branch `dir-move` moves.
    r.git(&["mv", "code", "lib"]);
    r.git(&["commit", "-qm", "move code to lib"]);
    r.commit_file("docs/extra.txt", "extra\n", "main adds to docs");
    r.git(&["rm", "-q", "src/d4/f8292.txt"]);
    r.commit_file(
        "src/d29/f10463.txt",
        &stamped("src/d29/f10463.txt"),
        "main renames and rewrites the stamped file",
    );

    // Base side: rename moved.txt, edit edited.txt's first line, add same.txt and thing.
    r.git(&["mv", "moved.txt", "renamed.txt"]);
    r.git(&["commit", "-qm", "rename on main"]);
    r.commit_file(
        "edited.txt",
        &lines.replacen("line 0", "main 0", 1),
        "main edits",
    );
    r.commit_file("same.txt", "main's\n", "main adds same.txt");
    r.commit_file("thing", "a file\n", "main adds thing");

    let branch = |r: &mut Repo, name: &str, work: &dyn Fn(&mut Repo)| {
        r.git(&["checkout", "-q", "-b", name, &root]);
        work(r);
        r.git(&["checkout", "-q", "main"]);
    };
    branch(&mut r, "rename-delete", &|r| {
        r.git(&["rm", "-q", "moved.txt"]);
        r.git(&["commit", "-qm", "delete"]);
    });
    branch(&mut r, "rename-modify", &|r| {
        let text: String = (0..20).map(|i| format!("line {i}\n")).collect();
        r.commit_file(
            "moved.txt",
            &text.replacen("line 19", "branch 19", 1),
            "edit the renamed file",
        );
    });
    branch(&mut r, "add-add", &|r| {
        r.commit_file("same.txt", "branch's\n", "add same.txt");
    });
    branch(&mut r, "modify-modify", &|r| {
        let text: String = (0..20).map(|i| format!("line {i}\n")).collect();
        r.commit_file(
            "edited.txt",
            &text.replacen("line 0", "branch 0", 1),
            "edit line 0",
        );
    });
    branch(&mut r, "clean-edit", &|r| {
        let text: String = (0..20).map(|i| format!("line {i}\n")).collect();
        r.commit_file(
            "edited.txt",
            &text.replacen("line 15", "branch 15", 1),
            "edit far away",
        );
    });
    branch(&mut r, "file-dir", &|r| {
        r.commit_file(
            "thing/inside.txt",
            "a directory\n",
            "thing is a directory here",
        );
    });
    branch(&mut r, "squashed", &|r| {
        r.commit_file("same.txt", "main's\n", "the same change as main");
    });
    branch(&mut r, "binary", &|r| {
        r.commit_file("blob.bin", "\0\u{1}\u{2}binary", "binary file");
        r.git(&["rm", "-q", "dir/inner.txt"]);
        r.git(&["commit", "-qm", "delete a file"]);
    });
    // Directory renames: git moves files added in a renamed directory (a conflict).
    branch(&mut r, "dir-add", &|r| {
        r.commit_file("code/app/new.txt", "new\n", "add in code/app");
    });
    branch(&mut r, "dir-add-deep", &|r| {
        r.commit_file("code/app/sub/deep.txt", "deep\n", "add in code/app/sub");
    });
    branch(&mut r, "dir-move", &|r| {
        r.git(&["mv", "docs", "manual"]);
        r.git(&["commit", "-qm", "move docs to manual"]);
    });
    branch(&mut r, "split-rename", &|r| {
        r.git(&["mv", "src/d4/f8292.txt", "renamed.txt"]);
        r.git(&["commit", "-qm", "rename the stamped file"]);
    });
    // Criss-cross with a conflict on top.
    r.git(&["checkout", "-q", "-b", "cross", "main"]);
    let x1 = r.commit_file("cross.txt", "x1\n", "x1");
    r.git(&["checkout", "-q", "main"]);
    let m1 = r.commit_file("other.txt", "m1\n", "m1");
    r.merge(&x1, "main takes x1");
    r.git(&["checkout", "-q", "cross"]);
    r.merge(&m1, "cross takes m1");
    r.commit_file("cross.txt", "x3\n", "x3");
    r.git(&["checkout", "-q", "main"]);
    r.commit_file("cross.txt", "m3\n", "m3");
    r
}

#[test]
fn conflict_shapes_match_git_merge_tree() {
    let r = conflict_repo();
    let report = scan_all(r.path(), &[]);
    assert_all_facts_match_git(r.path(), "main", &report);
    let b = branches(&report);
    assert_eq!(b["rename-delete"]["conflicts"]["verdict"], "conflicts");
    assert_eq!(
        b["add-add"]["conflicts"]["paths"],
        serde_json::json!(["same.txt"])
    );
    assert_eq!(
        b["rename-modify"]["conflicts"]["verdict"], "clean",
        "the edit follows the rename"
    );
    assert_eq!(b["clean-edit"]["conflicts"]["verdict"], "clean");
    assert_eq!(b["cross"]["merge_bases"].as_array().map(Vec::len), Some(2));
    assert_eq!(b["squashed"]["squash_merged"], true);
    assert_eq!(b["binary"]["diffstat"]["files_changed"], 2);
    assert_eq!(
        b["split-rename"]["conflicts"]["paths"],
        serde_json::json!(["renamed.txt", "src/d29/f10463.txt", "src/d4/f8292.txt"]),
        "rename/rename (1 to 2) by git's similarity"
    );
    for (name, moved) in [
        ("dir-add", "lib/app/new.txt"),
        ("dir-add-deep", "lib/app/sub/deep.txt"),
        ("dir-move", "manual/extra.txt"),
    ] {
        assert_eq!(
            b[name]["conflicts"]["paths"],
            serde_json::json!([moved]),
            "{name}: directory rename"
        );
    }
}

#[test]
fn squash_merges_are_exact_without_conflict_prediction_when_the_base_moved_on() {
    let mut r = Repo::new();
    let lines = |edits: &[(usize, &str)]| -> String {
        (0..60)
            .map(|i| {
                edits
                    .iter()
                    .find(|(at, _)| *at == i)
                    .map_or(format!("line {i}\n"), |(_, text)| format!("{text}\n"))
            })
            .collect()
    };
    r.commit_file("f.txt", &lines(&[]), "start");
    let branch = |r: &mut Repo, name: &str, edits: &[(usize, &str)]| {
        r.git(&["checkout", "-q", "-b", name, "main"]);
        r.commit_file("f.txt", &lines(edits), name);
        r.git(&["checkout", "-q", "main"]);
    };
    branch(&mut r, "topic", &[(1, "topic")]);
    branch(&mut r, "unmerged", &[(10, "unmerged")]);
    branch(&mut r, "clashing", &[(50, "clashing")]);
    // main takes topic as a squash commit, then moves on in the same file.
    r.commit_file("f.txt", &lines(&[(1, "topic")]), "squash topic");
    r.commit_file("f.txt", &lines(&[(1, "topic"), (50, "later")]), "later");

    let path = r.path().to_str().expect("utf-8 path");
    let main_tree = r.git(&["rev-parse", "main^{tree}"]);
    for flags in [&["--no-conflicts"][..], &["--conflicts"][..]] {
        let mut args = vec![path, "--no-cache"];
        args.extend_from_slice(flags);
        let facts = branches(&scan_json(&args));
        for name in ["topic", "unmerged", "clashing"] {
            let (tree, conflicts) = merge_tree(r.path(), "main", name);
            let git_says = conflicts.is_none() && tree == main_tree;
            assert_eq!(
                facts[name]["squash_merged"], git_says,
                "{name} with {flags:?}"
            );
        }
        assert_eq!(facts["topic"]["squash_merged"], true, "{flags:?}");
    }
}

#[test]
fn optional_facts_follow_flags_and_config() {
    let r = conflict_repo();
    let path = r.path().to_str().expect("utf-8 path");
    let default = branches(&scan_json(&[path, "--no-cache"]));
    assert!(
        default["add-add"]["diffstat"].is_object(),
        "diffstat is on by default"
    );
    assert!(
        default["add-add"]["squash_merged"].is_boolean(),
        "squash detection is on by default"
    );
    assert!(
        default["add-add"]["conflicts"].is_null(),
        "conflicts are opt-in"
    );
    let bare = branches(&scan_json(&[
        path,
        "--no-cache",
        "--no-diffstat",
        "--no-squash",
    ]));
    assert!(bare["add-add"]["diffstat"].is_null());
    assert!(bare["add-add"]["squash_merged"].is_null());

    let config = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        config.path(),
        "[scan]\nconflicts = true\ndiffstat = false\n",
    )
    .expect("write config");
    let configured = branches(&scan_json(&[
        path,
        "--no-cache",
        "--config",
        config.path().to_str().expect("utf-8"),
    ]));
    assert!(configured["add-add"]["conflicts"].is_object());
    assert!(configured["add-add"]["diffstat"].is_null());
}

#[test]
fn the_facts_cache_recomputes_only_moved_branches() {
    let mut r = conflict_repo();
    let cache = tempfile::tempdir().expect("temp dir");
    let path = r.path().to_str().expect("utf-8 path").to_string();
    let scan = |extra: &[&str]| -> Value {
        let mut args = vec!["--conflicts", path.as_str()];
        args.extend_from_slice(extra);
        scan_json_cached(cache.path(), &args)
    };
    let first = scan(&[]);
    let files: Vec<_> = std::fs::read_dir(cache.path().join("facts"))
        .expect("facts cache written")
        .collect();
    assert_eq!(files.len(), 1, "one cache file per repository");
    assert_eq!(
        scan(&[])["repositories"],
        first["repositories"],
        "cached facts are the same facts"
    );

    // Poison one cached entry (with a valid digest: the file is its JSON body, a newline and
    // the body's BLAKE3): a second run must use it, a --no-cache run must not.
    let file = files
        .into_iter()
        .next()
        .expect("file")
        .expect("entry")
        .path();
    let text = std::fs::read_to_string(&file).expect("read cache");
    let tip = branches(&first)["add-add"]["tip"]
        .as_str()
        .expect("tip")
        .to_string();
    let (body, _digest) = text.rsplit_once('\n').expect("a body and its digest");
    let mut cached: Value = serde_json::from_str(body).expect("cache is JSON");
    let key = cached["entries"]
        .as_object()
        .expect("entries")
        .keys()
        .find(|k| k.starts_with(&tip))
        .expect("add-add is cached")
        .clone();
    cached["entries"][&key]["diffstat"]["insertions"] = Value::from(4242);
    let body = cached.to_string();
    let digest = blake3::hash(body.as_bytes()).to_hex();
    std::fs::write(&file, format!("{body}\n{digest}")).expect("write cache");
    assert_eq!(
        branches(&scan(&[]))["add-add"]["diffstat"]["insertions"],
        4242,
        "the cache is read"
    );
    assert_eq!(
        branches(&scan(&["--no-cache"]))["add-add"]["diffstat"]["insertions"],
        1,
        "--no-cache skips it"
    );

    // A moved branch is recomputed.
    r.git(&["checkout", "-q", "add-add"]);
    r.commit_file("more.txt", "one\ntwo\n", "more");
    r.git(&["checkout", "-q", "main"]);
    let moved = branches(&scan(&[]));
    assert_eq!(moved["add-add"]["diffstat"]["insertions"], 3);
}

#[test]
fn broken_branches_only_affect_themselves() {
    let mut r = Repo::new();
    r.commit("c1");
    r.git(&["checkout", "-q", "-b", "good"]);
    r.commit("g1");
    r.git(&["checkout", "-q", "-b", "lost", "main"]);
    let lost = r.commit("l1");
    r.git(&["checkout", "-q", "-b", "corrupt", "main"]);
    let corrupt = r.commit("k1");
    r.git(&["checkout", "-q", "main"]);
    // A ref to an object that does not exist, a commit whose object is gone, a corrupt commit.
    let refs = r.path().join(".git/refs/heads");
    std::fs::write(
        refs.join("dangling"),
        "1234567890123456789012345678901234567890\n",
    )
    .expect("write ref");
    let loose = |id: &str| r.path().join(".git/objects").join(&id[..2]).join(&id[2..]);
    std::fs::remove_file(loose(&lost)).expect("remove object");
    let path = loose(&corrupt);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&path, b"not zlib at all").expect("corrupt object");
    // A branch name that is not UTF-8.
    let head = r.git(&["rev-parse", "good"]);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
    std::fs::write(refs.join(name), format!("{head}\n")).expect("write ref");

    let report = scan_json(&[r.path().to_str().expect("utf-8 path"), "--no-cache"]);
    let repo = &report["repositories"][0];
    let errors: HashMap<String, String> = repo["branch_errors"]
        .as_array()
        .expect("branch errors")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["error"].as_str().expect("error").to_string(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors.contains_key("dangling")
            && errors.contains_key("lost")
            && errors.contains_key("corrupt")
    );
    assert!(
        errors["lost"].contains(&lost),
        "names the missing commit: {}",
        errors["lost"]
    );
    let b = branches(&report);
    assert_eq!(b["good"]["ahead"], 1);
    assert_eq!(
        b["caf\u{fffd}"]["ahead"], 1,
        "non-UTF-8 names are shown lossily"
    );
}

#[test]
fn partial_clones_keep_graph_facts_and_name_what_was_not_fetched() {
    let mut source = Repo::new();
    source.commit_file("a.txt", "one\n", "a");
    source.commit_file("b.txt", "two\n", "b");
    source.git(&["checkout", "-q", "-b", "feat"]);
    source.commit_file("a.txt", "one\nmore\n", "feat");
    source.git(&["checkout", "-q", "main"]);
    source.commit_file("c.txt", "three\n", "c");
    source.git(&["config", "uploadpack.allowFilter", "true"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = dir.path().join("clone");
    let url = format!("file://{}", source.path().display());
    let clone_str = clone.to_str().expect("utf-8 path");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-checkout",
            &url,
            clone_str,
        ],
    );
    git(&clone, &["branch", "feat", "origin/feat"]);

    let report = scan_json(&[clone_str, "--no-cache", "--conflicts"]);
    let repo = &report["repositories"][0];
    assert_eq!(repo["facts"]["stats"]["partial_clone"], true);
    let feat = &branches(&report)["feat"];
    let counts = git(
        &clone,
        &["rev-list", "--left-right", "--count", "feat...main"],
    );
    assert_eq!(
        format!("{}\t{}", feat["ahead"], feat["behind"]),
        counts,
        "graph facts need no blobs"
    );
    assert_eq!(feat["diffstat"], Value::Null);
    assert_eq!(feat["conflicts"], Value::Null);
    let errors = repo["branch_errors"].as_array().expect("branch errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = errors[0]["error"].as_str().expect("error");
    assert_eq!(errors[0]["name"], "feat");
    assert!(error.contains("partial clone"), "{error}");
    let missing = git(source.path(), &["rev-parse", "feat:a.txt"]);
    let base_blob = git(source.path(), &["rev-parse", "main:a.txt"]);
    assert!(
        error.contains(&missing) || error.contains(&base_blob),
        "names the missing blob: {error}"
    );
}

#[test]
fn shallow_clones_stop_at_the_boundary_like_git() {
    let mut r = Repo::new();
    for i in 0..6 {
        r.commit(&format!("c{i}"));
    }
    r.git(&["checkout", "-q", "-b", "topic", "HEAD~3"]);
    r.commit("t1");
    r.git(&["checkout", "-q", "main"]);
    r.commit("c6");
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = dir.path().join("shallow");
    let url = format!("file://{}", r.path().display());
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            "--no-single-branch",
            &url,
            clone.to_str().expect("utf-8"),
        ],
    );
    git(&clone, &["branch", "topic", "origin/topic"]);
    let report = scan_json(&[clone.to_str().expect("utf-8"), "--no-cache"]);
    assert_eq!(report["repositories"][0]["facts"]["stats"]["shallow"], true);
    let counts = git(
        &clone,
        &["rev-list", "--left-right", "--count", "main...topic"],
    );
    let b = branches(&report);
    assert_eq!(
        format!("{}\t{}", b["topic"]["behind"], b["topic"]["ahead"]),
        counts
    );
}

#[test]
fn many_repositories_from_a_file_with_stats() {
    let mut a = Repo::new();
    a.commit_file("big.bin", &"x".repeat(5000), "big");
    a.commit_file(
        "pointer",
        "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1\n",
        "lfs",
    );
    a.git(&["tag", "v1"]);
    let mut b = Repo::new();
    b.commit("only");
    let list = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        list.path(),
        format!(
            "# repositories\n{}\n\n{}\n",
            a.path().display(),
            b.path().display()
        ),
    )
    .expect("write list");
    let report = scan_json(&[
        "--repos-from",
        list.path().to_str().expect("utf-8"),
        "--stats",
        "--quiet",
        "--no-cache",
    ]);
    let repos = report["repositories"].as_array().expect("repositories");
    assert_eq!(
        repos.len(),
        2,
        "the default `.` is not scanned when a list is given"
    );
    let stats = &repos[0]["facts"]["stats"];
    assert_eq!(stats["files_at_base"], 2);
    assert_eq!(stats["lfs_pointers"], 1);
    assert_eq!(stats["tags"], 1);
    assert_eq!(stats["largest_blobs"][0]["path"], "big.bin");
    assert_eq!(stats["largest_blobs"][0]["size"], 5000);
    let objects = git(a.path(), &["count-objects", "-v"]);
    let loose: u64 = objects
        .lines()
        .find_map(|l| l.strip_prefix("count: "))
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert_eq!(stats["objects"], loose, "all objects are loose here");

    let missing = trellis()
        .args(["scan", "--repos-from", "/no/such/list"])
        .output()
        .expect("run trellis");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--repos-from /no/such/list"));
}
