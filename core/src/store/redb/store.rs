//! The embedded store: one redb file (or redb's in-memory backend).
//!
//! Invariants:
//! - every write transaction commits with `Durability::Immediate`, but
//!   those of `write_op_relaxed` (attempt counters alone) in a store that
//!   one process owns: they commit with `Durability::None`, visible at
//!   once, made durable by the next durable commit, lost in a crash before
//!   it. Every [`RELAXED_RUN`]-th of them commits durably, since redb frees
//!   no page until a durable commit. redb refuses `None` when processes
//!   share the file, so with `multi_process` they commit durably (through
//!   group commit when it is on);
//! - the handle is a [`ProcessLocal`]: a child of `fork()` opens its own
//!   handle and leaks the inherited one without using or dropping it, since
//!   closing a parent's handle from the child loses writes or corrupts
//!   state (an in-memory database is the child's own copy, and is kept);
//! - with `multi_process`, the file opens in `ConcurrencyMode::MultiWriter`
//!   so that processes serialise on redb's writer lock; without it, the
//!   file is exclusive to one process.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use redb::backends::InMemoryBackend;
use redb::{Builder, ConcurrencyMode, Database, Durability, ReadableDatabase, ReadableTable};

use super::file_backend::LseekLength;
use super::format::{
    ATTEMPTS, FAMILY, META, OLDEST_SCHEMA_VERSION, PAT, PAT_ID, REFRESH, REFRESH_EXPIRY,
    SCHEMA_VERSION, SECRET, USER_FAMILY, USER_PAT, USER_REVOKED, USER_STAMP,
};
use super::group_commit::GroupCommit;
use super::tx::{RedbRead, RedbWrite, Tables};
use crate::error::{Error, Result};
use crate::store::{Output, ProcessLocal, ReadTx, Store, WriteOp};

fn storage<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::storage(format!("{what}: {e}"))
}

/// An open redb database, safe across `fork()`.
pub(crate) struct RedbStore {
    handle: ProcessLocal<Arc<Database>>,
    path: Option<Arc<Path>>,
    multi_process: bool,
    /// Transactions begun, read or write; tests use it to prove that a
    /// rejection happened before the store was touched.
    transactions: AtomicU64,
    /// Shares durable commits between concurrent writers; `None` when off.
    group: Option<GroupCommit>,
    /// Relaxed commits since the last durable one made by a relaxed write.
    relaxed_run: AtomicU64,
}

/// How many relaxed commits in a row may skip the flush; the next one is
/// durable, so that redb can reuse the pages they freed.
const RELAXED_RUN: u64 = 256;

