//! The embedded store: one redb file (or redb's in-memory backend).
//!
//! Invariants:
//! - every write transaction commits with `Durability::Immediate`;
//! - the handle is a [`ProcessLocal`]: a child of `fork()` opens its own
//!   handle and leaks the inherited one without using or dropping it, since
//!   closing a parent's handle from the child loses writes or corrupts
//!   state (an in-memory database is the child's own copy, and is kept);
//! - with `multi_process`, the file opens in `ConcurrencyMode::MultiWriter`
//!   so that processes serialise on redb's writer lock; without it, the
//!   file is exclusive to one process.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use redb::backends::InMemoryBackend;
use redb::{
    Builder, ConcurrencyMode, Database, Durability, ReadTransaction, ReadableDatabase,
    ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::file_backend::LseekLength;
use super::{Output, ProcessLocal, ReadTx, Store, StoreStats, WriteOp, WriteTx};
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
///
/// - 1: refresh records for every token issued.
/// - 2: a family record alone holds the state of the tokens Tessera issued
///   for it; `REFRESH` gains records only for foreign (simplejwt) tokens.
///   Same tables and record formats, so a version 1 file is upgraded by
///   writing the new number; a build that reads only version 1, which
///   would take every session rotated since for gone, then refuses it.
const SCHEMA_VERSION: u64 = 2;
/// The oldest schema version this code upgrades.
const OLDEST_SCHEMA_VERSION: u64 = 1;

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
}

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
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let db = self.db()?;
        let mut txn = db.begin_write().map_err(storage("cannot begin a write"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(storage("cannot set durability"))?;
        let mut tx = RedbWrite {
            txn,
            path: self.path.clone(),
            writes: 0,
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
            Some(group) => self.write_grouped(group, op),
            None => self.write_redb(|tx| op(tx)),
        }
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

/// Group commit: concurrent writers in one process share durable commits.
///
/// A caller queues its operation. If no batch is being led, it becomes the
/// leader: it begins one write transaction, runs every queued operation in
/// it, one after another and in arrival order, taking in operations that
/// arrive meanwhile, until the queue is empty; then it commits once, outside
/// the lock. The other callers sleep until their answer arrives, so a batch
/// of n operations costs the leader no thread switches, and each caller one
/// wake-up. Each operation sees the effects of those before it, so single
/// use holds inside a batch. A lone writer leads at once and commits its own
/// operation alone, exactly as without grouping.
///
/// Invariants:
/// - `leading` is true from the moment a caller becomes leader until a
///   leader finds the queue empty after its commit; while it is true, no
///   other caller begins a transaction;
/// - no caller hears its answer before its batch's commit has returned: a
///   member told `Ok` is durable;
/// - an operation that fails without writing fails alone; one that fails
///   after writing (or panics) poisons its batch, which is rolled back, and
///   every member gets `storage_error`;
/// - after its commit, a leader that finds operations queued passes the
///   lead to the oldest of their callers before it answers its members, so
///   the next batch runs while the answers go out.
#[derive(Default)]
struct GroupCommit {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    leading: bool,
}

/// A queued operation and the way back to its caller.
struct Job {
    op: WriteOp,
    reply: mpsc::Sender<Reply>,
}

enum Reply {
    /// The operation's outcome, after its batch's commit.
    Done(Result<Output>),
    /// Lead the next batch (the caller's own operation is queued in it).
    Lead,
}

/// The most operations one batch takes; callers beyond wait for the next.
const MAX_BATCH: usize = 1024;

impl GroupCommit {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while the lock is held, so a poisoned queue is
        // still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RedbStore {
    fn write_grouped(&self, group: &GroupCommit, op: WriteOp) -> Result<Output> {
        let (reply, answer) = mpsc::channel();
        let lead = {
            let mut q = group.queue();
            q.jobs.push(Job { op, reply });
            !std::mem::replace(&mut q.leading, true)
        };
        if lead {
            self.lead_batch(group);
        }
        loop {
            match answer.recv() {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead) => self.lead_batch(group),
                Err(_) => return Err(Error::storage("group commit lost an operation")),
            }
        }
    }

    /// Runs one batch: every queued operation in one transaction, one
    /// commit, then the lead to the next caller and the answers out.
    fn lead_batch(&self, group: &GroupCommit) {
        let mut answers: Vec<(mpsc::Sender<Reply>, Result<Output>)> = Vec::new();
        let outcome = match self.begin_redb() {
            Ok(mut tx) => {
                let mut poisoned = None;
                loop {
                    let jobs = {
                        let mut q = group.queue();
                        let room = MAX_BATCH.saturating_sub(answers.len()).min(q.jobs.len());
                        q.jobs.drain(..room).collect::<Vec<_>>()
                    };
                    if jobs.is_empty() {
                        break;
                    }
                    for mut job in jobs {
                        let before = tx.writes;
                        let result =
                            std::panic::catch_unwind(AssertUnwindSafe(|| (job.op)(&mut tx)))
                                .unwrap_or_else(|_| {
                                    // Its writes may be half made: count it as written.
                                    tx.writes += 1;
                                    Err(Error::storage("a write operation panicked"))
                                });
                        if result.is_err() && tx.writes != before && poisoned.is_none() {
                            poisoned = Some(Error::storage(
                                "an operation failed after writing; its batch was rolled back",
                            ));
                        }
                        answers.push((job.reply, result));
                    }
                }
                match poisoned {
                    Some(e) => Err(e),
                    None => tx.txn.commit().map_err(storage("commit failed")),
                }
            }
            Err(e) => {
                // No transaction: every queued operation fails with it.
                let jobs = std::mem::take(&mut group.queue().jobs);
                answers.extend(jobs.into_iter().map(|j| (j.reply, Err(e.clone()))));
                Err(e)
            }
        };
        {
            let mut q = group.queue();
            loop {
                let Some(next) = q.jobs.first() else {
                    q.leading = false;
                    break;
                };
                if next.reply.send(Reply::Lead).is_ok() {
                    break;
                }
                // Its caller is gone (it can only have panicked): nobody
                // awaits that operation.
                q.jobs.remove(0);
            }
        }
        for (reply, result) in answers {
            let answer = match &outcome {
                Ok(()) => result,
                Err(e) => result.and(Err(e.clone())),
            };
            // A caller gone before its answer needs none.
            let _ = reply.send(Reply::Done(answer));
        }
    }

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
}

/// The size of the database file; 0 in memory or when it cannot be read.
fn file_bytes(path: Option<&Path>) -> u64 {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
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

/// A read snapshot.
pub(crate) struct RedbRead {
    txn: ReadTransaction,
    /// The file, for `stats`; the size is read only when asked for.
    path: Option<Arc<Path>>,
}

/// A write transaction.
pub(crate) struct RedbWrite {
    txn: WriteTransaction,
    path: Option<Arc<Path>>,
    /// Record writes made so far; group commit uses it to tell whether a
    /// failed operation left changes behind.
    writes: u64,
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
                    file_bytes: file_bytes(self.path.as_deref()),
                })
            }
        }
    };
}

