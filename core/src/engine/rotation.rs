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
//! - a refresh token has exactly one successor: its jtis are derived from
//!   the family and the token (`successor.rs`), the rest of it from the
//!   family record, so a presentation of the current token's predecessor
//!   less than `reuse_grace` after its exchange re-mints that very pair
//!   without writing anything;
//! - replaying a rotated token after its window, or any older token,
//!   revokes its whole family;
//! - no `exp` lies past the session's end (`session_max_lifetime`), and
//!   `auth_time` moves only with `reauthenticate`;
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
use super::state::{
    advance_family, blacklisted, check_not_revoked, check_user_mark, live_family, revoke_family,
    NextPair,
};
use crate::claims::{Claims, FamilyId, Jti, Jwt, TokenPair, TokenType, UserId};
use crate::error::{Error, Result};
use crate::store::records::{jti_key, Digest32, FamilyRecord, FamilyState, Id16, RevokeReason};
use crate::store::WriteTx;

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

/// What a refresh decided.
enum Rotation {
    /// The token was current: its successor was minted and committed, in
    /// this family (a new one for a foreign token).
    Rotated(TokenPair, FamilyId),
    /// The token was exchanged less than `reuse_grace` ago: its successor,
    /// re-minted from the family record.
    Converged(TokenPair),
    /// A replay: the family with this id is now revoked.
    Reused(Id16),
}

/// What the write transaction of a rotation decided.
enum RotateTx {
    Rotated,
    /// A racer rotated the token first: converge on its successor.
    Converge(FamilyRecord),
    Reused,
}

struct Minted {
    pair: TokenPair,
    refresh_key: Digest32,
}

/// What a pair is minted from, besides the user and the family.
struct PairState<'a> {
    extra: &'a Map<String, Value>,
    /// The pair's `iat`: issue, rotation or reauthentication time.
    iat: i64,
    auth_time: i64,
    /// The session's end, if `session_max_lifetime` is set.
    end: Option<i64>,
    /// (access, refresh) jtis.
    jtis: (Jti, Jti),
}

impl Engine {
    /// Starts a session (a token family) for `user_id`. `extra_claims` are
    /// copied into both tokens and kept across rotations; reserved names are
    /// refused with `config_invalid`. Beyond `max_sessions_per_user`, the
    /// user's least recently refreshed session is revoked in the same
    /// transaction (event `session_limit`).
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
        let end = self.session_end(now);
        let mut minted = Vec::with_capacity(requests.len());
        for (user_id, extra) in requests {
            let user = UserId::new(*user_id)?;
            self.jwt.validation().check_extra(extra)?;
            let family = FamilyId::random()?;
            let m = self.mint(
                &user,
                &family,
                &PairState {
                    extra,
                    iat: now,
                    auth_time: now,
                    end,
                    jtis: (Jti::random()?, Jti::random()?),
                },
            )?;
            minted.push((user, family, m, extra_text(extra)?));
        }
        let records: Vec<_> = minted
            .iter()
            .map(|(user, family, m, extra)| {
                let fid = family.to_bytes();
                let fam = FamilyRecord {
                    user_id: user.as_str().to_owned(),
                    created_at: now,
                    last_refreshed_at: now,
                    expires_at: m.pair.refresh_expires_at,
                    current: m.refresh_key,
                    previous: None,
                    state: FamilyState::Active,
                    auth_time: Some(now),
                    extra: Some(extra.clone()),
                };
                (fid, fam)
            })
            .collect();
        let limit = self.settings.max_sessions;
        let evicted = self.store.write(move |tx| {
            let mut evicted = Vec::new();
            for (fid, fam) in &records {
                if let Some(limit) = limit {
                    for old in make_room(tx, &fam.user_id, limit, now)? {
                        evicted.push((fam.user_id.clone(), old));
                    }
                }
                tx.put_family(fid, fam)?;
            }
            Ok(evicted)
        });
        if limit.is_some() {
            self.forget_sessions(None);
        }
        for (user, fid) in evicted? {
            let fam = FamilyId::from_bytes(&fid);
            self.emit(EventKind::SessionLimit, now, Some(&user), Some(&fam), None);
        }
        Ok(minted
            .into_iter()
            .map(|(user, family, m, _)| {
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
                self.check_refresh_live(&claims, now)?;
                Ok(claims)
            });
        self.report_failure(&result, now);
        result
    }

