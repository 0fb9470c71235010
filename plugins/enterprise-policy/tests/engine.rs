//! The engine end to end: configuration errors with key paths, and every rule family over
//! inputs built here with known answers.

use std::path::Path;

use enterprise_policy::input::{
    AddedLines, Branch, BranchInput, ChangeStatus, Commit, CommitSignature, FileChange, FileMode,
    Person, RepoInput, SigKind,
};
use enterprise_policy::{Config, Severity, Violation, describe_rules, evaluate};

const DAY: i64 = 86_400;
const NOW: i64 = 1_700_000_000 + 400 * DAY;

fn config(text: &str) -> Config {
    Config::from_toml(text).unwrap_or_else(|e| panic!("config: {e}"))
}

fn config_error(text: &str) -> String {
    match Config::from_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn person(name: &str, time: i64) -> Person {
    Person {
        name: name.to_string(),
        email: format!("{}@example.com", name.to_lowercase()),
        time,
        offset: 0,
    }
}

fn branch(name: &str, age_days: i64) -> BranchInput {
    let time = NOW - age_days * DAY;
    BranchInput {
        branch: Branch {
            name: name.to_string(),
            reference: format!("refs/heads/{name}"),
            remote: false,
            tip: format!("{:0>40}", name.len()),
            ahead: 1,
            behind: 0,
            merged: false,
            merge_base: Some("b".repeat(40)),
            tip_author: person("Alice", time),
            tip_committer: person("Alice", time),
        },
        ..BranchInput::default()
    }
}

fn commit(id: &str, message: &str) -> Commit {
    Commit {
        id: id.to_string(),
        parents: vec!["p".repeat(40)],
        author: person("Alice", NOW - DAY),
        committer: person("Alice", NOW - DAY),
        message: message.to_string(),
        signature: None,
    }
}

fn repo(branches: Vec<BranchInput>) -> RepoInput {
    RepoInput {
        base: "main".into(),
        scan_time: NOW,
        branches,
        allowed_signers: None,
    }
}

fn on<'a>(found: &'a [Violation], branch: &str) -> Vec<&'a Violation> {
    found
        .iter()
        .filter(|v| v.branch.as_deref() == Some(branch))
        .collect()
}

#[test]
fn the_example_config_compiles_and_describes_every_rule() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("example.toml"))
        .unwrap_or_else(|e| panic!("example.toml: {e}"));
    let c = config(&text);
    let infos = describe_rules(&c);
    assert_eq!(infos.len(), 12);
    let kinds: std::collections::BTreeSet<_> = infos.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(kinds.len(), 12, "one rule of every family");
    for i in &infos {
        assert!(!i.summary.is_empty() && !i.help.is_empty(), "{i:?}");
    }
    // And runs over an empty repository: only the missing required branch.
    let found = evaluate(
        &c,
        &RepoInput {
            base: "develop".into(),
            ..RepoInput::default()
        },
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule_id, "protected");
    assert_eq!(found[0].data["missing"], "main");
}

