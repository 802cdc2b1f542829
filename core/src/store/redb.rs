//! The embedded store: one redb file (or redb's in-memory backend).
//!
//! Invariants:
//! - every write transaction commits with `Durability::Immediate`;
//! - the handle remembers the pid that opened it. A process that finds a
//!   different pid is a child of `fork()`: it opens its own handle and
//!   leaks the inherited one without using or dropping it, since closing a
//!   parent's handle from the child loses writes or corrupts state;
//! - with `multi_process`, the file opens in `ConcurrencyMode::MultiWriter`
//!   so that processes serialise on redb's writer lock; without it, the
//!   file is exclusive to one process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use redb::backends::InMemoryBackend;
use redb::{
    Builder, ConcurrencyMode, Database, Durability, ReadTransaction, ReadableDatabase,
    ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::{ReadTx, Store, StoreStats, WriteTx};
use crate::error::{Error, Result};
use crate::records::{self, tables, Digest32, FamilyRecord, Id16, PatRecord, RefreshRecord};

const REFRESH: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new(tables::REFRESH);
const FAMILY: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new(tables::FAMILY);
const USER_FAMILY: TableDefinition<(&str, &[u8; 16]), ()> =
    TableDefinition::new(tables::USER_FAMILY);
const USER_REVOKED: TableDefinition<&str, i64> = TableDefinition::new(tables::USER_REVOKED);
const REFRESH_EXPIRY: TableDefinition<(i64, &[u8; 32]), ()> =
    TableDefinition::new(tables::REFRESH_EXPIRY);
const PAT: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new(tables::PAT);
const PAT_ID: TableDefinition<&[u8; 16], &[u8; 32]> = TableDefinition::new(tables::PAT_ID);
const USER_PAT: TableDefinition<(&str, i64, &[u8; 16]), ()> =
    TableDefinition::new(tables::USER_PAT);
const META: TableDefinition<&str, u64> = TableDefinition::new(tables::META);

/// The schema version this code writes.
const SCHEMA_VERSION: u64 = 1;

fn storage<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::storage(format!("{what}: {e}"))
}

/// An open redb database, safe across `fork()`.
pub(crate) struct RedbStore {
    handle: RwLock<Handle>,
    path: Option<PathBuf>,
    multi_process: bool,
    /// Transactions begun, read or write; tests use it to prove that a
    /// rejection happened before the store was touched.
    transactions: AtomicU64,
}

struct Handle {
    /// `None` once closed.
    db: Option<Arc<Database>>,
    /// The process that opened `db`; only it may use or drop it.
    pid: u32,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // Inherited across fork(): dropping would close the parent's
            // database from the child.
            if let Some(db) = self.db.take() {
                std::mem::forget(db);
            }
        }
    }
}

