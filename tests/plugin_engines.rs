//! The first-party plugins' own tests, natively: their engines are plain Rust (the WIT glue is
//! compiled for wasm32 only), tested in their workspace with `cargo test`. Among them, the
//! enterprise-policy engine's agreement with the real commitlint (Node.js and npm needed).

#[test]
fn first_party_plugin_engines_pass_their_own_tests() {
    let plugins = xtask::workspace_root().join("plugins");
    let output = xtask::test_plugin_workspace(&plugins).unwrap_or_else(|e| panic!("{e:#}"));
    // The agreement test prints its count; make sure it ran rather than nothing at all.
    assert!(output.contains("test result: ok"), "{output}");
    for line in output.lines().filter(|l| l.contains("agree")) {
        println!("{line}");
    }
}