#[test]
fn configuration_errors_name_the_key() {
    let cases = [
        (
            "[[rules]]\nid = \"a\"\nkind = \"dco\"\n[[rules]]\nid = \"b\"\nkind = \"branch-naming\"\npattern = \"(feature\"\n",
            "rules[1].pattern: regex parse error",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"nonsense\"\n",
            "rules[0].kind: unknown rule kind `nonsense`",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"stale-branch\"\ndays = \"ten\"\n",
            "rules[0].days: invalid type",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"stale-branch\"\ndays = 3\nday = 4\n",
            "rules[0].day: unknown field `day`, expected `days`",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"dco\"\nseverity = \"fatal\"\n",
            "rules[0].severity: unknown variant `fatal`",
        ),
        (
            "[[rules]]\nkind = \"dco\"\n",
            "rules[0]: missing field `id`",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"dco\"\n[[rules]]\nid = \"a\"\nkind = \"dco\"\n",
            "rules[1].id: duplicate rule id",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"forbidden-paths\"\npaths = [\"a/[b\"]\n",
            "rules[0].paths[0]: glob",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"signed-commits\"\nkinds = [\"pgp\"]\n",
            "rules[0].kinds[0]: unknown signature kind",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"ahead-behind\"\n",
            "rules[0]: ahead-behind needs",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"dco\"\nbranches = 3\n",
            "rules[0].branches",
        ),
        ("rule = []\n", "unknown field `rule`"),
        ("[[rules]\n", "config: "),
        (
            "[[rules]]\nid = \"s\"\nkind = \"secrets\"\n[secrets]\ngitleaks_config = \"\"\"\n[[rules]]\nid = 'x'\nregex = '(x'\n\"\"\"\n",
            "secrets.gitleaks_config.rules[0].regex: regex parse error",
        ),
        (
            "[[rules]]\nid = \"s\"\nkind = \"secrets\"\ngitleaks_config = \"[[rules]]\\nid = 'x'\\nregex = 'x'\\nsecretGroup = 1\\n\"\n",
            "rules[0].gitleaks_config.rules[0].secretGroup: group 1 does not exist",
        ),
        (
            "[[rules]]\nid = \"a\"\nkind = \"signed-commits\"\nallowed_signers = \"alice bad=1 ssh-ed25519 AAAA\"\n",
            "rules[0].allowed_signers: line 1",
        ),
    ];
    for (text, expected) in cases {
        let err = config_error(text);
        assert!(
            err.starts_with(expected) || err.contains(expected),
            "{text:?}\n  got: {err}\n  expected: {expected}"
        );
    }
}

#[test]
fn branch_rules() {
    let c = config(
        r#"
[[rules]]
id = "protect"
kind = "protected-branches"
patterns = ["release/*"]
required = ["main", "develop"]

[[rules]]
id = "names"
kind = "branch-naming"
severity = "warning"
exclude = ["release/*"]
prefixes = ["feature/", "fix/"]
pattern = '^[a-z]+/[a-z0-9-]+$'

[[rules]]
id = "drift"
kind = "ahead-behind"
max_ahead = 10
max_behind = 20

[[rules]]
id = "stale"
kind = "stale-branch"
severity = "info"
days = 90

[[rules]]
id = "old"
kind = "unmerged-old"
days = 180
"#,
    );
    let good = branch("feature/login", 1);
    let mut bad_name = branch("Feature/Login_Page", 1);
    bad_name.branch.ahead = 11;
    bad_name.branch.behind = 21;
    let stale = branch("fix/old-thing", 100);
    let protected_stale = branch("release/1.0", 400);
    let mut old = branch("feature/ancient", 10);
    old.commits = vec![{
        let mut c = commit("a".repeat(40).as_str(), "feat: start");
        c.committer.time = NOW - 200 * DAY;
        c.author.time = NOW - 200 * DAY;
        c
    }];
    let mut merged_old = branch("fix/merged", 300);
    merged_old.branch.merged = true;
    let mut remote = branch("origin/develop", 1);
    remote.branch.remote = true;
    let found = evaluate(
        &c,
        &repo(vec![
            good,
            bad_name,
            stale,
            protected_stale,
            old,
            merged_old,
            remote,
        ]),
    );
    let ids = |b: &str| {
        on(&found, b)
            .iter()
            .map(|v| v.rule_id.clone())
            .collect::<Vec<_>>()
    };
    assert!(ids("feature/login").is_empty(), "{found:#?}");
    assert_eq!(ids("Feature/Login_Page"), vec!["names", "drift", "drift"]);
    let names = on(&found, "Feature/Login_Page")[0];
    assert_eq!(names.severity, Severity::Warning);
    assert!(
        names.message.contains("does not match") && names.message.contains("starts with none of")
    );
    assert_eq!(ids("fix/old-thing"), vec!["stale"]);
    assert_eq!(on(&found, "fix/old-thing")[0].data["age-days"], "100");
    // Protected: exempt from the cleanup rules (stale, unmerged-old), not from the others.
    assert!(ids("release/1.0").is_empty(), "{:?}", ids("release/1.0"));
    assert_eq!(ids("feature/ancient"), vec!["old"]);
    assert_eq!(ids("fix/merged"), vec!["stale"]);
    // `develop` exists as a remote-tracking branch; `main` is missing (the base is `main`, so
    // it counts as existing).
    let missing: Vec<_> = found.iter().filter(|v| v.rule_id == "protect").collect();
    assert!(missing.is_empty(), "{missing:?}");
    let mut r = repo(vec![]);
    r.base = "trunk".into();
    let found = evaluate(&c, &r);
    let missing: Vec<_> = found.iter().map(|v| v.data["missing"].clone()).collect();
    assert_eq!(missing, vec!["main", "develop"]);
    assert!(found.iter().all(|v| v.branch.is_none()));
}

