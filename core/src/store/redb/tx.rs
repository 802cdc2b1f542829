//! redb transactions as the engine's [`ReadTx`] and [`WriteTx`]: typed
//! reads and writes of records over the tables of [`super::format`].
//!
//! Invariants:
//! - every table is opened, and every redb error named, through [`Tables`]
//!   and the helpers below it, so an error always says what was being done
//!   to which table;
//! - index tables move with their records: `put_refresh` keeps the expiry
//!   index, `put_family`/`delete_family` the per-user index, and the PAT
//!   calls the id and user indexes, all in the same transaction;
//! - `writes` counts every record write, so group commit can tell whether a
//!   failed operation left changes behind.

use std::borrow::Borrow;
use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;

use super::format::{
    self, Record, ATTEMPTS, FAMILY, PAT, PAT_ID, REFRESH, REFRESH_EXPIRY, SECRET, USER_FAMILY,
    USER_PAT, USER_REVOKED, USER_STAMP,
};
use crate::error::{Error, Result};
use crate::store::records::{
    AttemptRecord, Digest32, FamilyRecord, Id16, PatRecord, RefreshRecord,
};
use crate::store::{ReadTx, StoreStats, WriteTx};
use redb::{
    Key, ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata, Table,
    TableDefinition, TableError, TableHandle, Value, WriteTransaction,
};

/// A read snapshot.
pub(super) struct RedbRead {
    pub(super) txn: ReadTransaction,
    /// The file, for `stats`; the size is read only when asked for.
    pub(super) path: Option<Arc<Path>>,
}

/// A write transaction.
pub(super) struct RedbWrite {
    pub(super) txn: WriteTransaction,
    pub(super) path: Option<Arc<Path>>,
    /// Record writes made so far; group commit uses it to tell whether a
    /// failed operation left changes behind.
    pub(super) writes: u64,
}

/// A redb error, with what was being done to which table.
pub(super) fn failed<'t, E: Display>(
    what: &'static str,
    table: &'t str,
) -> impl Fn(E) -> Error + 't {
    move |e| Error::storage(format!("{what} {table}: {e}"))
}

/// Opening tables, the same way for both kinds of transaction.
pub(super) trait Tables {
    /// The table type this transaction opens.
    type Table<'t, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
    where
        Self: 't;

    /// Opens `def`.
    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<Self::Table<'_, K, V>>;

    /// Opens `def`, or `None` when the file has no such table (a read
    /// snapshot of a file that predates it; a write creates it).
    fn table_if_any<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<Option<Self::Table<'_, K, V>>>;

    /// The database file, if any.
    fn path(&self) -> Option<&Path>;
}

impl Tables for RedbRead {
    type Table<'t, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<ReadOnlyTable<K, V>> {
        self.txn.open_table(def).map_err(failed("open", def.name()))
    }

    fn table_if_any<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<Option<ReadOnlyTable<K, V>>> {
        match self.txn.open_table(def) {
            Ok(t) => Ok(Some(t)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(failed("open", def.name())(e)),
        }
    }

    fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Tables for RedbWrite {
    type Table<'t, K: Key + 'static, V: Value + 'static> = Table<'t, K, V>;

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<Table<'_, K, V>> {
        self.txn.open_table(def).map_err(failed("open", def.name()))
    }

    fn table_if_any<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<Option<Table<'_, K, V>>> {
        self.table(def).map(Some)
    }

    fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// The record stored under `key` in `def`, decoded.
fn get_record<'k, K, T>(
    tx: &impl Tables,
    def: TableDefinition<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> Result<Option<T>>
where
    K: Key + 'static,
    T: Record,
{
    let t = tx.table(def)?;
    let v = t.get(key).map_err(failed("read", def.name()))?;
    v.map(|g| format::decode(g.value())).transpose()
}

/// A value of `def` that is not an encoded record.
fn get_value<'k, K, V, T>(
    tx: &impl Tables,
    def: TableDefinition<K, V>,
    key: impl Borrow<K::SelfType<'k>>,
    read: impl FnOnce(V::SelfType<'_>) -> T,
) -> Result<Option<T>>
where
    K: Key + 'static,
    V: Value + 'static,
{
    let t = tx.table(def)?;
    let v = t.get(key).map_err(failed("read", def.name()))?;
    Ok(v.map(|g| read(g.value())))
}

/// The keys of `def` in `range`, at most `limit`, mapped by `key`.
fn scan<'r, K, V, T>(
    tx: &impl Tables,
    def: TableDefinition<K, V>,
    range: impl std::ops::RangeBounds<K::SelfType<'r>> + 'r,
    limit: usize,
    key: impl Fn(K::SelfType<'_>) -> T,
) -> Result<Vec<T>>
where
    K: Key + 'static,
    V: Value + 'static,
{
    let t = tx.table(def)?;
    let range = t.range(range).map_err(failed("scan", def.name()))?;
    range
        .take(limit)
        .map(|r| {
            r.map(|(k, _)| key(k.value()))
                .map_err(failed("scan", def.name()))
        })
        .collect()
}