impl RedbStore {
    /// Opens (creating if missing) the database file at `path`.
    pub(crate) fn open(path: &Path, multi_process: bool) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(Error::config(format!(
                    "the folder of the database path does not exist: {}",
                    parent.display()
                )));
            }
        }
        let db = open_file(path, multi_process)?;
        let store = RedbStore {
            handle: RwLock::new(Handle {
                db: Some(Arc::new(db)),
                pid: std::process::id(),
            }),
            path: Some(path.to_owned()),
            multi_process,
            transactions: AtomicU64::new(0),
        };
        store.init()?;
        Ok(store)
    }

    /// A database in memory: the same code path, without a file.
    pub(crate) fn in_memory() -> Result<Self> {
        let db = Builder::new()
            .create_with_backend(InMemoryBackend::new())
            .map_err(storage("cannot create the in-memory database"))?;
        let store = RedbStore {
            handle: RwLock::new(Handle {
                db: Some(Arc::new(db)),
                pid: std::process::id(),
            }),
            path: None,
            multi_process: false,
            transactions: AtomicU64::new(0),
        };
        store.init()?;
        Ok(store)
    }

    /// Creates the tables and checks the schema version.
    fn init(&self) -> Result<()> {
        self.write_redb(|tx| {
            let mut meta = tx.txn.open_table(META).map_err(storage("open meta"))?;
            let found = meta
                .get("schema_version")
                .map_err(storage("read meta"))?
                .map(|v| v.value());
            match found {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(storage("write meta"))?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(v) => {
                    return Err(Error::storage(format!(
                        "the database has schema version {v}; this build reads {SCHEMA_VERSION}"
                    )))
                }
            }
            drop(meta);
            tx.txn
                .open_table(REFRESH)
                .map_err(storage("create table"))?;
            tx.txn.open_table(FAMILY).map_err(storage("create table"))?;
            tx.txn
                .open_table(USER_FAMILY)
                .map_err(storage("create table"))?;
            tx.txn
                .open_table(USER_REVOKED)
                .map_err(storage("create table"))?;
            tx.txn
                .open_table(REFRESH_EXPIRY)
                .map_err(storage("create table"))?;
            tx.txn.open_table(PAT).map_err(storage("create table"))?;
            tx.txn.open_table(PAT_ID).map_err(storage("create table"))?;
            tx.txn
                .open_table(USER_PAT)
                .map_err(storage("create table"))?;
            Ok(())
        })
    }

    /// The database for this process, reopened after a fork.
    fn db(&self) -> Result<Arc<Database>> {
        let pid = std::process::id();
        {
            let h = self
                .handle
                .read()
                .map_err(|_| Error::storage("lock poisoned"))?;
            if h.pid == pid {
                return h
                    .db
                    .clone()
                    .ok_or_else(|| Error::storage("the engine is closed"));
            }
        }
        let mut h = self
            .handle
            .write()
            .map_err(|_| Error::storage("lock poisoned"))?;
        if h.pid != pid {
            let inherited = h.db.take();
            h.pid = pid;
            match &self.path {
                Some(path) => {
                    std::mem::forget(inherited);
                    if !self.multi_process {
                        return Err(Error::storage(
                            "the engine was opened before fork() without multi_process; \
                             the parent holds the file exclusively",
                        ));
                    }
                    h.db = Some(Arc::new(open_file(path, true)?));
                }
                // An in-memory database is the child's own copy.
                None => h.db = inherited,
            }
        }
        h.db.clone()
            .ok_or_else(|| Error::storage("the engine is closed"))
    }

    /// Runs `f` in one write transaction, committed durably if it succeeds.
    fn write_redb<T>(&self, f: impl FnOnce(&mut RedbWrite) -> Result<T>) -> Result<T> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let db = self.db()?;
        let mut txn = db.begin_write().map_err(storage("cannot begin a write"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(storage("cannot set durability"))?;
        let mut tx = RedbWrite {
            txn,
            file_bytes: self.file_bytes(),
        };
        let out = f(&mut tx)?;
        tx.txn.commit().map_err(storage("commit failed"))?;
        Ok(out)
    }

    /// Runs `f` over a read snapshot.
    fn read_redb<T>(&self, f: impl FnOnce(&RedbRead) -> Result<T>) -> Result<T> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let db = self.db()?;
        let txn = db.begin_read().map_err(storage("cannot begin a read"))?;
        f(&RedbRead {
            txn,
            file_bytes: self.file_bytes(),
        })
    }

    /// Closes the database; later calls fail with `storage_error`.
    fn close_db(&self) -> Result<()> {
        let mut h = self
            .handle
            .write()
            .map_err(|_| Error::storage("lock poisoned"))?;
        if h.pid != std::process::id() {
            std::mem::forget(h.db.take());
            return Ok(());
        }
        if let Some(db) = h.db.take() {
            // Other threads may hold clones for in-flight calls; the
            // database closes when the last of them finishes.
            if let Ok(db) = Arc::try_unwrap(db) {
                db.close().map_err(storage("close failed"))?;
            }
        }
        Ok(())
    }

    fn file_bytes(&self) -> u64 {
        self.path
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }
}

impl Store for RedbStore {
    fn write_dyn(&self, f: &mut dyn FnMut(&mut dyn WriteTx) -> Result<()>) -> Result<()> {
        self.write_redb(|tx| f(tx))
    }

    fn read_dyn(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        self.read_redb(|tx| f(tx))
    }

    fn close(&self) -> Result<()> {
        self.close_db()
    }

    fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }
}

fn open_file(path: &Path, multi_process: bool) -> Result<Database> {
    let mut builder = Builder::new();
    if multi_process {
        builder.set_concurrency_mode(ConcurrencyMode::MultiWriter);
    }
    builder
        .create(path)
        .map_err(|e| Error::storage(format!("cannot open the database {}: {e}", path.display())))
}

/// A read snapshot.
pub(crate) struct RedbRead {
    txn: ReadTransaction,
    file_bytes: u64,
}

/// A write transaction.
pub(crate) struct RedbWrite {
    txn: WriteTransaction,
    file_bytes: u64,
}