#[test]
fn glob_branch_naming_and_branch_filters() {
    let c = config(
        r#"
[[rules]]
id = "names"
kind = "branch-naming"
glob = ["feature/*", "hotfix/**"]

[[rules]]
id = "only-features-stale"
kind = "stale-branch"
branches = "feature/**"
days = 1
cleanup = false
"#,
    );
    let found = evaluate(
        &c,
        &repo(vec![
            branch("feature/a", 5),
            branch("feature/a/b", 5),
            branch("hotfix/x/y", 5),
            branch("other", 5),
        ]),
    );
    let pairs: Vec<(String, String)> = found
        .iter()
        .map(|v| (v.rule_id.clone(), v.branch.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("names".into(), "feature/a/b".into()),
            ("names".into(), "other".into()),
            ("only-features-stale".into(), "feature/a".into()),
            ("only-features-stale".into(), "feature/a/b".into()),
        ]
    );
}

#[test]
fn conventional_commits_and_dco() {
    let c = config(
        r#"
[[rules]]
id = "cc"
kind = "conventional-commits"
warnings = true

[[rules]]
id = "dco"
kind = "dco"
severity = "warning"
"#,
    );
    let mut b = branch("feature/x", 1);
    let signed_off = "\n\nSigned-off-by: Alice <alice@example.com>";
    b.commits = vec![
        commit(
            &"1".repeat(40),
            &format!("feat(api): add endpoint{signed_off}"),
        ),
        commit(&"2".repeat(40), "Added stuff."),
        commit(
            &"3".repeat(40),
            "fix: x\nno blank line\n\nSigned-off-by: Bob <bob@example.com>",
        ),
        {
            let mut m = commit(&"4".repeat(40), "Merge branch 'main' into feature/x");
            m.parents.push("q".repeat(40));
            m
        },
    ];
    let found = evaluate(&c, &repo(vec![b]));
    let summary: Vec<(String, String, String)> = found
        .iter()
        .map(|v| {
            (
                v.rule_id.clone(),
                v.commit.clone().unwrap_or_default()[..1].to_string(),
                v.data.get("commitlint-rules").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "cc".into(),
                "2".into(),
                "subject-empty,subject-full-stop,type-empty".into()
            ),
            ("cc".into(), "3".into(), "body-leading-blank".into()),
            ("dco".into(), "2".into(), String::new()),
            ("dco".into(), "3".into(), String::new()),
        ]
    );
    assert_eq!(found[1].severity, Severity::Warning);
    assert!(
        found[3].message.contains("not signed off by its author"),
        "{}",
        found[3].message
    );
}

/// A real commit signed by `git commit -S` with `gpg.format=ssh`: (payload, armored signature).
fn signed_fixture() -> (Vec<u8>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let raw = std::fs::read_to_string(dir.join("ssh-signed-commit.txt"))
        .unwrap_or_else(|e| panic!("fixture: {e}"));
    let mut payload = String::new();
    let mut armored = String::new();
    let mut in_sig = false;
    let mut in_headers = true;
    for line in raw.split_inclusive('\n') {
        if in_headers && line.starts_with("gpgsig ") {
            in_sig = true;
            armored.push_str(&line["gpgsig ".len()..]);
            continue;
        }
        if in_sig && line.starts_with(' ') {
            armored.push_str(&line[1..]);
            continue;
        }
        in_sig = false;
        if line == "\n" {
            in_headers = false;
        }
        payload.push_str(line);
    }
    (payload.into_bytes(), armored)
}

fn signers(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("fixture: {e}"))
}

