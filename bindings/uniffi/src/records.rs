//! Records and enums that cross the boundary, and their conversions from
//! and to the core types. Defaults left as `None` mean "the core's default",
//! so no default is restated here.

use std::time::Duration;

use serde_json::Value;

use crate::error::TesseraError;

/// Everything an `Engine` is configured with. The signing key is either
/// `secret` (HS256, HS384, HS512) or `private_key_pem` (PKCS#8 PEM for
/// EdDSA, ES256, RS256).
#[derive(Debug, Clone, uniffi::Record)]
pub struct EngineConfig {
    /// The JOSE algorithm name: `HS256`, `HS384`, `HS512`, `EdDSA`, `ES256`
    /// or `RS256`.
    pub algorithm: String,
    /// The HMAC secret, at least as long as the hash (32, 48 or 64 bytes).
    #[uniffi(default)]
    pub secret: Option<Vec<u8>>,
    /// The private key as PKCS#8 PEM.
    #[uniffi(default)]
    pub private_key_pem: Option<String>,
    /// Access token lifetime (default 15 minutes).
    #[uniffi(default)]
    pub access_ttl_seconds: Option<u64>,
    /// Refresh token lifetime, renewed on each rotation (default 14 days).
    #[uniffi(default)]
    pub refresh_ttl_seconds: Option<u64>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 0).
    #[uniffi(default)]
    pub leeway_seconds: Option<u64>,
    /// Issuer written into and required of every token.
    #[uniffi(default)]
    pub issuer: Option<String>,
    /// Audience written into and required of every token.
    #[uniffi(default)]
    pub audience: Option<String>,
    /// Name of the user id claim (default `user_id`).
    #[uniffi(default)]
    pub user_id_claim: Option<String>,
    /// The convergence window: a refresh token presented again less than
    /// this long after its exchange returns the same pair (default 10,
    /// at most 60).
    #[uniffi(default)]
    pub reuse_grace_seconds: Option<u64>,
    /// Absolute session lifetime from sign-in (default none).
    #[uniffi(default)]
    pub session_max_lifetime_seconds: Option<u64>,
    /// Most live sessions per user; beyond it, sign-in ends the least
    /// recently refreshed one (default none).
    #[uniffi(default)]
    pub max_sessions_per_user: Option<u32>,
    /// Personal access token prefix (default `tsr_pat_`).
    #[uniffi(default)]
    pub pat_prefix: Option<String>,
    /// Share one database file between processes (default false).
    #[uniffi(default)]
    pub multi_process: bool,
}

impl EngineConfig {
    pub(crate) fn into_core(self) -> Result<tessera::EngineConfig, TesseraError> {
        let alg: tessera::Algorithm = self.algorithm.parse()?;
        let key = tessera::Key::from_secret_or_pem(
            alg,
            self.secret.as_deref(),
            self.private_key_pem.as_deref(),
        )?;
        let mut config = tessera::EngineConfig::new(tessera::KeySet::new(key)?);
        config.validation = Validation {
            leeway_seconds: self.leeway_seconds,
            issuer: self.issuer,
            audience: self.audience,
            user_id_claim: self.user_id_claim,
        }
        .into_core()?;
        if let Some(s) = self.access_ttl_seconds {
            config.access_ttl = Duration::from_secs(s);
        }
        if let Some(s) = self.refresh_ttl_seconds {
            config.refresh_ttl = Duration::from_secs(s);
        }
        if let Some(s) = self.reuse_grace_seconds {
            config.reuse_grace = Duration::from_secs(s);
        }
        config.session_max_lifetime = self.session_max_lifetime_seconds.map(Duration::from_secs);
        config.max_sessions_per_user = self.max_sessions_per_user;
        if let Some(prefix) = self.pat_prefix {
            config.pat.prefix = prefix;
        }
        config.multi_process = self.multi_process;
        Ok(config)
    }
}

/// The claim rules of a `Verifier`; they must match the server's.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct Validation {
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 0).
    #[uniffi(default)]
    pub leeway_seconds: Option<u64>,
    /// Required issuer; unchecked when absent.
    #[uniffi(default)]
    pub issuer: Option<String>,
    /// Required audience; when absent, a token carrying one is refused.
    #[uniffi(default)]
    pub audience: Option<String>,
    /// Name of the user id claim (default `user_id`).
    #[uniffi(default)]
    pub user_id_claim: Option<String>,
}

