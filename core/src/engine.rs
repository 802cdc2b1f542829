//! The engine: the stateful front of the crate. It issues token pairs,
//! rotates refresh tokens exactly once, detects replays (RFC 9700 §4.14.2),
//! logs sessions out, and keeps PATs (see [`crate::pat`]).
//!
//! Invariants:
//! - a refresh token is exchanged at most once, ever: the check of its
//!   state and the mark that spends it happen in one durable write
//!   transaction, so concurrent callers, threads or processes, see exactly
//!   one success;
//! - the family record is the state of every token issued for it: the
//!   current token may be exchanged, any other was exchanged already (a
//!   minted token is delivered only once its rotation commits). So a
//!   rotation reads and writes that one record; refresh records exist only
//!   for foreign (simplejwt) tokens;
//! - replaying a rotated token revokes its whole family (outside the
//!   `reuse_grace` exception for the current token's predecessor);
//! - refresh state is kept until the token could no longer verify
//!   (`exp + leeway`), so every replay is recognised until then;
//! - tokens are signed before the transaction begins and verified before
//!   any store access: no store lock is held while signing or verifying;
//! - access tokens carry their family (`sid`), so `verify_access` decides
//!   revocation with one point read of the family record, even for tokens
//!   issued within the same second as a logout.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::claims::{Claims, FamilyId, Jti, TokenType, UserId, Validation};
use crate::clock::{system_clock, SharedClock};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, EventSink};
use crate::jwt::Jwt;
use crate::keys::KeySet;
use crate::pat::PatConfig;
use crate::records::{
    jti_key, Digest32, FamilyRecord, FamilyState, Id16, RefreshRecord, RefreshState, RevokeReason,
};
use crate::sessions::{ActiveSessions, Lookup};
#[cfg(feature = "postgres")]
use crate::store::postgres::PostgresStore;
use crate::store::redb::RedbStore;
use crate::store::{ReadTx, Store, StoreLocation, StoreStats, WriteTx};
use crate::verifier::Verifier;

/// Family id stored for a blacklisted foreign token that started no family.
const NO_FAMILY: Id16 = [0; 16];

/// How many expired records one purge transaction removes at most.
const PURGE_BATCH: usize = 1000;

/// Everything an [`Engine`] is configured with.
#[non_exhaustive]
pub struct EngineConfig {
    /// The signing key and any verify-only keys.
    pub keys: KeySet,
    /// Claim rules: leeway, issuer, audience, claim names, limits.
    pub validation: Validation,
    /// Lifetime of access tokens (default 15 minutes).
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens, renewed on each rotation (default 14 days).
    pub refresh_ttl: Duration,
    /// How long the predecessor of the current refresh token may be retried
    /// by a client that lost a response (default 0: never).
    pub reuse_grace: Duration,
    /// Share one file between processes (prefork servers); default false.
    pub multi_process: bool,
    /// Let concurrent durable writes in this process share one commit
    /// (default true). A lone writer still commits at once.
    pub group_commit: bool,
    /// Personal access token settings.
    pub pat: PatConfig,
    /// The clock (tests inject a [`crate::ManualClock`]).
    pub clock: SharedClock,
    /// Where audit events go; none by default.
    pub events: Option<Arc<dyn EventSink>>,
}

impl EngineConfig {
    /// Defaults around a key set.
    pub fn new(keys: KeySet) -> Self {
        EngineConfig {
            keys,
            validation: Validation::default(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 3600),
            reuse_grace: Duration::ZERO,
            multi_process: false,
            group_commit: true,
            pat: PatConfig::default(),
            clock: system_clock(),
            events: None,
        }
    }

