//! The one place errors cross the boundary, in both directions: core errors
//! out to Kotlin and Swift, and a foreign refresher's errors back in.
//!
//! Invariant: each case is one stable code of `tessera::Error`, under the
//! same name, and converting a code out and back in keeps it
//! (`every_code_round_trips` checks all of `tessera::Error::CODES`).

use std::fmt;

/// Everything that can go wrong in Tessera: one case per stable code.
/// Kotlin sees `TesseraException`, Swift `TesseraError`; `code()` gives the
/// code string that HTTP bodies and logs use.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum TesseraError {
    /// The token is malformed, its signature does not verify, or a claim is
    /// wrong. Usually the presenter's fault.
    TokenInvalid {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The token's `exp` (plus leeway) has passed.
    TokenExpired {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The token's `nbf` or `iat` lies in the future; usually clock skew.
    TokenNotYetValid {
        /// What was wrong, for logs.
        detail: String,
    },
    /// A refresh token was presented where an access token was expected, or
    /// the reverse.
    TokenWrongType {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The token's session was logged out.
    TokenRevoked {
        /// What was wrong, for logs.
        detail: String,
    },
    /// An already-rotated refresh token was presented again; its session is
    /// now revoked.
    RefreshReused {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The personal access token is malformed or unknown.
    PatInvalid {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The personal access token has expired.
    PatExpired {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The personal access token was revoked.
    PatRevoked {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The store failed (or, from a refresher, the server was unreachable);
    /// the operation did not take effect.
    Storage {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The system random generator failed; nothing was made or written.
    RandomFailed {
        /// What was wrong, for logs.
        detail: String,
    },
    /// The configuration, a key or an argument is unusable.
    ConfigInvalid {
        /// What was wrong, for logs.
        detail: String,
    },
}

#[uniffi::export]
impl TesseraError {
    /// The stable machine code, as `tessera::Error::code` gives it.
    pub fn code(&self) -> String {
        self.to_core().code().to_owned()
    }
}

impl TesseraError {
    fn to_core(&self) -> tessera::Error {
        use tessera::Error as E;
        match self.clone() {
            TesseraError::TokenInvalid { detail } => E::TokenInvalid(detail.into()),
            TesseraError::TokenExpired { detail } => E::TokenExpired(detail.into()),
            TesseraError::TokenNotYetValid { detail } => E::TokenNotYetValid(detail.into()),
            TesseraError::TokenWrongType { detail } => E::TokenWrongType(detail.into()),
            TesseraError::TokenRevoked { detail } => E::TokenRevoked(detail.into()),
            TesseraError::RefreshReused { detail } => E::RefreshReused(detail.into()),
            TesseraError::PatInvalid { detail } => E::PatInvalid(detail.into()),
            TesseraError::PatExpired { detail } => E::PatExpired(detail.into()),
            TesseraError::PatRevoked { detail } => E::PatRevoked(detail.into()),
            TesseraError::Storage { detail } => E::Storage(detail.into()),
            TesseraError::RandomFailed { detail } => E::Random(detail.into()),
            TesseraError::ConfigInvalid { detail } => E::ConfigInvalid(detail.into()),
        }
    }

    fn detail(&self) -> &str {
        match self {
            TesseraError::TokenInvalid { detail }
            | TesseraError::TokenExpired { detail }
            | TesseraError::TokenNotYetValid { detail }
            | TesseraError::TokenWrongType { detail }
            | TesseraError::TokenRevoked { detail }
            | TesseraError::RefreshReused { detail }
            | TesseraError::PatInvalid { detail }
            | TesseraError::PatExpired { detail }
            | TesseraError::PatRevoked { detail }
            | TesseraError::Storage { detail }
            | TesseraError::RandomFailed { detail }
            | TesseraError::ConfigInvalid { detail } => detail,
        }
    }
}

impl From<tessera::Error> for TesseraError {
    fn from(e: tessera::Error) -> Self {
        use tessera::Error as E;
        let detail = e.detail().to_owned();
        match e {
            E::TokenInvalid(_) => TesseraError::TokenInvalid { detail },
            E::TokenExpired(_) => TesseraError::TokenExpired { detail },
            E::TokenNotYetValid(_) => TesseraError::TokenNotYetValid { detail },
            E::TokenWrongType(_) => TesseraError::TokenWrongType { detail },
            E::TokenRevoked(_) => TesseraError::TokenRevoked { detail },
            E::RefreshReused(_) => TesseraError::RefreshReused { detail },
            E::PatInvalid(_) => TesseraError::PatInvalid { detail },
            E::PatExpired(_) => TesseraError::PatExpired { detail },
            E::PatRevoked(_) => TesseraError::PatRevoked { detail },
            E::Storage(_) => TesseraError::Storage { detail },
            E::Random(_) => TesseraError::RandomFailed { detail },
            E::ConfigInvalid(_) => TesseraError::ConfigInvalid { detail },
            // `tessera::Error` is non-exhaustive. A code added there fails
            // `every_code_round_trips` until it gets its own case here.
            other => TesseraError::Storage {
                detail: other.to_string(),
            },
        }
    }
}

impl From<TesseraError> for tessera::Error {
    fn from(e: TesseraError) -> Self {
        e.to_core()
    }
}

/// A foreign refresher that threw something other than a `TesseraError`
/// (an I/O exception, say): reported as `storage_error`, which keeps the
/// keeper's pair for a later try.
impl From<uniffi::UnexpectedUniFFICallbackError> for TesseraError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TesseraError::Storage {
            detail: format!("the refresher failed: {}", e.reason),
        }
    }
}

impl fmt::Display for TesseraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.detail())
    }
}

impl std::error::Error for TesseraError {}

/// One entry of the catalog of stable codes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ErrorCode {
    /// The stable machine code.
    pub code: String,
    /// The HTTP status an API answers with.
    pub http_status: u16,
    /// What it means.
    pub meaning: String,
    /// Whether the engine raises it (a `TesseraError` case) rather than
    /// only a host's HTTP layer.
    pub from_engine: bool,
}

/// Every stable code, from the core's one catalog: the engine's first.
#[uniffi::export]
pub fn error_catalog() -> Vec<ErrorCode> {
    tessera::CATALOG
        .iter()
        .map(|c| ErrorCode {
            code: c.code.to_owned(),
            http_status: c.http_status,
            meaning: c.meaning.to_owned(),
            from_engine: c.layer == tessera::Layer::Engine,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One core error per stable code, built through the public variants.
    fn core_errors() -> Vec<tessera::Error> {
        use tessera::Error as E;
        vec![
            E::TokenInvalid("d".into()),
            E::TokenExpired("d".into()),
            E::TokenNotYetValid("d".into()),
            E::TokenWrongType("d".into()),
            E::TokenRevoked("d".into()),
            E::RefreshReused("d".into()),
            E::PatInvalid("d".into()),
            E::PatExpired("d".into()),
            E::PatRevoked("d".into()),
            E::Storage("d".into()),
            E::Random("d".into()),
            E::ConfigInvalid("d".into()),
        ]
    }

    #[test]
    fn every_code_round_trips() {
        let errors = core_errors();
        let codes: Vec<&str> = errors.iter().map(tessera::Error::code).collect();
        assert_eq!(codes, tessera::Error::CODES, "a code has no case here");
        for e in errors {
            let out = TesseraError::from(e.clone());
            assert_eq!(out.code(), e.code());
            assert_eq!(out.detail(), "d");
            assert_eq!(tessera::Error::from(out), e);
        }
    }

    #[test]
    fn display_is_code_then_detail() {
        let e = TesseraError::from(tessera::Error::PatRevoked("gone".into()));
        assert_eq!(e.to_string(), "pat_revoked: gone");
    }

    #[test]
    fn unexpected_foreign_error_is_storage_error() {
        let e = TesseraError::from(uniffi::UnexpectedUniFFICallbackError::new("IOException"));
        assert_eq!(e.code(), "storage_error");
    }
}
