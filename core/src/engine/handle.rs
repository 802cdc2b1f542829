//! The [`Engine`] handle: what every operation shares (keys, settings,
//! clock, store, event sink, the active-session cache), opening and closing
//! it, purging, and reporting events. The operations themselves live beside
//! it: `rotation`, `sessions` and `pats`.
//!
//! Invariants:
//! - refresh state is kept until the token could no longer verify
//!   (`exp + leeway`), so every replay is recognised until then; purging
//!   removes nothing earlier;
//! - the active-session and stamp caches exist only when this process is
//!   the store's only writer, and are disabled before the store closes.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::config::{EngineConfig, PatConfig, Settings};
use super::events::{Event, EventKind, EventSink};
use super::session_cache::ActiveSessions;
use super::stamp_cache::UserStamps;
use super::successor::DerivationSecret;
use crate::claims::{FamilyId, Jwt, Validation};
use crate::client::Verifier;
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::store::records::Id16;
use crate::store::{self, OpenOptions, Store, StoreLocation, StoreStats, WriteTx};

/// How many expired records one purge transaction removes at most.
const PURGE_BATCH: usize = 1000;

/// Lists up to `limit` keys of a table after a cursor, in key order.
pub(super) type Scan<K> = fn(&mut dyn WriteTx, Option<K>, usize) -> Result<Vec<K>>;

/// How a purge batch commits (see [`Store::write_op_relaxed`]).
#[derive(Clone, Copy)]
pub(super) enum Commit {
    Durable,
    /// For attempt counters alone.
    Relaxed,
}

/// Record counts and size, from [`Engine::stats`].
pub type Stats = StoreStats;

/// The token engine over an embedded redb database. `Send + Sync`; share it
/// behind an `Arc`.
pub struct Engine {
    pub(super) jwt: Arc<Jwt>,
    pub(super) settings: Settings,
    pub(super) pat: PatConfig,
    pub(super) clock: SharedClock,
    events: Option<Arc<dyn EventSink>>,
    pub(super) store: Box<dyn Store>,
    /// The store's key for successor jtis (never shown by `Debug`).
    pub(super) secret: DerivationSecret,
    /// Sessions known to be active, when no other process writes the store.
    pub(super) sessions: Option<ActiveSessions>,
    /// Users' change stamps, under the same condition as `sessions`.
    pub(super) stamps: Option<UserStamps>,
}

impl Engine {
    /// Opens the database at `path`, creating the file if it is missing.
    pub fn open(path: impl AsRef<Path>, config: EngineConfig) -> Result<Engine> {
        Engine::open_location(StoreLocation::File(path.as_ref().to_path_buf()), config)
    }

    /// An engine over redb's in-memory backend: the same code path, with
    /// nothing on disk.
    pub fn in_memory(config: EngineConfig) -> Result<Engine> {
        Engine::open_location(StoreLocation::Memory, config)
    }

    /// An engine over a PostgreSQL database, shared by every host that
    /// connects to it. `url` is a `postgres://` URL with libpq-style
    /// parameters (`connect_timeout`, default 5 s, also bounds how long a
    /// call waits while the server is unreachable). Creates or migrates the
    /// `tessera_*` tables in the connection's schema.
    #[cfg(feature = "postgres")]
    pub fn connect(url: &str, config: EngineConfig) -> Result<Engine> {
        Engine::open_location(StoreLocation::Postgres(url.to_owned()), config)
    }

    /// Opens the store a setting names (see [`StoreLocation::parse`]). A
    /// PostgreSQL location in a build without the `postgres` feature is
    /// `config_invalid`.
    pub fn open_location(location: StoreLocation, config: EngineConfig) -> Result<Engine> {
        let settings = config.settings()?;
        let opened = store::open(
            location,
            OpenOptions {
                multi_process: config.multi_process,
                group_commit: config.group_commit,
            },
        )?;
        let secret = DerivationSecret::load(opened.store.as_ref())?;
        Ok(Engine {
            secret,
            // Validation was checked by `settings`.
            jwt: Arc::new(Jwt::from_checked(config.keys, config.validation)),
            settings,
            pat: config.pat,
            clock: config.clock,
            events: config.events,
            store: opened.store,
            sessions: opened.only_writer.then(ActiveSessions::new),
            stamps: opened.only_writer.then(UserStamps::new),
        })
    }

    /// Removes state that can no longer matter: families and refresh records
    /// past `exp + leeway`, expired PATs and stale PAT tombstones, attempt
    /// counters whose window has ended. Returns the
    /// number of records removed. Runs in batches, each its own transaction;
    /// families are found by a scan of the family table, which rotations
    /// therefore never have to index by time.
    pub fn purge_expired(&self) -> Result<u64> {
        let now = self.clock.now();
        let leeway = self.settings.leeway;
        // A refresh record stores exp + leeway, the first second at which
        // its token can no longer verify; from then on it may go.
        let before = now.saturating_add(1);
        let mut removed = 0u64;
        loop {
            let n = self.store.write(move |tx| {
                let batch = tx.expired_refresh(before, PURGE_BATCH)?;
                for (exp, key) in &batch {
                    tx.delete_refresh(key, *exp)?;
                }
                Ok(batch.len())
            })?;
            removed += n as u64;
            if n < PURGE_BATCH {
                break;
            }
        }
        removed += self.purge_scan(
            Commit::Durable,
            |tx, after, limit| tx.family_ids(after, limit),
            move |tx, id| {
                let Some(fam) = tx.family(id)? else {
                    return Ok(false);
                };
                // Its current token, and so every token it had, can no
                // longer verify.
                let gone = fam.expires_at.saturating_add(leeway) <= now;
                if gone {
                    tx.delete_family(id, &fam.user_id)?;
                }
                Ok(gone)
            },
            || self.forget_sessions(None),
        )?;
        removed += self.purge_pats(now)?;
        removed += self.purge_attempts(now)?;
        Ok(removed)
    }