    fn settings(&self) -> Result<Settings> {
        self.validation.check()?;
        self.pat.check()?;
        if self.keys.signing_key().is_none() {
            return Err(Error::config("the engine needs a signing key"));
        }
        let secs = |d: Duration, what: &str| -> Result<i64> {
            if d.subsec_nanos() != 0 {
                return Err(Error::config(format!("{what} must be whole seconds")));
            }
            i64::try_from(d.as_secs())
                .ok()
                .filter(|s| *s <= 10 * 365 * 86_400)
                .ok_or_else(|| Error::config(format!("{what} is longer than ten years")))
        };
        let access_ttl = secs(self.access_ttl, "access_ttl")?;
        let refresh_ttl = secs(self.refresh_ttl, "refresh_ttl")?;
        let reuse_grace = secs(self.reuse_grace, "reuse_grace")?;
        if access_ttl == 0 || refresh_ttl == 0 {
            return Err(Error::config("token lifetimes must be positive"));
        }
        if access_ttl > refresh_ttl {
            return Err(Error::config(
                "access_ttl must not exceed refresh_ttl: an access token must not outlive its session",
            ));
        }
        if reuse_grace > 300 {
            return Err(Error::config(
                "reuse_grace above 300 seconds defeats reuse detection",
            ));
        }
        Ok(Settings {
            access_ttl,
            refresh_ttl,
            reuse_grace,
            leeway: i64::try_from(self.validation.leeway).unwrap_or(0),
        })
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("keys", &self.keys)
            .field("validation", &self.validation)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("reuse_grace", &self.reuse_grace)
            .field("multi_process", &self.multi_process)
            .field("group_commit", &self.group_commit)
            .field("pat", &self.pat)
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    access_ttl: i64,
    refresh_ttl: i64,
    reuse_grace: i64,
    leeway: i64,
}

/// An access token and a refresh token from one issue or rotation.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// `exp` of the access token.
    pub access_expires_at: i64,
    /// `exp` of the refresh token.
    pub refresh_expires_at: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &"<redacted>")
            .field("refresh", &"<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// One live session of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The family id, as carried in the tokens' `sid` claim.
    pub family_id: FamilyId,
    /// When `issue` started it.
    pub created_at: i64,
    /// When it last rotated (its creation time if never). A retry within
    /// `reuse_grace` of the token before the current one does not count:
    /// the grace window runs from this time.
    pub last_refreshed_at: i64,
    /// When its current refresh token expires.
    pub expires_at: i64,
}

/// Record counts and size, from [`Engine::stats`].
pub type Stats = StoreStats;

/// The token engine over an embedded redb database. `Send + Sync`; share it
/// behind an `Arc`.
pub struct Engine {
    pub(crate) jwt: Arc<Jwt>,
    settings: Settings,
    pub(crate) pat: PatConfig,
    pub(crate) clock: SharedClock,
    events: Option<Arc<dyn EventSink>>,
    pub(crate) store: Box<dyn Store>,
    /// Sessions known to be active, when no other process writes the store.
    sessions: Option<ActiveSessions>,
}

/// What a rotation transaction decided.
enum Rotation {
    Rotated,
    Reused(Id16),
}

impl Engine {
    /// Opens the database at `path`, creating the file if it is missing.
    pub fn open(path: impl AsRef<Path>, config: EngineConfig) -> Result<Engine> {
        let settings = config.settings()?;
        let store = RedbStore::open(path.as_ref(), config.multi_process, config.group_commit)?;
        // Without multi_process, redb locks the file to this process.
        let only_writer = !config.multi_process;
        Ok(Engine::assemble(
            config,
            settings,
            Box::new(store),
            only_writer,
        ))
    }

    /// An engine over redb's in-memory backend: the same code path, with
    /// nothing on disk.
    pub fn in_memory(config: EngineConfig) -> Result<Engine> {
        let settings = config.settings()?;
        let store = RedbStore::in_memory(config.group_commit)?;
        Ok(Engine::assemble(config, settings, Box::new(store), true))
    }

    /// An engine over a PostgreSQL database, shared by every host that
    /// connects to it. `url` is a `postgres://` URL with libpq-style
    /// parameters (`connect_timeout`, default 5 s, also bounds how long a
    /// call waits while the server is unreachable). Creates or migrates the
    /// `tessera_*` tables in the connection's schema.
    #[cfg(feature = "postgres")]
    pub fn connect(url: &str, config: EngineConfig) -> Result<Engine> {
        let settings = config.settings()?;
        let store = PostgresStore::connect(url)?;
        Ok(Engine::assemble(config, settings, Box::new(store), false))
    }

