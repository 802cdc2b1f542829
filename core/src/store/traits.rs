//! The storage boundary of the engine.
//!
//! The engine's state machine (rotation, reuse detection, revocation, PATs)
//! is written once, against [`ReadTx`] and [`WriteTx`]: typed reads and
//! writes of the records in [`super::records`]. A store only has to run a
//! closure inside one transaction and commit it durably, or not at all.
//!
//! Invariants:
//! - a `write` closure that returns `Ok` is committed with full durability
//!   before `write` returns; one that returns `Err` leaves no trace;
//! - `write_op_relaxed` is for attempt counters alone, data whose loss in a
//!   crash is acceptable: its commit is atomic and visible to every other
//!   writer and process at once, but may be lost in a crash. It never
//!   shares a transaction with a durable write, so it cannot weaken one, and
//!   a later durable commit makes it durable too.

use std::any::Any;

use super::records::{AttemptRecord, Digest32, FamilyRecord, Id16, PatRecord, RefreshRecord};
use crate::error::{Error, Result};

/// What a write operation returns, type-erased so that one queue can hold
/// the operations of many callers.
pub(crate) type Output = Box<dyn Any + Send>;

/// A write operation that owns everything it uses, so that a store may run
/// it on another thread: group commit's leader runs the operations of every
/// caller in its batch.
pub(crate) type WriteOp = Box<dyn FnMut(&mut dyn WriteTx) -> Result<Output> + Send>;

/// A transactional store of engine records.
///
/// `write_op` may run `op` more than once when the store must retry a
/// transaction (a serialization conflict, say); `op` must therefore only
/// read and write through the transaction it is given. Only the last run's
/// effects, and its result, count.
pub(crate) trait Store: Send + Sync {
    /// Runs `op` in one write transaction, committed durably when it
    /// returns `Ok`, rolled back when it returns `Err`.
    fn write_op(&self, op: WriteOp) -> Result<Output>;
    /// Runs `op` in one write transaction whose commit may skip the flush
    /// to stable storage (see the module's invariants); a store that cannot
    /// do that safely commits durably.
    fn write_op_relaxed(&self, op: WriteOp) -> Result<Output> {
        self.write_op(op)
    }
    /// Runs `f` over committed data: a snapshot in redb; in PostgreSQL each
    /// read is its own autocommit statement (see `postgres`'s invariants
    /// for why the engine's read closures tolerate that).
    fn read_dyn(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()>;
    /// Closes the store; later calls fail with `storage_error`.
    fn close(&self) -> Result<()>;
    /// Transactions begun so far (tests prove "no store access" with it).
    fn transactions(&self) -> u64;
}

impl dyn Store {
    /// [`Store::write_op`] with a typed result.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut dyn WriteTx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let out = self.write_op(Box::new(move |tx| Ok(Box::new(f(tx)?) as Output)))?;
        downcast(out)
    }

    /// [`Store::write_op_relaxed`] with a typed result.
    pub(crate) fn write_relaxed<T: Send + 'static>(
        &self,
        mut f: impl FnMut(&mut dyn WriteTx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let out = self.write_op_relaxed(Box::new(move |tx| Ok(Box::new(f(tx)?) as Output)))?;
        downcast(out)
    }

    /// [`Store::read_dyn`] with a result value.
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&dyn ReadTx) -> Result<T>) -> Result<T> {
        let mut out = None;
        self.read_dyn(&mut |tx| {
            out = Some(f(tx)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::storage("the read transaction produced no result"))
    }
}

fn downcast<T: 'static>(out: Output) -> Result<T> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| Error::storage("the write transaction produced a result of another type"))
}

