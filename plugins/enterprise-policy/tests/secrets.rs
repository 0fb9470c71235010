//! The default secret rules (true and false positives for every rule), the gitleaks format
//! (custom rules, allowlists, extension, errors with key paths), redaction, and a 10 MB scan.
//!
//! Token-shaped test values are generated at run time from a fixed seed, so that the repository
//! holds no string that looks like a live credential to other scanners.

use std::collections::BTreeSet;

use enterprise_policy::input::AddedLines;
use enterprise_policy::secrets::{ScanCache, Scanner, redact, shannon_entropy};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick(&mut self, charset: &str, len: usize) -> String {
        let chars: Vec<char> = charset.chars().collect();
        (0..len)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const HEX: &str = "0123456789abcdef";
const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn added(path: &str, lines: &[&str]) -> AddedLines {
    AddedLines {
        path: path.to_string(),
        blob: String::new(),
        commit: Some("c0ffee".into()),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i as u32 + 1, l.to_string()))
            .collect(),
    }
}

fn rules_found(scanner: &Scanner, path: &str, text: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = text.lines().collect();
    scanner
        .scan(&added(path, &lines))
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

fn scanner() -> Scanner {
    Scanner::default_rules().unwrap_or_else(|e| panic!("default rules: {e}"))
}

/// (rule, true positives, false positives) for every default rule.
fn cases(rng: &mut Rng) -> Vec<(&'static str, Vec<String>, Vec<String>)> {
    let git_hash = "9fceb02d0ae598e95dc970b74767f19372d61af8";
    let uuid = "550e8400-e29b-41d4-a716-446655440000";
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    vec![
        (
            "aws-access-key-id",
            vec![
                format!("aws_access_key_id = AKIA{}", rng.pick(UPPER32, 16)),
                format!("\"AccessKeyId\": \"ASIA{}\",", rng.pick(UPPER32, 16)),
            ],
            vec![
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into(),
                "key = AKIAAAAAAAAAAAAAAAAA".into(),
                format!("commit {git_hash}"),
                "AKIA is the prefix of long-term keys".into(),
            ],
        ),
        (
            "aws-secret-access-key",
            vec![
                format!("aws_secret_access_key = {}", rng.pick(B64, 40)),
                format!("AWS_SECRET_ACCESS_KEY: \"{}\"", rng.pick(B64, 40)),
            ],
            vec![
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                format!("aws_secret_hash = \"{git_hash}\""),
                format!("aws_region = \"{}\"", rng.pick(B64, 40)),
            ],
        ),
        (
            "gcp-service-account-key",
            vec![format!("  \"private_key_id\": \"{}\",", rng.pick(HEX, 40))],
            vec![
                "  \"private_key_id\": \"0000000000000000000000000000000000000000\",".into(),
                "  \"private_key_id\": \"<your key id>\",".into(),
            ],
        ),
        (
            "gcp-api-key",
            vec![format!("const KEY = \"AIza{}\";", rng.pick(B64URL, 35))],
            vec![
                "const KEY = \"AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\";".into(),
                format!("const KEY = \"AIza{}\";", rng.pick(ALNUM, 20)),
            ],
        ),
        (
            "azure-storage-account-key",
            vec![format!(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;EndpointSuffix=core.windows.net",
                rng.pick(B64, 86)
            )],
            vec![
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<account-key>".into(),
                format!("AccountKey={}==", "A".repeat(86)),
            ],
        ),
        (
            "github-token",
            ["ghp", "gho", "ghu", "ghs", "ghr"]
                .iter()
                .map(|p| format!("token: {p}_{}", rng.pick(ALNUM, 36)))
                .collect(),
            vec![
                format!("token: ghp_{}", "x".repeat(36)),
                format!("token: ghp_{}", rng.pick(ALNUM, 30)),
                format!("see commit {git_hash} and ghp_ prefixes"),
            ],
        ),
        (
            "github-fine-grained-pat",
            vec![format!(
                "GH_PAT=github_pat_{}_{}",
                rng.pick(ALNUM, 22),
                rng.pick(ALNUM, 59)
            )],
            vec![
                format!("github_pat_{}_{}", "X".repeat(22), "X".repeat(59)),
                "prefix github_pat_ documented".into(),
            ],
        ),
        (
            "gitlab-pat",
            vec![format!("export GITLAB_TOKEN=glpat-{}", rng.pick(B64URL, 20))],
            vec![
                "export GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx".into(),
                "tokens start with glpat-".into(),
            ],
        ),
        (
            "atlassian-api-token",
            vec![format!("JIRA_API_TOKEN=ATATT3{}", rng.pick(ALNUM, 180))],
            vec![
                format!("JIRA_API_TOKEN=ATATT3{}", "x".repeat(180)),
                "ATATT3 tokens are long".into(),
            ],
        ),
        (
            "bitbucket-app-password",
            vec![format!("password: ATBB{}", rng.pick(ALNUM, 32))],
            vec![format!("password: ATBB{}", "0".repeat(32)), "ATBB".into()],
        ),
        (
            "npm-token",
            vec![format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                rng.pick(ALNUM, 36)
            )],
            vec![
                format!("//registry.npmjs.org/:_authToken=npm_{}", "a".repeat(36)),
                "npm_config_cache=/tmp/npm".into(),
            ],
        ),
        (
            "pypi-token",
            vec![format!(
                "password = pypi-AgEIcHlwaS5vcmc{}",
                rng.pick(B64URL, 70)
            )],
            vec!["password = pypi-AgEIcHlwaS5vcmc...".into()],
        ),
        (
            "crates-io-token",
            vec![format!("CARGO_REGISTRY_TOKEN=cio{}", rng.pick(ALNUM, 32))],
            vec![
                format!("CARGO_REGISTRY_TOKEN=cio{}", "X".repeat(32)),
                "let precious = delicious_cioppino();".into(),
            ],
        ),
        (
            "docker-hub-pat",
            vec![format!("docker login -p dckr_pat_{}", rng.pick(B64URL, 27))],
            vec![format!("docker login -p dckr_pat_{}", "x".repeat(27))],
        ),
        (
            "slack-token",
            vec![
                format!(
                    "SLACK_BOT=xoxb-{}-{}-{}",
                    rng.pick("0123456789", 12),
                    rng.pick("0123456789", 13),
                    rng.pick(ALNUM, 24)
                ),
                format!(
                    "app = xapp-1-A{}-{}-{}",
                    rng.pick(UPNUM, 10),
                    rng.pick("0123456789", 13),
                    rng.pick("0123456789abcdef", 64)
                ),
            ],
            vec![
                "SLACK_BOT=xoxb-your-token-here".into(),
                "SLACK_BOT=xoxb-xxxxxxxxxx-xxxxxxxxxx".into(),
            ],
        ),
        (
            "slack-webhook",
            vec![format!(
                "url = \"https://hooks.slack.com/services/T{}/B{}/{}\"",
                rng.pick(UPNUM, 8),
                rng.pick(UPNUM, 8),
                rng.pick(ALNUM, 24)
            )],
            vec![
                "url = \"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\"".into(),
                "see https://hooks.slack.com/ for the format".into(),
            ],
        ),
        (
            "stripe-key",
            vec![
                format!("STRIPE_KEY=sk_live_{}", rng.pick(ALNUM, 24)),
                format!("rk_test_{}", rng.pick(ALNUM, 32)),
            ],
            vec![
                format!("STRIPE_KEY=sk_live_{}", "x".repeat(24)),
                "sk_live_ is the prefix".into(),
            ],
        ),
        (
            "twilio-api-key",
            vec![format!("TWILIO_API_KEY=SK{}", rng.pick(HEX, 32))],
            vec![
                format!("TWILIO_API_KEY=SK{}", "0".repeat(32)),
                "let sku = SKU12345; ask(disk);".into(),
            ],
        ),
        (
            "sendgrid-api-key",
            vec![format!(
                "SENDGRID_API_KEY=SG.{}.{}",
                rng.pick(B64URL, 22),
                rng.pick(B64URL, 43)
            )],
            vec![
                format!("SENDGRID_API_KEY=SG.{}.{}", "x".repeat(22), "x".repeat(43)),
                "msg.SG.send()".into(),
            ],
        ),
        (
            "openai-api-key",
            vec![format!(
                "OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}",
                rng.pick(B64URL, 40),
                rng.pick(B64URL, 40)
            )],
            vec![format!(
                "OPENAI_API_KEY=sk-{}T3BlbkFJ{}",
                "x".repeat(20),
                "x".repeat(20)
            )],
        ),
        (
            "anthropic-api-key",
            vec![format!(
                "ANTHROPIC_API_KEY=sk-ant-api03-{}AA",
                rng.pick(B64URL, 93)
            )],
            vec![
                format!("ANTHROPIC_API_KEY=sk-ant-api03-{}", "x".repeat(95)),
                "keys look like sk-ant-api03-...".into(),
            ],
        ),
        (
            "private-key",
            vec![format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n{}\n{}\n-----END OPENSSH PRIVATE KEY-----",
                rng.pick(B64, 70),
                rng.pick(B64, 70),
                rng.pick(B64, 40)
            )],
            vec![
                "if pem.starts_with(\"-----BEGIN PRIVATE KEY-----\") {".into(),
                "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".into(),
                format!(
                    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
                    rng.pick(B64, 64)
                ),
            ],
        ),
        (
            "jwt",
            vec![format!(
                "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
                rng.pick(B64URL, 60),
                rng.pick(B64URL, 43)
            )],
            vec![
                "header = \"eyJhbGciOiJIUzI1NiJ9\"".into(),
                format!("data:image/png;base64,{png}"),
            ],
        ),
        (
            "generic-secret-assignment",
            vec![
                format!("db_password = \"{}\"", rng.pick(ALNUM, 20)),
                format!("API_KEY={}", rng.pick(ALNUM, 32)),
                format!("  \"client_secret\": \"{}\",", rng.pick(B64URL, 32)),
            ],
            vec![
                "password = \"changeme123456\"".into(),
                "token = \"${GITHUB_TOKEN}\"".into(),
                "password = get_password(user)".into(),
                "secret_key = \"your_secret_key_here\"".into(),
                "token = \"aaaaaaaaaaaaaaaaaaaaaaaa\"".into(),
                "password=self.password_input".into(),
                format!("request_id = \"{uuid}\""),
                format!("commit = \"{git_hash}\""),
                format!("image = \"{png}\""),
                "let token_count = tokens.len();".into(),
            ],
        ),
    ]
}

