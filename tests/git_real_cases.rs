//! Small reproductions of the differences with git found on real repositories (ripgrep's and
//! tokio's pull-request heads, `bench/real/`): each test builds the shape with the git CLI and
//! asserts that conflict prediction and squash detection equal `git merge-tree`.

use crate::support;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use support::{Repo, branches, scan_json};

/// What `git merge-tree --write-tree --name-only BASE NAME` says: the result tree and the
/// conflicted paths (`None` when clean).
fn merge_tree(dir: &Path, base: &str, name: &str) -> (String, Option<Vec<String>>) {
    let merge = xtask::git::merge_tree(dir, base, name).expect("git merge-tree");
    (merge.tree, merge.conflicts)
}

/// Scans `repo` with conflict prediction and checks every branch against git; returns the
/// branches by name.
fn scan_and_compare(repo: &Repo) -> HashMap<String, Value> {
    let dir = repo.path();
    let report = scan_json(&[dir.to_str().expect("utf-8"), "--conflicts", "--no-cache"]);
    assert_eq!(
        report["repositories"][0]["branch_errors"],
        Value::Array(vec![]),
        "no branch errors"
    );
    let base_tree = repo.git(&["rev-parse", "main^{tree}"]);
    let facts = branches(&report);
    for (name, b) in &facts {
        let (tree, conflicts) = merge_tree(dir, "main", name);
        match &conflicts {
            None => assert_eq!(
                b["conflicts"]["verdict"], "clean",
                "{name}: {}",
                b["conflicts"]
            ),
            Some(paths) => {
                assert_eq!(b["conflicts"]["verdict"], "conflicts", "{name}");
                assert_eq!(
                    b["conflicts"]["paths"],
                    Value::from(paths.clone()),
                    "conflicting paths of {name}"
                );
            }
        }
        let changed = !repo
            .git(&["diff", "--name-only", &format!("main...{name}")])
            .is_empty();
        let squashed = conflicts.is_none() && tree == base_tree && changed;
        assert_eq!(b["squash_merged"], squashed, "squash-merged of {name}");
    }
    facts
}

/// A repository whose `main` and branch `topic` changed `file` from `base` to `ours` and to
/// `theirs`.
fn three_versions(file: &str, base: &str, ours: &str, theirs: &str) -> Repo {
    let mut r = Repo::new();
    r.commit_file("keep.txt", "keep\n", "keep");
    r.commit_file(file, base, "base");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file(file, theirs, "topic");
    r.git(&["checkout", "-q", "main"]);
    r.commit_file(file, ours, "main");
    r
}

#[test]
fn content_merges_pair_lines_as_git_histogram_does() {
    // Myers, and gix's histogram diff, merge this cleanly (and the merge would leave main
    // unchanged: "squash-merged"); git's histogram diff conflicts (ripgrep pr/1431, pr/2153).
    let r = three_versions("file.txt", "a\nd\nd\n", "d\na\na\nd\n", "d\nd\n");
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "conflicts");
    assert_eq!(b["topic"]["squash_merged"], false);
}

#[test]
fn an_insertion_next_to_a_change_conflicts_as_in_git() {
    // git slides the inserted block down to just after `[[package]]`, next to main's change;
    // the indent heuristic (gix) puts it before, where it merges (ripgrep's Cargo.lock).
    let base = "[[package]]\nname = \"anyhow\"\nversion = \"1.0.79\"\n\n[[package]]\nname = \"autocfg\"\nversion = \"1.1.0\"\n\n[[package]]\nname = \"bstr\"\nversion = \"1.9.0\"\n";
    let ours = base.replace(
        "name = \"autocfg\"\nversion = \"1.1.0\"",
        "name = \"arbitrary\"\nversion = \"1.4.2\"",
    );
    let theirs = base.replace(
        "[[package]]\nname = \"autocfg\"",
        "[[package]]\nname = \"arbitrary\"\nversion = \"1.3.2\"\n\n[[package]]\nname = \"autocfg\"",
    );
    let r = three_versions("Cargo.lock", base, &ours, &theirs);
    let b = scan_and_compare(&r);
    assert_eq!(
        b["topic"]["conflicts"]["paths"],
        serde_json::json!(["Cargo.lock"])
    );
}

