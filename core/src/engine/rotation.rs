//! Starting sessions and rotating refresh tokens: issue, verification of
//! both token types, and the single-use exchange with reuse detection.
//!
//! Invariants:
//! - a refresh token is exchanged at most once, ever: the check of its
//!   state and the mark that spends it happen in one durable write
//!   transaction, so concurrent callers, threads or processes, see exactly
//!   one success;
//! - the family record is the state of every token issued for it: the
//!   current token may be exchanged, any other was exchanged already (a
//!   minted token is delivered only once its rotation commits). So a
//!   rotation reads and writes that one record; refresh records exist only
//!   for foreign (simplejwt) tokens;
//! - replaying a rotated token revokes its whole family (outside the
//!   `reuse_grace` exception for the current token's predecessor);
//! - tokens are signed before the transaction begins and verified before
//!   any store access: no store lock is held while signing or verifying;
//! - access tokens carry their family (`sid`), so `verify_access` decides
//!   revocation with one point read of the family record, even for tokens
//!   issued within the same second as a logout.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::events::EventKind;
use super::handle::Engine;
use super::session_cache::Lookup;
use super::state::{blacklisted, check_not_revoked, check_user_mark, live_family, revoke_family};
use crate::claims::{Claims, FamilyId, Jti, Jwt, TokenPair, TokenType, UserId};
use crate::error::{Error, Result};
use crate::store::records::{jti_key, Digest32, FamilyRecord, FamilyState, Id16, RevokeReason};

/// A refresh token whose signature and claims verified, not yet
/// exchanged: see [`Engine::begin_refresh`]. Only the engine makes one.
#[derive(Debug)]
pub struct VerifiedRefresh {
    claims: Claims,
    /// When it verified; the rotation is dated the same.
    now: i64,
    /// The keys and rules that verified it: only their engine may rotate it.
    verified_by: Arc<Jwt>,
}

impl VerifiedRefresh {
    /// The token's verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
}

/// What a rotation transaction decided.
enum Rotation {
    Rotated,
    Reused(Id16),
}

struct Minted {
    pair: TokenPair,
    refresh_key: Digest32,
}

impl Engine {
    /// Starts a session (a token family) for `user_id`. `extra_claims` are
    /// copied into both tokens and kept across rotations; reserved names are
    /// refused with `config_invalid`.
    pub fn issue(&self, user_id: &str, extra_claims: Map<String, Value>) -> Result<TokenPair> {
        let mut pairs = self.issue_batch(&[(user_id, extra_claims)])?;
        pairs
            .pop()
            .ok_or_else(|| Error::storage("issue produced no pair"))
    }

    /// Starts many sessions in one durable transaction: the same rules as
    /// [`Engine::issue`], one commit. Used to build large fixtures; not a
    /// stable API.
    #[doc(hidden)]
    pub fn issue_batch(&self, requests: &[(&str, Map<String, Value>)]) -> Result<Vec<TokenPair>> {
        let now = self.clock.now();
        let mut minted = Vec::with_capacity(requests.len());
        for (user_id, extra) in requests {
            let user = UserId::new(*user_id)?;
            self.jwt.validation().check_extra(extra)?;
            let family = FamilyId::random()?;
            let m = self.mint(&user, &family, extra, now)?;
            minted.push((user, family, m));
        }
        let records: Vec<_> = minted
            .iter()
            .map(|(user, family, m)| {
                let fid = family.to_bytes();
                let fam = FamilyRecord {
                    user_id: user.as_str().to_owned(),
                    created_at: now,
                    last_refreshed_at: now,
                    expires_at: m.pair.refresh_expires_at,
                    current: m.refresh_key,
                    previous: None,
                    state: FamilyState::Active,
                };
                (fid, fam)
            })
            .collect();
        self.store.write(move |tx| {
            for (fid, fam) in &records {
                tx.put_family(fid, fam)?;
            }
            Ok(())
        })?;
        Ok(minted
            .into_iter()
            .map(|(user, family, m)| {
                self.emit(
                    EventKind::SessionIssued,
                    now,
                    Some(user.as_str()),
                    Some(&family),
                    None,
                );
                m.pair
            })
            .collect())
    }

    /// Verifies an access token: signature, claims, and whether its session
    /// (or, for a token without `sid`, its user) was logged out. At most one
    /// point read of the store.
    pub fn verify_access(&self, token: &str) -> Result<Claims> {
        let now = self.clock.now();
        let result = self
            .jwt
            .verify(token, Some(TokenType::Access), now)
            .and_then(|claims| {
                self.check_session(&claims)?;
                Ok(claims)
            });
        self.report_failure(&result, now);
        result
    }

