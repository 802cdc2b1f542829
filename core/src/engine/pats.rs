//! Personal access tokens in the store: creating, verifying, listing,
//! revoking and purging them. The token format is [`super::pat_token`].
//!
//! Invariants:
//! - a token whose prefix, length, alphabet, value range or checksum is wrong
//!   is refused with `pat_invalid` before any store access;
//! - the store holds SHA-256(token), or HMAC-SHA256(pepper, token) when the
//!   host sets a pepper; the plaintext exists only in [`NewPat`];
//! - `last_used_at` is written at most once per `last_used_interval` per
//!   token, so a busy token does not cost a durable write per request;
//! - a revoked token stays as a tombstone until its `expires_at`, or for
//!   `tombstone_retention` when it has none, so it reports `pat_revoked`;
//! - revoking by the token itself (RFC 7009, a leak report) changes a live
//!   token only, so a repeated request revokes once and reports once;
//! - scopes limit what a token may do, except that a token holding
//!   [`UNRESTRICTED_SCOPE`] acts with its user's full rights (a knox-style
//!   token); [`missing_scopes`] is the one place that rule lives.

use std::fmt;

use super::events::EventKind;
use super::handle::{Commit, Engine};
use super::pat_token;
use crate::claims::UserId;
use crate::error::{Error, Result};
use crate::store::records::{Id16, PatRecord};
use crate::store::WriteTx;

/// The scope an unrestricted token is stored with: it acts with the full
/// rights of its user, whatever scopes a request requires. Create one with
/// `vec![UNRESTRICTED_SCOPE.to_owned()]` as the scopes. Its spelling lies
/// outside the `area:action` names sites give their scopes; a host API
/// that takes scopes from a request should refuse it there, as Tessera's
/// Django API does, and offer "no scopes" for an unrestricted token.
pub const UNRESTRICTED_SCOPE: &str = "tessera.unrestricted";

/// Whether a token with these granted scopes acts with its user's full
/// rights (it holds [`UNRESTRICTED_SCOPE`]).
pub fn is_unrestricted(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == UNRESTRICTED_SCOPE)
}

/// The scopes of `required` that a token with the granted `scopes` lacks,
/// in `required`'s order: none when it holds them all or is unrestricted.
/// A request that needs scopes is allowed exactly when this is empty.
pub fn missing_scopes<S: AsRef<str>>(scopes: &[String], required: &[S]) -> Vec<String> {
    if is_unrestricted(scopes) {
        return Vec::new();
    }
    required
        .iter()
        .map(AsRef::as_ref)
        .filter(|r| !scopes.iter().any(|s| s == r))
        .map(str::to_owned)
        .collect()
}

/// A freshly created token: the only value that ever holds the plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPat {
    /// The token's id (a UUID), for listing and revocation.
    pub id: String,
    /// The owner's label.
    pub name: String,
    /// Display prefix: the token prefix and 4 characters of the secret.
    pub prefix: String,
    /// The token itself. Show it once; it cannot be recovered.
    pub token: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for NewPat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPat")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl NewPat {
    /// Whether the token acts with its user's full rights
    /// ([`UNRESTRICTED_SCOPE`]).
    pub fn is_unrestricted(&self) -> bool {
        is_unrestricted(&self.scopes)
    }
}

/// What a leak report found, from [`Engine::report_leaked_pat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatLeak {
    /// A live token of this store: it is revoked now, and `pat_leaked` was
    /// reported.
    Revoked,
    /// A token of this store that was already revoked or expired (an
    /// earlier report of the same leak, say): nothing changed.
    Inactive,
    /// Not a token of this store: another prefix, a bad checksum, or
    /// unknown (perhaps purged long ago).
    Unknown,
}

/// What revoking a PAT by its token did, for the two callers below.
enum TokenRevocation {
    Revoked(PatRecord),
    Inactive,
    Unknown,
}

/// The longest `url` a `pat_leaked` event carries, in characters.
const MAX_LEAK_URL_CHARS: usize = 2048;

/// A stored token's metadata; never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pat {
    /// The token's id (a UUID).
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The owner's label.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Last use, to within `last_used_interval`.
    pub last_used_at: Option<i64>,
}