impl RedbStore {
    /// Opens (creating if missing) the database file at `path`.
    pub(crate) fn open(path: &Path, multi_process: bool, group_commit: bool) -> Result<Self> {
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
            handle: ProcessLocal::new(Arc::new(db)),
            path: Some(Arc::from(path)),
            multi_process,
            transactions: AtomicU64::new(0),
            group: group_commit.then(GroupCommit::default),
            relaxed_run: AtomicU64::new(0),
        };
        store.init()?;
        Ok(store)
    }

    /// A database in memory: the same code path, without a file.
    pub(crate) fn in_memory(group_commit: bool) -> Result<Self> {
        let db = Builder::new()
            .create_with_backend(InMemoryBackend::new())
            .map_err(storage("cannot create the in-memory database"))?;
        let store = RedbStore {
            handle: ProcessLocal::new(Arc::new(db)),
            path: None,
            multi_process: false,
            transactions: AtomicU64::new(0),
            group: group_commit.then(GroupCommit::default),
            relaxed_run: AtomicU64::new(0),
        };
        store.init()?;
        Ok(store)
    }

    /// Creates the tables and checks the schema version.
    fn init(&self) -> Result<()> {
        self.write_redb(|tx| {
            let mut meta = tx.table(META)?;
            let found = meta
                .get("schema_version")
                .map_err(storage("read meta"))?
                .map(|v| v.value());
            match found {
                Some(SCHEMA_VERSION) => {}
                None | Some(OLDEST_SCHEMA_VERSION..SCHEMA_VERSION) => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(storage("write meta"))?;
                }
                Some(v) => {
                    return Err(Error::storage(format!(
                        "the database has schema version {v}; this build reads {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION}"
                    )))
                }
            }
            drop(meta);
            // Opening a table in a write transaction creates it.
            tx.table(REFRESH)?;
            tx.table(FAMILY)?;
            tx.table(USER_FAMILY)?;
            tx.table(USER_REVOKED)?;
            tx.table(REFRESH_EXPIRY)?;
            tx.table(PAT)?;
            tx.table(PAT_ID)?;
            tx.table(USER_PAT)?;
            tx.table(ATTEMPTS)?;
            tx.table(SECRET)?;
            tx.table(USER_STAMP)?;
            Ok(())
        })
    }

    /// The database for this process, reopened after a fork.
    fn db(&self) -> Result<Arc<Database>> {
        self.handle.get(|inherited| match &self.path {
            // An in-memory database is the child's own copy.
            None => Ok(inherited),
            Some(_) if inherited.is_none() => Ok(None),
            Some(path) => {
                std::mem::forget(inherited);
                if !self.multi_process {
                    return Err(Error::storage(
                        "the engine was opened before fork() without multi_process; \
                         the parent holds the file exclusively",
                    ));
                }
                Ok(Some(Arc::new(open_file(path, true)?)))
            }
        })
    }

    /// Runs `f` in one write transaction, committed durably if it succeeds.
    fn write_redb<T>(&self, f: impl FnOnce(&mut RedbWrite) -> Result<T>) -> Result<T> {
        let mut tx = self.begin_redb()?;
        let out = f(&mut tx)?;
        tx.txn.commit().map_err(storage("commit failed"))?;
        Ok(out)
    }

    /// Begins a durable write transaction.
    fn begin_redb(&self) -> Result<RedbWrite> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let db = self.db()?;
        let mut txn = db.begin_write().map_err(storage("cannot begin a write"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(storage("cannot set durability"))?;
        Ok(RedbWrite {
            txn,
            path: self.path.clone(),
            writes: 0,
        })
    }

    /// Runs `f` over a read snapshot.
    fn read_redb<T>(&self, f: impl FnOnce(&RedbRead) -> Result<T>) -> Result<T> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let db = self.db()?;
        let txn = db.begin_read().map_err(storage("cannot begin a read"))?;
        f(&RedbRead {
            txn,
            path: self.path.clone(),
        })
    }

    /// Closes the database; later calls fail with `storage_error`.
    fn close_db(&self) -> Result<()> {
        if let Some(db) = self.handle.take()? {
            // Other threads may hold clones for in-flight calls; the
            // database closes when the last of them finishes.
            if let Ok(db) = Arc::try_unwrap(db) {
                db.close().map_err(storage("close failed"))?;
            }
        }
        Ok(())
    }
}

impl Store for RedbStore {
    fn write_op(&self, mut op: WriteOp) -> Result<Output> {
        match &self.group {
            Some(group) => group.write(op, &|| self.begin_redb()),
            None => self.write_redb(|tx| op(tx)),
        }
    }

    fn write_op_relaxed(&self, mut op: WriteOp) -> Result<Output> {
        let n = self.relaxed_run.fetch_add(1, Ordering::Relaxed);
        if self.multi_process || n % RELAXED_RUN == RELAXED_RUN - 1 {
            return self.write_op(op);
        }
        let mut tx = self.begin_redb()?;
        tx.txn
            .set_durability(Durability::None)
            .map_err(storage("cannot set durability"))?;
        let out = op(&mut tx)?;
        tx.txn.commit().map_err(storage("commit failed"))?;
        Ok(out)
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
    let cannot = |e: &dyn std::fmt::Display| {
        Error::storage(format!("cannot open the database {}: {e}", path.display()))
    };
    let backend = LseekLength::open(path).map_err(|e| cannot(&e))?;
    builder.create_with_backend(backend).map_err(|e| cannot(&e))
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::store::records::{RefreshRecord, RefreshState};
    use crate::store::WriteTx;

    fn record(n: u8) -> RefreshRecord {
        RefreshRecord {
            family: [n; 16],
            state: RefreshState::Active,
            issued_at: 0,
            expires_at: i64::from(n),
        }
    }

    /// An operation that fails after writing poisons its batch: no member
    /// of that batch sees success, and none of its writes persists. Members
    /// of other batches are untouched. Whatever the batching, a caller told
    /// `Ok` finds its write durable, and a caller told `Err` finds none.
    #[test]
    fn poisoned_batch_commits_nothing_and_fails_every_member() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(RedbStore::open(&dir.path().join("p.redb"), false, true).unwrap());
        for round in 0..20u8 {
            let outcomes = race_round(&store, round, 8, || {
                Err(Error::config("fails after writing"))
            });
            for (_, result, stored) in outcomes {
                match result {
                    Ok(()) => assert!(stored, "acknowledged write lost"),
                    Err(e) => {
                        assert!(!stored, "failed write persisted: {e}");
                        assert!(matches!(e.code(), "config_invalid" | "storage_error"));
                    }
                }
            }
        }
    }

