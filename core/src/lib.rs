#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
mod claims;
mod clock;
mod der;
mod engine;
mod error;
mod events;
mod json;
pub mod jws;
mod jwt;
mod keeper;
mod keys;
pub mod pat;
mod records;
mod sessions;
mod store;
mod verifier;

pub use claims::{Claims, FamilyId, Jti, TokenType, UserId, Validation, MAX_NUMERIC_DATE};
pub use clock::{system_clock, Clock, ManualClock, SharedClock, SystemClock};
pub use engine::{Engine, EngineConfig, Session, Stats, TokenPair};
pub use error::{Error, Result};
pub use events::{Event, EventKind, EventSink};
#[doc(hidden)]
pub use json::differential as json_differential;
pub use jws::Limits;
pub use jwt::Jwt;
#[doc(hidden)]
pub use keeper::decode_record as decode_keeper_record;
pub use keeper::{Access, Refresher, TokenKeeper};
pub use keys::{Algorithm, Key, KeySet, Kid};
pub use pat::{NewPat, Pat, PatConfig};
pub use records::decode_any as decode_record;
#[cfg(feature = "postgres")]
#[doc(hidden)]
pub use store::postgres::testing as postgres_testing;
pub use store::{StoreLocation, StoreStats};
pub use verifier::Verifier;

/// Strict base64url, exposed for tests, fuzzing and tools.
pub mod base64url {
    pub use crate::b64::{decode, encode};
}
