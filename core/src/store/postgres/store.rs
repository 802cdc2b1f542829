//! The PostgreSQL store: the engine's records in typed `tessera_*` tables,
//! shared by every host that connects to the same database.
//!
//! Invariants:
//! - every write runs in one READ COMMITTED transaction whose reads lock
//!   what they find (`SELECT … FOR UPDATE`) until it ends. A transaction
//!   therefore decides only on rows no one else can change before it
//!   commits: two callers exchanging the same refresh token queue on its
//!   session's row, and the second sees the first one's result;
//! - what a row lock cannot hold, absence, is guarded in two ways:
//!   a key this transaction read as absent is written with a plain INSERT,
//!   never an upsert, so of two transactions that both found it absent one
//!   fails with a unique violation (23505) and is rerun, then finds the
//!   row (a never-seen simplejwt token refreshed twice at once); and the
//!   per-user sets and marks (a user's families, PATs, logout-everywhere
//!   time) are read and written under a per-user advisory lock, so a
//!   logout-everywhere and a session started for the same user, or two
//!   PAT creations against the per-user limit, run one after the other;
//! - a write is rerun only when it certainly did not commit: on a conflict
//!   (40001, 40P01, 23505), or when the connection was lost before COMMIT
//!   was sent. A connection lost during COMMIT leaves the outcome unknown,
//!   and the call fails with `storage_error` without a rerun;
//! - reads are single autocommit statements at READ COMMITTED. A read
//!   closure that makes several reads (verify_refresh, sessions, list_pats)
//!   sees each at its own moment; the engine tolerates that because records
//!   only move forward (active, then rotated or revoked, then purged) and
//!   every such closure treats a missing record as gone;
//! - connections are made by the process that uses them. The pool is a
//!   [`ProcessLocal`]: a child of `fork()` builds its own pool and leaks the
//!   inherited one without touching it, since dropping a parent's `Client`
//!   sends Terminate over the parent's socket;
//! - an unreachable server makes calls fail with `storage_error` after at
//!   most the connect timeout; the pool keeps reconnecting in the background
//!   and discards broken connections, so calls succeed again once the server
//!   is back, without reopening the engine;
//! - `write_op_relaxed` (attempt counters alone) runs with
//!   `SET LOCAL synchronous_commit = off`: the commit is atomic and visible
//!   at once, and only its flush to the WAL on disk is deferred (a server
//!   crash may lose the last fraction of a second of counts). It is never
//!   part of a transaction that writes token state, and PostgreSQL flushes
//!   the WAL in order, so a later durable commit is never weakened;
//! - the schema carries a version table; migrations run once, in one
//!   transaction, under a transaction-scoped advisory lock.
//!
//! SERIALIZABLE would give the same guarantees without the lock discipline,
//! but its page-level predicate locks make independent rotations abort each
//! other: with 16 threads on a young table, retries ran out.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::rows::{
    col, describe, digest_col, family_from_row, fixed, id_col, limit_param, pat_from_row, pg,
    pg_text, pg_text_for_write, refresh_from_row, storage_err,
};
use super::schema::MIGRATIONS;
use crate::error::{Error, Result};
use crate::store::records::{
    AttemptRecord, Digest32, FamilyRecord, FamilyState, Id16, PatRecord, RefreshRecord,
    RefreshState, RevokeReason,
};
use crate::store::{Output, ProcessLocal, ReadTx, Store, StoreStats, WriteOp, WriteTx};

/// Most connections one process keeps to the server.
const POOL_SIZE: u32 = 16;
/// How long a connection attempt, and a wait for a pooled connection, may
/// take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a conflicting write transaction is run before giving up.
const MAX_CONFLICT_ATTEMPTS: u32 = 24;
/// Upper bound of the jittered pause before the n-th rerun, doubling from
/// 1 ms.
const MAX_BACKOFF: Duration = Duration::from_millis(50);
/// The advisory lock class of migrations; the object id is the schema's hash.
const MIGRATION_LOCK_CLASS: i32 = 0x7473_7261; // "tsra"
/// The advisory lock class of a user's sets and marks; the object id is
/// the user id's hash (a collision only makes two users wait for each other).
const USER_LOCK_CLASS: i32 = 0x7473_7275; // "tsru"

/// SQLSTATEs after which a write transaction is rerun: it did not commit,
/// and a rerun, which sees what the other transaction committed, may
/// decide differently.
const CONFLICT_STATES: [&str; 3] = [
    "40001", // serialization_failure (none at READ COMMITTED; harmless)
    "40P01", // deadlock_detected
    "23505", // unique_violation: two inserts of a key that was absent
];