/// The read side is the same for both transaction kinds; only the way a
/// table is opened differs.
macro_rules! read_impl {
    ($ty:ty) => {
        impl ReadTx for $ty {
            fn refresh(&self, key: &Digest32) -> Result<Option<RefreshRecord>> {
                let t = self
                    .txn
                    .open_table(REFRESH)
                    .map_err(storage("open refresh"))?;
                let v = t.get(key).map_err(storage("read refresh"))?;
                v.map(|g| records::decode(g.value())).transpose()
            }

            fn family(&self, id: &Id16) -> Result<Option<FamilyRecord>> {
                let t = self
                    .txn
                    .open_table(FAMILY)
                    .map_err(storage("open family"))?;
                let v = t.get(id).map_err(storage("read family"))?;
                v.map(|g| records::decode(g.value())).transpose()
            }

            fn user_families(&self, user: &str) -> Result<Vec<Id16>> {
                let t = self
                    .txn
                    .open_table(USER_FAMILY)
                    .map_err(storage("open user_family"))?;
                let range = t
                    .range((user, &[0u8; 16])..=(user, &[0xffu8; 16]))
                    .map_err(storage("scan user_family"))?;
                range
                    .map(|r| {
                        r.map(|(k, _)| *k.value().1)
                            .map_err(storage("scan user_family"))
                    })
                    .collect()
            }

            fn user_revoked(&self, user: &str) -> Result<Option<i64>> {
                let t = self
                    .txn
                    .open_table(USER_REVOKED)
                    .map_err(storage("open user_revoked"))?;
                let v = t.get(user).map_err(storage("read user_revoked"))?;
                Ok(v.map(|g| g.value()))
            }

            fn pat(&self, digest: &Digest32) -> Result<Option<PatRecord>> {
                let t = self.txn.open_table(PAT).map_err(storage("open pat"))?;
                let v = t.get(digest).map_err(storage("read pat"))?;
                v.map(|g| records::decode(g.value())).transpose()
            }

            fn pat_digest(&self, id: &Id16) -> Result<Option<Digest32>> {
                let t = self
                    .txn
                    .open_table(PAT_ID)
                    .map_err(storage("open pat_id"))?;
                let v = t.get(id).map_err(storage("read pat_id"))?;
                Ok(v.map(|g| *g.value()))
            }

            fn user_pats(&self, user: &str) -> Result<Vec<Id16>> {
                let t = self
                    .txn
                    .open_table(USER_PAT)
                    .map_err(storage("open user_pat"))?;
                let range = t
                    .range((user, i64::MIN, &[0u8; 16])..=(user, i64::MAX, &[0xffu8; 16]))
                    .map_err(storage("scan user_pat"))?;
                range
                    .map(|r| {
                        r.map(|(k, _)| *k.value().2)
                            .map_err(storage("scan user_pat"))
                    })
                    .collect()
            }

            fn stats(&self) -> Result<StoreStats> {
                let count = |name: &'static str,
                             n: std::result::Result<u64, redb::StorageError>| {
                    n.map_err(storage(name))
                };
                Ok(StoreStats {
                    refresh_records: count(
                        "count refresh",
                        self.txn.open_table(REFRESH).map_err(storage("open"))?.len(),
                    )?,
                    families: count(
                        "count family",
                        self.txn.open_table(FAMILY).map_err(storage("open"))?.len(),
                    )?,
                    user_marks: count(
                        "count user_revoked",
                        self.txn
                            .open_table(USER_REVOKED)
                            .map_err(storage("open"))?
                            .len(),
                    )?,
                    pats: count(
                        "count pat",
                        self.txn.open_table(PAT).map_err(storage("open"))?.len(),
                    )?,
                    file_bytes: self.file_bytes,
                })
            }
        }
    };
}

read_impl!(RedbRead);
read_impl!(RedbWrite);

impl WriteTx for RedbWrite {
    fn put_refresh(&mut self, key: &Digest32, rec: &RefreshRecord) -> Result<()> {
        let bytes = records::encode(rec)?;
        let mut t = self
            .txn
            .open_table(REFRESH)
            .map_err(storage("open refresh"))?;
        let old = t
            .insert(key, bytes.as_slice())
            .map_err(storage("write refresh"))?
            .map(|g| records::decode::<RefreshRecord>(g.value()))
            .transpose()?;
        drop(t);
        let mut idx = self
            .txn
            .open_table(REFRESH_EXPIRY)
            .map_err(storage("open refresh_expiry"))?;
        if let Some(old) = old.filter(|o| o.expires_at != rec.expires_at) {
            idx.remove((old.expires_at, key))
                .map_err(storage("write refresh_expiry"))?;
        }
        idx.insert((rec.expires_at, key), ())
            .map_err(storage("write refresh_expiry"))?;
        Ok(())
    }

