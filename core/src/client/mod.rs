//! For apps and services that hold or check tokens without the engine: the
//! stateless [`Verifier`] and the [`TokenKeeper`] that refreshes once. They
//! use jose and claims, never the engine or a store.

mod keeper;
mod verifier;

#[doc(hidden)]
pub use keeper::decode_record;
pub use keeper::{Access, Refresher, TokenKeeper};
pub use verifier::Verifier;
