//! Storage: the boundary the engine writes against, the records it keeps,
//! and the stores behind it (redb, and PostgreSQL with the `postgres`
//! feature). This layer knows nothing of tokens, claims or keys.

mod location;
mod process_local;
pub(crate) mod records;
mod traits;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod redb;

pub use location::StoreLocation;
pub(crate) use location::{open, OpenOptions};
pub(crate) use process_local::ProcessLocal;
pub use traits::StoreStats;
pub(crate) use traits::{Output, ReadTx, Store, WriteOp, WriteTx};