impl Validation {
    /// The core rules, checked.
    pub(crate) fn into_core(self) -> Result<tessera::Validation, TesseraError> {
        let defaults = tessera::Validation::default();
        Ok(tessera::Validation::from_settings(
            self.leeway_seconds.unwrap_or(defaults.leeway),
            self.issuer,
            self.audience,
            self.user_id_claim
                .as_deref()
                .unwrap_or(&defaults.user_id_claim),
        )?)
    }
}

/// An access token and a refresh token from one issue or rotation.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct TokenPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// `exp` of the access token (seconds since the epoch).
    #[uniffi(default = 0)]
    pub access_expires_at: i64,
    /// `exp` of the refresh token (seconds since the epoch).
    #[uniffi(default = 0)]
    pub refresh_expires_at: i64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tessera::TokenPair::from(self.clone()).fmt(f)
    }
}

impl From<tessera::TokenPair> for TokenPair {
    fn from(p: tessera::TokenPair) -> Self {
        TokenPair {
            access: p.access,
            refresh: p.refresh,
            access_expires_at: p.access_expires_at,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

impl From<TokenPair> for tessera::TokenPair {
    fn from(p: TokenPair) -> Self {
        tessera::TokenPair {
            access: p.access,
            refresh: p.refresh,
            access_expires_at: p.access_expires_at,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TokenType {
    /// A short-lived token presented on each request.
    Access,
    /// A long-lived, single-use token exchanged for a new pair.
    Refresh,
}

impl TryFrom<tessera::TokenType> for TokenType {
    type Error = TesseraError;

    /// A token type this binding does not know yet is refused, never
    /// passed off as another.
    fn try_from(t: tessera::TokenType) -> Result<Self, TesseraError> {
        match t {
            tessera::TokenType::Access => Ok(TokenType::Access),
            tessera::TokenType::Refresh => Ok(TokenType::Refresh),
            other => Err(TesseraError::TokenWrongType {
                detail: format!("token type {other} is unknown to this binding"),
            }),
        }
    }
}

impl From<TokenType> for tessera::TokenType {
    fn from(t: TokenType) -> Self {
        match t {
            TokenType::Access => tessera::TokenType::Access,
            TokenType::Refresh => tessera::TokenType::Refresh,
        }
    }
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Claims {
    /// Access or refresh.
    pub token_type: TokenType,
    /// The subject, from the configured user id claim.
    pub user_id: String,
    /// The token's unique id.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, when present.
    pub iat: Option<i64>,
    /// Not-before time, when present.
    pub nbf: Option<i64>,
    /// Issuer, when present.
    pub iss: Option<String>,
    /// Audiences; empty when the token carries none.
    pub aud: Vec<String>,
    /// The session (token family) id, from `sid`.
    pub family_id: Option<String>,
    /// When the session's credential check happened.
    pub auth_time: Option<i64>,
    /// Every other claim, as one JSON object.
    pub extra_json: String,
}

impl TryFrom<tessera::Claims> for Claims {
    type Error = TesseraError;

    fn try_from(c: tessera::Claims) -> Result<Self, TesseraError> {
        Ok(Claims {
            token_type: c.token_type.try_into()?,
            user_id: c.user_id.as_str().to_owned(),
            jti: c.jti.as_str().to_owned(),
            exp: c.exp,
            iat: c.iat,
            nbf: c.nbf,
            iss: c.iss,
            aud: c.aud,
            family_id: c.family.map(|f| f.as_str().to_owned()),
            auth_time: c.auth_time,
            extra_json: Value::Object(c.extra).to_string(),
        })
    }
}

/// One live session of a user.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Session {
    /// The session id, as carried in the tokens' `sid` claim.
    pub family_id: String,
    /// When it started.
    pub created_at: i64,
    /// When it last rotated.
    pub last_refreshed_at: i64,
    /// When its current refresh token expires.
    pub expires_at: i64,
}

impl From<tessera::Session> for Session {
    fn from(s: tessera::Session) -> Self {
        Session {
            family_id: s.family_id.as_str().to_owned(),
            created_at: s.created_at,
            last_refreshed_at: s.last_refreshed_at,
            expires_at: s.expires_at,
        }
    }
}

/// What `Engine.recordAttempt` decided.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Attempt {
    /// Whether this attempt may go ahead; it was counted if so.
    pub allowed: bool,
    /// Attempts counted in the current window, this one included.
    pub count: u32,
    /// Attempts still allowed in the current window.
    pub remaining: u32,
    /// Seconds until an attempt is allowed again (0 when this one was).
    pub retry_after: u64,
    /// When the current window ends (seconds since the epoch).
    pub resets_at: i64,
}

impl From<tessera::Attempt> for Attempt {
    fn from(a: tessera::Attempt) -> Self {
        Attempt {
            allowed: a.allowed,
            count: a.count,
            remaining: a.remaining,
            retry_after: a.retry_after,
            resets_at: a.resets_at,
        }
    }
}

/// A freshly created personal access token: the only value that holds it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewPat {
    /// The token's id, for listing and revocation.
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
    /// Whether it acts with its user's full rights (its scopes hold
    /// `unrestrictedScope()`).
    pub unrestricted: bool,
}

impl std::fmt::Debug for NewPat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPat")
            .field("id", &self.id)
            .field("prefix", &self.prefix)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl From<tessera::NewPat> for NewPat {
    fn from(p: tessera::NewPat) -> Self {
        NewPat {
            unrestricted: p.is_unrestricted(),
            id: p.id,
            name: p.name,
            prefix: p.prefix,
            token: p.token,
            scopes: p.scopes,
            created_at: p.created_at,
            expires_at: p.expires_at,
        }
    }
}

/// A stored personal access token's metadata; never the secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Pat {
    /// The token's id.
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
    /// Last use, to within a minute.
    pub last_used_at: Option<i64>,
    /// Whether it acts with its user's full rights (its scopes hold
    /// `unrestrictedScope()`).
    pub unrestricted: bool,
}

impl From<tessera::Pat> for Pat {
    fn from(p: tessera::Pat) -> Self {
        Pat {
            unrestricted: p.is_unrestricted(),
            id: p.id,
            user_id: p.user_id,
            name: p.name,
            prefix: p.prefix,
            scopes: p.scopes,
            created_at: p.created_at,
            expires_at: p.expires_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// The scope an unrestricted personal access token is created with: it
/// acts with its user's full rights, whatever a request requires.
#[uniffi::export]
pub fn unrestricted_scope() -> String {
    tessera::pat::UNRESTRICTED_SCOPE.to_owned()
}

/// The scopes of `required` that `pat` lacks, in their order: none when it
/// holds them all or is unrestricted. The engine's rule, for an app that
/// checks a PAT's rights itself.
#[uniffi::export]
pub fn pat_missing_scopes(pat: Pat, required: Vec<String>) -> Vec<String> {
    tessera::pat::missing_scopes(&pat.scopes, &required)
}

/// What `TokenKeeper.accessToken` gives the app.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Access {
    /// An access token valid for at least the keeper's margin.
    Token {
        /// The access token.
        token: String,
    },
    /// No session is held: the app must sign in again.
    SignInRequired {
        /// The stable code of the server's refusal when a refresh ended the
        /// session (`refresh_reused`, `token_revoked`, `token_expired`);
        /// absent after `clear()` or before any sign-in.
        reason: Option<String>,
    },
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Token { .. } => f.write_str("Token(<redacted>)"),
            Access::SignInRequired { reason } => f
                .debug_struct("SignInRequired")
                .field("reason", reason)
                .finish(),
        }
    }
}

impl From<tessera::Access> for Access {
    fn from(a: tessera::Access) -> Self {
        match a {
            tessera::Access::Token(token) => Access::Token { token },
            tessera::Access::SignInRequired { reason } => Access::SignInRequired {
                reason: reason.map(|e| e.code().to_owned()),
            },
            // An outcome this binding does not know holds no token to give.
            _ => Access::SignInRequired { reason: None },
        }
    }
}