/// A PostgreSQL database holding the engine's records, safe across `fork()`.
pub(crate) struct PostgresStore {
    handle: ProcessLocal<Pool>,
    /// Kept to build a new pool in a forked child.
    config: postgres::Config,
    /// How long a call waits for a connection.
    connect_timeout: Duration,
    /// Calls begun, read or write (a rerun is the same call).
    transactions: AtomicU64,
}

type Pool = r2d2::Pool<Manager>;

impl PostgresStore {
    /// Connects to the database at `url` and creates or migrates the schema.
    pub(crate) fn connect(url: &str) -> Result<Self> {
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            Error::config(format!(
                "invalid PostgreSQL connection URL: {}",
                describe(&e)
            ))
        })?;
        // This build links no TLS library: refuse a URL that demands TLS
        // instead of failing at every connection attempt.
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(Error::config(
                "sslmode=require: this build has no TLS support; reach PostgreSQL \
                 over a private network or a unix socket",
            ));
        }
        let connect_timeout = match config.get_connect_timeout() {
            Some(t) => *t,
            None => {
                config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
                DEFAULT_CONNECT_TIMEOUT
            }
        };
        if config.get_application_name().is_none() {
            config.application_name("tessera");
        }
        let store = PostgresStore {
            handle: ProcessLocal::new(build_pool(&config, connect_timeout)),
            config,
            connect_timeout,
            transactions: AtomicU64::new(0),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema to the latest version, once, whoever else is
    /// opening the same schema at the same moment.
    fn migrate(&self) -> Result<()> {
        let pool = self.pool()?;
        let mut conn = self.checkout(&pool)?;
        let mut tx = conn
            .client
            .transaction()
            .map_err(pg("cannot begin the migration"))?;
        let schema: Option<String> = tx
            .query_one("SELECT current_schema()", &[])
            .and_then(|row| row.try_get(0))
            .map_err(pg("cannot read the current schema"))?;
        if schema.is_none() {
            return Err(Error::config(
                "the connection's search_path names no existing schema to create tables in",
            ));
        }
        // Held until this transaction ends: concurrent openers queue here,
        // then find the schema already migrated.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&MIGRATION_LOCK_CLASS],
        )
        .map_err(pg("cannot take the migration lock"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tessera_schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .map_err(pg("cannot create the version table"))?;
        let found: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM tessera_schema_version",
                &[],
            )
            .and_then(|row| row.try_get(0))
            .map_err(pg("cannot read the schema version"))?;
        let latest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if found > latest {
            return Err(Error::storage(format!(
                "the database has schema version {found}; this build knows up to {latest}"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            tx.batch_execute(sql)
                .map_err(pg("schema migration failed"))?;
            tx.execute(
                "INSERT INTO tessera_schema_version (version) VALUES ($1)",
                &[version],
            )
            .map_err(pg("cannot record the schema version"))?;
        }
        tx.commit().map_err(pg("cannot commit the migration"))
    }

    /// The pool of this process, rebuilt after a fork.
    fn pool(&self) -> Result<Pool> {
        self.handle.get(|inherited| {
            let was_open = inherited.is_some();
            std::mem::forget(inherited);
            Ok(was_open.then(|| build_pool(&self.config, self.connect_timeout)))
        })
    }

    fn checkout(&self, pool: &Pool) -> Result<r2d2::PooledConnection<Manager>> {
        pool.get().map_err(|e| {
            Error::storage(format!(
                "PostgreSQL is unreachable (no connection within {} s): {e}",
                self.connect_timeout.as_secs_f32()
            ))
        })
    }

    /// Runs `op` in one locking READ COMMITTED transaction, rerunning it
    /// while it certainly did not commit and may succeed on a rerun.
    fn write_pg(&self, op: &mut WriteOp, relaxed: bool) -> Result<Output> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let pool = self.pool()?;
        let (mut conflicts, mut lost) = (0u32, 0u32);
        loop {
            let mut conn = self.checkout(&pool)?;
            match write_once(&mut conn, op, relaxed) {
                Attempt::Done(result) => return result,
                Attempt::Conflict(e) => {
                    conflicts += 1;
                    if conflicts >= MAX_CONFLICT_ATTEMPTS {
                        return Err(Error::storage(format!(
                            "the write transaction still conflicted after {conflicts} attempts: {e}"
                        )));
                    }
                    // The connection goes back to the pool during the pause.
                    drop(conn);
                    std::thread::sleep(backoff(conflicts));
                }
                Attempt::ConnectionLost(e) => {
                    // Stale pooled connections (after a server restart) are
                    // discarded one by one, without a pause.
                    lost += 1;
                    if lost > POOL_SIZE {
                        return Err(Error::storage(format!(
                            "lost the connection to PostgreSQL: {e}"
                        )));
                    }
                }
            }
        }
    }

    /// Runs `f` over autocommit reads, rerun on a fresh connection when the
    /// one it had turned out to be broken (reads have no effects).
    fn read_pg(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        let pool = self.pool()?;
        let mut lost = 0u32;
        loop {
            let mut conn = self.checkout(&pool)?;
            let PgConn {
                client,
                statements,
                broken,
            } = &mut *conn;
            let session = Session::new(client, statements, false);
            let result = f(&session);
            let Some(e) = session.failure.into_inner() else {
                return result;
            };
            if !connection_lost(&e, client) {
                return Err(result.err().unwrap_or_else(|| storage_err(&e)));
            }
            *broken = true;
            lost += 1;
            if lost > POOL_SIZE {
                return Err(Error::storage(format!(
                    "lost the connection to PostgreSQL: {}",
                    describe(&e)
                )));
            }
        }
    }

    fn close_pool(&self) -> Result<()> {
        // Connections checked out by in-flight calls close when those
        // calls return them.
        drop(self.handle.take()?);
        Ok(())
    }
}

impl Store for PostgresStore {
    fn write_op(&self, mut op: WriteOp) -> Result<Output> {
        self.write_pg(&mut op, false)
    }

    fn write_op_relaxed(&self, mut op: WriteOp) -> Result<Output> {
        self.write_pg(&mut op, true)
    }

    fn read_dyn(&self, f: &mut dyn FnMut(&dyn ReadTx) -> Result<()>) -> Result<()> {
        self.read_pg(f)
    }

    fn close(&self) -> Result<()> {
        self.close_pool()
    }

    fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }
}

/// What one run of a write transaction came to.
enum Attempt {
    /// Committed (`Ok`, with the operation's result), or failed for a
    /// reason a rerun would not change.
    Done(Result<Output>),
    /// Did not commit because of a concurrent transaction; rerun.
    Conflict(String),
    /// The connection broke before COMMIT was sent; rerun on another.
    ConnectionLost(String),
}

fn write_once(conn: &mut PgConn, op: &mut WriteOp, relaxed: bool) -> Attempt {
    let PgConn {
        client,
        statements,
        broken,
    } = conn;
    let mut tx = match client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
    {
        Ok(tx) => tx,
        Err(e) => {
            // Nothing was sent but BEGIN: a lost connection is safe to rerun.
            return if e.is_closed() || is_connection_error(&e) {
                *broken = true;
                Attempt::ConnectionLost(describe(&e))
            } else {
                Attempt::Done(Err(storage_err(&e)))
            };
        }
    };
    let mut session = Session::new(&mut tx, statements, true);
    let result = if relaxed {
        session
            .execute(sql::RELAXED_COMMIT, &[])
            .and_then(|()| op(&mut session))
    } else {
        op(&mut session)
    };
    let failure = session.failure.into_inner();
    if let Some(e) = failure {
        let lost = e.is_closed() || is_connection_error(&e);
        // Dropping `tx` rolls back (or finds the connection gone).
        drop(tx);
        if lost || client.is_closed() {
            *broken = true;
            return Attempt::ConnectionLost(describe(&e));
        }
        return if is_conflict(&e) {
            Attempt::Conflict(describe(&e))
        } else {
            Attempt::Done(Err(result.err().unwrap_or_else(|| storage_err(&e))))
        };
    }
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            // The engine decided against the write: roll back, report it.
            drop(tx);
            return Attempt::Done(Err(e));
        }
    };
    match tx.commit() {
        Ok(()) => Attempt::Done(Ok(out)),
        // A conflict reported at COMMIT (a deferred constraint, say) is a
        // definite rollback.
        Err(e) if is_conflict(&e) => Attempt::Conflict(describe(&e)),
        Err(e) => {
            if connection_lost(&e, client) {
                *broken = true;
                return Attempt::Done(Err(Error::storage(format!(
                    "the connection to PostgreSQL was lost during COMMIT; \
                     the write may or may not have taken effect: {}",
                    describe(&e)
                ))));
            }
            Attempt::Done(Err(storage_err(&e)))
        }
    }
}