    fn delete_refresh(&mut self, key: &Digest32, expires_at: i64) -> Result<()> {
        let mut t = self
            .txn
            .open_table(REFRESH)
            .map_err(storage("open refresh"))?;
        t.remove(key).map_err(storage("delete refresh"))?;
        drop(t);
        let mut idx = self
            .txn
            .open_table(REFRESH_EXPIRY)
            .map_err(storage("open refresh_expiry"))?;
        idx.remove((expires_at, key))
            .map_err(storage("delete refresh_expiry"))?;
        Ok(())
    }

    fn put_family(&mut self, id: &Id16, rec: &FamilyRecord) -> Result<()> {
        let bytes = records::encode(rec)?;
        let mut t = self
            .txn
            .open_table(FAMILY)
            .map_err(storage("open family"))?;
        let existed = t
            .insert(id, bytes.as_slice())
            .map_err(storage("write family"))?
            .is_some();
        drop(t);
        if !existed {
            let mut idx = self
                .txn
                .open_table(USER_FAMILY)
                .map_err(storage("open user_family"))?;
            idx.insert((rec.user_id.as_str(), id), ())
                .map_err(storage("write user_family"))?;
        }
        Ok(())
    }

    fn delete_family(&mut self, id: &Id16, user: &str) -> Result<()> {
        let mut t = self
            .txn
            .open_table(FAMILY)
            .map_err(storage("open family"))?;
        t.remove(id).map_err(storage("delete family"))?;
        drop(t);
        let mut idx = self
            .txn
            .open_table(USER_FAMILY)
            .map_err(storage("open user_family"))?;
        idx.remove((user, id))
            .map_err(storage("delete user_family"))?;
        Ok(())
    }

    fn put_user_revoked(&mut self, user: &str, at: i64) -> Result<()> {
        let mut t = self
            .txn
            .open_table(USER_REVOKED)
            .map_err(storage("open user_revoked"))?;
        t.insert(user, at).map_err(storage("write user_revoked"))?;
        Ok(())
    }

    fn expired_refresh(&mut self, before: i64, limit: usize) -> Result<Vec<(i64, Digest32)>> {
        let t = self
            .txn
            .open_table(REFRESH_EXPIRY)
            .map_err(storage("open refresh_expiry"))?;
        let range = t
            .range((i64::MIN, &[0u8; 32])..(before, &[0u8; 32]))
            .map_err(storage("scan refresh_expiry"))?;
        range
            .take(limit)
            .map(|r| {
                r.map(|(k, _)| {
                    let (at, key) = k.value();
                    (at, *key)
                })
                .map_err(storage("scan refresh_expiry"))
            })
            .collect()
    }

    fn put_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        let bytes = records::encode(rec)?;
        let mut t = self.txn.open_table(PAT).map_err(storage("open pat"))?;
        let existed = t
            .insert(digest, bytes.as_slice())
            .map_err(storage("write pat"))?
            .is_some();
        drop(t);
        if !existed {
            let mut ids = self
                .txn
                .open_table(PAT_ID)
                .map_err(storage("open pat_id"))?;
            ids.insert(&rec.id, digest)
                .map_err(storage("write pat_id"))?;
            drop(ids);
            let mut by_user = self
                .txn
                .open_table(USER_PAT)
                .map_err(storage("open user_pat"))?;
            by_user
                .insert((rec.user_id.as_str(), rec.created_at, &rec.id), ())
                .map_err(storage("write user_pat"))?;
        }
        Ok(())
    }

    fn delete_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        let mut t = self.txn.open_table(PAT).map_err(storage("open pat"))?;
        t.remove(digest).map_err(storage("delete pat"))?;
        drop(t);
        let mut ids = self
            .txn
            .open_table(PAT_ID)
            .map_err(storage("open pat_id"))?;
        ids.remove(&rec.id).map_err(storage("delete pat_id"))?;
        drop(ids);
        let mut by_user = self
            .txn
            .open_table(USER_PAT)
            .map_err(storage("open user_pat"))?;
        by_user
            .remove((rec.user_id.as_str(), rec.created_at, &rec.id))
            .map_err(storage("delete user_pat"))?;
        Ok(())
    }

    fn pat_digests(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>> {
        let t = self.txn.open_table(PAT).map_err(storage("open pat"))?;
        let start = after.unwrap_or([0u8; 32]);
        let range = t
            .range::<&[u8; 32]>(&start..)
            .map_err(storage("scan pat"))?;
        range
            .filter_map(|r| match r {
                Ok((k, _)) if after.is_some_and(|a| a == *k.value()) => None,
                Ok((k, _)) => Some(Ok(*k.value())),
                Err(e) => Some(Err(Error::storage(format!("scan pat: {e}")))),
            })
            .take(limit)
            .collect()
    }
}