read_impl!(RedbRead);
read_impl!(RedbWrite);

impl WriteTx for RedbWrite {
    fn put_refresh(&mut self, key: &Digest32, rec: &RefreshRecord) -> Result<()> {
        self.writes += 1;
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
        // An update that keeps the expiry (every rotation's spent token)
        // already has its index entry: rewriting it would copy a page of
        // the index for nothing.
        if old.as_ref().is_some_and(|o| o.expires_at == rec.expires_at) {
            return Ok(());
        }
        let mut idx = self
            .txn
            .open_table(REFRESH_EXPIRY)
            .map_err(storage("open refresh_expiry"))?;
        if let Some(old) = old {
            idx.remove((old.expires_at, key))
                .map_err(storage("write refresh_expiry"))?;
        }
        idx.insert((rec.expires_at, key), ())
            .map_err(storage("write refresh_expiry"))?;
        Ok(())
    }

    fn delete_refresh(&mut self, key: &Digest32, expires_at: i64) -> Result<()> {
        self.writes += 1;
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
        self.writes += 1;
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
        self.writes += 1;
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
        self.writes += 1;
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

    fn family_ids(&mut self, after: Option<Id16>, limit: usize) -> Result<Vec<Id16>> {
        keys_after(&self.txn, FAMILY, "family", after, limit)
    }

    fn put_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        self.writes += 1;
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
        self.writes += 1;
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
        keys_after(&self.txn, PAT, "pat", after, limit)
    }
}

/// Up to `limit` keys of `table` in key order, from just after `after`
/// (from the first with `None`): the cursor of a scan that spans
/// transactions.
fn keys_after<const N: usize>(
    txn: &WriteTransaction,
    table: TableDefinition<&'static [u8; N], &'static [u8]>,
    name: &'static str,
    after: Option<[u8; N]>,
    limit: usize,
) -> Result<Vec<[u8; N]>> {
    let scan = |e: &dyn std::fmt::Display| Error::storage(format!("scan {name}: {e}"));
    let t = txn.open_table(table).map_err(|e| scan(&e))?;
    let start = after.unwrap_or([0u8; N]);
    let range = t.range::<&[u8; N]>(&start..).map_err(|e| scan(&e))?;
    range
        .filter_map(|r| match r {
            Ok((k, _)) if after.is_some_and(|a| a == *k.value()) => None,
            Ok((k, _)) => Some(Ok(*k.value())),
            Err(e) => Some(Err(scan(&e))),
        })
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::records::RefreshState;

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