fn is_conflict(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| CONFLICT_STATES.contains(&c.code()))
}

/// Whether `e` means the connection is unusable: closed, reset, or ended
/// by the server (admin shutdown, crash, startup).
fn connection_lost(e: &postgres::Error, client: &Client) -> bool {
    client.is_closed() || e.is_closed() || is_connection_error(e)
}

fn is_connection_error(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A pause of up to 1 ms × 2^(n-1), at most [`MAX_BACKOFF`], chosen at
/// random so that conflicting callers spread out.
fn backoff(n: u32) -> Duration {
    let cap = Duration::from_millis(1u64 << n.min(16).saturating_sub(1)).min(MAX_BACKOFF);
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX).max(1);
    let random = RandomState::new().hash_one(std::time::Instant::now());
    Duration::from_nanos(random % nanos)
}

fn build_pool(config: &postgres::Config, connect_timeout: Duration) -> Pool {
    r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        // Connections are made on demand: a prefork worker that serves one
        // request at a time holds one.
        .min_idle(Some(0))
        // Broken connections are found by the call that uses them, which
        // reruns on another; a check on every checkout would cost a round
        // trip per call.
        .test_on_check_out(false)
        .connection_timeout(connect_timeout)
        .idle_timeout(Some(Duration::from_secs(5 * 60)))
        .build_unchecked(Manager {
            config: config.clone(),
        })
}