    /// That the session of an access token is live: from the cache of
    /// active sessions when it knows, else from the store.
    pub(super) fn check_session(&self, claims: &Claims) -> Result<()> {
        let (Some(cache), Some(family)) = (&self.sessions, &claims.family) else {
            return self.store.read(|tx| check_not_revoked(tx, claims));
        };
        let id = family.to_bytes();
        match cache.lookup(&id) {
            Lookup::Active => Ok(()),
            Lookup::Unknown(generation) => {
                self.store.read(|tx| check_not_revoked(tx, claims))?;
                cache.insert(id, generation);
                Ok(())
            }
        }
    }

    /// Verifies a refresh token without spending it: signature, claims, and
    /// that it could be exchanged now. A rotated token reports
    /// `refresh_reused` here without revoking anything.
    pub fn verify_refresh(&self, token: &str) -> Result<Claims> {
        let now = self.clock.now();
        let result = self
            .jwt
            .verify(token, Some(TokenType::Refresh), now)
            .and_then(|claims| {
                self.check_refresh_live(&claims)?;
                Ok(claims)
            });
        self.report_failure(&result, now);
        result
    }

    /// That a verified refresh token could be exchanged now, with one read
    /// and no write: it is the current token of a live family, or a foreign
    /// token not yet spent. A spent one is `refresh_reused`, and nothing is
    /// revoked.
    pub(super) fn check_refresh_live(&self, claims: &Claims) -> Result<()> {
        let key = jti_key(claims.jti.as_str());
        self.store.read(|tx| {
            let fid = match &claims.family {
                Some(f) => f.to_bytes(),
                None => match tx.refresh(&key)? {
                    Some(rec) => rec.family,
                    None => return check_not_revoked(tx, claims),
                },
            };
            let fam = live_family(tx, &fid)?;
            // A foreign token's record exists only once it was spent; a
            // token of ours is live only as the current one.
            if claims.family.is_none() || fam.current != key {
                return Err(Error::RefreshReused(
                    "the refresh token was already used".into(),
                ));
            }
            Ok(())
        })
    }

