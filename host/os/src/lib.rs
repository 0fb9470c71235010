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

    /// [`cache_home`] if only this user can write it, created (mode 0700) if missing; `None`
    /// with a warning (once per process) otherwise, and every cache is then off: see
    /// [`crate::private::check_dir`]. Anyone who can write a cache directory could otherwise
    /// plant files this process trusts (and the compile cache holds native code).
    pub fn trusted_cache_home() -> Option<PathBuf> {
        static CHECKED: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
        CHECKED
            .get_or_init(|| {
                let dir = cache_home()?;
                match crate::private::check_dir(&dir, true) {
                    Ok(()) => Some(dir),
                    Err(e) => {
                        tracing::warn!("caches off: {e}");
                        None
                    }
                }
            })
            .clone()
    }

    /// The user's configuration directory: `$XDG_CONFIG_HOME/trellis`, else
    /// `~/.config/trellis`.
    pub fn config_home() -> Option<PathBuf> {
        xdg("XDG_CONFIG_HOME", &[".config"])
    }
}

/// Files and directories only this user can change: the cache directory's check, and the
/// per-user secret that authenticates cache entries.
pub mod private {
    use std::io::{Error, ErrorKind, Read, Write};
    use std::path::Path;

    /// The name of the cache key's file in the data directory.
    pub const CACHE_KEY_FILE: &str = "cache.key";

