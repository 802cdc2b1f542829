//! redb's on-disk format: table names, the byte encoding of records, and
//! the schema version. A contract with files already on disk.
//!
//! Invariants:
//! - every value is `[format version byte] ++ bincode(record)` with bincode's
//!   fixed-width little-endian integers, so the bytes do not depend on the
//!   platform; decoding refuses unknown versions and trailing bytes;
//! - table names carry their version (`tessera.v1.*`); a change of layout
//!   is a new name plus a migration, never a silent reinterpretation.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
#[cfg(test)]
use crate::store::records::AttemptRecord;
use crate::store::records::{FamilyRecord, PatRecord, RefreshRecord};
#[cfg(test)]
use crate::store::records::{FamilyState, RefreshState, RevokeReason};

/// The current record format version.
pub(super) const FORMAT_V1: u8 = 1;

/// Table names, versioned.
mod tables {
    /// SHA-256(jti) → [`RefreshRecord`](crate::store::records::RefreshRecord), for foreign tokens.
    pub const REFRESH: &str = "tessera.v1.refresh";
    /// family id → [`FamilyRecord`](crate::store::records::FamilyRecord).
    pub const FAMILY: &str = "tessera.v1.family";
    /// (user id, family id) → (): sessions by user.
    pub const USER_FAMILY: &str = "tessera.v1.user_family";
    /// user id → time of the last "log out everywhere".
    pub const USER_REVOKED: &str = "tessera.v1.user_revoked";
    /// (purge time, SHA-256(jti)) → (): refresh state by expiry, for purging.
    pub const REFRESH_EXPIRY: &str = "tessera.v1.refresh_expiry";
    /// PAT digest → [`PatRecord`](crate::store::records::PatRecord).
    pub const PAT: &str = "tessera.v1.pat";
    /// PAT id → digest: revocation by id.
    pub const PAT_ID: &str = "tessera.v1.pat_id";
    /// (user id, created_at, PAT id) → (): listing by user, newest last.
    pub const USER_PAT: &str = "tessera.v1.user_pat";
    /// SHA-256(throttle key) → [`AttemptRecord`](crate::store::records::AttemptRecord).
    /// Added without a schema version change: a build that predates it
    /// never opens it, and a file without it gains it empty.
    pub const ATTEMPTS: &str = "tessera.v1.attempts";
    /// user id → u64: the user's change stamp (absent is 0). Added without
    /// a schema version change, as `ATTEMPTS` was: a file without it reads
    /// as if every stamp were 0, and gains it on open.
    pub const USER_STAMP: &str = "tessera.v1.user_stamp";
    /// name → u64: schema version and counters.
    pub const META: &str = "tessera.v1.meta";
}

pub(super) const REFRESH: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new(tables::REFRESH);
pub(super) const FAMILY: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new(tables::FAMILY);
pub(super) const USER_FAMILY: TableDefinition<(&str, &[u8; 16]), ()> =
    TableDefinition::new(tables::USER_FAMILY);
pub(super) const USER_REVOKED: TableDefinition<&str, i64> =
    TableDefinition::new(tables::USER_REVOKED);
pub(super) const REFRESH_EXPIRY: TableDefinition<(i64, &[u8; 32]), ()> =
    TableDefinition::new(tables::REFRESH_EXPIRY);
pub(super) const PAT: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new(tables::PAT);
pub(super) const PAT_ID: TableDefinition<&[u8; 16], &[u8; 32]> =
    TableDefinition::new(tables::PAT_ID);
pub(super) const USER_PAT: TableDefinition<(&str, i64, &[u8; 16]), ()> =
    TableDefinition::new(tables::USER_PAT);
pub(super) const ATTEMPTS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new(tables::ATTEMPTS);
pub(super) const USER_STAMP: TableDefinition<&str, u64> = TableDefinition::new(tables::USER_STAMP);
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new(tables::META);

/// The schema version this code writes.
///
/// - 1: refresh records for every token issued.
/// - 2: a family record alone holds the state of the tokens Tessera issued
///   for it; `REFRESH` gains records only for foreign (simplejwt) tokens.
///   Same tables and record formats, so a version 1 file is upgraded by
///   writing the new number; a build that reads only version 1, which
///   would take every session rotated since for gone, then refuses it.
pub(super) const SCHEMA_VERSION: u64 = 2;
/// The oldest schema version this code upgrades.
pub(super) const OLDEST_SCHEMA_VERSION: u64 = 1;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<65536>()
}

/// Encodes a record with its format version.
pub(super) fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    let mut out = vec![FORMAT_V1];
    bincode::serde::encode_into_std_write(record, &mut out, config())
        .map_err(|e| Error::storage(format!("record encoding failed: {e}")))?;
    Ok(out)
}

/// Decodes a record, refusing unknown versions and trailing bytes.
pub(super) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
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

    /// Bytes of an attempt counter as format version 1 writes them.
    #[test]
    fn decodes_attempt_bytes_written_by_format_v1() {
        let rec = AttemptRecord {
            count: 3,
            resets_at: 1_700_000_900,
        };
        let mut expected = vec![1u8];
        expected.extend(3u32.to_le_bytes());
        expected.extend(1_700_000_900i64.to_le_bytes());
        assert_eq!(encode(&rec).unwrap(), expected);
        assert_eq!(decode::<AttemptRecord>(&expected).unwrap(), rec);
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