#[test]
fn signed_commits_verify_ssh_signatures() {
    let (payload, armored) = signed_fixture();
    let sig = CommitSignature {
        kind: SigKind::from_armor(&armored),
        armored,
        payload,
    };
    assert_eq!(sig.kind, SigKind::Ssh);
    let signed = |id: &str, s: CommitSignature| {
        let mut c = commit(id, "feat: signed commit");
        c.committer.time = 1_700_000_000;
        c.signature = Some(s);
        c
    };
    let mut tampered = sig.clone();
    tampered.payload.extend_from_slice(b"extra\n");
    let mut b = branch("feature/signed", 1);
    b.commits = vec![
        signed(&"1".repeat(40), sig.clone()),
        signed(&"2".repeat(40), tampered),
        commit(&"3".repeat(40), "feat: unsigned"),
    ];
    let rule = "[[rules]]\nid = \"sig\"\nkind = \"signed-commits\"\n";
    let c = config(rule);
    let mut r = repo(vec![b.clone()]);
    r.allowed_signers = Some(signers("allowed_signers"));
    let found = evaluate(&c, &r);
    let msgs: Vec<(char, &str)> = found
        .iter()
        .map(|v| {
            (
                v.commit
                    .as_deref()
                    .unwrap_or("?")
                    .chars()
                    .next()
                    .unwrap_or('?'),
                v.message.as_str(),
            )
        })
        .collect();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    assert_eq!(msgs[0].0, '2');
    assert!(msgs[0].1.contains("bad signature"), "{}", msgs[0].1);
    assert_eq!(msgs[1].0, '3');
    assert!(msgs[1].1.contains("is not signed"));

    // Another team's signers: the key is unknown.
    r.allowed_signers = Some(signers("other_signers"));
    let found = evaluate(&c, &r);
    assert!(
        found[0].message.contains("is not an allowed signer"),
        "{}",
        found[0].message
    );
    // No signers at all: cannot verify.
    r.allowed_signers = None;
    let found = evaluate(&c, &r);
    assert!(
        found[0].message.contains("no allowed signers"),
        "{}",
        found[0].message
    );
    // Inline signers with a namespace that excludes git, or a validity that ended before.
    let line = signers("allowed_signers");
    let key = line.split_once(' ').map(|x| x.1).unwrap_or_default();
    let key = key.split_once(' ').map(|x| x.1).unwrap_or_default().trim();
    for (options, why) in [
        ("namespaces=\"file\"", "excludes git"),
        ("valid-before=\"20200101\"", "valid-before"),
        ("valid-after=\"20300101\"", "valid-after"),
    ] {
        let text = format!("{rule}allowed_signers = '''alice@example.com {options} {key}'''\n");
        let found = evaluate(&config(&text), &repo(vec![b.clone()]));
        assert!(
            found[0].message.contains(why),
            "{options}: {}",
            found[0].message
        );
    }
    // Kinds: only GPG allowed.
    let c = config(&format!("{rule}kinds = [\"gpg\"]\nrequire = false\n"));
    let found = evaluate(&c, &repo(vec![b]));
    assert_eq!(found.len(), 2);
    assert!(
        found[0]
            .message
            .contains("is signed with ssh (allowed: gpg)")
    );
}

fn change(path: &str, size: u64) -> FileChange {
    FileChange {
        path: path.to_string(),
        status: ChangeStatus::Added,
        mode: FileMode::Regular,
        size: Some(size),
        binary: false,
        lfs_pointer: None,
        blob: Some(format!("{:0>40}", size)),
        commit: Some(format!("{:c>40}", size)),
    }
}