#[test]
fn a_file_both_sides_renamed_to_one_path_conflicts_only_there() {
    // Both sides rename complete/_rg to the same new path with conflicting edits: git lists the
    // new path only, not the old one (ripgrep pr/2626).
    let lines: String = (0..30).map(|i| format!("completion line {i}\n")).collect();
    let mut r = Repo::new();
    r.commit_file("complete/_rg", &lines, "completion");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.git(&["rm", "-q", "complete/_rg"]);
    r.commit_file(
        "flags/rg.zsh",
        &lines.replace("line 3\n", "line 3 (topic)\n"),
        "topic moves it",
    );
    r.git(&["checkout", "-q", "main"]);
    r.git(&["rm", "-q", "complete/_rg"]);
    r.commit_file(
        "flags/rg.zsh",
        &lines.replace("line 3\n", "line 3 (main)\n"),
        "main moves it",
    );
    let b = scan_and_compare(&r);
    assert_eq!(
        b["topic"]["conflicts"]["paths"],
        serde_json::json!(["flags/rg.zsh"])
    );
}

/// A repository with `crate/` holding `files` (path, content) on all sides.
fn with_files(files: &[(&str, String)]) -> Repo {
    let mut r = Repo::new();
    for (path, content) in files {
        r.commit_file(path, content, path);
    }
    r
}

fn numbered(tag: &str, n: usize) -> String {
    (0..n).map(|i| format!("{tag} line {i}\n")).collect()
}