    /// Opens the store a setting names (see [`StoreLocation::parse`]). A
    /// PostgreSQL location in a build without the `postgres` feature is
    /// `config_invalid`.
    pub fn open_location(location: StoreLocation, config: EngineConfig) -> Result<Engine> {
        match location {
            StoreLocation::Memory => Engine::in_memory(config),
            StoreLocation::File(path) => Engine::open(path, config),
            #[cfg(feature = "postgres")]
            StoreLocation::Postgres(url) => Engine::connect(&url, config),
            #[cfg(not(feature = "postgres"))]
            StoreLocation::Postgres(_) => Err(Error::config(
                "a PostgreSQL store is unavailable: tessera was built without the postgres feature",
            )),
        }
    }

    /// `only_writer`: no other process writes `store`, so the engine may
    /// remember which sessions are active.
    fn assemble(
        config: EngineConfig,
        settings: Settings,
        store: Box<dyn Store>,
        only_writer: bool,
    ) -> Engine {
        Engine {
            // Validation was checked by `settings`; Jwt::new checks it again.
            jwt: Arc::new(Jwt::from_checked(config.keys, config.validation)),
            settings,
            pat: config.pat,
            clock: config.clock,
            events: config.events,
            store,
            sessions: only_writer.then(ActiveSessions::new),
        }
    }

    /// Starts a session (a token family) for `user_id`. `extra_claims` are
    /// copied into both tokens and kept across rotations; reserved names are
    /// refused with `config_invalid`.
    pub fn issue(&self, user_id: &str, extra_claims: Map<String, Value>) -> Result<TokenPair> {
        let mut pairs = self.issue_batch(&[(user_id, extra_claims)])?;
        pairs
            .pop()
            .ok_or_else(|| Error::storage("issue produced no pair"))
    }

    /// Starts many sessions in one durable transaction: the same rules as
    /// [`Engine::issue`], one commit. Used to build large fixtures; not a
    /// stable API.
    #[doc(hidden)]
    pub fn issue_batch(&self, requests: &[(&str, Map<String, Value>)]) -> Result<Vec<TokenPair>> {
        let now = self.clock.now();
        let mut minted = Vec::with_capacity(requests.len());
        for (user_id, extra) in requests {
            let user = UserId::new(*user_id)?;
            self.jwt.validation().check_extra(extra)?;
            let family = FamilyId::random()?;
            let m = self.mint(&user, &family, extra, now)?;
            minted.push((user, family, m));
        }
        let records: Vec<_> = minted
            .iter()
            .map(|(user, family, m)| {
                let fid = family.to_bytes();
                let fam = FamilyRecord {
                    user_id: user.as_str().to_owned(),
                    created_at: now,
                    last_refreshed_at: now,
                    expires_at: m.pair.refresh_expires_at,
                    current: m.refresh_key,
                    previous: None,
                    state: FamilyState::Active,
                };
                (fid, fam)
            })
            .collect();
        self.store.write(move |tx| {
            for (fid, fam) in &records {
                tx.put_family(fid, fam)?;
            }
            Ok(())
        })?;
        Ok(minted
            .into_iter()
            .map(|(user, family, m)| {
                self.emit(
                    EventKind::SessionIssued,
                    now,
                    Some(user.as_str()),
                    Some(&family),
                    None,
                );
                m.pair
            })
            .collect())
    }

    /// Verifies an access token: signature, claims, and whether its session
    /// (or, for a token without `sid`, its user) was logged out. At most one
    /// point read of the store.
    pub fn verify_access(&self, token: &str) -> Result<Claims> {
        let now = self.clock.now();
        let result = self
            .jwt
            .verify(token, Some(TokenType::Access), now)
            .and_then(|claims| {
                self.check_session(&claims)?;
                Ok(claims)
            });
        self.report_failure(&result, now);
        result
    }

    /// That the session of an access token is live: from the cache of
    /// active sessions when it knows, else from the store.
    fn check_session(&self, claims: &Claims) -> Result<()> {
        let (Some(cache), Some(family)) = (&self.sessions, &claims.family) else {
            return self.store.read(|tx| check_not_revoked(tx, claims));
        };
        let id = family.to_bytes();
        match cache.lookup(&id) {
            Lookup::Active => Ok(()),
            Lookup::Unknown(generation) => {
                self.store.read(|tx| check_not_revoked(tx, claims))?;
                cache.insert(id, generation);
                Ok(())
            }
        }
    }

