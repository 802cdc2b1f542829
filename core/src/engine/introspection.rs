//! Tokens as other services see them: introspection (RFC 7662) and
//! revocation by the presenter (RFC 7009), over every kind of token the
//! engine knows (access, refresh, PAT).
//!
//! Invariants:
//! - neither call tells why a token is not active: a token fault of any
//!   kind is `None` (introspection) or a quiet no-op (revocation); only a
//!   failure of the store or the random source is an error;
//! - introspection changes nothing: it spends no refresh token, revokes no
//!   family on a replayed one, writes no `last_used_at` and reports no
//!   event;
//! - a token is active here exactly when the engine's own verification
//!   (`verify_access`, `verify_refresh`, `verify_pat`) would accept it now.

use super::handle::Engine;
use crate::claims::{Claims, TokenType};
use crate::error::{Error, Result};

/// What kind of token an introspection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token (JWT).
    Access,
    /// A refresh token (JWT).
    Refresh,
    /// A personal access token.
    Pat,
}

impl TokenKind {
    /// The `token_type` name of RFC 7662 responses: `access_token`,
    /// `refresh_token` (RFC 7009's hint values) or `pat`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
            TokenKind::Pat => "pat",
        }
    }
}

/// An active token's metadata, from [`Engine::introspect`]. Never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Introspection {
    /// Its kind.
    pub kind: TokenKind,
    /// The user it acts for.
    pub user_id: String,
    /// Expiry; `None` for a PAT without one.
    pub exp: Option<i64>,
    /// Issue time (a PAT's creation time).
    pub iat: Option<i64>,
    /// The JWT's `jti`; `None` for a PAT.
    pub jti: Option<String>,
    /// The session (`sid`) of a JWT Tessera issued.
    pub session_id: Option<String>,
    /// A PAT's scopes, as stored; empty for a JWT.
    pub scopes: Vec<String>,
}

impl Engine {
    /// Whether `token` is active now, and what it is: `Some` exactly when
    /// the engine would accept it for its use, `None` for anything else
    /// (malformed, expired, revoked, spent, unknown). Read-only.
    pub fn introspect(&self, token: &str) -> Result<Option<Introspection>> {
        let now = self.clock.now();
        if token.starts_with(&self.pat.prefix) {
            return Ok(self.live_pat(token, now)?.map(|pat| Introspection {
                kind: TokenKind::Pat,
                user_id: pat.user_id,
                exp: pat.expires_at,
                iat: Some(pat.created_at),
                jti: None,
                session_id: None,
                scopes: pat.scopes,
            }));
        }
        let Some(claims) = quiet(self.jwt.verify(token, None, now))? else {
            return Ok(None);
        };
        let kind = match claims.token_type {
            TokenType::Access => TokenKind::Access,
            TokenType::Refresh => TokenKind::Refresh,
        };
        let live = match kind {
            TokenKind::Refresh => self.check_refresh_live(&claims, now),
            _ => self.check_session(&claims),
        };
        if quiet(live)?.is_none() {
            return Ok(None);
        }
        Ok(Some(jwt_introspection(kind, claims)))
    }

    /// Revokes what `token` grants, for whoever presents it (RFC 7009):
    /// a refresh or access token ends its session, a PAT is revoked. A
    /// token that is malformed, unknown or no longer active is a no-op, so
    /// the answer tells nothing about the token. An access token without
    /// `sid` (simplejwt's) names no session and is left to expire.
    pub fn revoke_token(&self, token: &str) -> Result<()> {
        if token.starts_with(&self.pat.prefix) {
            return self.revoke_pat_token(token).map(drop);
        }
        let now = self.clock.now();
        let Some(claims) = quiet(self.jwt.verify(token, None, now))? else {
            return Ok(());
        };
        match claims.token_type {
            TokenType::Refresh => quiet(self.revoke(token)).map(drop),
            TokenType::Access => match &claims.family {
                Some(sid) => {
                    quiet(self.revoke_session(claims.user_id.as_str(), sid.as_str())).map(drop)
                }
                None => Ok(()),
            },
        }
    }
}

/// A token fault as `None`; a failure of the system stays an error.
fn quiet<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e @ (Error::Storage(_) | Error::Random(_) | Error::ConfigInvalid(_))) => Err(e),
        Err(_) => Ok(None),
    }
}

fn jwt_introspection(kind: TokenKind, claims: Claims) -> Introspection {
    Introspection {
        kind,
        user_id: claims.user_id.as_str().to_owned(),
        exp: Some(claims.exp),
        iat: claims.iat,
        jti: Some(claims.jti.as_str().to_owned()),
        session_id: claims.family.as_ref().map(|f| f.as_str().to_owned()),
        scopes: Vec::new(),
    }
}
