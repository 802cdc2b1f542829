//! The one error type of the crate, and the one catalog of stable codes:
//! every code an engine or a host integration answers with, its meaning and
//! its HTTP status.
//!
//! Invariants: every variant maps to exactly one code of [`CATALOG`], and
//! codes never change once published: Python, Kotlin, Swift, HTTP bodies and
//! the README's table expose the same strings, and tests in each compare
//! themselves with [`CATALOG`]. Messages are for logs; they never carry a
//! token, a secret or key material.

use std::borrow::Cow;

/// Detail text carried by an [`Error`]; static for the hot rejection paths.
pub type Detail = Cow<'static, str>;

/// Everything that can go wrong in Tessera.
///
/// Match on [`Error::code`] when the reason has to cross a process or
/// language boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is malformed, its signature does not verify, or a claim
    /// (issuer, audience, shape) is wrong. Usually the presenter's fault.
    #[error("token_invalid: {0}")]
    TokenInvalid(Detail),
    /// The token's `exp` (plus leeway) has passed. The client should refresh
    /// or sign in again.
    #[error("token_expired: {0}")]
    TokenExpired(Detail),
    /// The token's `nbf` or `iat` lies in the future beyond the leeway;
    /// usually clock skew between issuer and verifier.
    #[error("token_not_yet_valid: {0}")]
    TokenNotYetValid(Detail),
    /// A refresh token was presented where an access token was expected, or
    /// the reverse. The client sent the wrong token.
    #[error("token_wrong_type: {0}")]
    TokenWrongType(Detail),
    /// The token's session was logged out, or all of its user's sessions were.
    #[error("token_revoked: {0}")]
    TokenRevoked(Detail),
    /// An already-rotated refresh token was presented again. Its whole family
    /// has been revoked, because either the client or a thief holds a copy.
    #[error("refresh_reused: {0}")]
    RefreshReused(Detail),
    /// The personal access token is malformed, fails its checksum, or is
    /// unknown. The presenter's fault.
    #[error("pat_invalid: {0}")]
    PatInvalid(Detail),
    /// The personal access token is past its `expires_at`.
    #[error("pat_expired: {0}")]
    PatExpired(Detail),
    /// The personal access token was revoked by its owner.
    #[error("pat_revoked: {0}")]
    PatRevoked(Detail),
    /// The store failed (I/O, corruption, lock, unreachable server). The
    /// operation did not take effect; usually the host's or the disk's fault.
    #[error("storage_error: {0}")]
    Storage(Detail),
    /// The operating system's random generator failed, so no token id,
    /// secret or key could be made. Nothing was written; the host's fault
    /// (an exhausted or sandboxed entropy source), never the caller's.
    #[error("random_failed: {0}")]
    Random(Detail),
    /// The configuration, a key, or an argument is unusable. The host's fault;
    /// raised at construction or when the bad argument is passed.
    #[error("config_invalid: {0}")]
    ConfigInvalid(Detail),
}

