//! The stateless verifier: public keys (often from the server's JWKS) and
//! validation rules, no database. Mobile apps and services that only check
//! tokens use it.
//!
//! Invariant: nothing here trusts a token before its signature verified;
//! even [`Verifier::seconds_until_expiry`] verifies first.

use std::sync::Arc;

use crate::claims::{Claims, Jwt, TokenType, Validation};
use crate::clock::{system_clock, SharedClock};
use crate::error::Result;
use crate::jose::{Key, KeySet};

/// Verifies tokens with public keys and rules, without a store.
#[derive(Debug)]
pub struct Verifier {
    /// Shared with the engine that made it, for [`crate::Engine::verifier`].
    jwt: Arc<Jwt>,
    clock: SharedClock,
}

impl Verifier {
    /// A verifier over `keys`.
    pub fn new(keys: KeySet, validation: Validation) -> Result<Self> {
        Ok(Verifier {
            jwt: Arc::new(Jwt::new(keys, validation)?),
            clock: system_clock(),
        })
    }

    /// A verifier over keys and rules an engine already holds.
    pub(crate) fn shared(jwt: Arc<Jwt>, clock: SharedClock) -> Self {
        Verifier { jwt, clock }
    }

    /// A verifier over the keys of a JWKS document.
    pub fn from_jwks(jwks: &str, validation: Validation) -> Result<Self> {
        Verifier::new(KeySet::from_jwks(jwks)?, validation)
    }

    /// A verifier over individual public keys.
    pub fn from_keys(keys: Vec<Key>, validation: Validation) -> Result<Self> {
        Verifier::new(KeySet::verify_only(keys)?, validation)
    }

    /// Replaces the clock (tests move time with [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The claim rules this verifier applies.
    pub fn validation(&self) -> &Validation {
        self.jwt.validation()
    }

    /// Verifies an access token.
    pub fn verify_access(&self, token: &str) -> Result<Claims> {
        self.verify(token, TokenType::Access)
    }

    /// Verifies a token of the expected type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims> {
        self.jwt.verify(token, Some(expected), self.clock.now())
    }

    /// Seconds until the token expires, after verifying it fully (signature
    /// and claims, either type). Negative values never occur: an expired
    /// token fails with `token_expired`.
    pub fn seconds_until_expiry(&self, token: &str) -> Result<i64> {
        let now = self.clock.now();
        let claims = self.jwt.verify(token, None, now)?;
        Ok(claims.exp - now)
    }
}