/// Reads inside one transaction (a consistent snapshot).
pub(crate) trait ReadTx {
    fn refresh(&self, key: &Digest32) -> Result<Option<RefreshRecord>>;
    fn family(&self, id: &Id16) -> Result<Option<FamilyRecord>>;
    /// The families of a user, in id order.
    fn user_families(&self, user: &str) -> Result<Vec<Id16>>;
    /// When the user last logged out everywhere.
    fn user_revoked(&self, user: &str) -> Result<Option<i64>>;
    fn pat(&self, digest: &Digest32) -> Result<Option<PatRecord>>;
    fn pat_digest(&self, id: &Id16) -> Result<Option<Digest32>>;
    /// The PAT ids of a user, oldest first.
    fn user_pats(&self, user: &str) -> Result<Vec<Id16>>;
    /// The attempt counter under `key` (SHA-256 of the caller's key); in
    /// a PostgreSQL write transaction, locked until it ends.
    fn attempts(&self, key: &Digest32) -> Result<Option<AttemptRecord>>;
    /// The user's change stamp: 0 until the first bump. A store written by
    /// a build that predates stamps reads as 0 for everyone.
    fn user_stamp(&self, user: &str) -> Result<u64>;
    /// The store's derivation secret, if the store has one yet.
    fn stored_derivation_secret(&self) -> Result<Option<Digest32>>;
    /// Record counts per table, and the store's size in bytes.
    fn stats(&self) -> Result<StoreStats>;
}

/// Writes inside one transaction. Index tables are kept in step by the
/// store: `put_refresh` maintains the expiry index, `put_family` and
/// `delete_family` the per-user index, and the PAT calls the id and user
/// indexes.
pub(crate) trait WriteTx: ReadTx {
    fn put_refresh(&mut self, key: &Digest32, rec: &RefreshRecord) -> Result<()>;
    fn delete_refresh(&mut self, key: &Digest32, expires_at: i64) -> Result<()>;
    fn put_family(&mut self, id: &Id16, rec: &FamilyRecord) -> Result<()>;
    fn delete_family(&mut self, id: &Id16, user: &str) -> Result<()>;
    fn put_user_revoked(&mut self, user: &str, at: i64) -> Result<()>;
    /// Adds one to the user's change stamp and returns the new value; two
    /// concurrent bumps of one user return two different values.
    fn bump_user_stamp(&mut self, user: &str) -> Result<u64>;
    /// Up to `limit` refresh keys whose purge time (`exp + leeway`) is
    /// before `before`, with that time, oldest first.
    fn expired_refresh(&mut self, before: i64, limit: usize) -> Result<Vec<(i64, Digest32)>>;
    /// Every family id (for purging), in id order, from `after`.
    fn family_ids(&mut self, after: Option<Id16>, limit: usize) -> Result<Vec<Id16>>;
    fn put_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()>;
    fn delete_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()>;
    /// Every PAT digest (for purging), in digest order, from `after`.
    fn pat_digests(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>>;
    fn put_attempts(&mut self, key: &Digest32, rec: &AttemptRecord) -> Result<()>;
    fn delete_attempts(&mut self, key: &Digest32) -> Result<()>;
    /// Every attempt counter key (for purging), in key order, from `after`.
    fn attempt_keys(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>>;
    /// The store's derivation secret, storing `candidate` as it when there
    /// is none yet. Every caller, in every process and host, gets the one
    /// secret the first committed call stored.
    fn derivation_secret(&mut self, candidate: &Digest32) -> Result<Digest32>;
}

/// Sizes reported by [`crate::Engine::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Records of refresh tokens Tessera did not issue (blacklisted
    /// simplejwt tokens), and those a schema version 1 store wrote for its
    /// own tokens, until they expire. The tokens Tessera issues are tracked
    /// by their family alone.
    pub refresh_records: u64,
    /// Token families (sessions), live or revoked, not yet purged.
    pub families: u64,
    /// Users with a "log out everywhere" mark.
    pub user_marks: u64,
    /// Personal access token records, tombstones included.
    pub pats: u64,
    /// Attempt counters (throttling), expired ones not yet purged.
    pub attempt_counters: u64,
    /// Bytes the store occupies on disk (0 in memory).
    pub file_bytes: u64,
}
