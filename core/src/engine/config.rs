//! What an [`Engine`](super::Engine) is configured with, and the checks
//! that turn a configuration into the settings the engine runs on.
//!
//! Invariant: an engine only ever runs on settings that passed
//! [`EngineConfig::settings`]: whole-second lifetimes, access tokens that
//! never outlive their session, a reuse grace that keeps reuse detection
//! (at most [`MAX_REUSE_GRACE`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::events::EventSink;
use super::pat_token;
use crate::claims::Validation;
use crate::clock::{system_clock, SharedClock};
use crate::error::{Error, Result};
use crate::jose::KeySet;
use crate::store::records::Digest32;

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
    /// The convergence window (default 10 s, at most 60 s): a refresh
    /// token presented again less than this long after it was exchanged
    /// returns the very pair its first exchange minted, instead of being
    /// taken for a replay. Zero makes every second presentation a replay.
    pub reuse_grace: Duration,
    /// The absolute lifetime of a session, from `issue` (default `None`:
    /// rotations renew it forever). No token's `exp` lies past its
    /// session's end, and a refresh at or after the end is `token_expired`.
    pub session_max_lifetime: Option<Duration>,
    /// Most live sessions per user (default `None`: no limit). An `issue`
    /// beyond it revokes the user's least recently refreshed session.
    pub max_sessions_per_user: Option<u32>,
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
            reuse_grace: Duration::from_secs(DEFAULT_REUSE_GRACE),
            session_max_lifetime: None,
            max_sessions_per_user: None,
            multi_process: false,
            group_commit: true,
            pat: PatConfig::default(),
            clock: system_clock(),
            events: None,
        }
    }

    /// Checks the configuration, and its lifetimes in whole seconds.
    pub(super) fn settings(&self) -> Result<Settings> {
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
        if reuse_grace > MAX_REUSE_GRACE {
            return Err(Error::config(format!(
                "reuse_grace above {MAX_REUSE_GRACE} seconds defeats reuse detection"
            )));
        }
        let session_max = self
            .session_max_lifetime
            .map(|d| secs(d, "session_max_lifetime"))
            .transpose()?;
        if session_max == Some(0) {
            return Err(Error::config("session_max_lifetime must be positive"));
        }
        if self.max_sessions_per_user == Some(0) {
            return Err(Error::config("max_sessions_per_user must be positive"));
        }
        Ok(Settings {
            access_ttl,
            refresh_ttl,
            reuse_grace,
            session_max,
            max_sessions: self.max_sessions_per_user,
            // `Validation::check` bounds the leeway far below i64::MAX.
            leeway: i64::try_from(self.validation.leeway)
                .map_err(|_| Error::config("leeway is too large"))?,
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
            .field("session_max_lifetime", &self.session_max_lifetime)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("multi_process", &self.multi_process)
            .field("group_commit", &self.group_commit)
            .field("pat", &self.pat)
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

/// The lifetimes of [`EngineConfig`], checked and in whole seconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) access_ttl: i64,
    pub(super) refresh_ttl: i64,
    pub(super) reuse_grace: i64,
    /// `session_max_lifetime`, if any.
    pub(super) session_max: Option<i64>,
    pub(super) max_sessions: Option<u32>,
    pub(super) leeway: i64,
}

/// `reuse_grace` by default, in seconds.
pub(super) const DEFAULT_REUSE_GRACE: u64 = 10;
/// The longest `reuse_grace` accepted, in seconds.
pub(super) const MAX_REUSE_GRACE: i64 = 60;

/// The longest PAT duration setting: whole seconds of it fit an `i64`.
const MAX_PAT_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Personal access token settings.
#[non_exhaustive]
pub struct PatConfig {
    /// Token prefix (default `tsr_pat_`): 2 to 32 of `[a-z0-9_]`, starting
    /// with a letter and ending with `_`.
    pub prefix: String,
    /// Server-side pepper; when set, digests are HMAC-SHA256 under it.
    pub pepper: Option<Zeroizing<Vec<u8>>>,
    /// Longest name, in characters (default 100).
    pub max_name_chars: usize,
    /// Most live (unrevoked, unexpired) tokens per user (default 100).
    pub max_per_user: usize,
    /// Most scopes per token (default 32).
    pub max_scopes: usize,
    /// Longest scope, in characters of `[a-z0-9:._-]` (default 64).
    pub max_scope_chars: usize,
    /// How long a revoked token without expiry is kept as a tombstone
    /// (default 30 days).
    pub tombstone_retention: Duration,
    /// Least time between two `last_used_at` writes (default 60 s).
    pub last_used_interval: Duration,
}

impl Default for PatConfig {
    fn default() -> Self {
        PatConfig {
            prefix: "tsr_pat_".into(),
            pepper: None,
            max_name_chars: 100,
            max_per_user: 100,
            max_scopes: 32,
            max_scope_chars: 64,
            tombstone_retention: Duration::from_secs(30 * 86_400),
            last_used_interval: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for PatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatConfig")
            .field("prefix", &self.prefix)
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .field("max_name_chars", &self.max_name_chars)
            .field("max_per_user", &self.max_per_user)
            .field("max_scopes", &self.max_scopes)
            .field("max_scope_chars", &self.max_scope_chars)
            .field("tombstone_retention", &self.tombstone_retention)
            .field("last_used_interval", &self.last_used_interval)
            .finish()
    }
}

impl PatConfig {
    pub(super) fn check(&self) -> Result<()> {
        let p = self.prefix.as_bytes();
        let ok = (2..=32).contains(&p.len())
            && p[0].is_ascii_lowercase()
            && p[p.len() - 1] == b'_'
            && p.iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !ok {
            return Err(Error::config(format!(
                "PAT prefix {:?} must be 2 to 32 of [a-z0-9_], start with a letter and end with _",
                self.prefix
            )));
        }
        if self.pepper.as_ref().is_some_and(|p| p.len() < 32) {
            return Err(Error::config("the PAT pepper must be at least 32 bytes"));
        }
        if self.max_name_chars == 0 || self.max_per_user == 0 || self.max_scope_chars == 0 {
            return Err(Error::config("PAT limits must be positive"));
        }
        if self.last_used_interval > MAX_PAT_DURATION || self.tombstone_retention > MAX_PAT_DURATION
        {
            return Err(Error::config(
                "PAT durations must be at most a hundred years",
            ));
        }
        Ok(())
    }

    /// `last_used_interval` in whole seconds (bounded by `check`).
    pub(super) fn last_used_secs(&self) -> i64 {
        whole_secs(self.last_used_interval)
    }

    /// `tombstone_retention` in whole seconds (bounded by `check`).
    pub(super) fn tombstone_secs(&self) -> i64 {
        whole_secs(self.tombstone_retention)
    }

    /// The length of every token with this prefix.
    pub fn token_len(&self) -> usize {
        self.prefix.len() + pat_token::SECRET_CHARS + pat_token::CHECKSUM_CHARS
    }

    /// A regular expression matching exactly the well-formed tokens' shape
    /// (the checksum still has to be computed).
    pub fn regex(&self) -> String {
        format!(
            "{}[0-9A-Za-z]{{{}}}",
            self.prefix,
            pat_token::SECRET_CHARS + pat_token::CHECKSUM_CHARS
        )
    }

    /// What the store keeps of `token`: SHA-256, or HMAC-SHA256 under the
    /// pepper when there is one.
    pub(super) fn digest(&self, token: &str) -> Digest32 {
        match &self.pepper {
            Some(pepper) => {
                #[allow(clippy::expect_used)]
                let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(pepper)
                    .expect("HMAC takes a key of any length");
                mac.update(token.as_bytes());
                mac.finalize().into_bytes().into()
            }
            None => Sha256::digest(token.as_bytes()).into(),
        }
    }
}

/// Whole seconds of a duration that [`PatConfig::check`] bounded.
fn whole_secs(d: Duration) -> i64 {
    // `check` refuses durations above MAX_PAT_DURATION, whose seconds fit.
    #[allow(clippy::expect_used)]
    i64::try_from(d.as_secs()).expect("a checked PAT duration fits i64 seconds")
}
