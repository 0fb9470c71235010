//! What Trellis needs from the operating system, in one place: replacing files atomically, the
//! XDG directories it keeps its data in, and the machine's and the process's memory.

use std::io::Write;
use std::path::Path;

pub mod display;

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// reader sees the old content or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Where Trellis keeps its files, following the XDG base directory specification, each with a
/// `TRELLIS_*` override.
pub mod dirs {
    use std::path::PathBuf;

    /// The value of an environment variable as a path; unset and empty are both "not set", as
    /// the XDG specification says.
    pub fn env_path(var: &str) -> Option<PathBuf> {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// `$VAR/trellis`, else `$HOME/<fallback>/trellis`.
    fn xdg(var: &str, fallback: &[&str]) -> Option<PathBuf> {
        let base = env_path(var).or_else(|| {
            env_path("HOME").map(|home| fallback.iter().fold(home, |dir, part| dir.join(part)))
        })?;
        Some(base.join("trellis"))
    }

    /// The plugin store: `$TRELLIS_HOME`, else `$XDG_DATA_HOME/trellis`, else
    /// `~/.local/share/trellis`.
    pub fn data_home() -> Option<PathBuf> {
        env_path("TRELLIS_HOME").or_else(|| xdg("XDG_DATA_HOME", &[".local", "share"]))
    }

    /// Caches: `$TRELLIS_CACHE_DIR`, else `$XDG_CACHE_HOME/trellis`, else `~/.cache/trellis`.
    pub fn cache_home() -> Option<PathBuf> {
        env_path("TRELLIS_CACHE_DIR").or_else(|| xdg("XDG_CACHE_HOME", &[".cache"]))
    }

    /// The user's configuration directory: `$XDG_CONFIG_HOME/trellis`, else
    /// `~/.config/trellis`.
    pub fn config_home() -> Option<PathBuf> {
        xdg("XDG_CONFIG_HOME", &[".config"])
    }
}

/// Memory facts from `/proc` (Linux); elsewhere every answer is `None`.
pub mod memory {
    /// The value in bytes of a `Name:   123 kB` line of a `/proc` file such as `meminfo` or
    /// `status`.
    pub fn kib_field(text: &str, name: &str) -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
            .map(|kib| kib * 1024)
    }

    /// The machine's memory in bytes (`MemTotal`).
    pub fn total_bytes() -> Option<u64> {
        kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemTotal")
    }

    /// The peak resident set size of process `pid` so far (`VmHWM`).
    pub fn peak_rss_bytes_of(pid: u32) -> Option<u64> {
        kib_field(
            &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
            "VmHWM",
        )
    }

    /// The peak resident set size of this process so far (`VmHWM`).
    pub fn peak_rss_bytes() -> Option<u64> {
        peak_rss_bytes_of(std::process::id())
    }

    #[cfg(test)]
    mod tests {
        use super::kib_field;

        #[test]
        fn kib_fields_are_read_by_exact_name() {
            let text = "VmPeak:\t  2048 kB\nVmHWM:\t    12 kB\nMemTotal:  3 kB\n";
            assert_eq!(kib_field(text, "VmHWM"), Some(12 * 1024));
            assert_eq!(kib_field(text, "MemTotal"), Some(3 * 1024));
            assert_eq!(kib_field(text, "VmHW"), None);
            assert_eq!(kib_field("VmHWM: lots", "VmHWM"), None);
        }
    }
}
