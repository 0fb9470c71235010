//! Git LFS pointer files: the small text files git-lfs commits in place of large content.

/// Pointers are at most this big (git-lfs itself refuses larger ones).
pub const MAX_POINTER_BYTES: u64 = 1024;

/// The object size a Git LFS pointer declares (`version https://git-lfs…`, `oid sha256:…`,
/// `size N`), or `None` when `data` is not a pointer.
pub fn pointer_size(data: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.lines();
    if !lines
        .next()?
        .starts_with("version https://git-lfs.github.com/spec/")
    {
        return None;
    }
    let mut oid = false;
    let mut size = None;
    for line in lines {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            oid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        } else if let Some(n) = line.strip_prefix("size ") {
            size = n.parse().ok();
        }
    }
    size.filter(|_| oid)
}

#[cfg(test)]
mod tests {
    use super::pointer_size;

    #[test]
    fn lfs_pointers_declare_their_size() {
        let pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
        assert_eq!(pointer_size(pointer.as_bytes()), Some(12345));
        assert_eq!(pointer_size(b"version 1\nsize 3\n"), None);
        assert_eq!(
            pointer_size(b"version https://git-lfs.github.com/spec/v1\nsize 3\n"),
            None
        );
    }
}