/// One pooled connection and the statements prepared on it.
struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when a call found the connection unusable; the pool drops it.
    broken: bool,
}

struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = ConnectError;

    fn connect(&self) -> std::result::Result<PgConn, ConnectError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| ConnectError(describe(&e)))?;
        // Reads are autocommit statements at READ COMMITTED whatever the
        // server's default; writes name their level.
        client
            .batch_execute("SET default_transaction_isolation TO 'read committed'")
            .map_err(|e| ConnectError(describe(&e)))?;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> std::result::Result<(), ConnectError> {
        conn.client
            .simple_query("")
            .map(drop)
            .map_err(|e| ConnectError(describe(&e)))
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// A failed connection attempt, with its cause (the pool reports it when
/// a call times out waiting for a connection).
#[derive(Debug)]
struct ConnectError(String);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}

/// The statements of the engine's reads and writes, prepared once per
/// connection. Point reads come plain (autocommit reads) and locking (write
/// transactions); puts come as a plain INSERT (for a key the transaction
/// found absent) and as an upsert.
mod sql {
    macro_rules! point_read {
        ($plain:ident, $locking:ident, $sql:literal) => {
            pub const $plain: &str = $sql;
            pub const $locking: &str = concat!($sql, " FOR UPDATE");
        };
    }
    macro_rules! put {
        ($insert:ident, $upsert:ident, $sql:literal, $on_conflict:literal) => {
            pub const $insert: &str = $sql;
            pub const $upsert: &str = concat!($sql, " ", $on_conflict);
        };
    }

