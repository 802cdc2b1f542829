#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Layers, each using only those above it in this list:
// error, clock, rand → jose → claims → store → engine; client uses jose and
// claims only.
mod claims;
mod client;
mod clock;
mod engine;
mod error;
mod jose;
mod rand;
mod store;

pub use claims::{
    Claims, FamilyId, Jti, Jwt, TokenPair, TokenType, UserId, Validation, WireValue,
    MAX_NUMERIC_DATE,
};
pub use client::{Access, Refresher, TokenKeeper, Verifier};
pub use clock::{system_clock, Clock, ManualClock, SharedClock, SystemClock};
pub use engine::{
    Attempt, Engine, EngineConfig, Event, EventKind, EventSink, Introspection, NewPat, Pat,
    PatConfig, PatLeak, Session, Stats, TokenKind, VerifiedRefresh,
};
pub use error::{code_info, CodeInfo, Error, Layer, Result, CATALOG};
pub use jose::{jws, Algorithm, Key, KeySet, Kid, Limits};
pub use store::{StoreLocation, StoreStats};

/// The personal access token format, for tools and secret scanners that
/// check a token offline.
pub mod pat {
    pub use crate::engine::pat_token::{check_format, CHECKSUM_CHARS, SECRET_CHARS};
    pub use crate::engine::{
        is_unrestricted, missing_scopes, NewPat, Pat, PatConfig, UNRESTRICTED_SCOPE,
    };
}

/// Hooks for tests, fuzzing and tools; not a stable API.
#[doc(hidden)]
pub mod internal {
    pub use crate::client::decode_record as decode_keeper_record;
    pub use crate::engine::pat_token::codec as pat_codec;
    #[cfg(feature = "postgres")]
    pub use crate::store::postgres::testing as postgres_testing;
    pub use crate::store::redb::decode_any as decode_record;

    /// Strict base64url, as tokens are read and written.
    pub mod base64url {
        pub use crate::jose::b64::{decode, encode};
    }

    /// What [`parse_json_object`] returns: the members left in the map and
    /// the named members' values, or the reason the document was refused.
    pub type JsonOutcome = Result<
        (
            serde_json::Map<String, serde_json::Value>,
            Vec<Option<serde_json::Value>>,
        ),
        &'static str,
    >;

    /// Parses `bytes` as one strict JSON object under `limits`, reading the
    /// top-level members `names` into the second element, in order.
    pub fn parse_json_object(bytes: &[u8], limits: &crate::Limits, names: &[&str]) -> JsonOutcome {
        let mut slots = vec![None; names.len()];
        let map = crate::jose::json::parse_object_into(bytes, limits.json(), names, &mut slots)?;
        Ok((
            map,
            slots
                .into_iter()
                .map(|s| s.map(crate::jose::json::Slot::into_value))
                .collect(),
        ))
    }
}