impl Pat {
    /// Whether the token acts with its user's full rights
    /// ([`UNRESTRICTED_SCOPE`]).
    pub fn is_unrestricted(&self) -> bool {
        is_unrestricted(&self.scopes)
    }

    /// [`missing_scopes`] of this token's scopes.
    pub fn missing_scopes<S: AsRef<str>>(&self, required: &[S]) -> Vec<String> {
        missing_scopes(&self.scopes, required)
    }

    fn from_record(r: PatRecord) -> Pat {
        Pat {
            id: pat_token::id_text(&r.id),
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

impl Engine {
    /// Creates a token for `user_id`. The returned [`NewPat`] is the only
    /// place the token ever appears.
    pub fn create_pat(
        &self,
        user_id: &str,
        name: &str,
        expires_at: Option<i64>,
        scopes: Vec<String>,
    ) -> Result<NewPat> {
        let user = UserId::new(user_id)?;
        let now = self.clock.now();
        self.check_pat_request(name, expires_at, &scopes, now)?;

        let (token, display) = pat_token::mint(&self.pat.prefix)?;
        let id = pat_token::new_id()?;
        let record = PatRecord {
            id,
            user_id: user.as_str().to_owned(),
            name: name.to_owned(),
            prefix: display,
            scopes,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let digest = self.pat.digest(&token);
        let max = self.pat.max_per_user;
        let stored = record.clone();
        self.store.write(move |tx| {
            let live = tx
                .user_pats(&stored.user_id)?
                .iter()
                .filter_map(|id| live_record(tx, id, now).transpose())
                .count();
            if live >= max {
                return Err(Error::config(format!(
                    "user already has {live} live personal access tokens (limit {max})"
                )));
            }
            tx.put_pat(&digest, &stored)
        })?;
        self.emit_pat(
            EventKind::PatCreated,
            now,
            &record.user_id,
            &record.prefix,
            None,
        );
        Ok(NewPat {
            id: pat_token::id_text(&record.id),
            name: record.name,
            prefix: record.prefix,
            token,
            scopes: record.scopes,
            created_at: now,
            expires_at,
        })
    }

    /// Verifies a token: format and checksum offline, then one point read.
    /// Updates `last_used_at` at most once per `last_used_interval`.
    pub fn verify_pat(&self, token: &str) -> Result<Pat> {
        let now = self.clock.now();
        let result = self.verify_pat_at(token, now, false).map(|(pat, _)| pat);
        self.report_failure(&result, now);
        result
    }

    /// Verifies a PAT at `now`; with `stamped`, its user's change stamp is
    /// read in the same store read as its record (else it is 0).
    pub(super) fn verify_pat_at(&self, token: &str, now: i64, stamped: bool) -> Result<(Pat, u64)> {
        pat_token::check_format(&self.pat.prefix, token)?;
        let digest = self.pat.digest(token);
        let (record, stamp) = self.store.read(|tx| {
            let Some(rec) = tx.pat(&digest)? else {
                return Ok((None, 0));
            };
            let stamp = if stamped {
                tx.user_stamp(&rec.user_id)?
            } else {
                0
            };
            Ok((Some(rec), stamp))
        })?;
        let record = record.ok_or_else(|| Error::PatInvalid("unknown token".into()))?;
        check_usable(&record, now)?;
        let interval = self.pat.last_used_secs();
        if record
            .last_used_at
            .is_none_or(|t| now.saturating_sub(t) >= interval)
        {
            let updated = self.store.write(move |tx| {
                let Some(mut rec) = tx.pat(&digest)? else {
                    return Err(Error::PatInvalid("unknown token".into()));
                };
                check_usable(&rec, now)?;
                if rec
                    .last_used_at
                    .is_none_or(|t| now.saturating_sub(t) >= interval)
                {
                    rec.last_used_at = Some(now);
                    tx.put_pat(&digest, &rec)?;
                }
                Ok(rec)
            })?;
            self.emit_pat(
                EventKind::PatUsed,
                now,
                &updated.user_id,
                &updated.prefix,
                None,
            );
            return Ok((Pat::from_record(updated), stamp));
        }
        Ok((Pat::from_record(record), stamp))
    }

    /// The user's tokens, newest first, revoked ones left out. No secrets.
    pub fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>> {
        let user = UserId::new(user_id)?;
        self.store.read(|tx| {
            let mut out = Vec::new();
            for id in tx.user_pats(user.as_str())?.iter().rev() {
                let Some(digest) = tx.pat_digest(id)? else {
                    continue;
                };
                if let Some(rec) = tx.pat(&digest)? {
                    if rec.revoked_at.is_none() {
                        out.push(Pat::from_record(rec));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Revokes token `id` of `user_id`, at once and for every process.
    /// Returns false when there is no such live token of that user.
    pub fn revoke_pat(&self, user_id: &str, id: &str) -> Result<bool> {
        let user = UserId::new(user_id)?;
        let Some(id) = pat_token::parse_id(id) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let revoked = self.store.write(move |tx| {
            let Some(digest) = tx.pat_digest(&id)? else {
                return Ok(None);
            };
            match tx.pat(&digest)? {
                // Only a live token is revoked: an expired one keeps
                // reporting `pat_expired`, and the call returns false.
                Some(mut rec) if rec.user_id == owner && check_usable(&rec, now).is_ok() => {
                    rec.revoked_at = Some(now);
                    tx.put_pat(&digest, &rec)?;
                    Ok(Some(rec.prefix))
                }
                _ => Ok(None),
            }
        })?;
        match revoked {
            Some(prefix) => {
                self.emit_pat(EventKind::PatRevoked, now, user.as_str(), &prefix, None);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Revokes every live personal access token of `user_id` (for a host
    /// that ends them on a password change); returns how many.
    pub fn revoke_user_pats(&self, user_id: &str) -> Result<u64> {
        let user = UserId::new(user_id)?;
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let revoked = self.store.write(move |tx| {
            let mut revoked = Vec::new();
            for id in tx.user_pats(&owner)? {
                let Some(digest) = tx.pat_digest(&id)? else {
                    continue;
                };
                match tx.pat(&digest)? {
                    Some(mut rec) if rec.user_id == owner && check_usable(&rec, now).is_ok() => {
                        rec.revoked_at = Some(now);
                        tx.put_pat(&digest, &rec)?;
                        revoked.push(rec.prefix);
                    }
                    _ => {}
                }
            }
            Ok(revoked)
        })?;
        for prefix in &revoked {
            self.emit_pat(EventKind::PatRevoked, now, user.as_str(), prefix, None);
        }
        Ok(revoked.len() as u64)
    }

    /// Revokes the token itself, for whoever presents it (RFC 7009): no
    /// owner or id needed, as a leaked token should die at the hands of
    /// anyone who finds it. Returns true when a live token was revoked;
    /// a malformed, unknown, expired or revoked one is false, not an error.
    pub fn revoke_pat_token(&self, token: &str) -> Result<bool> {
        let now = self.clock.now();
        match self.revoke_by_token(token, now)? {
            TokenRevocation::Revoked(rec) => {
                self.emit_pat(EventKind::PatRevoked, now, &rec.user_id, &rec.prefix, None);
                Ok(true)
            }
            TokenRevocation::Inactive | TokenRevocation::Unknown => Ok(false),
        }
    }

    /// A secret scanner found `token` in public (at `url`, when it says):
    /// a live token of this store is revoked at once and reported as
    /// `pat_leaked`, with its display prefix and the url, never the token.
    /// Idempotent: a token already revoked changes nothing and is not
    /// reported again. The url is cut to 2048 characters, control
    /// characters dropped, as it comes from outside.
    pub fn report_leaked_pat(&self, token: &str, url: Option<&str>) -> Result<PatLeak> {
        let now = self.clock.now();
        match self.revoke_by_token(token, now)? {
            TokenRevocation::Revoked(rec) => {
                let url: Option<String> = url.map(|u| {
                    u.chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_LEAK_URL_CHARS)
                        .collect()
                });
                self.emit_leak(now, &rec.user_id, &rec.prefix, url);
                Ok(PatLeak::Revoked)
            }
            TokenRevocation::Inactive => Ok(PatLeak::Inactive),
            TokenRevocation::Unknown => Ok(PatLeak::Unknown),
        }
    }

    /// The PAT of `token` if it is live now, without touching `last_used_at`: for
    /// introspection, which is no use of the token by its holder. `None`
    /// for a token that would not verify now.
    pub(super) fn live_pat(&self, token: &str, now: i64) -> Result<Option<Pat>> {
        if pat_token::check_format(&self.pat.prefix, token).is_err() {
            return Ok(None);
        }
        let digest = self.pat.digest(token);
        let record = self.store.read(|tx| tx.pat(&digest))?;
        Ok(record
            .filter(|r| check_usable(r, now).is_ok())
            .map(Pat::from_record))
    }

    fn revoke_by_token(&self, token: &str, now: i64) -> Result<TokenRevocation> {
        if pat_token::check_format(&self.pat.prefix, token).is_err() {
            return Ok(TokenRevocation::Unknown);
        }
        let digest = self.pat.digest(token);
        // A read first: an unknown or dead token, what scanners and
        // strangers mostly send, costs no write transaction.
        match self.store.read(|tx| tx.pat(&digest))? {
            None => return Ok(TokenRevocation::Unknown),
            Some(rec) if check_usable(&rec, now).is_err() => return Ok(TokenRevocation::Inactive),
            Some(_) => {}
        }
        self.store.write(move |tx| {
            let Some(mut rec) = tx.pat(&digest)? else {
                return Ok(TokenRevocation::Unknown);
            };
            if check_usable(&rec, now).is_err() {
                return Ok(TokenRevocation::Inactive);
            }
            rec.revoked_at = Some(now);
            tx.put_pat(&digest, &rec)?;
            Ok(TokenRevocation::Revoked(rec))
        })
    }

    /// Removes expired tokens and stale tombstones; part of `purge_expired`.
    pub(crate) fn purge_pats(&self, now: i64) -> Result<u64> {
        let retention = self.pat.tombstone_secs();
        self.purge_scan(
            Commit::Durable,
            |tx, after, limit| tx.pat_digests(after, limit),
            move |tx, digest| {
                let Some(rec) = tx.pat(digest)? else {
                    return Ok(false);
                };
                let gone = match (rec.expires_at, rec.revoked_at) {
                    (Some(exp), _) => exp <= now,
                    (None, Some(at)) => at.saturating_add(retention) <= now,
                    (None, None) => false,
                };
                if gone {
                    tx.delete_pat(digest, &rec)?;
                }
                Ok(gone)
            },
            || {},
        )
    }

    fn check_pat_request(
        &self,
        name: &str,
        expires_at: Option<i64>,
        scopes: &[String],
        now: i64,
    ) -> Result<()> {
        let chars = name.chars().count();
        if chars == 0 || chars > self.pat.max_name_chars || name.chars().any(char::is_control) {
            return Err(Error::config(format!(
                "the name must be 1 to {} printable characters",
                self.pat.max_name_chars
            )));
        }
        if expires_at.is_some_and(|t| t <= now) {
            return Err(Error::config("expires_at must be in the future"));
        }
        if expires_at.is_some_and(|t| t > crate::claims::MAX_NUMERIC_DATE) {
            return Err(Error::config("expires_at is beyond year 9999"));
        }
        if scopes.len() > self.pat.max_scopes {
            return Err(Error::config(format!(
                "at most {} scopes are allowed",
                self.pat.max_scopes
            )));
        }
        for s in scopes {
            let ok = (1..=self.pat.max_scope_chars).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":._-".contains(&b));
            if !ok {
                return Err(Error::config(format!(
                    "scope {s:?} must be 1 to {} characters of [a-z0-9:._-]",
                    self.pat.max_scope_chars
                )));
            }
        }
        let mut sorted: Vec<&String> = scopes.iter().collect();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != scopes.len() {
            return Err(Error::config("scopes must not repeat"));
        }
        Ok(())
    }
}

fn check_usable(rec: &PatRecord, now: i64) -> Result<()> {
    if rec.revoked_at.is_some() {
        return Err(Error::PatRevoked("the token was revoked".into()));
    }
    if rec.expires_at.is_some_and(|t| t <= now) {
        return Err(Error::PatExpired("the token has expired".into()));
    }
    Ok(())
}

fn live_record(tx: &dyn WriteTx, id: &Id16, now: i64) -> Result<Option<PatRecord>> {
    let Some(digest) = tx.pat_digest(id)? else {
        return Ok(None);
    };
    Ok(tx.pat(&digest)?.filter(|r| check_usable(r, now).is_ok()))
}
