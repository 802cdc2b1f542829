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
use crate::store::records::{
    AttemptRecord, Digest32, FamilyRecord, FamilyState, PatRecord, RefreshRecord,
};
#[cfg(test)]
use crate::store::records::{RefreshState, RevokeReason};

/// The first record format version: every record but [`FamilyRecord`]
/// is still written in it.
pub(super) const FORMAT_V1: u8 = 1;
/// Format version 2 of [`FamilyRecord`]: version 1's fields, then
/// `auth_time` and `extra`.
pub(super) const FORMAT_V2: u8 = 2;

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
    /// name → bytes: the store's secrets. `derivation`: the 32-byte key
    /// successor jtis are derived under (`engine/successor.rs`).
    pub const SECRET: &str = "tessera.v1.secret";
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
pub(super) const SECRET: TableDefinition<&str, &[u8]> = TableDefinition::new(tables::SECRET);

/// The schema version this code writes.
///
/// - 1: refresh records for every token issued.
/// - 2: a family record alone holds the state of the tokens Tessera issued
///   for it; `REFRESH` gains records only for foreign (simplejwt) tokens.
///   Same tables and record formats, so a version 1 file is upgraded by
///   writing the new number; a build that reads only version 1, which
///   would take every session rotated since for gone, then refuses it.
/// - 3: family records in format version 2 (`auth_time`, the current
///   pair's extra claims), the `SECRET` table, and the `SessionLimit`
///   revocation reason. A version 2 file is upgraded by writing the new
///   number: its family records still decode (format version 1), and are
///   rewritten in version 2 at their next change. A build that reads only
///   version 2 would not decode the new records, so it refuses the file.
pub(super) const SCHEMA_VERSION: u64 = 3;
/// The oldest schema version this code upgrades.
pub(super) const OLDEST_SCHEMA_VERSION: u64 = 1;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<65536>()
}

/// A record kind stored as encoded bytes: the format version it is
/// written in, and how it reads the versions before that one.
pub(super) trait Record: Serialize + for<'de> Deserialize<'de> {
    /// The version [`encode`] writes.
    const FORMAT: u8 = FORMAT_V1;

    /// Decodes the body of an older format `version`; none by default.
    fn decode_older(version: u8, _body: &[u8]) -> Result<Self> {
        Err(unknown_version(version))
    }
}

impl Record for RefreshRecord {}
impl Record for PatRecord {}
impl Record for AttemptRecord {}

/// [`FamilyRecord`] as format version 1 wrote it: before `auth_time` and
/// `extra`.
#[derive(Deserialize)]
struct FamilyRecordV1 {
    user_id: String,
    created_at: i64,
    last_refreshed_at: i64,
    expires_at: i64,
    current: Digest32,
    previous: Option<Digest32>,
    state: FamilyState,
}

impl Record for FamilyRecord {
    const FORMAT: u8 = FORMAT_V2;

    fn decode_older(version: u8, body: &[u8]) -> Result<Self> {
        if version != FORMAT_V1 {
            return Err(unknown_version(version));
        }
        let v1: FamilyRecordV1 = decode_body(body)?;
        Ok(FamilyRecord {
            user_id: v1.user_id,
            created_at: v1.created_at,
            last_refreshed_at: v1.last_refreshed_at,
            expires_at: v1.expires_at,
            current: v1.current,
            previous: v1.previous,
            state: v1.state,
            auth_time: None,
            extra: None,
        })
    }
}

fn unknown_version(v: u8) -> Error {
    Error::storage(format!("unknown record format version {v}"))
}

/// Encodes a record with its format version.
pub(super) fn encode<T: Record>(record: &T) -> Result<Vec<u8>> {
    let mut out = vec![T::FORMAT];
    bincode::serde::encode_into_std_write(record, &mut out, config())
        .map_err(|e| Error::storage(format!("record encoding failed: {e}")))?;
    Ok(out)
}

/// Decodes a record, refusing unknown versions and trailing bytes.
pub(super) fn decode<T: Record>(bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&v, body)) if v == T::FORMAT => decode_body(body),
        Some((&v, body)) => T::decode_older(v, body),
        None => Err(Error::storage("corrupt record: empty")),
    }
}

/// bincode of one record, all of `body`.
fn decode_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| Error::storage(format!("corrupt record: {e}")))?;
    if used != body.len() {
        return Err(Error::storage("corrupt record: trailing bytes"));
    }
    Ok(value)
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
            auth_time: Some(1),
            extra: Some(r#"{"role":"admin"}"#.into()),
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

    /// A family record as format version 1 wrote it (schema 2 files)
    /// decodes, with no `auth_time` and no stored extra claims.
    #[test]
    fn decodes_family_bytes_written_by_format_v1() {
        let mut v1 = vec![1u8];
        v1.extend(2u64.to_le_bytes()); // user id length
        v1.extend(b"42");
        v1.extend(1_700_000_000i64.to_le_bytes());
        v1.extend(1_700_000_100i64.to_le_bytes());
        v1.extend(1_701_209_700i64.to_le_bytes());
        v1.extend([4u8; 32]);
        v1.push(1); // previous: Some
        v1.extend([3u8; 32]);
        v1.extend(0u32.to_le_bytes()); // state: Active
        let fam = decode::<FamilyRecord>(&v1).unwrap();
        assert_eq!(
            fam,
            FamilyRecord {
                user_id: "42".into(),
                created_at: 1_700_000_000,
                last_refreshed_at: 1_700_000_100,
                expires_at: 1_701_209_700,
                current: [4; 32],
                previous: Some([3; 32]),
                state: FamilyState::Active,
                auth_time: None,
                extra: None,
            }
        );
        let v2 = encode(&fam).unwrap();
        assert_eq!(v2[0], FORMAT_V2);
        assert_eq!(&v2[1..], [&v1[1..], &[0u8, 0u8][..]].concat());
        let mut trailing = v1.clone();
        trailing.push(0);
        assert!(decode::<FamilyRecord>(&trailing).is_err());
        let mut v3 = v1;
        v3[0] = 3;
        assert!(decode::<FamilyRecord>(&v3).is_err());
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