    point_read!(
        REFRESH_GET,
        REFRESH_LOCK,
        "SELECT family, state, state_at, child, issued_at, expires_at \
         FROM tessera_refresh WHERE digest = $1"
    );
    put!(
        REFRESH_INSERT,
        REFRESH_UPSERT,
        "INSERT INTO tessera_refresh \
         (digest, family, state, state_at, child, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        "ON CONFLICT (digest) DO UPDATE SET family = EXCLUDED.family, state = EXCLUDED.state, \
         state_at = EXCLUDED.state_at, child = EXCLUDED.child, issued_at = EXCLUDED.issued_at, \
         expires_at = EXCLUDED.expires_at"
    );
    pub const REFRESH_DELETE: &str = "DELETE FROM tessera_refresh WHERE digest = $1";
    pub const REFRESH_EXPIRED: &str = "SELECT expires_at, digest FROM tessera_refresh \
         WHERE expires_at < $1 ORDER BY expires_at, digest LIMIT $2";
    point_read!(
        FAMILY_GET,
        FAMILY_LOCK,
        "SELECT user_id, created_at, last_refreshed_at, expires_at, \
         current, previous, state, revoked_at, reason, auth_time, extra \
         FROM tessera_family WHERE id = $1"
    );
    pub const SECRET_GET: &str = "SELECT secret FROM tessera_secret WHERE name = $1";
    pub const SECRET_LOCK: &str = "SELECT secret FROM tessera_secret WHERE name = $1 FOR UPDATE";
    pub const SECRET_INSERT: &str = "INSERT INTO tessera_secret (name, secret) VALUES ($1, $2)";
    put!(
        FAMILY_INSERT,
        FAMILY_UPSERT,
        "INSERT INTO tessera_family \
         (id, user_id, created_at, last_refreshed_at, expires_at, current, previous, state, \
         revoked_at, reason, auth_time, extra) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        "ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, \
         created_at = EXCLUDED.created_at, last_refreshed_at = EXCLUDED.last_refreshed_at, \
         expires_at = EXCLUDED.expires_at, current = EXCLUDED.current, \
         previous = EXCLUDED.previous, state = EXCLUDED.state, \
         revoked_at = EXCLUDED.revoked_at, reason = EXCLUDED.reason, \
         auth_time = EXCLUDED.auth_time, extra = EXCLUDED.extra"
    );
    pub const FAMILY_DELETE: &str = "DELETE FROM tessera_family WHERE id = $1";
    pub const USER_FAMILIES: &str = "SELECT id FROM tessera_family WHERE user_id = $1 ORDER BY id";
    pub const USER_REVOKED_GET: &str =
        "SELECT revoked_at FROM tessera_user_revoked WHERE user_id = $1";
    pub const USER_REVOKED_PUT: &str = "INSERT INTO tessera_user_revoked (user_id, revoked_at) \
         VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at";
    pub const USER_STAMP_GET: &str = "SELECT stamp FROM tessera_user_stamp WHERE user_id = $1";
    pub const USER_STAMP_BUMP: &str = "INSERT INTO tessera_user_stamp (user_id, stamp) \
         VALUES ($1, 1) ON CONFLICT (user_id) DO UPDATE SET stamp = tessera_user_stamp.stamp + 1 \
         RETURNING stamp";
    pub const USER_LOCK: &str = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
    point_read!(
        PAT_GET,
        PAT_LOCK,
        "SELECT id, user_id, name, prefix, scopes, created_at, expires_at, \
         last_used_at, revoked_at FROM tessera_pat WHERE digest = $1"
    );
    point_read!(
        PAT_DIGEST,
        PAT_DIGEST_LOCK,
        "SELECT digest FROM tessera_pat WHERE id = $1"
    );
    pub const USER_PATS: &str =
        "SELECT id FROM tessera_pat WHERE user_id = $1 ORDER BY created_at, id";
    put!(
        PAT_INSERT,
        PAT_UPSERT,
        "INSERT INTO tessera_pat \
         (digest, id, user_id, name, prefix, scopes, created_at, expires_at, last_used_at, \
         revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        "ON CONFLICT (digest) DO UPDATE SET id = EXCLUDED.id, user_id = EXCLUDED.user_id, \
         name = EXCLUDED.name, prefix = EXCLUDED.prefix, scopes = EXCLUDED.scopes, \
         created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, \
         last_used_at = EXCLUDED.last_used_at, revoked_at = EXCLUDED.revoked_at"
    );
    pub const PAT_DELETE: &str = "DELETE FROM tessera_pat WHERE digest = $1";
    pub const FAMILY_IDS: &str = "SELECT id FROM tessera_family WHERE id > $1 ORDER BY id LIMIT $2";
    pub const PAT_DIGESTS: &str =
        "SELECT digest FROM tessera_pat WHERE digest > $1 ORDER BY digest LIMIT $2";
    pub const RELAXED_COMMIT: &str = "SET LOCAL synchronous_commit = off";
    point_read!(
        ATTEMPTS_GET,
        ATTEMPTS_LOCK,
        "SELECT count, resets_at FROM tessera_attempts WHERE digest = $1"
    );
    put!(
        ATTEMPTS_INSERT,
        ATTEMPTS_UPSERT,
        "INSERT INTO tessera_attempts (digest, count, resets_at) VALUES ($1, $2, $3)",
        "ON CONFLICT (digest) DO UPDATE SET count = EXCLUDED.count, resets_at = EXCLUDED.resets_at"
    );
    pub const ATTEMPTS_DELETE: &str = "DELETE FROM tessera_attempts WHERE digest = $1";
    pub const ATTEMPT_KEYS: &str =
        "SELECT digest FROM tessera_attempts WHERE digest > $1 ORDER BY digest LIMIT $2";
    pub const STATS: &str = "SELECT \
         (SELECT count(*) FROM tessera_refresh), \
         (SELECT count(*) FROM tessera_family), \
         (SELECT count(*) FROM tessera_user_revoked), \
         (SELECT count(*) FROM tessera_pat), \
         (SELECT sum(pg_total_relation_size(c))::bigint FROM unnest(ARRAY[\
         'tessera_refresh', 'tessera_family', 'tessera_user_revoked', 'tessera_pat', \
         'tessera_attempts']::regclass[]) \
         AS c), \
         (SELECT count(*) FROM tessera_attempts)";
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

/// Statements run on one connection (autocommit reads) or inside one
/// transaction (writes). The first failure is kept: after it the
/// transaction is aborted, and the store decides from it whether to rerun.
struct Session<'a, C: GenericClient> {
    client: RefCell<&'a mut C>,
    statements: RefCell<&'a mut HashMap<&'static str, Statement>>,
    failure: RefCell<Option<postgres::Error>>,
    /// A write transaction: reads lock rows and users (see the module's
    /// invariants).
    locking: bool,
    /// Keys this transaction read and found absent, tagged by table: their
    /// puts are plain INSERTs.
    absent: RefCell<HashSet<(Table, Vec<u8>)>>,
    /// Users whose advisory lock this transaction holds.
    locked_users: RefCell<HashSet<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Refresh,
    Family,
    Pat,
    Attempts,
}

