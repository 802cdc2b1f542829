//! The records the engine keeps, as every store holds them: the store's
//! data model. redb encodes them as bytes (`redb/format.rs`); PostgreSQL
//! keeps them in typed columns.
//!
//! Invariants:
//! - records hold digests, never a token: a family names its current and
//!   previous refresh tokens by SHA-256(jti), refresh records are keyed by
//!   it, PATs by SHA-256 (or HMAC-SHA256) of the whole token;
//! - the family record alone holds the state of the refresh tokens Tessera
//!   issued for it: `current` may be exchanged, and any other token of the
//!   family was exchanged already. Refresh records exist only for foreign
//!   (simplejwt) tokens, spent or logged out, and as leftovers of schema
//!   version 1 until they expire. A rotation therefore writes one record;
//! - the current pair is a function of the family record, the engine's
//!   configuration and the store's derivation secret (see
//!   `engine/successor.rs`): no token is kept to re-deliver it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A 32-byte digest used as a key.
pub(crate) type Digest32 = [u8; 32];
/// A 16-byte family or PAT id.
pub(crate) type Id16 = [u8; 16];

/// SHA-256 of a jti: the key of its refresh record.
pub(crate) fn jti_key(jti: &str) -> Digest32 {
    Sha256::digest(jti.as_bytes()).into()
}

/// Where a refresh token stands. Since schema version 2 only `Blacklisted`
/// is written. `Active` and `Rotated` records are what version 1 wrote for
/// Tessera's own tokens: their families now decide, and purging removes
/// the records once they expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RefreshState {
    /// The family's current token; it may be exchanged once.
    Active,
    /// Exchanged at `at` for the token whose key is `child`.
    Rotated { at: i64, child: Digest32 },
    /// A token Tessera did not issue (simplejwt migration) that was
    /// exchanged or logged out; it is never accepted again.
    Blacklisted { at: i64 },
}

/// State of one refresh token, keyed by SHA-256(jti).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub family: Id16,
    pub state: RefreshState,
    pub issued_at: i64,
    /// `exp + leeway`: from this second on the token cannot verify, so its
    /// state may be purged.
    pub expires_at: i64,
}

/// Why a family was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RevokeReason {
    /// `revoke`: this session logged out.
    Logout,
    /// `revoke_user`: every session of the user logged out.
    LogoutAll,
    /// A rotated refresh token was replayed.
    Reuse,
    /// `issue` went past `max_sessions_per_user`: the user's least
    /// recently refreshed session made room.
    SessionLimit,
}

/// Whether a family may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FamilyState {
    Active,
    Revoked { at: i64, reason: RevokeReason },
}

/// One session: the chain of refresh tokens from one `issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FamilyRecord {
    pub user_id: String,
    pub created_at: i64,
    /// When a token of the family was last exchanged, a retry within
    /// `reuse_grace` aside: the start of `previous`'s grace window.
    pub last_refreshed_at: i64,
    /// `exp` of the current refresh token: the family's end.
    pub expires_at: i64,
    /// Key of the current refresh token.
    pub current: Digest32,
    /// Key of the token the current one replaced, for `reuse_grace` (for a
    /// family a foreign token started, that token's key).
    pub previous: Option<Digest32>,
    pub state: FamilyState,
    /// When the credential check that started the session (or the last
    /// `reauthenticate`) happened: every token carries it as `auth_time`.
    /// `None` in records written before it existed.
    pub auth_time: Option<i64>,
    /// The extra claims of the current pair, as JSON text, so that a
    /// converging presentation of `previous` re-mints that pair exactly.
    /// `None` in records written before it existed.
    pub extra: Option<String>,
}

/// A personal access token, keyed by the digest of the whole token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PatRecord {
    pub id: Id16,
    pub user_id: String,
    pub name: String,
    /// Display prefix: the token prefix plus 4 characters of the secret.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// When revoked; the record is a tombstone from then on.
    pub revoked_at: Option<i64>,
}

/// A counter of attempts (logins, password resets) under one key, for one
/// fixed window; keyed by SHA-256 of the caller's key, so the store never
/// holds an account name or an address. See `engine/throttle.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AttemptRecord {
    /// Attempts counted in the window, refused ones excluded.
    pub count: u32,
    /// The window's end: from this second on the count is 0 again, and the
    /// record may be purged.
    pub resets_at: i64,
}
