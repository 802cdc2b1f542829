//! The engine's state rules over the store's records: when a family is
//! live, how it is revoked, what a spent foreign token leaves behind, and
//! the one revocation read of `verify_access`.
//!
//! Invariant: a family that is not `Active` never becomes active again, and
//! every path that ends a session goes through [`revoke_family`].

use crate::claims::Claims;
use crate::error::{Error, Result};
use crate::store::records::{
    Digest32, FamilyRecord, FamilyState, Id16, RefreshRecord, RefreshState, RevokeReason,
};
use crate::store::{ReadTx, WriteTx};

/// Family id stored for a blacklisted foreign token that started no family.
pub(super) const NO_FAMILY: Id16 = [0; 16];

/// The family a refresh token belongs to, if it can still rotate.
pub(super) fn live_family(tx: &dyn ReadTx, id: &Id16) -> Result<FamilyRecord> {
    match tx.family(id)? {
        Some(fam) if fam.state == FamilyState::Active => Ok(fam),
        Some(_) => Err(Error::TokenRevoked("the session was logged out".into())),
        None => Err(session_gone()),
    }
}

/// Writes `fam`, the record of family `id`, back revoked.
pub(super) fn revoke_family(
    tx: &mut dyn WriteTx,
    id: &Id16,
    mut fam: FamilyRecord,
    now: i64,
    reason: RevokeReason,
) -> Result<()> {
    fam.state = FamilyState::Revoked { at: now, reason };
    tx.put_family(id, &fam)
}

/// A pair minted for a family, as its record keeps it once committed.
pub(super) struct NextPair {
    /// Key of the new refresh token.
    pub key: Digest32,
    /// Its `iat`: the exchange time, from which `reuse_grace` runs.
    pub at: i64,
    pub expires_at: i64,
    pub auth_time: i64,
    /// The pair's extra claims, as JSON text.
    pub extra: String,
}

/// Writes `fam`, the record of family `id`, back with `next` current and
/// `from` (the key it replaced) its predecessor: the one write of a
/// rotation and of a reauthentication.
pub(super) fn advance_family(
    tx: &mut dyn WriteTx,
    id: &Id16,
    mut fam: FamilyRecord,
    from: Digest32,
    next: &NextPair,
) -> Result<()> {
    fam.previous = Some(from);
    fam.current = next.key;
    fam.last_refreshed_at = next.at;
    fam.expires_at = next.expires_at;
    fam.auth_time = Some(next.auth_time);
    fam.extra = Some(next.extra.clone());
    tx.put_family(id, &fam)
}

/// The record a foreign (simplejwt) token leaves once spent or logged out:
/// kept until the token could no longer verify.
pub(super) fn blacklisted(
    family: Id16,
    now: i64,
    iat: Option<i64>,
    exp: i64,
    leeway: i64,
) -> RefreshRecord {
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
pub(super) fn check_not_revoked(tx: &dyn ReadTx, claims: &Claims) -> Result<()> {
    match &claims.family {
        Some(f) => live_family(tx, &f.to_bytes()).map(drop),
        None => check_user_mark(tx, claims.user_id.as_str(), claims.iat),
    }
}

/// A token without a family (simplejwt's) is revoked when its user logged
/// out everywhere at or after its `iat`.
pub(super) fn check_user_mark(tx: &dyn ReadTx, user: &str, iat: Option<i64>) -> Result<()> {
    match tx.user_revoked(user)? {
        // A token without `iat` could have been issued at any time before
        // the mark, so any mark revokes it.
        Some(mark) if iat.is_none_or(|iat| iat <= mark) => Err(Error::TokenRevoked(
            "the user logged out everywhere after this token was issued".into(),
        )),
        _ => Ok(()),
    }
}