impl Error {
    /// All stable codes, in declaration order.
    pub const CODES: [&'static str; 12] = [
        "token_invalid",
        "token_expired",
        "token_not_yet_valid",
        "token_wrong_type",
        "token_revoked",
        "refresh_reused",
        "pat_invalid",
        "pat_expired",
        "pat_revoked",
        "storage_error",
        "random_failed",
        "config_invalid",
    ];

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::TokenInvalid(_) => "token_invalid",
            Error::TokenExpired(_) => "token_expired",
            Error::TokenNotYetValid(_) => "token_not_yet_valid",
            Error::TokenWrongType(_) => "token_wrong_type",
            Error::TokenRevoked(_) => "token_revoked",
            Error::RefreshReused(_) => "refresh_reused",
            Error::PatInvalid(_) => "pat_invalid",
            Error::PatExpired(_) => "pat_expired",
            Error::PatRevoked(_) => "pat_revoked",
            Error::Storage(_) => "storage_error",
            Error::Random(_) => "random_failed",
            Error::ConfigInvalid(_) => "config_invalid",
        }
    }

    /// The catalog entry of this error's code: its HTTP status and meaning.
    pub fn info(&self) -> &'static CodeInfo {
        // Every variant's code is in the catalog (tested below).
        #[allow(clippy::expect_used)]
        code_info(self.code()).expect("every error code is in the catalog")
    }

    /// Whether a refresh that failed with this error means the session is
    /// over, so that a client should sign in again rather than retry:
    /// the session was revoked, its token was replayed, or it expired.
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            Error::RefreshReused(_) | Error::TokenRevoked(_) | Error::TokenExpired(_)
        )
    }

    /// The detail text, without the code prefix.
    pub fn detail(&self) -> &str {
        match self {
            Error::TokenInvalid(d)
            | Error::TokenExpired(d)
            | Error::TokenNotYetValid(d)
            | Error::TokenWrongType(d)
            | Error::TokenRevoked(d)
            | Error::RefreshReused(d)
            | Error::PatInvalid(d)
            | Error::PatExpired(d)
            | Error::PatRevoked(d)
            | Error::Storage(d)
            | Error::Random(d)
            | Error::ConfigInvalid(d) => d,
        }
    }

    pub(crate) fn invalid(detail: &'static str) -> Self {
        Error::TokenInvalid(Cow::Borrowed(detail))
    }

    pub(crate) fn config(detail: impl Into<Detail>) -> Self {
        Error::ConfigInvalid(detail.into())
    }

    pub(crate) fn storage(detail: impl Into<Detail>) -> Self {
        Error::Storage(detail.into())
    }

    pub(crate) fn random(detail: &'static str) -> Self {
        Error::Random(Cow::Borrowed(detail))
    }
}

/// Who answers with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layer {
    /// The engine: the code is an [`Error`] variant's, in every binding.
    Engine,
    /// A host integration's HTTP layer (`tessera.django`), for failures
    /// that are not the engine's (a wrong password, a malformed body).
    Http,
}

/// One entry of the catalog of stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The stable machine code.
    pub code: &'static str,
    /// The HTTP status an API answers with.
    pub http_status: u16,
    /// What it means, for people: the README's table shows it.
    pub meaning: &'static str,
    /// Who answers with it.
    pub layer: Layer,
}

const fn code(
    code: &'static str,
    http_status: u16,
    layer: Layer,
    meaning: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        http_status,
        meaning,
        layer,
    }
}

/// Every stable code: first the engine's, in the order of [`Error::CODES`],
/// then those of the HTTP layer. The single source of truth.
#[rustfmt::skip]
pub const CATALOG: &[CodeInfo] = &[
    code("token_invalid", 401, Layer::Engine, "malformed, bad signature, unknown `kid`, wrong issuer or audience"),
    code("token_expired", 401, Layer::Engine, "past `exp` (plus leeway)"),
    code("token_not_yet_valid", 401, Layer::Engine, "`nbf` or `iat` in the future beyond the leeway"),
    code("token_wrong_type", 401, Layer::Engine, "a refresh token where an access token belongs, or the reverse"),
    code("token_revoked", 401, Layer::Engine, "the session was logged out, or the user logged out everywhere"),
    code("refresh_reused", 401, Layer::Engine, "a spent refresh token was presented again; its session is now revoked"),
    code("pat_invalid", 401, Layer::Engine, "malformed, bad checksum, or unknown personal access token"),
    code("pat_expired", 401, Layer::Engine, "personal access token past its `expires_at`"),
    code("pat_revoked", 401, Layer::Engine, "personal access token revoked by its owner"),
    code("storage_error", 503, Layer::Engine, "the store failed; nothing took effect"),
    code("random_failed", 503, Layer::Engine, "the system random generator failed; nothing took effect"),
    code("config_invalid", 500, Layer::Engine, "bad configuration, key or argument"),
    code("invalid_credentials", 401, Layer::Http, "no active account with these credentials"),
    code("user_inactive", 401, Layer::Http, "the token's user is inactive"),
    code("user_not_found", 401, Layer::Http, "the token's user no longer exists"),
    code("not_authenticated", 401, Layer::Http, "no credentials were sent (a 403 where a view takes only a Django session, which has no challenge to send)"),
    code("permission_denied", 403, Layer::Http, "the credentials do not allow this request"),
    code("pat_not_allowed", 403, Layer::Http, "a personal access token cannot be used here"),
    code("not_found", 404, Layer::Http, "no such resource"),
    code("method_not_allowed", 405, Layer::Http, "the method is not allowed here"),
    code("validation_error", 400, Layer::Http, "the request body or a parameter is invalid"),
    code("too_many_attempts", 429, Layer::Http, "too many attempts from this address or for this account; retry after `Retry-After` seconds"),
    code("reauthentication_required", 403, Layer::Http, "the login behind the access token is older than the action allows; call `auth/reauthenticate/`"),
];

