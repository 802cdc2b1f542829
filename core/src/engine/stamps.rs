//! Users' change stamps: a counter per user that the host bumps whenever
//! something that authenticates the user changes (deactivation, a new
//! password, deletion), and that the stamped verifications return beside
//! the token's claims. A host may then keep a user object in memory for as
//! long as the stamp it was read at is still the one the store returns:
//! exact across processes and hosts, since every one of them reads the
//! same store.
//!
//! Invariants:
//! - a stamped verification reads the stamp in the same store read as the
//!   session or PAT check, so a request still costs at most one read
//!   transaction; when the active-session cache answers, the stamp comes
//!   from the stamp cache, which exists under the same only-writer
//!   condition and is kept exact by every bump of this engine;
//! - a bump is one durable write; it forgets the user in the stamp cache
//!   after its write commits and before it returns, so every verification
//!   that begins after a bump returns sees the new stamp, in every process;
//! - `revoke_user` bumps the stamp in its own transaction.

use super::handle::Engine;
use super::pats::Pat;
use super::session_cache::Lookup;
use super::stamp_cache::StampLookup;
use super::state::check_not_revoked;
use crate::claims::{Claims, TokenType, UserId};
use crate::error::Result;

impl Engine {
    /// Records that something about `user_id` that authenticates them
    /// changed: one durable write that adds one to the user's change
    /// stamp. Returns the new stamp (the first bump returns 1).
    pub fn bump_user(&self, user_id: &str) -> Result<u64> {
        let user = UserId::new(user_id)?;
        let owner = user.as_str().to_owned();
        let stamp = self.store.write(move |tx| tx.bump_user_stamp(&owner));
        self.forget_stamp(Some(user.as_str()));
        stamp
    }

    /// [`Engine::verify_access`], and the token's user's change stamp,
    /// read in the same store read (none when both are cached).
    pub fn verify_access_stamped(&self, token: &str) -> Result<(Claims, u64)> {
        let now = self.clock.now();
        let result = self
            .jwt
            .verify(token, Some(TokenType::Access), now)
            .and_then(|claims| {
                let stamp = self.check_session_stamped(&claims)?;
                Ok((claims, stamp))
            });
        self.report_failure(&result, now);
        result
    }

    /// [`Engine::verify_pat`], and the token's user's change stamp, read
    /// in the same store read as the token's record.
    pub fn verify_pat_stamped(&self, token: &str) -> Result<(Pat, u64)> {
        let now = self.clock.now();
        let result = self.verify_pat_at(token, now, true);
        self.report_failure(&result, now);
        result
    }

    /// That the session of an access token is live, and its user's stamp:
    /// both from the caches when they know, else from one store read.
    fn check_session_stamped(&self, claims: &Claims) -> Result<u64> {
        let user = claims.user_id.as_str();
        let read = || {
            self.store.read(|tx| {
                check_not_revoked(tx, claims)?;
                tx.user_stamp(user)
            })
        };
        let (Some(sessions), Some(stamps), Some(family)) =
            (&self.sessions, &self.stamps, &claims.family)
        else {
            return read();
        };
        let id = family.to_bytes();
        // Both generations are taken before the read begins.
        let session = sessions.lookup(&id);
        let known = stamps.lookup(user);
        if let (Lookup::Active, StampLookup::Known(stamp)) = (&session, &known) {
            return Ok(*stamp);
        }
        let stamp = read()?;
        if let Lookup::Unknown(generation) = session {
            sessions.insert(id, generation);
        }
        if let StampLookup::Unknown(generation) = known {
            stamps.insert(user, stamp, generation);
        }
        Ok(stamp)
    }

    /// After a write that may have bumped `user`'s stamp (`None`: anyone's).
    pub(super) fn forget_stamp(&self, user: Option<&str>) {
        if let Some(cache) = &self.stamps {
            cache.forget(user);
        }
    }
}