#[test]
fn every_default_rule_has_true_and_false_positive_tests() {
    let scanner = scanner();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let cases = cases(&mut rng);
    let tested: BTreeSet<&str> = cases.iter().map(|c| c.0).collect();
    let defined: BTreeSet<&str> = scanner.rule_ids().collect();
    assert_eq!(tested, defined, "every default rule is tested");
    let mut failures = Vec::new();
    for (rule, positives, negatives) in &cases {
        for text in positives {
            let found = rules_found(&scanner, "src/config.env", text);
            if !found.contains(*rule) {
                failures.push(format!("{rule}: missed {text:?} (found {found:?})"));
            }
        }
        for text in negatives {
            let found = rules_found(&scanner, "src/config.env", text);
            if !found.is_empty() {
                failures.push(format!("{rule}: false positive on {text:?}: {found:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_are_redacted_and_located() {
    let scanner = scanner();
    let mut rng = Rng(7);
    let token = format!("ghp_{}", rng.pick(ALNUM, 36));
    let text = ["fn main() {}", "", &format!("let t = \"{token}\";")];
    let found = scanner.scan(&added("src/main.rs", &text));
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.rule, "github-token");
    assert_eq!(f.line, 3);
    assert!(!f.message.contains(&token), "{}", f.message);
    assert!(f.data.values().all(|v| !v.contains(&token)));
    assert_eq!(f.data["secret-preview"], "ghp_");
    assert_eq!(f.data["secret-length"], "40");
    assert_eq!(redact(&token), "ghp_… (40 characters)");
}

#[test]
fn a_provider_token_is_not_reported_again_as_a_generic_assignment() {
    let mut rng = Rng(9);
    let line = format!("GITHUB_TOKEN = \"ghp_{}\"", rng.pick(ALNUM, 36));
    let found = scanner().scan(&added("ci.env", &[&line]));
    let rules: Vec<_> = found.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, vec!["github-token"]);
}

#[test]
fn gitleaks_entropy_matches_its_definition() {
    // Bytes, not characters, divide the counts (gitleaks uses len(string)).
    assert!(
        (shannon_entropy("éa") - (-(1.0f64 / 3.0) * (1.0f64 / 3.0).log2() * 2.0)).abs() < 1e-12
    );
}

const TEAM_CONFIG: &str = r#"
title = "team rules"

[extend]
useDefault = true
disabledRules = ["jwt"]

[allowlist]
description = "vendored code"
paths = ['''^vendor/''']

[[rules]]
id = "internal-api-key"
description = "Internal API key"
regex = '''\b(acme_[0-9a-z]{32})\b'''
keywords = ["acme_"]
entropy = 3.0
[[rules.allowlists]]
condition = "AND"
paths = ['''^tests/''']
stopwords = ["fixture"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''#\s*gitleaks:allow''']

[[rules]]
id = "github-token"
[[rules.allowlists]]
commits = ["deadbeef"]

[[rules]]
id = "env-files"
description = "A committed .env file"
path = '''(^|/)\.env$'''
"#;

#[test]
fn a_team_gitleaks_config_extends_the_defaults() {
    let scanner = Scanner::from_config(Some(TEAM_CONFIG), None)
        .unwrap_or_else(|e| panic!("team config: {e}"));
    let ids: Vec<&str> = scanner.rule_ids().collect();
    assert!(ids.contains(&"internal-api-key") && ids.contains(&"github-token"));
    assert!(!ids.contains(&"jwt"), "disabledRules drops jwt");

    let mut rng = Rng(11);
    let key = format!("acme_{}", rng.pick(HEX, 32));
    let line = format!("key = {key}");
    assert_eq!(
        rules_found(&scanner, "src/a.rs", &line),
        BTreeSet::from(["internal-api-key".to_string()])
    );
    // Global path allowlist.
    assert!(rules_found(&scanner, "vendor/a.rs", &line).is_empty());
    // AND: the path alone does not allow, path and stopword together do.
    assert!(!rules_found(&scanner, "tests/a.rs", &line).is_empty());
    let fixture_key = format!("acme_fixture{}", rng.pick(HEX, 25));
    let fixture_line = format!("key = {fixture_key}");
    assert!(rules_found(&scanner, "tests/a.rs", &fixture_line).is_empty());
    assert!(!rules_found(&scanner, "src/a.rs", &fixture_line).is_empty());
    // Line target.
    assert!(rules_found(&scanner, "src/a.rs", &format!("{line} # gitleaks:allow")).is_empty());
    // An extension of a default rule adds a commit allowlist.
    let gh = format!("t = ghp_{}", rng.pick(ALNUM, 36));
    let mut a = added("src/a.rs", &[&gh]);
    assert_eq!(scanner.scan(&a).len(), 1);
    a.commit = Some("deadbeef00112233".into());
    assert!(scanner.scan(&a).is_empty());
    // Path-only rule.
    let found = scanner.scan(&added("app/.env", &["DEBUG=1"]));
    assert_eq!(
        found.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
        vec!["env-files"]
    );
}

#[test]
fn without_use_default_only_the_team_rules_run() {
    let text = "[[rules]]\nid = \"x\"\nregex = '''\\bxkey_[a-z]{8}\\b'''\nkeywords = [\"xkey_\"]\n";
    let scanner = Scanner::from_config(Some(text), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scanner.rule_count(), 1);
    let with = Scanner::from_config(Some(text), Some(true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(with.rule_count() > 20);
}

#[test]
fn gitleaks_errors_name_the_key() {
    let cases = [
        (
            "[[rules]]\nid = \"a\"\nregex = '''(unclosed'''\n",
            "rules[0].regex",
        ),
        (
            "[[rules]]\nid = \"a\"\nregex = '''a'''\n[[rules]]\nid = \"b\"\nregex = '''(b)'''\nsecretGroup = 2\n",
            "rules[1].secretGroup",
        ),
        (
            "[[rules]]\nid = \"a\"\nregex = '''a'''\nkeyword = [\"a\"]\n",
            "rules[0]",
        ),
        (
            "[[rules]]\nid = \"a\"\nregex = '''a'''\nentropy = \"high\"\n",
            "rules[0].entropy",
        ),
        (
            "[[rules]]\nid = \"a\"\nregex = '''a'''\n[[rules.allowlists]]\nregexTarget = \"file\"\n",
            "rules[0].allowlists[0].regexTarget",
        ),
        ("[extend]\npath = \"/etc/gitleaks.toml\"\n", "extend.path"),
        ("[[rules]]\nid = \"a\"\n", "rules[0]"),
    ];
    for (text, path) in cases {
        match Scanner::from_config(Some(text), None) {
            Ok(_) => panic!("accepted {text:?}"),
            Err(e) => assert!(
                e.path.starts_with(path),
                "{text:?}: error at `{}`, expected `{path}`: {e}",
                e.path
            ),
        }
    }
}

#[test]
fn a_blob_shared_by_branches_is_scanned_once() {
    let scanner = scanner();
    let mut rng = Rng(13);
    let mut a = added(
        "src/k.rs",
        &[&format!("k = \"ghp_{}\"", rng.pick(ALNUM, 36))],
    );
    a.blob = "b10b".into();
    let mut cache = ScanCache::default();
    let first = cache.scan(&scanner, &a);
    let second = cache.scan(&scanner, &a);
    assert_eq!(first, second);
    assert_eq!(first.len(), 1);
    assert_eq!(cache.scans(), 1);
}

#[test]
fn ten_megabytes_of_ordinary_code_scan_clean() {
    let scanner = scanner();
    let mut lines = Vec::new();
    let mut size = 0;
    let mut i = 0u32;
    while size < 10 * 1024 * 1024 {
        let line = match i % 4 {
            0 => format!("    let value_{i} = compute(input[{i}], offset + {i});"),
            1 => format!(
                "    if value_{} > limit {{ return Err(Error::Range({i})); }}",
                i - 1
            ),
            2 => format!("    // update the running total with entry number {i}"),
            _ => "    total += values.iter().map(|v| v * 2).sum::<u64>();".to_string(),
        };
        size += line.len() + 1;
        i += 1;
        lines.push((i, line));
    }
    let input = AddedLines {
        path: "src/generated.rs".into(),
        blob: "big".into(),
        commit: None,
        lines,
    };
    let found = scanner.scan(&input);
    assert!(found.is_empty(), "{:?}", found.first());
}