    /// That a verified refresh token could be exchanged now, with one read
    /// and no write: it is the current token of a live family, or its
    /// predecessor inside the convergence window, or a foreign token not
    /// yet spent. A spent one is `refresh_reused`, and nothing is revoked.
    pub(super) fn check_refresh_live(&self, claims: &Claims, now: i64) -> Result<()> {
        let key = jti_key(claims.jti.as_str());
        let grace = self.settings.reuse_grace;
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
            // token of ours is live as the current one, or converges.
            if claims.family.is_none() || (fam.current != key && !in_window(&fam, &key, now, grace))
            {
                return Err(Error::RefreshReused(
                    "the refresh token was already used".into(),
                ));
            }
            Ok(())
        })
    }

    /// Exchanges a refresh token for a new pair in the same family: the
    /// rotation. A token has exactly one successor: presented again less
    /// than `reuse_grace` after its exchange, it returns that same pair;
    /// presented later, or any older token of the family, it revokes the
    /// family and fails with `refresh_reused`.
    ///
    /// A validly signed simplejwt-shaped refresh token that Tessera never
    /// issued (no `sid`) is accepted once, unless its jti is blacklisted or
    /// its user logged out everywhere after it was issued: it starts a new
    /// family and its jti is blacklisted.
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.refresh_with(refresh_token, None)
    }

    /// [`Engine::refresh`], with the extra claims the successor carries
    /// (checked as `issue` checks them); `None` keeps the family's. A
    /// presentation inside the convergence window returns the pair the
    /// first exchange minted, its extra claims included, whatever
    /// `extra_claims` says now.
    pub fn refresh_with(
        &self,
        refresh_token: &str,
        extra_claims: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
        let verified = self.begin_refresh(refresh_token)?;
        self.complete_refresh_with(verified, extra_claims)
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
        self.complete_refresh_with(verified, None)
    }

    /// [`Engine::complete_refresh`] with new extra claims for the
    /// successor, as [`Engine::refresh_with`].
    pub fn complete_refresh_with(
        &self,
        verified: VerifiedRefresh,
        extra_claims: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
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
        if let Some(extra) = &extra_claims {
            self.jwt.validation().check_extra(extra)?;
        }
        let outcome = match &claims.family {
            None => self.rotate_foreign(&claims, now, extra_claims),
            Some(family) => self.rotate(&claims, family, now, extra_claims),
        };
        match &outcome {
            Ok(Rotation::Rotated(..) | Rotation::Converged(_)) => {}
            // A replay revoked the family its record names.
            Ok(Rotation::Reused(fid)) => self.forget_sessions(Some(fid)),
            Err(_) => self.forget_sessions(None),
        }
        let user = Some(claims.user_id.as_str());
        match outcome {
            Ok(Rotation::Rotated(pair, family)) => {
                self.emit(EventKind::RefreshRotated, now, user, Some(&family), None);
                Ok(pair)
            }
            Ok(Rotation::Converged(pair)) => Ok(pair),
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

    /// Starts a fresh credential check's worth of session without ending
    /// the session: verifies `access_token` (its session must be live),
    /// then rotates that session to a new pair whose `auth_time` is now.
    /// The refresh token that was current (still in the client's cookie or
    /// keychain) converges on this same pair within `reuse_grace`. `None`
    /// keeps the session's extra claims. The caller checks the credential
    /// (a password, say) before calling.
    pub fn reauthenticate(
        &self,
        access_token: &str,
        extra_claims: Option<Map<String, Value>>,
    ) -> Result<TokenPair> {
        let claims = self.verify_access(access_token)?;
        let family = claims
            .family
            .clone()
            .ok_or_else(|| Error::invalid("the access token names no session to reauthenticate"))?;
        if let Some(extra) = &extra_claims {
            self.jwt.validation().check_extra(extra)?;
        }
        let fid = family.to_bytes();
        let now = self.clock.now();
        // A rotation between the read and the write changes `current`: the
        // pair is then minted again from the new state, a few times at most.
        for _ in 0..REAUTH_ATTEMPTS {
            let fam = self.store.read(|tx| live_family(tx, &fid))?;
            let end = self.session_end(fam.created_at);
            check_session_end(end, now)?;
            let key = fam.current;
            let extra = match &extra_claims {
                Some(e) => e.clone(),
                None => family_extra(&fam, &claims)?,
            };
            let m = self.mint(
                &claims.user_id,
                &family,
                &PairState {
                    extra: &extra,
                    iat: now,
                    auth_time: now,
                    end,
                    jtis: self.secret.successor_jtis(&fid, &key),
                },
            )?;
            let next = NextPair {
                key: m.refresh_key,
                at: now,
                expires_at: m.pair.refresh_expires_at,
                auth_time: now,
                extra: extra_text(&extra)?,
            };
            let done = self.store.write(move |tx| {
                let fam = live_family(tx, &fid)?;
                if fam.current != key {
                    return Ok(false);
                }
                advance_family(tx, &fid, fam, key, &next)?;
                Ok(true)
            });
            if let Err(e) = &done {
                self.forget_sessions(Some(&fid));
                self.report(e, now, Some(claims.user_id.as_str()), Some(&family));
            }
            if done? {
                self.emit(
                    EventKind::Reauthenticated,
                    now,
                    Some(claims.user_id.as_str()),
                    Some(&family),
                    None,
                );
                return Ok(m.pair);
            }
        }
        Err(Error::storage(
            "the session kept rotating while it was reauthenticated; try again",
        ))
    }

    /// A refresh of a token of ours (it carries `sid`).
    fn rotate(
        &self,
        claims: &Claims,
        family: &FamilyId,
        now: i64,
        extra_claims: Option<Map<String, Value>>,
    ) -> Result<Rotation> {
        let fid = family.to_bytes();
        let key = jti_key(claims.jti.as_str());
        let grace = self.settings.reuse_grace;
        let fam = self.store.read(|tx| live_family(tx, &fid))?;
        if fam.current != key {
            if in_window(&fam, &key, now, grace) {
                return self.converge(claims, family, &key, &fam, now);
            }
            return self.revoke_for_reuse(fid, now);
        }
        let end = self.session_end(fam.created_at);
        check_session_end(end, now)?;
        let extra = match extra_claims {
            Some(e) => e,
            None => family_extra(&fam, claims)?,
        };
        let auth_time = family_auth_time(&fam, claims);
        let m = self.mint(
            &claims.user_id,
            family,
            &PairState {
                extra: &extra,
                iat: now,
                auth_time,
                end,
                jtis: self.secret.successor_jtis(&fid, &key),
            },
        )?;
        let next = NextPair {
            key: m.refresh_key,
            at: now,
            expires_at: m.pair.refresh_expires_at,
            auth_time,
            extra: extra_text(&extra)?,
        };
        let max = self.settings.session_max;
        let decided = self.store.write(move |tx| {
            let fam = live_family(tx, &fid)?;
            if fam.current == key {
                // The end again, from the record this transaction holds.
                check_session_end(max.map(|m| fam.created_at.saturating_add(m)), now)?;
                advance_family(tx, &fid, fam, key, &next)?;
                return Ok(RotateTx::Rotated);
            }
            if in_window(&fam, &key, now, grace) {
                // A concurrent exchange of the same token committed first.
                return Ok(RotateTx::Converge(fam));
            }
            revoke_family(tx, &fid, fam, now, RevokeReason::Reuse)?;
            Ok(RotateTx::Reused)
        })?;
        match decided {
            RotateTx::Rotated => Ok(Rotation::Rotated(m.pair, family.clone())),
            RotateTx::Converge(fam) => self.converge(claims, family, &key, &fam, now),
            RotateTx::Reused => Ok(Rotation::Reused(fid)),
        }
    }

    /// Re-mints the successor of the token with key `key`, `fam.previous`
    /// inside its window, from the family record: no write. A record whose
    /// current token is not that successor (rotated by a build that minted
    /// random jtis) has nothing to converge on: a replay.
    fn converge(
        &self,
        claims: &Claims,
        family: &FamilyId,
        key: &Digest32,
        fam: &FamilyRecord,
        now: i64,
    ) -> Result<Rotation> {
        let fid = family.to_bytes();
        let end = self.session_end(fam.created_at);
        check_session_end(end, now)?;
        let extra = family_extra(fam, claims)?;
        let m = self.mint(
            &claims.user_id,
            family,
            &PairState {
                extra: &extra,
                iat: fam.last_refreshed_at,
                auth_time: family_auth_time(fam, claims),
                end,
                jtis: self.secret.successor_jtis(&fid, key),
            },
        )?;
        if m.refresh_key != fam.current {
            return self.revoke_for_reuse(fid, now);
        }
        Ok(Rotation::Converged(m.pair))
    }

    /// Revokes family `fid` for a replay.
    fn revoke_for_reuse(&self, fid: Id16, now: i64) -> Result<Rotation> {
        self.store.write(move |tx| {
            let fam = live_family(tx, &fid)?;
            revoke_family(tx, &fid, fam, now, RevokeReason::Reuse)
        })?;
        Ok(Rotation::Reused(fid))
    }

    /// A refresh of a foreign (simplejwt) token: accepted once, it starts
    /// a family.
    fn rotate_foreign(
        &self,
        claims: &Claims,
        now: i64,
        extra_claims: Option<Map<String, Value>>,
    ) -> Result<Rotation> {
        let key = jti_key(claims.jti.as_str());
        let family = FamilyId::random()?;
        let extra = extra_claims.unwrap_or_else(|| claims.extra.clone());
        // Its credential check happened no later than the token's issue.
        let auth_time = claims.auth_time.or(claims.iat).unwrap_or(now);
        let m = self.mint(
            &claims.user_id,
            &family,
            &PairState {
                extra: &extra,
                iat: now,
                auth_time,
                end: self.session_end(now),
                jtis: (Jti::random()?, Jti::random()?),
            },
        )?;
        let fid = family.to_bytes();
        let leeway = self.settings.leeway;
        let user = claims.user_id.as_str().to_owned();
        let (iat, exp) = (claims.iat, claims.exp);
        let record = FamilyRecord {
            user_id: user.clone(),
            created_at: now,
            last_refreshed_at: now,
            expires_at: m.pair.refresh_expires_at,
            current: m.refresh_key,
            previous: Some(key),
            state: FamilyState::Active,
            auth_time: Some(auth_time),
            extra: Some(extra_text(&extra)?),
        };
        let reused = self.store.write(move |tx| {
            if let Some(rec) = tx.refresh(&key)? {
                // Spent already: a replay of the token that started
                // `rec.family`, or of one logged out before it started any.
                let fam = live_family(tx, &rec.family)?;
                revoke_family(tx, &rec.family, fam, now, RevokeReason::Reuse)?;
                return Ok(Some(rec.family));
            }
            check_user_mark(tx, &user, iat)?;
            // First sight of a foreign (simplejwt) token: blacklist its
            // jti and start a family.
            tx.put_refresh(&key, &blacklisted(fid, now, iat, exp, leeway))?;
            tx.put_family(&fid, &record)?;
            Ok(None)
        })?;
        Ok(match reused {
            Some(fid) => Rotation::Reused(fid),
            None => Rotation::Rotated(m.pair, family),
        })
    }

    /// The end of a session created at `created_at`, if sessions end.
    fn session_end(&self, created_at: i64) -> Option<i64> {
        self.settings
            .session_max
            .map(|max| created_at.saturating_add(max))
    }

    /// Signs a pair for `family`. No `exp` lies past the session's end.
    fn mint(&self, user: &UserId, family: &FamilyId, state: &PairState<'_>) -> Result<Minted> {
        let s = self.settings;
        let cap = |exp: i64| state.end.map_or(exp, |end| exp.min(end));
        let (access_jti, refresh_jti) = state.jtis.clone();
        let mut claims = Claims {
            token_type: TokenType::Access,
            user_id: user.clone(),
            jti: access_jti,
            exp: cap(state.iat.saturating_add(s.access_ttl)),
            iat: Some(state.iat),
            nbf: None,
            iss: self.jwt.validation().issuer.clone(),
            aud: self.jwt.validation().audience.iter().cloned().collect(),
            family: Some(family.clone()),
            auth_time: Some(state.auth_time),
            extra: state.extra.clone(),
        };
        let access = self.jwt.sign(&claims)?;
        let access_expires_at = claims.exp;
        claims.token_type = TokenType::Refresh;
        claims.jti = refresh_jti;
        claims.exp = cap(state.iat.saturating_add(s.refresh_ttl));
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

/// How many times `reauthenticate` mints again after losing a race with a
/// rotation of the same session.
const REAUTH_ATTEMPTS: usize = 3;

/// Whether the token with key `key` converges: it is the family's
/// previous token, exchanged less than `grace` seconds ago, by this
/// version (its record has `auth_time`; an older one minted random
/// successors, which cannot be re-minted).
fn in_window(fam: &FamilyRecord, key: &Digest32, now: i64, grace: i64) -> bool {
    grace > 0
        && fam.auth_time.is_some()
        && fam.previous.as_ref() == Some(key)
        && now.saturating_sub(fam.last_refreshed_at) < grace
}

/// `token_expired` at or after the session's end.
fn check_session_end(end: Option<i64>, now: i64) -> Result<()> {
    match end {
        Some(end) if now >= end => Err(Error::TokenExpired(
            "the session reached its maximum lifetime".into(),
        )),
        _ => Ok(()),
    }
}

/// The extra claims of the family's current pair: from the record, or,
/// for a record written before it kept them, the presented token's.
fn family_extra(fam: &FamilyRecord, claims: &Claims) -> Result<Map<String, Value>> {
    match &fam.extra {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::storage(format!("corrupt family record: extra claims: {e}"))),
        None => Ok(claims.extra.clone()),
    }
}

/// The session's `auth_time`: from the record, or, for a record written
/// before it kept one, the presented token's, else the session's start.
fn family_auth_time(fam: &FamilyRecord, claims: &Claims) -> i64 {
    fam.auth_time.or(claims.auth_time).unwrap_or(fam.created_at)
}

/// Extra claims as the family record keeps them.
fn extra_text(extra: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(extra)
        .map_err(|e| Error::config(format!("extra claims are not JSON: {e}")))
}

/// Revokes the user's least recently refreshed live sessions until fewer
/// than `limit` remain; returns their ids.
fn make_room(tx: &mut dyn WriteTx, user: &str, limit: u32, now: i64) -> Result<Vec<Id16>> {
    let mut live = Vec::new();
    for fid in tx.user_families(user)? {
        if let Some(fam) = tx.family(&fid)? {
            if fam.state == FamilyState::Active && fam.expires_at > now {
                live.push((fam.last_refreshed_at, fam.created_at, fid, fam));
            }
        }
    }
    live.sort_by_key(|(refreshed, created, fid, _)| (*refreshed, *created, *fid));
    // `limit` is positive (checked by the configuration); the new session
    // takes one place.
    let keep = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    let excess = live.len().saturating_sub(keep);
    let mut evicted = Vec::with_capacity(excess);
    for (_, _, fid, fam) in live.into_iter().take(excess) {
        revoke_family(tx, &fid, fam, now, RevokeReason::SessionLimit)?;
        evicted.push(fid);
    }
    Ok(evicted)
}