impl<'a, C: GenericClient> Session<'a, C> {
    fn new(
        client: &'a mut C,
        statements: &'a mut HashMap<&'static str, Statement>,
        locking: bool,
    ) -> Self {
        Session {
            client: RefCell::new(client),
            statements: RefCell::new(statements),
            failure: RefCell::new(None),
            locking,
            absent: RefCell::new(HashSet::new()),
            locked_users: RefCell::new(HashSet::new()),
        }
    }

    /// A point read: plain, or locking in a write transaction, where an
    /// absent key is remembered for [`Session::put_sql`].
    fn point_read(
        &self,
        table: Table,
        plain: &'static str,
        locking: &'static str,
        key: &[u8],
    ) -> Result<Option<Row>> {
        if !self.locking {
            return self.query_opt(plain, &[&key]);
        }
        let row = self.query_opt(locking, &[&key])?;
        if row.is_none() {
            self.absent.borrow_mut().insert((table, key.to_vec()));
        }
        Ok(row)
    }

    /// The statement that writes `key`: a plain INSERT when this
    /// transaction found the key absent, so that a concurrent insert of
    /// the same key fails one of the two; an upsert otherwise.
    fn put_sql(
        &self,
        table: Table,
        key: &[u8],
        insert: &'static str,
        upsert: &'static str,
    ) -> &'static str {
        if self.absent.borrow_mut().remove(&(table, key.to_vec())) {
            insert
        } else {
            upsert
        }
    }

    /// In a write transaction, takes `user`'s advisory lock (once) before
    /// anything reads or writes the user's sets and marks.
    fn lock_user(&self, user: &str) -> Result<()> {
        if !self.locking || self.locked_users.borrow().contains(user) {
            return Ok(());
        }
        self.query(sql::USER_LOCK, &[&USER_LOCK_CLASS, &user])?;
        self.locked_users.borrow_mut().insert(user.to_owned());
        Ok(())
    }

    /// Up to `limit` fixed-size keys from `sql` (`… WHERE key > $1 ORDER BY
    /// key LIMIT $2`), from just after `after`: the cursor of a scan that
    /// spans transactions.
    fn keys_after<const N: usize>(
        &self,
        sql: &'static str,
        after: Option<[u8; N]>,
        limit: usize,
    ) -> Result<Vec<[u8; N]>> {
        // Every stored key is N bytes, so all sort after the empty one.
        let after: &[u8] = after.as_ref().map_or(&[], |a| &a[..]);
        self.query(sql, &[&after, &limit_param(limit)])?
            .iter()
            .map(|row| fixed(col::<&[u8]>(row, 0)?))
            .collect()
    }

    fn query(&self, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.run(sql, |client, stmt| client.query(stmt, params))
    }

    fn query_opt(&self, sql: &'static str, params: &Params<'_>) -> Result<Option<Row>> {
        self.run(sql, |client, stmt| client.query_opt(stmt, params))
    }

    fn execute(&self, sql: &'static str, params: &Params<'_>) -> Result<()> {
        self.run(sql, |client, stmt| client.execute(stmt, params).map(drop))
    }

    fn run<T>(
        &self,
        sql: &'static str,
        f: impl FnOnce(&mut C, &Statement) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        if self.failure.borrow().is_some() {
            return Err(Error::storage(
                "PostgreSQL: a statement of this transaction already failed",
            ));
        }
        let mut client = self.client.borrow_mut();
        let cached = self.statements.borrow().get(sql).cloned();
        let outcome = match cached {
            Some(stmt) => f(&mut client, &stmt),
            None => client.prepare(sql).and_then(|stmt| {
                self.statements.borrow_mut().insert(sql, stmt.clone());
                f(&mut client, &stmt)
            }),
        };
        outcome.map_err(|e| {
            let err = storage_err(&e);
            *self.failure.borrow_mut() = Some(e);
            err
        })
    }
}

