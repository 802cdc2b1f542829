//! JOSE: compact JWS parsing and signing, keys and key sets, and the strict
//! JSON and base64url they read. This layer knows nothing of claims, token
//! types or sessions: a verified token is the payload bytes that were signed.

pub(crate) mod b64;
pub(crate) mod json;
pub mod jws;
mod keys;
mod pem;

pub use jws::Limits;
pub use keys::{Algorithm, Key, KeySet, Kid};
