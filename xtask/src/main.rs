//! `cargo xtask plugins [OUT]`: builds every first-party plugin into `OUT/<name>/`
//! (default `target/plugins`).

use std::path::PathBuf;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("plugins") => {
            let out = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| xtask::workspace_root().join("target").join("plugins"));
            for crate_dir in xtask::first_party_plugins()? {
                let name = crate_dir.file_name().unwrap_or_default();
                let dir = xtask::build_plugin_dir(&crate_dir, &out.join(name))?;
                println!("built {}", dir.display());
            }
            Ok(())
        }
        _ => bail!("usage: cargo xtask plugins [OUT_DIR]"),
    }
}