    /// An operation that panics, run by whichever caller leads its batch,
    /// fails its own caller with `storage_error`, rolls its batch back, and
    /// leaves the store working: the lead passes on, and later writes
    /// commit.
    #[test]
    fn a_panicking_operation_fails_its_batch_and_the_store_goes_on() {
        let store: Arc<dyn Store> = Arc::new(RedbStore::in_memory(true).unwrap());
        for round in 0..10u8 {
            let outcomes = race_round(&store, round, 4, || panic!("an operation that panics"));
            for (i, result, stored) in outcomes {
                match result {
                    Ok(()) => assert!(stored, "acknowledged write lost"),
                    Err(e) => {
                        assert_eq!(e.code(), "storage_error");
                        assert!(!stored, "failed write persisted");
                    }
                }
                if i == 0 {
                    assert!(!stored);
                }
            }
        }
        let key = [0xee; 32];
        store
            .write(move |tx| tx.put_refresh(&key, &record(1)))
            .unwrap();
        assert!(store.read(|tx| tx.refresh(&key)).unwrap().is_some());
    }

    /// One round of `n` threads that each write a key of their own at the
    /// same moment, through group commit; thread 0's operation writes and
    /// then ends with `first()`. Gives each thread's index, what its write
    /// returned, and whether its key is stored afterwards.
    fn race_round(
        store: &Arc<dyn Store>,
        round: u8,
        n: u8,
        first: fn() -> Result<()>,
    ) -> Vec<(u8, Result<()>, bool)> {
        let barrier = Arc::new(Barrier::new(n.into()));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let key = [round.wrapping_mul(n).wrapping_add(i); 32];
                    barrier.wait();
                    let result = store.write(move |tx| {
                        tx.put_refresh(&key, &record(i))?;
                        if i == 0 {
                            return first();
                        }
                        Ok(())
                    });
                    (i, key, result)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let (i, key, result) = h.join().unwrap();
                let stored = store.read(|tx| tx.refresh(&key)).unwrap().is_some();
                (i, result, stored)
            })
            .collect()
    }

    /// The expiry index holds exactly one entry per refresh record, at its
    /// current expiry, however the record is rewritten: a rotation marks
    /// the spent token's record without moving its expiry, and must not
    /// leave a second entry, or lose the one it has, when it skips the
    /// index.
    #[test]
    fn rewriting_a_refresh_record_keeps_one_expiry_entry() {
        let store = RedbStore::in_memory(false).unwrap();
        let key = [7u8; 32];
        let entries = || {
            store
                .read_redb(|tx| {
                    let t = tx.txn.open_table(REFRESH_EXPIRY).map_err(storage("open"))?;
                    let mut found = Vec::new();
                    for entry in t.iter().map_err(storage("iter"))? {
                        let (k, _) = entry.map_err(storage("iter"))?;
                        found.push(k.value().0);
                    }
                    Ok(found)
                })
                .unwrap()
        };
        let mut rec = record(1);
        store.write_redb(|tx| tx.put_refresh(&key, &rec)).unwrap();
        assert_eq!(entries(), vec![1]);
        rec.state = RefreshState::Rotated {
            at: 5,
            child: [8; 32],
        };
        store.write_redb(|tx| tx.put_refresh(&key, &rec)).unwrap();
        assert_eq!(entries(), vec![1], "same expiry: the entry stays");
        rec.expires_at = 9;
        store.write_redb(|tx| tx.put_refresh(&key, &rec)).unwrap();
        assert_eq!(entries(), vec![9], "new expiry: the entry moves");
        store
            .write_redb(|tx| tx.delete_refresh(&key, rec.expires_at))
            .unwrap();
        assert_eq!(entries(), Vec::<i64>::new());
    }
}