/// The catalog entry of `code`, if it is one.
pub fn code_info(code: &str) -> Option<&'static CodeInfo> {
    CATALOG.iter().find(|c| c.code == code)
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_listed_code() {
        let all = [
            Error::TokenInvalid("".into()),
            Error::TokenExpired("".into()),
            Error::TokenNotYetValid("".into()),
            Error::TokenWrongType("".into()),
            Error::TokenRevoked("".into()),
            Error::RefreshReused("".into()),
            Error::PatInvalid("".into()),
            Error::PatExpired("".into()),
            Error::PatRevoked("".into()),
            Error::Storage("".into()),
            Error::Random("".into()),
            Error::ConfigInvalid("".into()),
        ];
        let codes: Vec<_> = all.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
        let engine: Vec<_> = CATALOG
            .iter()
            .filter(|c| c.layer == Layer::Engine)
            .map(|c| c.code)
            .collect();
        assert_eq!(engine, Error::CODES, "the catalog's engine codes");
        for e in &all {
            assert_eq!(e.info().code, e.code());
        }
    }

    #[test]
    fn catalog_codes_are_unique_snake_case_with_real_statuses() {
        for (i, c) in CATALOG.iter().enumerate() {
            assert!(
                c.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                c.code
            );
            assert!((400..600).contains(&c.http_status), "{}", c.code);
            assert!(!c.meaning.is_empty(), "{}", c.code);
            assert!(
                CATALOG[..i].iter().all(|o| o.code != c.code),
                "{} twice",
                c.code
            );
        }
        assert_eq!(code_info("token_expired").map(|c| c.http_status), Some(401));
        assert_eq!(code_info("no_such_code"), None);
    }

    #[test]
    fn only_the_end_of_a_session_ends_it() {
        let ending = ["refresh_reused", "token_revoked", "token_expired"];
        for code in Error::CODES {
            let e = from_code(code);
            assert_eq!(e.ends_session(), ending.contains(&code), "{code}");
        }
    }

    fn from_code(code: &str) -> Error {
        let d = || "".into();
        match code {
            "token_invalid" => Error::TokenInvalid(d()),
            "token_expired" => Error::TokenExpired(d()),
            "token_not_yet_valid" => Error::TokenNotYetValid(d()),
            "token_wrong_type" => Error::TokenWrongType(d()),
            "token_revoked" => Error::TokenRevoked(d()),
            "refresh_reused" => Error::RefreshReused(d()),
            "pat_invalid" => Error::PatInvalid(d()),
            "pat_expired" => Error::PatExpired(d()),
            "pat_revoked" => Error::PatRevoked(d()),
            "storage_error" => Error::Storage(d()),
            "random_failed" => Error::Random(d()),
            _ => Error::ConfigInvalid(d()),
        }
    }

    #[test]
    fn display_starts_with_code() {
        let e = Error::config("bad leeway");
        assert_eq!(e.to_string(), "config_invalid: bad leeway");
        assert_eq!(e.detail(), "bad leeway");
    }
}
