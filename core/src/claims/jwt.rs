//! Signed JWTs: a [`KeySet`] and a [`Validation`] together. The engine and
//! the [`crate::Verifier`] both sit on this; it holds no state but keys.
//!
//! Invariant: a token is decoded once and its payload parsed once; claims
//! are only read from bytes whose signature verified.

use super::payload::{Claims, TokenType, Validation};
use crate::error::{Error, Result};
use crate::jose::{jws, KeySet};

/// Signs and verifies JWTs under one set of keys and rules.
#[derive(Debug)]
pub struct Jwt {
    keys: KeySet,
    validation: Validation,
}

impl Jwt {
    /// Combines keys and rules; fails with `config_invalid` on bad rules.
    pub fn new(keys: KeySet, validation: Validation) -> Result<Self> {
        validation.check()?;
        Ok(Jwt { keys, validation })
    }

    /// Combines keys and rules already checked by the caller.
    pub(crate) fn from_checked(keys: KeySet, validation: Validation) -> Self {
        Jwt { keys, validation }
    }

    /// The keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The rules.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Signs `claims` with the signing key.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let key = self
            .keys
            .signing_key()
            .ok_or_else(|| Error::config("this key set has no signing key"))?;
        jws::sign(key, &self.validation.encode(claims))
    }

    /// Verifies the signature, then the claims at time `now`.
    pub fn verify(&self, token: &str, expected: Option<TokenType>, now: i64) -> Result<Claims> {
        jws::verify_then(&self.keys, token, &self.validation.limits, |_, payload| {
            self.validation.validate(payload, expected, now)
        })
    }
}
