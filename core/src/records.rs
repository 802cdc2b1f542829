//! Stored records and their byte formats: a contract with files already on
//! disk.
//!
//! Invariants:
//! - every value is `[format version byte] ++ bincode(record)` with bincode's
//!   fixed-width little-endian integers, so the bytes do not depend on the
//!   platform; decoding refuses unknown versions and trailing bytes;
//! - records hold digests, never a token: a family names its current and
//!   previous refresh tokens by SHA-256(jti), refresh records are keyed by
//!   it, PATs by SHA-256 (or HMAC-SHA256) of the whole token;
//! - the family record alone holds the state of the refresh tokens Tessera
//!   issued for it: `current` may be exchanged, and any other token of the
//!   family was exchanged already. Refresh records exist only for foreign
//!   (simplejwt) tokens, spent or logged out, and as leftovers of schema
//!   version 1 until they expire. A rotation therefore writes one record;
//! - table names carry their version (`tessera.v1.*`); a change of layout
//!   is a new name plus a migration, never a silent reinterpretation.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The current record format version.
pub(crate) const FORMAT_V1: u8 = 1;

/// Table names, versioned.
pub(crate) mod tables {
    /// SHA-256(jti) → [`super::RefreshRecord`], for foreign tokens.
    pub const REFRESH: &str = "tessera.v1.refresh";
    /// family id → [`super::FamilyRecord`].
    pub const FAMILY: &str = "tessera.v1.family";
    /// (user id, family id) → (): sessions by user.
    pub const USER_FAMILY: &str = "tessera.v1.user_family";
    /// user id → time of the last "log out everywhere".
    pub const USER_REVOKED: &str = "tessera.v1.user_revoked";
    /// (purge time, SHA-256(jti)) → (): refresh state by expiry, for purging.
    pub const REFRESH_EXPIRY: &str = "tessera.v1.refresh_expiry";
    /// PAT digest → [`super::PatRecord`].
    pub const PAT: &str = "tessera.v1.pat";
    /// PAT id → digest: revocation by id.
    pub const PAT_ID: &str = "tessera.v1.pat_id";
    /// (user id, created_at, PAT id) → (): listing by user, newest last.
    pub const USER_PAT: &str = "tessera.v1.user_pat";
    /// name → u64: schema version and counters.
    pub const META: &str = "tessera.v1.meta";
}

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

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<65536>()
}

/// Encodes a record with its format version.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    let mut out = vec![FORMAT_V1];
    bincode::serde::encode_into_std_write(record, &mut out, config())
        .map_err(|e| Error::storage(format!("record encoding failed: {e}")))?;
    Ok(out)
}

/// Decodes a record, refusing unknown versions and trailing bytes.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => {
            let (value, used) = bincode::serde::decode_from_slice(body, config())
                .map_err(|e| Error::storage(format!("corrupt record: {e}")))?;
            if used != body.len() {
                return Err(Error::storage("corrupt record: trailing bytes"));
            }
            Ok(value)
        }
        Some((v, _)) => Err(Error::storage(format!("unknown record format version {v}"))),
        None => Err(Error::storage("corrupt record: empty")),
    }
}

/// Decodes bytes as each kind of record; for fuzzing and tools. Every
/// outcome is an `Err` or a value, never a panic.
#[doc(hidden)]
pub fn decode_any(bytes: &[u8]) -> [bool; 3] {
    [
        decode::<RefreshRecord>(bytes).is_ok(),
        decode::<FamilyRecord>(bytes).is_ok(),
        decode::<PatRecord>(bytes).is_ok(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes written by format version 1. If this test fails, the on-disk
    /// format changed: add a version and a migration instead.
    #[test]
    fn decodes_bytes_written_by_format_v1() {
        let rec = RefreshRecord {
            family: [7; 16],
            state: RefreshState::Rotated {
                at: 1_700_000_100,
                child: [9; 32],
            },
            issued_at: 1_700_000_000,
            expires_at: 1_701_209_600,
        };
        let bytes = encode(&rec).unwrap();
        let mut expected = vec![1u8];
        expected.extend([7u8; 16]);
        expected.extend(1u32.to_le_bytes()); // variant index: Rotated
        expected.extend(1_700_000_100i64.to_le_bytes());
        expected.extend([9u8; 32]);
        expected.extend(1_700_000_000i64.to_le_bytes());
        expected.extend(1_701_209_600i64.to_le_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(decode::<RefreshRecord>(&expected).unwrap(), rec);
    }

    #[test]
    fn family_and_pat_round_trip() {
        let fam = FamilyRecord {
            user_id: "42".into(),
            created_at: 1,
            last_refreshed_at: 2,
            expires_at: 3,
            current: [1; 32],
            previous: None,
            state: FamilyState::Revoked {
                at: 5,
                reason: RevokeReason::Reuse,
            },
        };
        assert_eq!(decode::<FamilyRecord>(&encode(&fam).unwrap()).unwrap(), fam);
        let pat = PatRecord {
            id: [3; 16],
            user_id: "u".into(),
            name: "ci".into(),
            prefix: "tsr_pat_abcd".into(),
            scopes: vec!["a:b".into()],
            created_at: 1,
            expires_at: Some(9),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(decode::<PatRecord>(&encode(&pat).unwrap()).unwrap(), pat);
    }

    #[test]
    fn refuses_unknown_version_trailing_and_truncated_bytes() {
        let rec = RefreshRecord {
            family: [0; 16],
            state: RefreshState::Active,
            issued_at: 0,
            expires_at: 0,
        };
        let mut bytes = encode(&rec).unwrap();
        let mut wrong = bytes.clone();
        wrong[0] = 2;
        assert_eq!(
            decode::<RefreshRecord>(&wrong).unwrap_err().code(),
            "storage_error"
        );
        bytes.push(0);
        assert!(decode::<RefreshRecord>(&bytes).is_err());
        bytes.truncate(10);
        assert!(decode::<RefreshRecord>(&bytes).is_err());
        assert!(decode::<RefreshRecord>(&[]).is_err());
    }
}
