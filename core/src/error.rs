//! The one error type of the crate, and its stable machine codes.
//!
//! Invariant: every variant maps to exactly one code from [`Error::code`], and
//! codes never change once published: Python, Kotlin, Swift and HTTP bodies
//! expose the same strings. Messages are for logs; they never carry a token,
//! a secret or key material.

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
    /// The configuration, a key, or an argument is unusable. The host's fault;
    /// raised at construction or when the bad argument is passed.
    #[error("config_invalid: {0}")]
    ConfigInvalid(Detail),
}

impl Error {
    /// All stable codes, in declaration order.
    pub const CODES: [&'static str; 11] = [
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
            Error::ConfigInvalid(_) => "config_invalid",
        }
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
            Error::ConfigInvalid("".into()),
        ];
        let codes: Vec<_> = all.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
    }

    #[test]
    fn display_starts_with_code() {
        let e = Error::config("bad leeway");
        assert_eq!(e.to_string(), "config_invalid: bad leeway");
        assert_eq!(e.detail(), "bad leeway");
    }
}