impl<C: GenericClient> ReadTx for Session<'_, C> {
    fn refresh(&self, key: &Digest32) -> Result<Option<RefreshRecord>> {
        self.point_read(Table::Refresh, sql::REFRESH_GET, sql::REFRESH_LOCK, key)?
            .map(|row| refresh_from_row(&row))
            .transpose()
    }

    fn family(&self, id: &Id16) -> Result<Option<FamilyRecord>> {
        self.point_read(Table::Family, sql::FAMILY_GET, sql::FAMILY_LOCK, id)?
            .map(|row| family_from_row(&row))
            .transpose()
    }

    fn user_families(&self, user: &str) -> Result<Vec<Id16>> {
        let Some(user) = pg_text(user) else {
            return Ok(Vec::new());
        };
        self.lock_user(user)?;
        self.query(sql::USER_FAMILIES, &[&user])?
            .iter()
            .map(|row| id_col(row, 0))
            .collect()
    }

    fn user_revoked(&self, user: &str) -> Result<Option<i64>> {
        let Some(user) = pg_text(user) else {
            return Ok(None);
        };
        self.lock_user(user)?;
        self.query_opt(sql::USER_REVOKED_GET, &[&user])?
            .map(|row| col(&row, 0))
            .transpose()
    }

    fn pat(&self, digest: &Digest32) -> Result<Option<PatRecord>> {
        self.point_read(Table::Pat, sql::PAT_GET, sql::PAT_LOCK, digest)?
            .map(|row| pat_from_row(&row))
            .transpose()
    }

    fn pat_digest(&self, id: &Id16) -> Result<Option<Digest32>> {
        let sql = if self.locking {
            sql::PAT_DIGEST_LOCK
        } else {
            sql::PAT_DIGEST
        };
        self.query_opt(sql, &[&&id[..]])?
            .map(|row| digest_col(&row, 0))
            .transpose()
    }

    fn user_pats(&self, user: &str) -> Result<Vec<Id16>> {
        let Some(user) = pg_text(user) else {
            return Ok(Vec::new());
        };
        self.lock_user(user)?;
        self.query(sql::USER_PATS, &[&user])?
            .iter()
            .map(|row| id_col(row, 0))
            .collect()
    }

    fn attempts(&self, key: &Digest32) -> Result<Option<AttemptRecord>> {
        let Some(row) =
            self.point_read(Table::Attempts, sql::ATTEMPTS_GET, sql::ATTEMPTS_LOCK, key)?
        else {
            return Ok(None);
        };
        let count: i32 = col(&row, 0)?;
        Ok(Some(AttemptRecord {
            count: u32::try_from(count)
                .map_err(|_| Error::storage("tessera_attempts: a negative count"))?,
            resets_at: col(&row, 1)?,
        }))
    }

    fn user_stamp(&self, user: &str) -> Result<u64> {
        let Some(user) = pg_text(user) else {
            return Ok(0);
        };
        match self.query_opt(sql::USER_STAMP_GET, &[&user])? {
            Some(row) => stamp_col(&row),
            None => Ok(0),
        }
    }

    fn stored_derivation_secret(&self) -> Result<Option<Digest32>> {
        let sql = if self.locking {
            sql::SECRET_LOCK
        } else {
            sql::SECRET_GET
        };
        self.query_opt(sql, &[&SECRET_NAME])?
            .map(|row| fixed(col::<&[u8]>(&row, 0)?))
            .transpose()
    }

    fn stats(&self) -> Result<StoreStats> {
        let rows = self.query(sql::STATS, &[])?;
        let row = rows
            .first()
            .ok_or_else(|| Error::storage("the statistics query returned no row"))?;
        let count = |i: usize| -> Result<u64> {
            let n: i64 = col(row, i)?;
            u64::try_from(n).map_err(|_| Error::storage("corrupt row: a negative count"))
        };
        Ok(StoreStats {
            refresh_records: count(0)?,
            families: count(1)?,
            user_marks: count(2)?,
            pats: count(3)?,
            attempt_counters: count(5)?,
            file_bytes: count(4)?,
        })
    }
}

impl WriteTx for Session<'_, Transaction<'_>> {
    fn put_refresh(&mut self, key: &Digest32, rec: &RefreshRecord) -> Result<()> {
        let (state, at, child): (&str, Option<i64>, Option<&[u8]>) = match &rec.state {
            RefreshState::Active => ("active", None, None),
            RefreshState::Rotated { at, child } => ("rotated", Some(*at), Some(&child[..])),
            RefreshState::Blacklisted { at } => ("blacklisted", Some(*at), None),
        };
        let sql = self.put_sql(
            Table::Refresh,
            key,
            sql::REFRESH_INSERT,
            sql::REFRESH_UPSERT,
        );
        self.execute(
            sql,
            &[
                &&key[..],
                &&rec.family[..],
                &state,
                &at,
                &child,
                &rec.issued_at,
                &rec.expires_at,
            ],
        )
    }

    fn delete_refresh(&mut self, key: &Digest32, _expires_at: i64) -> Result<()> {
        // The expiry index is PostgreSQL's own, kept with the row.
        self.execute(sql::REFRESH_DELETE, &[&&key[..]])
    }