/// How many entries `def` holds.
fn count<K: Key + 'static, V: Value + 'static>(
    tx: &impl Tables,
    def: TableDefinition<K, V>,
) -> Result<u64> {
    tx.table(def)?.len().map_err(failed("count", def.name()))
}

/// The read side is the same for both kinds of transaction.
impl<T: Tables> ReadTx for T {
    fn refresh(&self, key: &Digest32) -> Result<Option<RefreshRecord>> {
        get_record(self, REFRESH, key)
    }

    fn family(&self, id: &Id16) -> Result<Option<FamilyRecord>> {
        get_record(self, FAMILY, id)
    }

    fn user_families(&self, user: &str) -> Result<Vec<Id16>> {
        scan(
            self,
            USER_FAMILY,
            (user, &[0u8; 16])..=(user, &[0xffu8; 16]),
            usize::MAX,
            |(_, id)| *id,
        )
    }

    fn user_revoked(&self, user: &str) -> Result<Option<i64>> {
        get_value(self, USER_REVOKED, user, |at| at)
    }

    fn pat(&self, digest: &Digest32) -> Result<Option<PatRecord>> {
        get_record(self, PAT, digest)
    }

    fn pat_digest(&self, id: &Id16) -> Result<Option<Digest32>> {
        get_value(self, PAT_ID, id, |digest| *digest)
    }

    fn user_pats(&self, user: &str) -> Result<Vec<Id16>> {
        scan(
            self,
            USER_PAT,
            (user, i64::MIN, &[0u8; 16])..=(user, i64::MAX, &[0xffu8; 16]),
            usize::MAX,
            |(_, _, id)| *id,
        )
    }

    fn attempts(&self, key: &Digest32) -> Result<Option<AttemptRecord>> {
        get_record(self, ATTEMPTS, key)
    }

    fn user_stamp(&self, user: &str) -> Result<u64> {
        let Some(t) = self.table_if_any(USER_STAMP)? else {
            return Ok(0);
        };
        let v = t.get(user).map_err(failed("read", USER_STAMP.name()))?;
        Ok(v.map_or(0, |g| g.value()))
    }

    fn stored_derivation_secret(&self) -> Result<Option<Digest32>> {
        get_value(self, SECRET, "derivation", |v: &[u8]| {
            Digest32::try_from(v).map_err(|_| Error::storage("corrupt derivation secret"))
        })?
        .transpose()
    }

    fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            refresh_records: count(self, REFRESH)?,
            families: count(self, FAMILY)?,
            user_marks: count(self, USER_REVOKED)?,
            pats: count(self, PAT)?,
            attempt_counters: count(self, ATTEMPTS)?,
            file_bytes: file_bytes(self.path()),
        })
    }
}

impl RedbWrite {
    /// Writes `rec` under `key` in `def`, returning the bytes it replaced.
    fn put_record<'k, K: Key + 'static>(
        &mut self,
        def: TableDefinition<K, &'static [u8]>,
        key: impl Borrow<K::SelfType<'k>>,
        rec: &impl Record,
    ) -> Result<Option<Vec<u8>>> {
        self.writes += 1;
        let bytes = format::encode(rec)?;
        let mut t = self.table(def)?;
        let old = t
            .insert(key, bytes.as_slice())
            .map_err(failed("write", def.name()))?;
        Ok(old.map(|g| g.value().to_vec()))
    }

    /// Inserts `key` → `value` into `def`.
    fn insert<'k, 'v, K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<()> {
        self.writes += 1;
        let mut t = self.table(def)?;
        t.insert(key, value).map_err(failed("write", def.name()))?;
        Ok(())
    }

    /// Removes `key` from `def`.
    fn remove<'k, K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<K, V>,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<()> {
        self.writes += 1;
        let mut t = self.table(def)?;
        t.remove(key).map_err(failed("delete", def.name()))?;
        Ok(())
    }

    /// Up to `limit` keys of `def` in key order, from just after `after`
    /// (from the first with `None`): the cursor of a scan that spans
    /// transactions.
    fn keys_after<const N: usize>(
        &self,
        def: TableDefinition<&'static [u8; N], &'static [u8]>,
        after: Option<[u8; N]>,
        limit: usize,
    ) -> Result<Vec<[u8; N]>> {
        let start = after.unwrap_or([0u8; N]);
        let skip = usize::from(after.is_some());
        let mut keys = scan(self, def, &start.., limit.saturating_add(skip), |k| *k)?;
        // The range starts at `after` itself, which the previous call saw.
        if skip == 1 && keys.first() == after.as_ref() {
            keys.remove(0);
        }
        keys.truncate(limit);
        Ok(keys)
    }
}

