//! The SDK binds its own copy of the WIT contract (`sdk/wit/`, so the contract ships in the
//! package); the repository's top-level `wit/` is the source of truth, which the host binds.
//! The two must be identical, or plugins would be built against a contract the host does not
//! serve.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every file under `root`, by path relative to `root`, with its bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let relative = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(relative, bytes);
            }
        }
    }
    out
}

#[test]
fn sdk_wit_is_a_byte_for_byte_copy_of_the_top_level_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = files(&sdk.join("../wit"));
    let copy = files(&sdk.join("wit"));
    assert!(!source.is_empty(), "no files under the top-level wit/");

    let only_in = |a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>| {
        a.keys()
            .filter(|path| !b.contains_key(*path))
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
    };
    let differing: Vec<String> = source
        .iter()
        .filter(|(path, bytes)| copy.get(*path).is_some_and(|other| other != *bytes))
        .map(|(path, _)| path.display().to_string())
        .collect();
    let missing = only_in(&source, &copy);
    let extra = only_in(&copy, &source);
    assert!(
        missing.is_empty() && extra.is_empty() && differing.is_empty(),
        "sdk/wit/ is not a copy of wit/: missing {missing:?}, extra {extra:?}, differing \
         {differing:?}; copy it again (rm -r sdk/wit && cp -r wit sdk/wit)"
    );
}
