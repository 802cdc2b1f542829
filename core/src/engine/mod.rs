//! The engine: the stateful front of the crate. It issues token pairs,
//! rotates refresh tokens exactly once, detects replays (RFC 9700 §4.14.2),
//! ends sessions, and keeps personal access tokens, all over a store.

mod config;
mod events;
mod handle;
mod introspection;
pub(crate) mod pat_token;
mod pats;
mod rotation;
mod session_cache;
mod sessions;
mod stamp_cache;
mod stamps;
mod state;
mod successor;
mod throttle;

pub use config::{EngineConfig, PatConfig};
pub use events::{Event, EventKind, EventSink};
pub use handle::{Engine, Stats};
pub use introspection::{Introspection, TokenKind};
pub use pats::{is_unrestricted, missing_scopes, NewPat, Pat, PatLeak, UNRESTRICTED_SCOPE};
pub use rotation::VerifiedRefresh;
pub use sessions::Session;
pub use throttle::Attempt;