    fn put_family(&mut self, id: &Id16, rec: &FamilyRecord) -> Result<()> {
        let (state, at, reason): (&str, Option<i64>, Option<&str>) = match &rec.state {
            FamilyState::Active => ("active", None, None),
            FamilyState::Revoked { at, reason } => (
                "revoked",
                Some(*at),
                Some(match reason {
                    RevokeReason::Logout => "logout",
                    RevokeReason::LogoutAll => "logout_all",
                    RevokeReason::Reuse => "reuse",
                    RevokeReason::SessionLimit => "session_limit",
                }),
            ),
        };
        let user = pg_text_for_write(&rec.user_id)?;
        let previous = rec.previous.as_ref().map(|p| &p[..]);
        let sql = self.put_sql(Table::Family, id, sql::FAMILY_INSERT, sql::FAMILY_UPSERT);
        self.execute(
            sql,
            &[
                &&id[..],
                &user,
                &rec.created_at,
                &rec.last_refreshed_at,
                &rec.expires_at,
                &&rec.current[..],
                &previous,
                &state,
                &at,
                &reason,
                &rec.auth_time,
                &rec.extra,
            ],
        )
    }

    fn delete_family(&mut self, id: &Id16, _user: &str) -> Result<()> {
        self.execute(sql::FAMILY_DELETE, &[&&id[..]])
    }

    fn put_user_revoked(&mut self, user: &str, at: i64) -> Result<()> {
        let user = pg_text_for_write(user)?;
        self.lock_user(user)?;
        self.execute(sql::USER_REVOKED_PUT, &[&user, &at])
    }

    fn bump_user_stamp(&mut self, user: &str) -> Result<u64> {
        let user = pg_text_for_write(user)?;
        // One atomic upsert: concurrent bumps queue on the row.
        let rows = self.query(sql::USER_STAMP_BUMP, &[&user])?;
        let row = rows
            .first()
            .ok_or_else(|| Error::storage("the stamp update returned no row"))?;
        stamp_col(row)
    }

    fn expired_refresh(&mut self, before: i64, limit: usize) -> Result<Vec<(i64, Digest32)>> {
        self.query(sql::REFRESH_EXPIRED, &[&before, &limit_param(limit)])?
            .iter()
            .map(|row| Ok((col(row, 0)?, digest_col(row, 1)?)))
            .collect()
    }

    fn family_ids(&mut self, after: Option<Id16>, limit: usize) -> Result<Vec<Id16>> {
        self.keys_after(sql::FAMILY_IDS, after, limit)
    }

    fn put_pat(&mut self, digest: &Digest32, rec: &PatRecord) -> Result<()> {
        let user = pg_text_for_write(&rec.user_id)?;
        let sql = self.put_sql(Table::Pat, digest, sql::PAT_INSERT, sql::PAT_UPSERT);
        self.execute(
            sql,
            &[
                &&digest[..],
                &&rec.id[..],
                &user,
                &rec.name,
                &rec.prefix,
                &rec.scopes,
                &rec.created_at,
                &rec.expires_at,
                &rec.last_used_at,
                &rec.revoked_at,
            ],
        )
    }

    fn delete_pat(&mut self, digest: &Digest32, _rec: &PatRecord) -> Result<()> {
        self.execute(sql::PAT_DELETE, &[&&digest[..]])
    }

    fn pat_digests(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>> {
        self.keys_after(sql::PAT_DIGESTS, after, limit)
    }

    fn put_attempts(&mut self, key: &Digest32, rec: &AttemptRecord) -> Result<()> {
        let count = i32::try_from(rec.count).unwrap_or(i32::MAX);
        let sql = self.put_sql(
            Table::Attempts,
            key,
            sql::ATTEMPTS_INSERT,
            sql::ATTEMPTS_UPSERT,
        );
        self.execute(sql, &[&&key[..], &count, &rec.resets_at])
    }

    fn delete_attempts(&mut self, key: &Digest32) -> Result<()> {
        self.execute(sql::ATTEMPTS_DELETE, &[&&key[..]])
    }

    fn attempt_keys(&mut self, after: Option<Digest32>, limit: usize) -> Result<Vec<Digest32>> {
        self.keys_after(sql::ATTEMPT_KEYS, after, limit)
    }

    fn derivation_secret(&mut self, candidate: &Digest32) -> Result<Digest32> {
        if let Some(secret) = self.stored_derivation_secret()? {
            return Ok(secret);
        }
        // A plain INSERT: of two first openers, one fails with a unique
        // violation and is rerun, then reads the other's secret.
        self.execute(sql::SECRET_INSERT, &[&SECRET_NAME, &&candidate[..]])?;
        Ok(*candidate)
    }
}

/// The `tessera_secret` row of the successor derivation secret.
const SECRET_NAME: &str = "derivation";

/// A `tessera_user_stamp.stamp` value (positive by the table's CHECK).
fn stamp_col(row: &Row) -> Result<u64> {
    let n: i64 = col(row, 0)?;
    u64::try_from(n).map_err(|_| Error::storage("tessera_user_stamp: a negative stamp"))
}
