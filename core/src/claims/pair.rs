//! The token pair a session start or a rotation hands to the client.
//!
//! Invariant: `Debug` never shows a token.

use std::fmt;

/// An access token and a refresh token from one issue or rotation.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
    /// `exp` of the access token.
    pub access_expires_at: i64,
    /// `exp` of the refresh token.
    pub refresh_expires_at: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &"<redacted>")
            .field("refresh", &"<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}