#[test]
fn change_rules() {
    let c = config(
        r#"
[[rules]]
id = "forbidden"
kind = "forbidden-paths"
paths = ["*.pem", "secrets/**"]
allow = ["tests/**"]

[[rules]]
id = "size"
kind = "file-size"
max_bytes = 1000
lfs_max_bytes = 1000000

[[rules]]
id = "binary"
kind = "binary-files"
allow = ["*.png"]
"#,
    );
    let mut b = branch("feature/files", 1);
    let mut lfs_small = change("assets/video.mp4", 130);
    lfs_small.lfs_pointer = Some(500_000);
    let mut lfs_big = change("assets/huge.bin", 130);
    lfs_big.lfs_pointer = Some(5_000_000);
    let mut bin = change("tool.exe", 10);
    bin.binary = true;
    let mut png = change("logo.png", 10);
    png.binary = true;
    let mut deleted = change("old/key.pem", 10);
    deleted.status = ChangeStatus::Deleted;
    let mut renamed = change("secrets/prod.txt", 10);
    renamed.status = ChangeStatus::Renamed {
        from: "notes.txt".into(),
    };
    b.changes = vec![
        change("deploy/key.pem", 10),
        change("tests/fixtures/key.pem", 10),
        renamed,
        change("data/dump.sql", 5000),
        lfs_small,
        lfs_big,
        bin,
        png,
        deleted,
    ];
    let found = evaluate(&c, &repo(vec![b]));
    let got: Vec<(String, String)> = found
        .iter()
        .map(|v| (v.rule_id.clone(), v.path.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("forbidden".into(), "deploy/key.pem".into()),
            ("forbidden".into(), "secrets/prod.txt".into()),
            ("size".into(), "data/dump.sql".into()),
            ("size".into(), "assets/huge.bin".into()),
            ("binary".into(), "tool.exe".into()),
        ]
    );
    assert!(found[1].message.contains("renames notes.txt to"));
    assert_eq!(found[3].data["lfs-size"], "5000000");
}

#[test]
fn secrets_through_the_engine() {
    let c =
        config("[[rules]]\nid = \"secrets\"\nkind = \"secrets\"\nexclude = \"dependabot/**\"\n");
    // A token built at run time (see tests/secrets.rs).
    let token: String = format!(
        "glpat-{}",
        "Zq3vK8mW1xR7tY2uP9sL".chars().rev().collect::<String>()
    );
    let lines = AddedLines {
        path: "ci/deploy.sh".into(),
        blob: "1234".into(),
        commit: Some("c".repeat(40)),
        lines: vec![(7, "set -e".into()), (8, format!("export TOKEN={token}"))],
    };
    let mut a = branch("feature/a", 1);
    a.added = vec![lines.clone()];
    let mut b = branch("feature/b", 1);
    b.added = vec![lines.clone()];
    let mut skipped = branch("dependabot/npm", 1);
    skipped.added = vec![lines];
    let found = evaluate(&c, &repo(vec![a, b, skipped]));
    assert_eq!(found.len(), 2, "{found:#?}");
    for (v, name) in found.iter().zip(["feature/a", "feature/b"]) {
        assert_eq!(v.branch.as_deref(), Some(name));
        assert_eq!(v.path.as_deref(), Some("ci/deploy.sh"));
        assert_eq!(v.line, Some(8));
        assert_eq!(v.commit.as_deref(), Some("c".repeat(40).as_str()));
        assert_eq!(v.kind, "secrets");
        assert_eq!(v.data["secret-rule"], "gitlab-pat");
        assert!(!v.message.contains(&token) && v.data.values().all(|d| !d.contains(&token)));
    }
}

#[test]
fn the_readme_examples_compile() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let mut blocks = 0;
    for block in readme.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap_or_default();
        if let Err(e) = Config::from_toml(text) {
            panic!("README block does not compile: {e}\n{text}");
        }
        blocks += 1;
    }
    assert_eq!(blocks, 2);
}

#[test]
fn a_configuration_handed_over_as_json_compiles() {
    // The host gives the plugin its configuration as JSON (manifest defaults and the user's).
    let json = r#"{"rules": [{"id": "stale", "kind": "stale-branch", "days": 30, "severity": "warning"}],
                   "secrets": {"use_default": true}}"#;
    let value: toml::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    let c = Config::from_value(value).unwrap_or_else(|e| panic!("{e}"));
    let found = evaluate(&c, &repo(vec![branch("feature/x", 31)]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Warning);
    let bad: toml::Value =
        serde_json::from_str(r#"{"rules": [{"id": "s", "kind": "stale-branch", "days": -1}]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    let err = Config::from_value(bad).map(|_| ()).unwrap_err().to_string();
    assert!(err.starts_with("rules[0].days:"), "{err}");
}
