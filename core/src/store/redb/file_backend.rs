//! redb's file backend, with the file's length read by `lseek`.
//!
//! redb's own [`FileBackend`] reads the length with `fstat`, which in
//! `multi_process` mode it does once per write transaction. Since Linux
//! 6.13, a file whose timestamps were read by a `stat` gets a fresh
//! fine-grained modification time on its next write (multigrain
//! timestamps), so every commit dirtied the inode, and the commit's
//! fdatasync wrote the inode as well as the data: one more synchronous
//! device write. `lseek(SEEK_END)` gives the same length without reading
//! the timestamps, and the timestamps then change at the file system's
//! coarse granularity as before. Measured on ext4: the inode was marked
//! dirty 0.15 times per fdatasync instead of once, and a durable
//! `multi_process` rotation took about 10% less (docs/benchmarks.md).
//!
//! Invariant: apart from `len`, every call goes to redb's [`FileBackend`]
//! unchanged, locks included. The second descriptor shares the open file
//! description (and so its byte-range locks, which `close` releases
//! explicitly); it lives exactly as long as redb's own descriptor, until
//! the backend is dropped.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::ops::Bound;

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

#[derive(Debug)]
pub(crate) struct LseekLength {
    inner: FileBackend,
    /// A second descriptor of the same open file, used only to read its
    /// length with `lseek`.
    length: File,
}

impl LseekLength {
    /// Opens the file at `path` for reading and writing, creating it if
    /// missing, as redb's `Builder::create` does.
    pub(crate) fn open(path: &std::path::Path) -> Result<Self, redb::DatabaseError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(LseekLength {
            length: file.try_clone()?,
            inner: FileBackend::new(file)?,
        })
    }
}

impl StorageBackend for LseekLength {
    fn len(&self) -> Result<u64, io::Error> {
        (&self.length).seek(SeekFrom::End(0))
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> LseekLength {
        LseekLength::open(path).unwrap()
    }

    /// The length follows every change, including one made through another
    /// open of the file (another process, in `multi_process` mode), and
    /// after `close` it still answers.
    #[test]
    fn length_follows_the_file_whoever_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("len.redb");
        let (a, b) = (open(&path), open(&path));
        assert_eq!(a.len().unwrap(), 0);
        a.set_len(8192).unwrap();
        assert_eq!((a.len().unwrap(), b.len().unwrap()), (8192, 8192));
        b.write(8192, &[7u8; 100]).unwrap();
        assert_eq!(a.len().unwrap(), 8292);
        b.set_len(4096).unwrap();
        assert_eq!(a.len().unwrap(), 4096);
        let mut back = [0u8; 4];
        a.read(4092, &mut back).unwrap();
        assert_eq!(back, [0; 4]);
        a.close().unwrap();
        b.set_len(12288).unwrap();
        assert_eq!(a.len().unwrap(), 12288);
    }
}