    /// After a write that may have revoked or removed sessions.
    fn forget_sessions(&self, family: Option<&Id16>) {
        if let Some(cache) = &self.sessions {
            cache.forget(family);
        }
    }

    /// Verifies a refresh token without spending it: signature, claims, and
    /// that it could be exchanged now. A rotated token reports
    /// `refresh_reused` here without revoking anything.
    pub fn verify_refresh(&self, token: &str) -> Result<Claims> {
        let now = self.clock.now();
        let result = self
            .jwt
            .verify(token, Some(TokenType::Refresh), now)
            .and_then(|claims| {
                let key = jti_key(claims.jti.as_str());
                self.store.read(|tx| {
                    let fid = match &claims.family {
                        Some(f) => f.to_bytes(),
                        None => match tx.refresh(&key)? {
                            Some(rec) => rec.family,
                            None => return check_not_revoked(tx, &claims),
                        },
                    };
                    let fam = live_family(tx, &fid)?;
                    // A foreign token's record exists only once it was
                    // spent; a token of ours is live only as the current one.
                    if claims.family.is_none() || fam.current != key {
                        return Err(Error::RefreshReused(
                            "the refresh token was already used".into(),
                        ));
                    }
                    Ok(())
                })?;
                Ok(claims)
            });
        self.report_failure(&result, now);
        result
    }