    /// Walks one table in key order, a batch of [`PURGE_BATCH`] keys per
    /// transaction, and counts the records `purge` removed (it returns
    /// whether it did). `scan` lists the keys after a cursor; `after_batch`
    /// runs after each transaction, committed or not. Batches keep each
    /// transaction short, so purging never holds the store for long.
    pub(super) fn purge_scan<K: Copy + Send + 'static>(
        &self,
        commit: Commit,
        scan: Scan<K>,
        purge: impl Fn(&mut dyn WriteTx, &K) -> Result<bool> + Clone + Send + 'static,
        after_batch: impl Fn(),
    ) -> Result<u64> {
        let mut removed = 0u64;
        let mut after = None;
        loop {
            let purge = purge.clone();
            let op = move |tx: &mut dyn WriteTx| {
                let batch = scan(tx, after, PURGE_BATCH)?;
                let mut n = 0u64;
                for key in &batch {
                    if purge(tx, key)? {
                        n += 1;
                    }
                }
                Ok((n, batch.last().copied(), batch.len()))
            };
            let outcome = match commit {
                Commit::Durable => self.store.write(op),
                Commit::Relaxed => self.store.write_relaxed(op),
            };
            after_batch();
            let (n, last, seen) = outcome?;
            removed += n;
            after = last;
            if seen < PURGE_BATCH {
                return Ok(removed);
            }
        }
    }

    /// Record counts and the file size.
    pub fn stats(&self) -> Result<Stats> {
        self.store.read(|tx| tx.stats())
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> String {
        self.jwt.keys().jwks()
    }

    /// The claim rules this engine applies.
    pub fn validation(&self) -> &Validation {
        self.jwt.validation()
    }

    /// A stateless [`Verifier`] with this engine's keys, rules and clock.
    ///
    /// It checks signatures and claims only and never reads the store, so
    /// it knows nothing of logouts, rotations or revoked users: use it to
    /// read a token's claims cheaply (whose user is this refresh token's?),
    /// never to decide that a session is still good. It shares the engine's
    /// keys rather than copying them.
    pub fn verifier(&self) -> Verifier {
        Verifier::shared(self.jwt.clone(), self.clock.clone())
    }

    /// How many store transactions this engine has begun. For tests that
    /// prove a rejection never reached the store; not a stable API.
    #[doc(hidden)]
    pub fn store_transactions(&self) -> u64 {
        self.store.transactions()
    }

    /// Closes the database. Later calls fail with `storage_error`. Dropping
    /// the engine closes it too.
    pub fn close(&self) -> Result<()> {
        if let Some(cache) = &self.sessions {
            cache.disable();
        }
        if let Some(cache) = &self.stamps {
            cache.disable();
        }
        self.store.close()
    }

    /// Sends one event to the sink, if one is installed. Every event the
    /// engine reports is built here; the helpers below only fill it in.
    fn emit_event(
        &self,
        kind: EventKind,
        at: i64,
        user: Option<&str>,
        family: Option<&FamilyId>,
        pat_prefix: Option<&str>,
        code: Option<&'static str>,
    ) {
        if let Some(sink) = &self.events {
            sink.emit(&Event {
                kind,
                at,
                user_id: user.map(str::to_owned),
                family_id: family.map(|f| f.as_str().to_owned()),
                pat_prefix: pat_prefix.map(str::to_owned),
                code,
                url: None,
            });
        }
    }

    /// A leaked PAT, revoked: the one event that carries a url.
    pub(super) fn emit_leak(&self, at: i64, user: &str, prefix: &str, url: Option<String>) {
        if let Some(sink) = &self.events {
            sink.emit(&Event {
                kind: EventKind::PatLeaked,
                at,
                user_id: Some(user.to_owned()),
                family_id: None,
                pat_prefix: Some(prefix.to_owned()),
                code: None,
                url,
            });
        }
    }

    /// An event about a session.
    pub(super) fn emit(
        &self,
        kind: EventKind,
        at: i64,
        user: Option<&str>,
        family: Option<&FamilyId>,
        code: Option<&'static str>,
    ) {
        self.emit_event(kind, at, user, family, None, code);
    }

    /// An event about a personal access token.
    pub(super) fn emit_pat(
        &self,
        kind: EventKind,
        at: i64,
        user: &str,
        prefix: &str,
        code: Option<&'static str>,
    ) {
        self.emit_event(kind, at, Some(user), None, Some(prefix), code);
    }

    /// A failed verification, with the error's code.
    pub(super) fn report(&self, e: &Error, at: i64, user: Option<&str>, family: Option<&FamilyId>) {
        self.emit(
            EventKind::VerificationFailed,
            at,
            user,
            family,
            Some(e.code()),
        );
    }

    /// Reports `result` if it failed.
    pub(super) fn report_failure<T>(&self, result: &Result<T>, at: i64) {
        if let Err(e) = result {
            self.report(e, at, None, None);
        }
    }

    /// After a write that may have revoked or removed sessions.
    pub(super) fn forget_sessions(&self, family: Option<&Id16>) {
        if let Some(cache) = &self.sessions {
            cache.forget(family);
        }
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("keys", self.jwt.keys())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
