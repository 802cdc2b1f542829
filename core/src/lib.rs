#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
mod claims;
mod clock;
mod der;
mod error;
mod json;
pub mod jws;
mod jwt;
mod keys;
mod verifier;

pub use claims::{Claims, FamilyId, Jti, TokenType, UserId, Validation, MAX_NUMERIC_DATE};
pub use clock::{system_clock, Clock, ManualClock, SharedClock, SystemClock};
pub use error::{Error, Result};
pub use jws::Limits;
pub use jwt::Jwt;
pub use keys::{Algorithm, Key, KeySet, Kid};
pub use verifier::Verifier;

/// Strict base64url, exposed for tests, fuzzing and tools.
pub mod base64url {
    pub use crate::b64::{decode, encode};
}