    /// Exchanges a refresh token for a new pair in the same family: the
    /// rotation. A token can be exchanged once; presenting it again revokes
    /// its family and fails with `refresh_reused`.
    ///
    /// A validly signed simplejwt-shaped refresh token that Tessera never
    /// issued (no `sid`) is accepted once, unless its jti is blacklisted or
    /// its user logged out everywhere after it was issued: it starts a new
    /// family and its jti is blacklisted.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let now = self.clock.now();
        let claims = match self
            .jwt
            .verify(refresh_token, Some(TokenType::Refresh), now)
        {
            Ok(c) => c,
            Err(e) => {
                self.report(&e, now, None, None);
                return Err(e);
            }
        };
        let key = jti_key(claims.jti.as_str());
        let family = match &claims.family {
            Some(f) => f.clone(),
            None => FamilyId::random()?,
        };
        let minted = self.mint(&claims.user_id, &family, &claims.extra, now)?;
        let fid = family.to_bytes();
        let s = self.settings;
        // What the operation needs, owned: group commit may run it on
        // another thread.
        let foreign = claims.family.is_none();
        let user = claims.user_id.as_str().to_owned();
        let (iat, exp) = (claims.iat, claims.exp);
        let new_key = minted.refresh_key;
        let new_exp = minted.pair.refresh_expires_at;
        let outcome = self.store.write(move |tx| {
            if foreign {
                if let Some(rec) = tx.refresh(&key)? {
                    // Spent already: a replay of the token that started
                    // `rec.family`, or of one logged out before it started any.
                    let fam = live_family(tx, &rec.family)?;
                    revoke_family(tx, &rec.family, fam, now, RevokeReason::Reuse)?;
                    return Ok(Rotation::Reused(rec.family));
                }
                check_user_mark(tx, &user, iat)?;
                // First sight of a foreign (simplejwt) token: blacklist its
                // jti and start a family.
                tx.put_refresh(&key, &blacklisted(fid, now, iat, exp, s.leeway))?;
                tx.put_family(
                    &fid,
                    &FamilyRecord {
                        user_id: user.clone(),
                        created_at: now,
                        last_refreshed_at: now,
                        expires_at: new_exp,
                        current: new_key,
                        previous: Some(key),
                        state: FamilyState::Active,
                    },
                )?;
                return Ok(Rotation::Rotated);
            }
            let mut fam = live_family(tx, &fid)?;
            if fam.current == key {
                fam.previous = Some(key);
                fam.last_refreshed_at = now;
            } else if s.reuse_grace > 0
                && fam.previous == Some(key)
                && now.saturating_sub(fam.last_refreshed_at) <= s.reuse_grace
            {
                // A client that lost the response retries the token that
                // produced the current one. The undelivered current token
                // is superseded; the retried token stays the predecessor,
                // and its grace window (from `last_refreshed_at`, its
                // exchange) does not move.
            } else {
                // Every token of this family that we delivered was current
                // once (the signature proves we minted it, and a minted
                // token is delivered only after its rotation commits). One
                // that is current no more was exchanged: this is a replay.
                revoke_family(tx, &fid, fam, now, RevokeReason::Reuse)?;
                return Ok(Rotation::Reused(fid));
            }
            fam.current = new_key;
            fam.expires_at = new_exp;
            tx.put_family(&fid, &fam)?;
            Ok(Rotation::Rotated)
        });
        match &outcome {
            Ok(Rotation::Rotated) => {}
            // A replay revoked the family its record names.
            Ok(Rotation::Reused(fid)) => self.forget_sessions(Some(fid)),
            Err(_) => self.forget_sessions(None),
        }
        let user = Some(claims.user_id.as_str());
        match outcome {
            Ok(Rotation::Rotated) => {
                self.emit(EventKind::RefreshRotated, now, user, Some(&family), None);
                Ok(minted.pair)
            }
            Ok(Rotation::Reused(fid)) => {
                let e = Error::RefreshReused(
                    "the refresh token was already used; its session is revoked".into(),
                );
                let fam = FamilyId::from_bytes(&fid);
                self.emit_code(EventKind::ReuseDetected, now, user, Some(&fam), e.code());
                Err(e)
            }
            Err(e) => {
                self.report(&e, now, user, claims.family.as_ref());
                Err(e)
            }
        }
    }

    /// Logs out the session of `refresh_token`. Idempotent: an already
    /// logged-out session is not an error.
    pub fn revoke(&self, refresh_token: &str) -> Result<()> {
        let now = self.clock.now();
        let claims = self
            .jwt
            .verify(refresh_token, Some(TokenType::Refresh), now)?;
        let key = jti_key(claims.jti.as_str());
        let leeway = self.settings.leeway;
        let (sid, iat, exp) = (
            claims.family.as_ref().map(FamilyId::to_bytes),
            claims.iat,
            claims.exp,
        );
        let revoked = self.store.write(move |tx| {
            // Any token of a session, spent or not, names the session.
            let fid = match sid {
                Some(fid) => fid,
                None => match tx.refresh(&key)? {
                    Some(rec) => rec.family,
                    None => {
                        tx.put_refresh(&key, &blacklisted(NO_FAMILY, now, iat, exp, leeway))?;
                        return Ok(None);
                    }
                },
            };
            match tx.family(&fid)? {
                Some(fam) if fam.state == FamilyState::Active => {
                    revoke_family(tx, &fid, fam, now, RevokeReason::Logout)?;
                    Ok(Some(fid))
                }
                _ => Ok(None),
            }
        });
        match &revoked {
            Ok(Some(f)) => self.forget_sessions(Some(f)),
            Ok(None) => {}
            Err(_) => self.forget_sessions(None),
        }
        let fam = revoked?.map(|f| FamilyId::from_bytes(&f));
        self.emit(
            EventKind::Logout,
            now,
            Some(claims.user_id.as_str()),
            fam.as_ref(),
            None,
        );
        Ok(())
    }

    /// Logs `user_id` out everywhere: every family is revoked, and so is
    /// every access token issued before this call. Returns how many live
    /// sessions were revoked.
    pub fn revoke_user(&self, user_id: &str) -> Result<u64> {
        let user = UserId::new(user_id)?;
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let count = self.store.write(move |tx| {
            let mut count = 0;
            for fid in tx.user_families(&owner)? {
                if let Some(fam) = tx.family(&fid)? {
                    if fam.state == FamilyState::Active {
                        // An expired family not yet purged is revoked too,
                        // but it was no live session: `sessions` omits it.
                        if fam.expires_at > now {
                            count += 1;
                        }
                        revoke_family(tx, &fid, fam, now, RevokeReason::LogoutAll)?;
                    }
                }
            }
            tx.put_user_revoked(&owner, now)?;
            Ok(count)
        });
        self.forget_sessions(None);
        let count = count?;
        self.emit(EventKind::LogoutAll, now, Some(user.as_str()), None, None);
        Ok(count)
    }

    /// Logs out one session of `user_id`, named by its id (`sid`, as
    /// [`Engine::sessions`] lists it), for an operator who holds no token of
    /// it. Returns false when the user has no such live session.
    pub fn revoke_session(&self, user_id: &str, session_id: &str) -> Result<bool> {
        let user = UserId::new(user_id)?;
        let fid = FamilyId::parse(session_id)
            .ok_or_else(|| Error::config("a session id is 32 lowercase hex digits"))?
            .to_bytes();
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let revoked = self.store.write(move |tx| match tx.family(&fid)? {
            // Another user's session is "no such session", as a PAT is.
            Some(fam) if fam.user_id == owner && fam.state == FamilyState::Active => {
                revoke_family(tx, &fid, fam, now, RevokeReason::Logout)?;
                Ok(true)
            }
            _ => Ok(false),
        });
        self.forget_sessions(Some(&fid));
        if !revoked? {
            return Ok(false);
        }
        let fam = FamilyId::from_bytes(&fid);
        self.emit(
            EventKind::Logout,
            now,
            Some(user.as_str()),
            Some(&fam),
            None,
        );
        Ok(true)
    }

    /// The live sessions of a user, oldest first.
    pub fn sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        let user = UserId::new(user_id)?;
        let now = self.clock.now();
        let mut out = self.store.read(|tx| {
            let mut out = Vec::new();
            for fid in tx.user_families(user.as_str())? {
                if let Some(f) = tx.family(&fid)? {
                    if f.state == FamilyState::Active && f.expires_at > now {
                        out.push(Session {
                            family_id: FamilyId::from_bytes(&fid),
                            created_at: f.created_at,
                            last_refreshed_at: f.last_refreshed_at,
                            expires_at: f.expires_at,
                        });
                    }
                }
            }
            Ok(out)
        })?;
        out.sort_by_key(|s| (s.created_at, s.family_id.clone()));
        Ok(out)
    }

    /// Removes state that can no longer matter: families and refresh records
    /// past `exp + leeway`, expired PATs and stale PAT tombstones. Returns the
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
        let mut after = None;
        loop {
            let outcome = self.store.write(move |tx| {
                let batch = tx.family_ids(after, PURGE_BATCH)?;
                let mut n = 0u64;
                for id in &batch {
                    let Some(fam) = tx.family(id)? else { continue };
                    // Its current token, and so every token it had, can no
                    // longer verify.
                    if fam.expires_at.saturating_add(leeway) <= now {
                        tx.delete_family(id, &fam.user_id)?;
                        n += 1;
                    }
                }
                Ok((n, batch.last().copied(), batch.len()))
            });
            self.forget_sessions(None);
            let (n, last, seen) = outcome?;
            removed += n;
            after = last;
            if seen < PURGE_BATCH {
                break;
            }
        }
        removed += self.purge_pats(now)?;
        Ok(removed)
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
        self.store.close()
    }

    /// Signs a new pair for `family`.
    fn mint(
        &self,
        user: &UserId,
        family: &FamilyId,
        extra: &Map<String, Value>,
        now: i64,
    ) -> Result<Minted> {
        let s = self.settings;
        let mut claims = Claims {
            token_type: TokenType::Access,
            user_id: user.clone(),
            jti: Jti::random()?,
            exp: now.saturating_add(s.access_ttl),
            iat: Some(now),
            nbf: None,
            iss: self.jwt.validation().issuer.clone(),
            aud: self.jwt.validation().audience.iter().cloned().collect(),
            family: Some(family.clone()),
            extra: extra.clone(),
        };
        let access = self.jwt.sign(&claims)?;
        let access_expires_at = claims.exp;
        claims.token_type = TokenType::Refresh;
        claims.jti = Jti::random()?;
        claims.exp = now.saturating_add(s.refresh_ttl);
        let refresh = self.jwt.sign(&claims)?;
        let limit = self.jwt.validation().limits.max_token_bytes;
        if access.len() > limit || refresh.len() > limit {
            return Err(Error::config(format!(
                "the claims make a token longer than the {limit}-byte limit it must verify under"
            )));
        }
        Ok(Minted {
            refresh_key: jti_key(claims.jti.as_str()),
            pair: TokenPair {
                access,
                refresh,
                access_expires_at,
                refresh_expires_at: claims.exp,
            },
        })
    }

    pub(crate) fn emit(
        &self,
        kind: EventKind,
        at: i64,
        user: Option<&str>,
        family: Option<&FamilyId>,
        pat_prefix: Option<&str>,
    ) {
        if let Some(sink) = &self.events {
            sink.emit(&Event {
                kind,
                at,
                user_id: user.map(str::to_owned),
                family_id: family.map(|f| f.as_str().to_owned()),
                pat_prefix: pat_prefix.map(str::to_owned),
                code: None,
            });
        }
    }

    fn emit_code(
        &self,
        kind: EventKind,
        at: i64,
        user: Option<&str>,
        family: Option<&FamilyId>,
        code: &'static str,
    ) {
        if let Some(sink) = &self.events {
            sink.emit(&Event {
                kind,
                at,
                user_id: user.map(str::to_owned),
                family_id: family.map(|f| f.as_str().to_owned()),
                pat_prefix: None,
                code: Some(code),
            });
        }
    }

    pub(crate) fn report(&self, e: &Error, at: i64, user: Option<&str>, family: Option<&FamilyId>) {
        if self.events.is_some() {
            self.emit_code(EventKind::VerificationFailed, at, user, family, e.code());
        }
    }

    fn report_failure(&self, result: &Result<Claims>, at: i64) {
        if let (Some(_), Err(e)) = (&self.events, result) {
            self.report(e, at, None, None);
        }
    }

    pub(crate) fn emit_pat(
        &self,
        kind: EventKind,
        at: i64,
        user: &str,
        prefix: &str,
        code: Option<&'static str>,
    ) {
        if let Some(sink) = &self.events {
            sink.emit(&Event {
                kind,
                at,
                user_id: Some(user.to_owned()),
                family_id: None,
                pat_prefix: Some(prefix.to_owned()),
                code,
            });
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

struct Minted {
    pair: TokenPair,
    refresh_key: Digest32,
}

/// The family a refresh token belongs to, if it can still rotate.
fn live_family(tx: &dyn ReadTx, id: &Id16) -> Result<FamilyRecord> {
    match tx.family(id)? {
        Some(fam) if fam.state == FamilyState::Active => Ok(fam),
        Some(_) => Err(Error::TokenRevoked("the session was logged out".into())),
        None => Err(session_gone()),
    }
}

/// Writes `fam`, the record of family `id`, back revoked.
fn revoke_family(
    tx: &mut dyn WriteTx,
    id: &Id16,
    mut fam: FamilyRecord,
    now: i64,
    reason: RevokeReason,
) -> Result<()> {
    fam.state = FamilyState::Revoked { at: now, reason };
    tx.put_family(id, &fam)
}

/// The record a foreign (simplejwt) token leaves once spent or logged out:
/// kept until the token could no longer verify.
fn blacklisted(family: Id16, now: i64, iat: Option<i64>, exp: i64, leeway: i64) -> RefreshRecord {
    RefreshRecord {
        family,
        state: RefreshState::Blacklisted { at: now },
        issued_at: iat.unwrap_or(now),
        expires_at: exp.saturating_add(leeway),
    }
}

fn session_gone() -> Error {
    Error::TokenRevoked("the session no longer exists".into())
}

/// The one revocation read: the family for tokens that carry `sid`, the
/// user's logout-everywhere mark for tokens that do not.
fn check_not_revoked(tx: &dyn ReadTx, claims: &Claims) -> Result<()> {
    match &claims.family {
        Some(f) => live_family(tx, &f.to_bytes()).map(drop),
        None => check_user_mark(tx, claims.user_id.as_str(), claims.iat),
    }
}

/// A token without a family (simplejwt's) is revoked when its user logged
/// out everywhere at or after its `iat`.
fn check_user_mark(tx: &dyn ReadTx, user: &str, iat: Option<i64>) -> Result<()> {
    match tx.user_revoked(user)? {
        Some(mark) if iat.unwrap_or(0) <= mark => Err(Error::TokenRevoked(
            "the user logged out everywhere after this token was issued".into(),
        )),
        _ => Ok(()),
    }
}