    /// Exchanges a refresh token for a new pair in the same family: the
    /// rotation. A token can be exchanged once; presenting it again revokes
    /// its family and fails with `refresh_reused`.
    ///
    /// A validly signed simplejwt-shaped refresh token that Tessera never
    /// issued (no `sid`) is accepted once, unless its jti is blacklisted or
    /// its user logged out everywhere after it was issued: it starts a new
    /// family and its jti is blacklisted.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let verified = self.begin_refresh(refresh_token)?;
        self.complete_refresh(verified)
    }

    /// The first half of [`Engine::refresh`]: verifies the token's signature
    /// and claims, and nothing else. A host that must check the claims
    /// before the rotation (is the token's user still active?) reads them
    /// here, then rotates with [`Engine::complete_refresh`]; the token is
    /// verified once for both, and nothing is written until the second.
    pub fn begin_refresh(&self, refresh_token: &str) -> Result<VerifiedRefresh> {
        let now = self.clock.now();
        match self
            .jwt
            .verify(refresh_token, Some(TokenType::Refresh), now)
        {
            Ok(claims) => Ok(VerifiedRefresh {
                claims,
                now,
                verified_by: Arc::clone(&self.jwt),
            }),
            Err(e) => {
                self.report(&e, now, None, None);
                Err(e)
            }
        }
    }

    /// The second half of [`Engine::refresh`]: the single-use exchange of a
    /// token [`Engine::begin_refresh`] verified, with reuse detection.
    /// `verified` is consumed, so one verification rotates at most once.
    pub fn complete_refresh(&self, verified: VerifiedRefresh) -> Result<TokenPair> {
        let VerifiedRefresh {
            claims,
            now,
            verified_by,
        } = verified;
        if !Arc::ptr_eq(&verified_by, &self.jwt) {
            return Err(Error::config(
                "this refresh token was verified by another engine",
            ));
        }
        let key = jti_key(claims.jti.as_str());
        let family = match &claims.family {
            Some(f) => f.clone(),
            None => FamilyId::random()?,
        };
        let minted = self.mint(&claims.user_id, &family, &claims.extra, now)?;
        let fid = family.to_bytes();
        let s = self.settings;
        // What the operation needs, owned: group commit may run it on
        // another thread.
        let foreign = claims.family.is_none();
        let user = claims.user_id.as_str().to_owned();
        let (iat, exp) = (claims.iat, claims.exp);
        let new_key = minted.refresh_key;
        let new_exp = minted.pair.refresh_expires_at;
        let outcome = self.store.write(move |tx| {
            if foreign {
                if let Some(rec) = tx.refresh(&key)? {
                    // Spent already: a replay of the token that started
                    // `rec.family`, or of one logged out before it started any.
                    let fam = live_family(tx, &rec.family)?;
                    revoke_family(tx, &rec.family, fam, now, RevokeReason::Reuse)?;
                    return Ok(Rotation::Reused(rec.family));
                }
                check_user_mark(tx, &user, iat)?;
                // First sight of a foreign (simplejwt) token: blacklist its
                // jti and start a family.
                tx.put_refresh(&key, &blacklisted(fid, now, iat, exp, s.leeway))?;
                tx.put_family(
                    &fid,
                    &FamilyRecord {
                        user_id: user.clone(),
                        created_at: now,
                        last_refreshed_at: now,
                        expires_at: new_exp,
                        current: new_key,
                        previous: Some(key),
                        state: FamilyState::Active,
                    },
                )?;
                return Ok(Rotation::Rotated);
            }
            let mut fam = live_family(tx, &fid)?;
            if fam.current == key {
                fam.previous = Some(key);
                fam.last_refreshed_at = now;
            } else if s.reuse_grace > 0
                && fam.previous == Some(key)
                && now.saturating_sub(fam.last_refreshed_at) <= s.reuse_grace
            {
                // A client that lost the response retries the token that
                // produced the current one. The undelivered current token
                // is superseded; the retried token stays the predecessor,
                // and its grace window (from `last_refreshed_at`, its
                // exchange) does not move.
            } else {
                // Every token of this family that we delivered was current
                // once (the signature proves we minted it, and a minted
                // token is delivered only after its rotation commits). One
                // that is current no more was exchanged: this is a replay.
                revoke_family(tx, &fid, fam, now, RevokeReason::Reuse)?;
                return Ok(Rotation::Reused(fid));
            }
            fam.current = new_key;
            fam.expires_at = new_exp;
            tx.put_family(&fid, &fam)?;
            Ok(Rotation::Rotated)
        });
        match &outcome {
            Ok(Rotation::Rotated) => {}
            // A replay revoked the family its record names.
            Ok(Rotation::Reused(fid)) => self.forget_sessions(Some(fid)),
            Err(_) => self.forget_sessions(None),
        }
        let user = Some(claims.user_id.as_str());
        match outcome {
            Ok(Rotation::Rotated) => {
                self.emit(EventKind::RefreshRotated, now, user, Some(&family), None);
                Ok(minted.pair)
            }
            Ok(Rotation::Reused(fid)) => {
                let e = Error::RefreshReused(
                    "the refresh token was already used; its session is revoked".into(),
                );
                let fam = FamilyId::from_bytes(&fid);
                self.emit(
                    EventKind::ReuseDetected,
                    now,
                    user,
                    Some(&fam),
                    Some(e.code()),
                );
                Err(e)
            }
            Err(e) => {
                self.report(&e, now, user, claims.family.as_ref());
                Err(e)
            }
        }
    }

    /// Signs a new pair for `family`.
    fn mint(
        &self,
        user: &UserId,
        family: &FamilyId,
        extra: &Map<String, Value>,
        now: i64,
    ) -> Result<Minted> {
        let s = self.settings;
        let mut claims = Claims {
            token_type: TokenType::Access,
            user_id: user.clone(),
            jti: Jti::random()?,
            exp: now.saturating_add(s.access_ttl),
            iat: Some(now),
            nbf: None,
            iss: self.jwt.validation().issuer.clone(),
            aud: self.jwt.validation().audience.iter().cloned().collect(),
            family: Some(family.clone()),
            extra: extra.clone(),
        };
        let access = self.jwt.sign(&claims)?;
        let access_expires_at = claims.exp;
        claims.token_type = TokenType::Refresh;
        claims.jti = Jti::random()?;
        claims.exp = now.saturating_add(s.refresh_ttl);
        let refresh = self.jwt.sign(&claims)?;
        let limit = self.jwt.validation().limits.max_token_bytes;
        if access.len() > limit || refresh.len() > limit {
            return Err(Error::config(format!(
                "the claims make a token longer than the {limit}-byte limit it must verify under"
            )));
        }
        Ok(Minted {
            refresh_key: jti_key(claims.jti.as_str()),
            pair: TokenPair {
                access,
                refresh,
                access_expires_at,
                refresh_expires_at: claims.exp,
            },
        })
    }
}
