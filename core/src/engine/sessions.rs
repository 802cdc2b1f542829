//! Ending and listing sessions: logout of one session, logout everywhere
//! (but one session, when asked), and the live sessions of a user.
//!
//! Invariant: each call that may end a session forgets it in the active
//! session cache after its write commits and before it returns.

use super::events::EventKind;
use super::handle::Engine;
use super::state::{blacklisted, revoke_family, NO_FAMILY};
use crate::claims::{FamilyId, TokenType, UserId};
use crate::error::{Error, Result};
use crate::store::records::{jti_key, FamilyState, Id16, RevokeReason};

/// One live session of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The family id, as carried in the tokens' `sid` claim.
    pub family_id: FamilyId,
    /// When `issue` started it.
    pub created_at: i64,
    /// When it last rotated or reauthenticated (its creation time if
    /// never): the `iat` of its current pair, and the start of the
    /// convergence window of the token before it. A converging
    /// presentation writes nothing and does not move it.
    pub last_refreshed_at: i64,
    /// When its current refresh token expires.
    pub expires_at: i64,
}

impl Engine {
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
    /// every access token issued before this call; the user's change stamp
    /// is bumped in the same transaction. Returns how many live sessions
    /// were revoked.
    pub fn revoke_user(&self, user_id: &str) -> Result<u64> {
        self.revoke_user_keeping(user_id, None)
    }

    /// [`Engine::revoke_user`], but the session `keep_session` (its id, as
    /// [`Engine::sessions`] lists it) stays live: a password change ends
    /// every other session. Tokens without a session (simplejwt's) are
    /// revoked as by `revoke_user`. A malformed id is `config_invalid`; an
    /// id that names no live session of the user keeps nothing.
    pub fn revoke_user_except(&self, user_id: &str, keep_session: &str) -> Result<u64> {
        let keep = parse_session_id(keep_session)?;
        self.revoke_user_keeping(user_id, Some(keep))
    }

    fn revoke_user_keeping(&self, user_id: &str, keep: Option<Id16>) -> Result<u64> {
        let user = UserId::new(user_id)?;
        let now = self.clock.now();
        let owner = user.as_str().to_owned();
        let count = self.store.write(move |tx| {
            let mut count = 0;
            for fid in tx.user_families(&owner)? {
                if Some(fid) == keep {
                    continue;
                }
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
            // The mark revokes only tokens without `sid`: the kept
            // session's tokens all carry theirs.
            tx.put_user_revoked(&owner, now)?;
            tx.bump_user_stamp(&owner)?;
            Ok(count)
        });
        self.forget_sessions(None);
        self.forget_stamp(Some(user.as_str()));
        let count = count?;
        self.emit(EventKind::LogoutAll, now, Some(user.as_str()), None, None);
        Ok(count)
    }

    /// Logs out one session of `user_id`, named by its id (`sid`, as
    /// [`Engine::sessions`] lists it), for an operator who holds no token of
    /// it. Returns false when the user has no such live session.
    pub fn revoke_session(&self, user_id: &str, session_id: &str) -> Result<bool> {
        let user = UserId::new(user_id)?;
        let fid = parse_session_id(session_id)?;
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
}

/// A session id as [`Engine::sessions`] lists it.
fn parse_session_id(session_id: &str) -> Result<Id16> {
    FamilyId::parse(session_id)
        .map(|f| f.to_bytes())
        .ok_or_else(|| Error::config("a session id is 32 lowercase hex digits"))
}