#[test]
fn a_file_added_in_a_new_subdirectory_of_a_renamed_directory_stays() {
    // main moves ignore/ to crates/ignore/; the branch adds ignore/tests/new.rs in a directory
    // the ancestor did not have. git's directory rename applies to directories a file was
    // added to directly, so the file stays (ripgrep pr/551, pr/1017).
    let mut r = with_files(&[
        ("ignore/Cargo.toml", numbered("manifest", 8)),
        ("ignore/src/lib.rs", numbered("lib", 20)),
        ("ignore/src/walk.rs", numbered("walk", 20)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file("ignore/tests/new.rs", &numbered("test", 5), "a test");
    r.git(&["checkout", "-q", "main"]);
    std::fs::create_dir_all(r.path().join("crates")).expect("mkdir");
    r.git(&["mv", "ignore", "crates/ignore"]);
    r.git(&["commit", "-qm", "move ignore into crates"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "clean");
}

#[test]
fn a_removed_directory_moves_added_files_only_by_renames_out_of_it() {
    // main removes grep/: COPYING goes to crates/cli/, the sources are deleted. The branch adds
    // grep/src/smart_case.rs: only grep/src (where it was added) is relevant, and nothing was
    // renamed out of it, so git leaves the file where it is (ripgrep pr/858).
    let mut r = with_files(&[
        ("grep/COPYING", numbered("copying", 10)),
        ("grep/src/lib.rs", numbered("lib", 20)),
        ("grep/src/search.rs", numbered("search", 20)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file(
        "grep/src/smart_case.rs",
        &numbered("smart", 6),
        "smart case",
    );
    r.git(&["checkout", "-q", "main"]);
    std::fs::create_dir_all(r.path().join("crates/cli")).expect("mkdir");
    r.git(&["mv", "grep/COPYING", "crates/cli/COPYING"]);
    r.git(&["rm", "-q", "-r", "grep"]);
    r.git(&["commit", "-qm", "remove grep"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "clean");
}

#[test]
fn a_directory_renamed_to_two_places_equally_is_a_conflict_without_a_path() {
    // git: "CONFLICT (directory rename split)", and `merge-tree --name-only` lists no path.
    let mut r = with_files(&[
        ("d/a", numbered("a", 6)),
        ("d/b", numbered("b", 6)),
        ("other", numbered("other", 3)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file("d/new", &numbered("new", 4), "add to d");
    r.git(&["checkout", "-q", "main"]);
    for dir in ["x", "y"] {
        std::fs::create_dir_all(r.path().join(dir)).expect("mkdir");
    }
    r.git(&["mv", "d/a", "x/a"]);
    r.git(&["mv", "d/b", "y/b"]);
    r.git(&["commit", "-qm", "split d"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["paths"], serde_json::json!([]));
}

/// What the branch `topic` of [`two_licenses`] does.
enum Topic {
    EditsGrepLicense,
    AddsGrepFile,
}

/// ripgrep's shape: identical `globset/LICENSE` and `grep/LICENSE` (and `other`); branch
/// `topic` edits `grep/LICENSE` or adds `grep/new.txt`; `main` checked out.
fn two_licenses(topic: Topic) -> Repo {
    let license = numbered("license", 12);
    let mut r = with_files(&[
        ("globset/LICENSE", license.clone()),
        ("grep/LICENSE", license.clone()),
        ("other", numbered("other", 3)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    match topic {
        Topic::EditsGrepLicense => r.commit_file(
            "grep/LICENSE",
            &license.replace("line 11", "line 11 (topic)"),
            "edit a license",
        ),
        Topic::AddsGrepFile => r.commit_file("grep/new.txt", "the branch's\n", "a new file"),
    };
    r.git(&["checkout", "-q", "main"]);
    r
}

#[test]
fn identical_files_in_one_deferred_directory_pair_in_path_order() {
    // Two identical files moved into one new directory while the branch edits one of them:
    // git visits the new directory after the others (the branch does not have it), and
    // within it in path order (ripgrep pr/1489, pr/2601; Trellis used to answer "cannot be
    // sure" here).
    let r = two_licenses(Topic::EditsGrepLicense);
    std::fs::create_dir_all(r.path().join("crates/cli")).expect("mkdir");
    std::fs::create_dir_all(r.path().join("crates/globset")).expect("mkdir");
    r.git(&["mv", "globset/LICENSE", "crates/cli/LICENSE"]);
    r.git(&["mv", "grep/LICENSE", "crates/globset/LICENSE"]);
    r.git(&["commit", "-qm", "move the licenses"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "clean");
}

#[test]
fn deferred_directories_are_visited_in_git_hash_table_order() {
    // The base moves two identical files into two new directories, `alpha/` and `beta/`, and
    // adds `beta/new.txt`; the branch adds `grep/new.txt`. Which new directory `grep/` was
    // renamed to decides whether the branch's file lands on the base's: git visits new
    // directories in the order of its hash map (FNV-1 of the path, 64 buckets: `beta` in
    // bucket 23 before `alpha` in 27), not path order, so `grep/` → `beta/`, a conflict
    // (tokio's 51 "cannot be sure" branches had this shape).
    let mut r = two_licenses(Topic::AddsGrepFile);
    for dir in ["alpha", "beta"] {
        std::fs::create_dir_all(r.path().join(dir)).expect("mkdir");
    }
    r.git(&["mv", "globset/LICENSE", "alpha/LICENSE"]);
    r.git(&["mv", "grep/LICENSE", "beta/LICENSE"]);
    r.git(&["commit", "-qm", "move the licenses"]);
    r.commit_file("beta/new.txt", "the base's\n", "a new file too");
    let b = scan_and_compare(&r);
    assert_eq!(
        b["topic"]["conflicts"]["paths"],
        serde_json::json!(["beta/new.txt"])
    );
}

#[test]
fn an_added_file_moves_onto_a_path_the_other_side_added() {
    // The branch adds stream/try_next.rs; main moved stream/ to stream_ext/ and added its own
    // stream_ext/try_next.rs: git moves the branch's file there (add/add), so that path
    // conflicts (tokio pr/2005).
    let mut r = with_files(&[
        ("stream/map.rs", numbered("map", 20)),
        ("stream/next.rs", numbered("next", 20)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file(
        "stream/try_next.rs",
        &numbered("topic try_next", 8),
        "try_next",
    );
    r.git(&["checkout", "-q", "main"]);
    r.git(&["mv", "stream", "stream_ext"]);
    r.commit_file(
        "stream_ext/try_next.rs",
        &numbered("main try_next", 8),
        "main's try_next",
    );
    let b = scan_and_compare(&r);
    assert_eq!(
        b["topic"]["conflicts"]["paths"],
        serde_json::json!(["stream_ext/try_next.rs"])
    );
}

#[test]
fn a_rename_into_a_renamed_directory_meets_the_other_sides_rename() {
    // The branch renames old/tinyhttp.rs into examples/; main moved examples/ to top/ and
    // old/tinyhttp.rs to top/tinyhttp.rs. After the directory rename both renamed the file to
    // one path: one content conflict there, no rename/rename (tokio pr/1372).
    let text = numbered("tinyhttp", 30);
    let mut r = with_files(&[
        ("old/tinyhttp.rs", text.clone()),
        ("examples/a.rs", numbered("a", 20)),
        ("examples/b.rs", numbered("b", 20)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.git(&["rm", "-q", "old/tinyhttp.rs"]);
    r.commit_file(
        "examples/tinyhttp.rs",
        &text.replace("line 5\n", "line 5 (topic)\n"),
        "move it to examples",
    );
    r.git(&["checkout", "-q", "main"]);
    r.git(&["mv", "examples", "top"]);
    r.git(&["rm", "-q", "old/tinyhttp.rs"]);
    r.commit_file(
        "top/tinyhttp.rs",
        &text.replace("line 5\n", "line 5 (main)\n"),
        "move examples and tinyhttp",
    );
    let b = scan_and_compare(&r);
    assert_eq!(
        b["topic"]["conflicts"]["paths"],
        serde_json::json!(["top/tinyhttp.rs"])
    );
}

#[test]
fn renames_are_paired_by_git_similarity_before_merging() {
    // Every line of the renamed file changed at its start: a 62% rename to git, none to a
    // line diff. The branch's edit follows the rename to the new path (tokio pr/2223).
    let stamped = |path: &str, edit: &str| -> String {
        (0..12)
            .map(|i| {
                if i == 6 {
                    format!("{path} line {i} {edit}\n")
                } else {
                    format!("{path} line {i} version 0\n")
                }
            })
            .collect()
    };
    let mut r = with_files(&[("src/d4/f8292.txt", stamped("src/d4/f8292.txt", "version 0"))]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file(
        "src/d4/f8292.txt",
        &stamped("src/d4/f8292.txt", "edited"),
        "edit",
    );
    r.git(&["checkout", "-q", "main"]);
    r.git(&["rm", "-q", "src/d4/f8292.txt"]);
    r.commit_file(
        "src/d29/f10463.txt",
        &stamped("src/d29/f10463.txt", "version 0"),
        "rename and rewrite",
    );
    scan_and_compare(&r);
}

#[test]
fn both_sides_reaching_one_version_through_a_rename_merge_cleanly() {
    // main renames and edits a file; the branch makes the same edit in place: the merge keeps
    // main's file (gix's merge asserted here in debug builds: ripgrep pr/1341).
    let text = numbered("glob", 30);
    let edited = text.replace("line 7\n", "line 7 (edited)\n");
    let mut r = with_files(&[
        ("globset/glob.rs", text.clone()),
        ("other", numbered("o", 3)),
    ]);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file("globset/glob.rs", &edited, "edit in place");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["rm", "-q", "globset/glob.rs"]);
    r.commit_file("crates/globset/glob.rs", &edited, "move and edit");
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "clean");
    assert_eq!(b["topic"]["squash_merged"], true);
}

#[test]
fn deferred_directories_past_git_first_table_size_keep_its_order() {
    // As above with 60 new directories and 59 untouched old ones: git's map of deferred
    // directories grows from 64 to 256 buckets after 51 entries, re-chaining them.
    let license = numbered("license", 12);
    let old: Vec<String> = (0..60).map(|i| format!("old{i}/LICENSE")).collect();
    let mut files: Vec<(&str, String)> =
        old.iter().map(|p| (p.as_str(), license.clone())).collect();
    files.push(("grep/LICENSE", license.clone()));
    files.push(("other", numbered("other", 3)));
    let mut r = with_files(&files);
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.commit_file("grep/new.txt", "the branch's\n", "a new file");
    r.git(&["checkout", "-q", "main"]);
    let sources = old.iter().map(String::as_str).chain(["grep/LICENSE"]);
    for (i, source) in sources.enumerate() {
        let dir = format!("new{i}");
        std::fs::create_dir_all(r.path().join(&dir)).expect("mkdir");
        r.git(&["mv", source, &format!("{dir}/LICENSE")]);
        std::fs::write(r.path().join(&dir).join("new.txt"), "the base's\n").expect("write");
        r.git(&["add", &format!("{dir}/new.txt")]);
    }
    r.git(&["commit", "-qm", "move every license"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "conflicts");
}

#[test]
fn identical_files_pair_in_the_order_git_visits_them() {
    // globset/LICENSE and grep/LICENSE are identical; main keeps one copy at
    // crates/grep/LICENSE and deletes the other. git visits directories the branch did not
    // touch (globset/) after the others, so grep/LICENSE, which the branch edited, is the one
    // renamed and the edit follows it (ripgrep pr/1489).
    let r = two_licenses(Topic::EditsGrepLicense);
    std::fs::create_dir_all(r.path().join("crates/grep")).expect("mkdir");
    r.git(&["mv", "grep/LICENSE", "crates/grep/LICENSE"]);
    r.git(&["rm", "-q", "globset/LICENSE"]);
    r.git(&["commit", "-qm", "one license"]);
    let b = scan_and_compare(&r);
    assert_eq!(b["topic"]["conflicts"]["verdict"], "clean");
}

/// tokio: merge bases that have no common ancestor of their own (two histories joined twice,
/// criss-cross). git's merge-ort merges them with the empty tree as their ancestor; gix's
/// virtual merge base refused ("No common ancestor"), so Trellis answered `unknown`.
#[test]
fn merge_bases_without_a_common_ancestor_merge_over_the_empty_tree() {
    let mut repo = Repo::new();
    let lines: String = (1..=8).map(|i| format!("line {i}\n")).collect();
    repo.commit_file("a.txt", &lines, "root a");
    repo.git(&["checkout", "-q", "--orphan", "other"]);
    repo.git(&["rm", "-q", "-rf", "."]);
    repo.commit_file("b.txt", "b\n", "root b");
    // Both histories merged twice, each way: two merge bases (the roots), unrelated.
    repo.git(&["checkout", "-q", "-b", "topic", "other"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--allow-unrelated-histories",
        "-m",
        "join",
        "main",
    ]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "--allow-unrelated-histories",
        "-m",
        "join",
        "other",
    ]);
    repo.commit_file(
        "a.txt",
        &lines.replace("line 2\n", "main 2\n"),
        "main edits",
    );
    repo.git(&["checkout", "-q", "topic"]);
    repo.commit_file(
        "a.txt",
        &lines.replace("line 2\n", "topic 2\n"),
        "topic edits",
    );
    repo.git(&["checkout", "-q", "-b", "elsewhere", "topic~1"]);
    repo.commit_file("a.txt", &lines.replace("line 7\n", "else 7\n"), "far edit");
    repo.git(&["checkout", "-q", "main"]);
    let bases = repo.git(&["merge-base", "--all", "main", "topic"]);
    assert_eq!(bases.lines().count(), 2, "two merge bases: {bases}");
    let facts = scan_and_compare(&repo);
    assert_eq!(facts["topic"]["conflicts"]["verdict"], "conflicts");
    assert_eq!(facts["elsewhere"]["conflicts"]["verdict"], "clean");
}

/// tokio's `pr/5339` and `pr/5341`: two merge bases whose own merge conflicts. git keeps the
/// conflict, markers and all, in the virtual merge base, so a line each side resolved its own
/// way differs from that base on both sides and conflicts again; gix's virtual merge base
/// resolved it with one side's lines, and the outer merge then came out clean (git: 6 paths,
/// Trellis: 2).
#[test]
fn a_conflict_between_merge_bases_stays_in_the_virtual_base_as_in_git() {
    let mut repo = Repo::new();
    let lines: String = (1..=9).map(|i| format!("line {i}\n")).collect();
    repo.commit_file("f.txt", &lines, "start");
    repo.commit_file("g.txt", &lines, "another file");
    repo.git(&["branch", "a"]);
    repo.git(&["branch", "b"]);
    repo.git(&["checkout", "-q", "a"]);
    let a = lines.replace("line 3\n", "line A\n");
    repo.commit_file("f.txt", &a, "a");
    repo.git(&["checkout", "-q", "b"]);
    let b = lines.replace("line 3\n", "line B\n");
    repo.commit_file("f.txt", &b, "b");
    // Criss-cross: main merges b into a keeping a's line, topic merges a into b keeping b's.
    let resolve = |repo: &mut Repo, branch: &str, from: &str, other: &str, keep: &str| {
        repo.git(&["checkout", "-q", "-b", branch, from]);
        let out = repo.git_output(&["merge", "-q", "--no-ff", "-m", "criss", other]);
        assert!(
            !out.status.success(),
            "the merge of {other} should conflict"
        );
        std::fs::write(repo.path().join("f.txt"), keep).unwrap();
        repo.git(&["add", "f.txt"]);
        repo.git(&["commit", "-q", "--no-edit"]);
        repo.clock += 60;
    };
    resolve(&mut repo, "x", "a", "b", &a);
    resolve(&mut repo, "topic", "b", "a", &b);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["reset", "-q", "--hard", "x"]);
    repo.commit_file(
        "g.txt",
        &lines.replace("line 8\n", "main 8\n"),
        "main moves on",
    );
    repo.git(&["branch", "-D", "x"]);
    repo.git(&["checkout", "-q", "topic"]);
    repo.commit_file("h.txt", "new\n", "topic moves on");
    repo.git(&["checkout", "-q", "main"]);
    let bases = repo.git(&["merge-base", "--all", "main", "topic"]);
    assert_eq!(bases.lines().count(), 2, "two merge bases: {bases}");
    let facts = scan_and_compare(&repo);
    assert_eq!(
        facts["topic"]["conflicts"]["paths"],
        Value::from(vec!["f.txt"])
    );
}

/// git/git `pr/1000` (and 23 more): the branch only renames a file the base changed since. git's
/// merge moves the base's version to the new name, so the result is not the base's tree; the
/// reduced trees, built from the base's changes already moved to the new name, agreed with each
/// other, and Trellis called the branch squash-merged — safe to delete, wrongly.
#[test]
fn a_branch_renaming_a_file_the_base_changed_is_not_squash_merged() {
    let mut repo = Repo::new();
    let lines: String = (1..=30)
        .map(|i| format!("line {i} of the notes\n"))
        .collect();
    repo.commit_file("INSTALL", &lines, "start");
    repo.commit_file("other.txt", "other\n", "another file");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.git(&["mv", "INSTALL", "Readme.md"]);
    repo.git(&["commit", "-q", "-m", "rename"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file(
        "INSTALL",
        &lines.replace("line 3 of", "line three of"),
        "edit",
    );
    let facts = scan_and_compare(&repo);
    assert_eq!(facts["topic"]["squash_merged"], false);
    assert_eq!(facts["topic"]["conflicts"]["verdict"], "clean");
}

/// git/git `pr/358`: `RelNotes` was a symlink that the base re-pointed and the branch replaced
/// with a regular file. git cannot merge entries of distinct types: it keeps the symlink at the
/// path and moves the regular file to `RelNotes~pr_358` (the side's name, `/` as `_`), and lists
/// both; Trellis listed only `RelNotes`. Both directions, in one branch.
#[test]
fn entries_of_distinct_types_at_one_path_are_moved_apart_as_in_git() {
    let mut repo = Repo::new();
    repo.commit_file("notes/1.txt", "one\n", "notes");
    for link in ["RelNotes", "Latest"] {
        std::os::unix::fs::symlink("notes/1.txt", repo.path().join(link)).expect("symlink");
    }
    repo.commit_file("keep.txt", "keep\n", "links");
    repo.git(&["checkout", "-q", "-b", "pr/358"]);
    std::fs::remove_file(repo.path().join("RelNotes")).expect("rm");
    std::fs::remove_file(repo.path().join("Latest")).expect("rm");
    std::os::unix::fs::symlink("notes/2.txt", repo.path().join("Latest")).expect("symlink");
    repo.commit_file("RelNotes", "the notes, inline\n", "a file, no link");
    repo.git(&["checkout", "-q", "main"]);
    std::fs::remove_file(repo.path().join("RelNotes")).expect("rm");
    std::fs::remove_file(repo.path().join("Latest")).expect("rm");
    std::os::unix::fs::symlink("notes/2.txt", repo.path().join("RelNotes")).expect("symlink");
    repo.commit_file("Latest", "latest, inline\n", "re-point, and a file");
    let facts = scan_and_compare(&repo);
    assert_eq!(
        facts["pr/358"]["conflicts"]["paths"],
        Value::from(vec!["Latest", "Latest~main", "RelNotes", "RelNotes~pr_358"])
    );
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// git/git's workflow in small: topics fork from `main`, edit three text files and a symlink,
/// are merged into `next` and later into `main` (conflicts resolved each their own way), `main`
/// is merged into `next` now and then, and branches fork from `next`. Such a branch has many
/// merge bases with `main` (the topics in both), which conflict with one another and have
/// several merge bases of their own. Returns the repository and the most merge bases any
/// branch has with `main`.
fn tangled_history(seed: u64, steps: usize) -> (Repo, usize) {
    const FILES: [&str; 3] = ["a.txt", "b.txt", "c.txt"];
    let mut rng = Rng(seed);
    let mut repo = Repo::new();
    for file in FILES {
        let text: String = (1..=8).map(|i| format!("{file} line {i}\n")).collect();
        std::fs::write(repo.path().join(file), text).expect("write");
    }
    std::os::unix::fs::symlink("a.txt", repo.path().join("link")).expect("symlink");
    repo.commit_file("keep.txt", "keep\n", "start");
    repo.git(&["branch", "next"]);
    let edit = |repo: &mut Repo, rng: &mut Rng, what: &str| {
        // The clock makes every edit a change.
        let what = &format!("{what} at {}", repo.clock);
        if rng.below(6) == 0 {
            let link = repo.path().join("link");
            std::fs::remove_file(&link).expect("rm link");
            let target = FILES[rng.below(3) as usize];
            std::os::unix::fs::symlink(format!("{target}#{what}"), &link).expect("symlink");
        } else {
            let file = FILES[rng.below(3) as usize];
            edit_line(repo, rng, file, what);
        }
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", what]);
        repo.clock += 60;
    };
    let merge = |repo: &mut Repo, rng: &mut Rng, into: &str, what: &str| {
        repo.git(&["checkout", "-q", into]);
        let message = format!("merge {what} into {into}");
        let out = repo.git_output(&["merge", "-q", "--no-ff", "-m", &message, what]);
        if !out.status.success() {
            let unmerged = repo.git(&["diff", "--name-only", "--diff-filter=U"]);
            for path in unmerged.lines() {
                let side = if rng.below(2) == 0 {
                    "--ours"
                } else {
                    "--theirs"
                };
                repo.git(&["checkout", side, "--", path]);
                if path != "link" && rng.below(2) == 0 {
                    edit_line(repo, rng, path, &format!("{message}, resolved"));
                }
            }
            repo.git(&["add", "-A"]);
            repo.git(&["commit", "-q", "--no-edit"]);
        }
        repo.clock += 60;
    };
    let (mut topics, mut in_next) = (Vec::new(), Vec::new());
    for step in 0..steps {
        match rng.below(10) {
            0..=3 => {
                let topic = format!("topic-{step}");
                repo.git(&["checkout", "-q", "-b", &topic, "main"]);
                for _ in 0..1 + rng.below(2) {
                    edit(&mut repo, &mut rng, &format!("{topic} edit"));
                }
                topics.push(topic);
            }
            4..=6 if !topics.is_empty() => {
                let topic = topics.swap_remove(rng.below(topics.len() as u64) as usize);
                merge(&mut repo, &mut rng, "next", &topic);
                in_next.push(topic);
            }
            7 | 8 if !in_next.is_empty() => {
                let topic = in_next.swap_remove(rng.below(in_next.len() as u64) as usize);
                merge(&mut repo, &mut rng, "main", &topic);
                repo.git(&["branch", "-q", "-D", &topic]);
            }
            _ => merge(&mut repo, &mut rng, "next", "main"),
        }
        if step % 5 == 4 {
            let branch = format!("pr-{step}");
            repo.git(&["checkout", "-q", "-b", &branch, "next"]);
            edit(&mut repo, &mut rng, &format!("{branch} edit"));
        }
    }
    repo.git(&["checkout", "-q", "main"]);
    let most = repo
        .git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"])
        .lines()
        .filter(|b| *b != "main")
        .map(|b| {
            repo.git(&["merge-base", "--all", "main", b])
                .lines()
                .count()
        })
        .max()
        .unwrap_or(0);
    (repo, most)
}

/// Sets a random line of `file` to `text`.
fn edit_line(repo: &Repo, rng: &mut Rng, file: &str, text: &str) {
    let path = repo.path().join(file);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .map(String::from)
        .collect();
    let at = rng.below(lines.len() as u64) as usize;
    lines[at] = text.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
}

/// git/git `pr/151`, `pr/1192` and six more: branches with dozens of merge bases that conflict
/// with one another. git merges them as merge-ort does — oldest first, every merge of the loop
/// at depth 1 (markers of 9 characters), the merge bases of two merge bases merged one level
/// deeper by the same rules, text by git's algorithm with markers kept — and gix's virtual merge
/// base lengthened the markers at each merge, merged the deeper levels its own way (text
/// resolved with "ours") and its text with its own diff, so conflict paths differed.
#[test]
fn merge_bases_merge_among_themselves_as_in_git() {
    let mut most = 0;
    for seed in [
        0x9e37_79b9_7f4a_7c15,
        0x2545_f491_4f6c_dd1d,
        0x5851_f42d_4c95_7f2d,
    ] {
        let (repo, bases) = tangled_history(seed, 80);
        most = most.max(bases);
        scan_and_compare(&repo);
    }
    assert!(
        most >= 5,
        "the histories should have 5+ merge bases, not {most}"
    );
}

/// tokio's `pr/6234`: the branch only renames a file the way the base already renamed it. The
/// merge leaves the base as it is, so git calls the branch squash-merged; the fix for the branch
/// that renames a file the base *changed* (above) had made Trellis say it was not.
#[test]
fn a_branch_renaming_a_file_as_the_base_did_is_squash_merged() {
    let mut repo = Repo::new();
    let lines: String = (1..=30).map(|i| format!("budget line {i}\n")).collect();
    repo.commit_file("tests/coop_budger.rs", &lines, "start");
    repo.commit_file("other.txt", "other\n", "another file");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.git(&["mv", "tests/coop_budger.rs", "tests/coop_budget.rs"]);
    repo.git(&["commit", "-q", "-m", "fix the name"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["mv", "tests/coop_budger.rs", "tests/coop_budget.rs"]);
    repo.git(&["commit", "-q", "-m", "fix the name, on main"]);
    repo.commit_file("other.txt", "other, edited\n", "main moves on");
    let facts = scan_and_compare(&repo);
    assert_eq!(facts["topic"]["squash_merged"], true);
}

/// git/git `pr/1982`: a branch added a file named by a line of JavaScript. Such a name is
/// illegal on Windows (`:`), and gix refused to index the merged tree of any conflicting merge
/// with it, where git, which only lists paths, answers.
#[test]
fn a_path_illegal_on_windows_does_not_stop_a_conflicting_merge() {
    let mut repo = three_versions("a.txt", "one\n", "two\n", "three\n");
    repo.git(&["checkout", "-q", "topic"]);
    let name = "export function GET(request: Request) {   return new Response('Hello'); }";
    repo.commit_file(name, "x\n", "a file with an odd name");
    repo.git(&["checkout", "-q", "main"]);
    let facts = scan_and_compare(&repo);
    assert_eq!(
        facts["topic"]["conflicts"]["paths"],
        serde_json::json!(["a.txt"])
    );
}

/// git/git's `compat/fsmonitor/fsm-ipc-darwin.c` (5 branches) and tokio `pr/1766`, `pr/2387`,
/// `pr/4629`: the base renamed a file the branch changed, and the branch added a file at the
/// new path too. git merges the three versions of the renamed file, then that result with the
/// branch's file at the new path (an add/add: a conflict unless they are equal).
#[test]
fn a_rename_onto_a_path_the_other_side_added_merges_as_in_git() {
    let lines: String = (1..=20).map(|i| format!("ipc line {i}\n")).collect();
    let mut r = Repo::new();
    r.commit_file("ipc-darwin.c", &lines, "start");
    r.commit_file("other.txt", "other\n", "another file");
    let edited = lines.replace("ipc line 3\n", "ipc line 3, edited\n");
    for (name, added) in [
        ("differs", "a new unix file\n".to_string()),
        ("same", edited.clone()),
    ] {
        r.git(&["checkout", "-q", "-b", name, "main"]);
        r.commit_file("ipc-darwin.c", &edited, "edit");
        r.commit_file("ipc-unix.c", &added, "add");
    }
    r.git(&["checkout", "-q", "main"]);
    r.git(&["mv", "ipc-darwin.c", "ipc-unix.c"]);
    r.git(&["commit", "-q", "-m", "rename"]);
    r.commit_file("other.txt", "other, edited\n", "main moves on");
    let facts = scan_and_compare(&r);
    assert_eq!(
        facts["differs"]["conflicts"]["paths"],
        serde_json::json!(["ipc-unix.c"])
    );
    assert_eq!(facts["same"]["conflicts"]["verdict"], "clean");
}