impl WriteTx for RedbWrite {
    fn put_refresh(&mut self, key: &Digest32, rec: &RefreshRecord) -> Result<()> {
        let old = self
            .put_record(REFRESH, key, rec)?
            .map(|bytes| format::decode::<RefreshRecord>(&bytes))
            .transpose()?;
        // An update that keeps the expiry (every rotation's spent token)
        // already has its index entry: rewriting it would copy a page of
        // the index for nothing.
        if old.as_ref().is_some_and(|o| o.expires_at == rec.expires_at) {
            return Ok(());
        }
        if let Some(old) = old {
            self.remove(REFRESH_EXPIRY, (old.expires_at, key))?;
        }
        self.insert(REFRESH_EXPIRY, (rec.expires_at, key), ())
    }

    fn delete_refresh(&mut self, key: &Digest32, expires_at: i64) -> Result<()> {
        self.remove(REFRESH, key)?;
        self.remove(REFRESH_EXPIRY, (expires_at, key))
    }

    fn put_family(&mut self, id: &Id16, rec: &FamilyRecord) -> Result<()> {
        if self.put_record(FAMILY, id, rec)?.is_none() {
            self.insert(USER_FAMILY, (rec.user_id.as_str(), id), ())?;
        }
        Ok(())
    }

    fn delete_family(&mut self, id: &Id16, user: &str) -> Result<()> {
        self.remove(FAMILY, id)?;
        self.remove(USER_FAMILY, (user, id))
    }

    fn put_user_revoked(&mut self, user: &str, at: i64) -> Result<()> {
        self.insert(USER_REVOKED, user, at)
    }

    fn bump_user_stamp(&mut self, user: &str) -> Result<u64> {
        let next = self.user_stamp(user)?.wrapping_add(1);
        self.insert(USER_STAMP, user, next)?;
        Ok(next)
    }

    fn expired_refresh(&mut self, before: i64, limit: usize) -> Result<Vec<(i64, Digest32)>> {
        scan(
            self,
            REFRESH_EXPIRY,
            (i64::MIN, &[0u8; 32])..(before, &[0u8; 32]),
            limit,
            |(at, key)| (at, *key),
        )
    }

    fn family_ids(&mut self, after: Option<Id16>, limit: usize) -> Result<Vec<Id16>> {
        self.keys_after(FAMILY, after, limit)
    }

    fn put_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        if self.put_record(PAT, digest, rec)?.is_none() {
            self.insert(PAT_ID, &rec.id, digest)?;
            self.insert(
                USER_PAT,
                (rec.user_id.as_str(), rec.created_at, &rec.id),
                (),
            )?;
        }
        Ok(())
    }

    fn delete_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        self.remove(PAT, digest)?;
        self.remove(PAT_ID, &rec.id)?;
        self.remove(USER_PAT, (rec.user_id.as_str(), rec.created_at, &rec.id))
    }

    fn pat_digests(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>> {
        self.keys_after(PAT, after, limit)
    }

    fn put_attempts(&mut self, key: &Digest32, rec: &AttemptRecord) -> Result<()> {
        self.put_record(ATTEMPTS, key, rec).map(drop)
    }

    fn delete_attempts(&mut self, key: &Digest32) -> Result<()> {
        self.remove(ATTEMPTS, key)
    }

    fn attempt_keys(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>> {
        self.keys_after(ATTEMPTS, after, limit)
    }

    fn derivation_secret(&mut self, candidate: &Digest32) -> Result<Digest32> {
        if let Some(secret) = self.stored_derivation_secret()? {
            return Ok(secret);
        }
        self.insert(SECRET, "derivation", &candidate[..])?;
        Ok(*candidate)
    }
}

/// The size of the database file; 0 in memory or when it cannot be read.
fn file_bytes(path: Option<&Path>) -> u64 {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use redb::backends::InMemoryBackend;
    use redb::{Builder, ReadableDatabase};

    use super::*;

    /// A snapshot of a file written before change stamps existed (no
    /// `USER_STAMP` table) reads every stamp as 0; a write creates the
    /// table.
    #[test]
    fn file_without_the_stamp_table_reads_stamp_zero() {
        let db = Builder::new()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let read = RedbRead {
            txn: db.begin_read().unwrap(),
            path: None,
        };
        assert_eq!(read.user_stamp("42").unwrap(), 0);
        drop(read);
        let mut write = RedbWrite {
            txn: db.begin_write().unwrap(),
            path: None,
            writes: 0,
        };
        assert_eq!(write.bump_user_stamp("42").unwrap(), 1);
        assert_eq!(write.bump_user_stamp("42").unwrap(), 2);
        write.txn.commit().unwrap();
        let read = RedbRead {
            txn: db.begin_read().unwrap(),
            path: None,
        };
        assert_eq!(read.user_stamp("42").unwrap(), 2);
        assert_eq!(read.user_stamp("7").unwrap(), 0);
    }
}