    /// Checks that `dir` (created with mode 0700 when missing and `create`) can be changed by
    /// this user only: it is owned by this user and not writable by group or others, and every
    /// ancestor is owned by this user or root and is not writable by group or others unless
    /// sticky (like `/tmp`, where others cannot rename or delete what is ours).
    pub fn check_dir(dir: &Path, create: bool) -> std::io::Result<()> {
        if create && !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let me = my_uid()?;
            let dir = dir.canonicalize()?;
            let refuse = |what: String| {
                Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!("{}: {what}", dir.display()),
                ))
            };
            let meta = std::fs::metadata(&dir)?;
            if meta.uid() != me {
                return refuse(format!("owned by uid {}, not by this user", meta.uid()));
            }
            if meta.mode() & 0o022 != 0 {
                return refuse(format!(
                    "writable by group or others (mode {:o})",
                    meta.mode() & 0o7777
                ));
            }
            for ancestor in dir.ancestors().skip(1) {
                let meta = std::fs::metadata(ancestor)?;
                let sticky = meta.mode() & 0o1000 != 0;
                if (meta.uid() != me && meta.uid() != 0) || (meta.mode() & 0o022 != 0 && !sticky) {
                    return refuse(format!(
                        "its parent {} can be changed by others",
                        ancestor.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// This process's effective user id: the owner of a file it creates.
    #[cfg(unix)]
    fn my_uid() -> std::io::Result<u32> {
        use std::os::unix::fs::MetadataExt;
        Ok(tempfile::tempfile()?.metadata()?.uid())
    }

    /// The per-user secret that authenticates cache entries (32 bytes): `cache.key` in the
    /// data directory (`$TRELLIS_HOME`, else `$XDG_DATA_HOME/trellis`), created exclusively
    /// (never over an existing file) with mode 0600 on first use. It lives outside the cache directory, so that
    /// whoever can write caches (a restored CI cache, a shared directory) cannot replace it
    /// too. A key file not owned by this user, readable or writable by group or others, or of
    /// the wrong size, and a data directory others can change, are refused.
    pub fn cache_key() -> std::io::Result<[u8; 32]> {
        let dir = crate::dirs::data_home()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no data directory (HOME unset)"))?;
        check_dir(&dir, true)?;
        let path = dir.join(CACHE_KEY_FILE);
        // Written in full to a fresh 0600 file, then linked into place only if no key exists
        // (`persist_noclobber`: exclusive, like `O_EXCL`), so a concurrent process reads a
        // whole key or makes its own attempt lose, never a half-written one.
        if !path.exists() {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| Error::other(format!("no randomness: {e}")))?;
            let mut file = tempfile::NamedTempFile::new_in(&dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            file.write_all(&key)?;
            file.as_file().sync_all()?;
            match file.persist_noclobber(&path) {
                Ok(_) => return Ok(key),
                Err(e) if e.error.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.error),
            }
        }
        let mut file = std::fs::File::open(&path)?;
        let meta = file.metadata()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != my_uid()? || meta.mode() & 0o077 != 0 || !meta.is_file() {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "{}: must be a file owned by this user with mode 0600 (mode {:o})",
                        path.display(),
                        meta.mode() & 0o7777
                    ),
                ));
            }
        }
        let mut key = [0u8; 32];
        let mut rest = Vec::new();
        file.read_exact(&mut key)
            .and_then(|()| file.read_to_end(&mut rest))
            .map_err(|e| Error::new(ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
        if !rest.is_empty() || meta.len() != 32 {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("{}: not a 32-byte key", path.display()),
            ));
        }
        Ok(key)
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

    /// This process's resident memory by kind, from `/proc/self/status`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Resident {
        /// Anonymous pages (`RssAnon`): the heap, stacks.
        pub anon: u64,
        /// File-backed pages (`RssFile`, plus `RssShmem` for files on tmpfs): mapped files
        /// such as packs, and the program itself.
        pub file: u64,
    }

    /// This process's resident memory now.
    pub fn resident() -> Option<Resident> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        Some(Resident {
            anon: kib_field(&status, "RssAnon")?,
            file: kib_field(&status, "RssFile")? + kib_field(&status, "RssShmem").unwrap_or(0),
        })
    }

    /// Gives the heap's free pages back to the system (glibc's `malloc_trim`; elsewhere
    /// nothing is done). glibc keeps what its per-thread arenas freed; after thousands of
    /// merges of blobs of every size that held 60 MiB more than the heap in use on git/git.
    pub fn release_free_heap() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        #[allow(unsafe_code)]
        // SAFETY: `malloc_trim` only returns free memory; it is thread-safe and takes no
        // pointer.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    /// Gives back the resident pages of this process's read-only file mappings whose path
    /// `select` picks (Linux `MADV_DONTNEED`; elsewhere nothing is done), and returns how many
    /// bytes of mappings were advised. The mappings stay valid: a page touched again is read
    /// back from the page cache. This is how a process that maps whole pack files keeps its
    /// resident set bounded, as git's `core.packedGitLimit` does by unmapping pack windows.
    pub fn release_file_pages(select: impl Fn(&std::path::Path) -> bool) -> std::io::Result<u64> {
        #[cfg(target_os = "linux")]
        {
            let maps = std::fs::read_to_string("/proc/self/maps")?;
            let mut released = 0;
            for mapping in maps.lines().filter_map(ReadOnlyMapping::parse) {
                if select(std::path::Path::new(mapping.path)) {
                    mapping.release()?;
                    released += mapping.len as u64;
                }
            }
            Ok(released)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = select;
            Ok(0)
        }
    }

    /// A line of `/proc/self/maps` for a file mapped without write access.
    #[cfg(target_os = "linux")]
    #[derive(Debug, PartialEq, Eq)]
    struct ReadOnlyMapping<'a> {
        start: usize,
        len: usize,
        path: &'a str,
    }

    #[cfg(target_os = "linux")]
    impl<'a> ReadOnlyMapping<'a> {
        /// `start-end perms offset dev inode path`; `None` for anything else, writable
        /// mappings (whose private pages may hold the only copy of their data) included.
        fn parse(line: &'a str) -> Option<Self> {
            let mut fields = line.splitn(6, ' ');
            let (range, perms) = (fields.next()?, fields.next()?);
            let path = fields.nth(3)?.trim_start();
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            let read_only = perms.starts_with("r--");
            (read_only && path.starts_with('/') && end > start).then_some(ReadOnlyMapping {
                start,
                len: end - start,
                path,
            })
        }

        #[allow(unsafe_code)]
        fn release(&self) -> std::io::Result<()> {
            // SAFETY: the range is a whole mapping of this process, read-only, so none of its
            // pages was written: dropping them loses nothing, and the next read faults the
            // file's data back in. No Rust reference sees a difference.
            unsafe {
                rustix::mm::madvise(
                    self.start as *mut std::ffi::c_void,
                    self.len,
                    rustix::mm::Advice::LinuxDontNeed,
                )
            }
            .map_err(std::io::Error::from)
        }
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

        #[cfg(target_os = "linux")]
        #[test]
        fn only_read_only_file_mappings_are_parsed() {
            use super::ReadOnlyMapping;
            let line =
                "7f45ea200000-7f45eaa54000 r--p 00000000 08:01 1234    /r/objects/pack/a b.pack";
            assert_eq!(
                ReadOnlyMapping::parse(line),
                Some(ReadOnlyMapping {
                    start: 0x7f45ea200000,
                    len: 0x854000,
                    path: "/r/objects/pack/a b.pack"
                })
            );
            let writable = "7f45ea200000-7f45eaa54000 rw-p 00000000 08:01 1234 /r/x.pack";
            assert_eq!(ReadOnlyMapping::parse(writable), None);
            let anonymous = "7f45ea200000-7f45eaa54000 r--p 00000000 00:00 0";
            assert_eq!(ReadOnlyMapping::parse(anonymous), None);
            assert_eq!(ReadOnlyMapping::parse("[vdso]"), None);
        }

        #[cfg(target_os = "linux")]
        #[test]
        #[allow(unsafe_code)]
        fn released_pages_are_read_back_unchanged() {
            use std::io::Write;
            let mut file = tempfile::NamedTempFile::new().unwrap();
            let content: Vec<u8> = (0..4u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
            file.write_all(&content).unwrap();
            // SAFETY: a private temporary file nobody else changes, mapped read-only as gix
            // maps packs.
            let map = unsafe { memmap2::Mmap::map(file.as_file()) }.unwrap();
            assert_eq!(&map[..], &content[..]);
            let resident = super::resident().unwrap().file;
            let released = super::release_file_pages(|p| p == file.path()).unwrap();
            assert!(released >= content.len() as u64, "released {released}");
            let after = super::resident().unwrap().file;
            assert!(after + (2 << 20) < resident, "{resident} then {after}");
            assert_eq!(&map[..], &content[..]);
        }
    }
}

/// CPU time consumed, for the scan profile: per thread (workers sum what they spent in a stage)
/// and per process.
pub mod cpu {
    use std::time::Duration;

    use rustix::time::{ClockId, clock_gettime};

    fn read(clock: ClockId) -> Duration {
        let t = clock_gettime(clock);
        Duration::new(
            t.tv_sec.max(0) as u64,
            t.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }

    /// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`).
    pub fn thread() -> Duration {
        read(ClockId::ThreadCPUTime)
    }

    /// CPU time the whole process has used so far, all threads (`CLOCK_PROCESS_CPUTIME_ID`).
    pub fn process() -> Duration {
        read(ClockId::ProcessCPUTime)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn cpu_clocks_move_forward_with_work() {
            let (thread, process) = (super::thread(), super::process());
            let mut x = 0u64;
            for i in 0..5_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            std::hint::black_box(x);
            assert!(super::thread() > thread);
            assert!(super::process() > process);
        }
    }
}
