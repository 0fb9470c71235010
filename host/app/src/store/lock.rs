//! The writers' lock: one store change at a time, across processes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::StoreError;

/// Holds the exclusive lock on the store until dropped (or the process dies: the OS releases it).
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Waits for and takes the exclusive lock on `path`.
    pub fn exclusive(path: &Path) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        file.lock().map_err(|e| StoreError::io(path, e))?;
        Ok(StoreLock { _file: file })
    }
}
