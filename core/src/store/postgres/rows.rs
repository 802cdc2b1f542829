//! Conversions between PostgreSQL and the crate: rows into records, user
//! ids into `text`, and driver errors into `storage_error`.
//!
//! Invariant: a row of the wrong shape is `storage_error`, never a panic;
//! an error's text never carries the connection URL.

use postgres::types::FromSql;
use postgres::Row;

use crate::error::{Error, Result};
use crate::store::records::{
    Digest32, FamilyRecord, FamilyState, Id16, PatRecord, RefreshRecord, RefreshState, RevokeReason,
};

/// An error's text with its causes; the server's SQLSTATE and message for
/// a database error. Never the connection URL.
pub(super) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn storage_err(e: &postgres::Error) -> Error {
    Error::storage(format!("PostgreSQL: {}", describe(e)))
}

pub(super) fn pg(what: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| Error::storage(format!("{what}: {}", describe(&e)))
}

/// A column, or `storage_error` when the row does not have the expected
/// shape. Never panics, unlike `Row::get`.
pub(super) fn col<'r, T: FromSql<'r>>(row: &'r Row, i: usize) -> Result<T> {
    row.try_get(i)
        .map_err(|e| Error::storage(format!("corrupt row: {}", describe(&e))))
}

pub(super) fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| Error::storage(format!("corrupt row: expected {N} bytes")))
}

pub(super) fn digest_col(row: &Row, i: usize) -> Result<Digest32> {
    fixed(col::<&[u8]>(row, i)?)
}

pub(super) fn id_col(row: &Row, i: usize) -> Result<Id16> {
    fixed(col::<&[u8]>(row, i)?)
}

/// A user id as PostgreSQL `text` can hold it: `None` for one containing
/// NUL, which no row can hold, so reads find nothing for it.
pub(super) fn pg_text(user: &str) -> Option<&str> {
    (!user.contains('\0')).then_some(user)
}

/// A user id for a write; one containing NUL cannot be stored.
pub(super) fn pg_text_for_write(user: &str) -> Result<&str> {
    pg_text(user).ok_or_else(|| Error::config("PostgreSQL cannot store a user id containing NUL"))
}

pub(super) fn refresh_from_row(row: &Row) -> Result<RefreshRecord> {
    let state: &str = col(row, 1)?;
    let at: Option<i64> = col(row, 2)?;
    let child: Option<&[u8]> = col(row, 3)?;
    let state = match (state, at, child) {
        ("active", None, None) => RefreshState::Active,
        ("rotated", Some(at), Some(child)) => RefreshState::Rotated {
            at,
            child: fixed(child)?,
        },
        ("blacklisted", Some(at), None) => RefreshState::Blacklisted { at },
        _ => return Err(Error::storage("corrupt row: unknown refresh state")),
    };
    Ok(RefreshRecord {
        family: id_col(row, 0)?,
        state,
        issued_at: col(row, 4)?,
        expires_at: col(row, 5)?,
    })
}

pub(super) fn family_from_row(row: &Row) -> Result<FamilyRecord> {
    let state: &str = col(row, 6)?;
    let at: Option<i64> = col(row, 7)?;
    let reason: Option<&str> = col(row, 8)?;
    let state = match (state, at, reason) {
        ("active", None, None) => FamilyState::Active,
        ("revoked", Some(at), Some(reason)) => FamilyState::Revoked {
            at,
            reason: match reason {
                "logout" => RevokeReason::Logout,
                "logout_all" => RevokeReason::LogoutAll,
                "reuse" => RevokeReason::Reuse,
                "session_limit" => RevokeReason::SessionLimit,
                _ => return Err(Error::storage("corrupt row: unknown revocation reason")),
            },
        },
        _ => return Err(Error::storage("corrupt row: unknown family state")),
    };
    let previous: Option<&[u8]> = col(row, 5)?;
    Ok(FamilyRecord {
        user_id: col(row, 0)?,
        created_at: col(row, 1)?,
        last_refreshed_at: col(row, 2)?,
        expires_at: col(row, 3)?,
        current: digest_col(row, 4)?,
        previous: previous.map(fixed).transpose()?,
        state,
        auth_time: col(row, 9)?,
        extra: col(row, 10)?,
    })
}

pub(super) fn pat_from_row(row: &Row) -> Result<PatRecord> {
    Ok(PatRecord {
        id: id_col(row, 0)?,
        user_id: col(row, 1)?,
        name: col(row, 2)?,
        prefix: col(row, 3)?,
        scopes: col(row, 4)?,
        created_at: col(row, 5)?,
        expires_at: col(row, 6)?,
        last_used_at: col(row, 7)?,
        revoked_at: col(row, 8)?,
    })
}

/// A row limit as PostgreSQL's `bigint`: one beyond it means "no limit",
/// which `i64::MAX` rows is.
pub(super) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
