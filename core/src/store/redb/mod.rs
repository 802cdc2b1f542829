//! The embedded store on redb: one file (or redb's in-memory backend).

mod file_backend;
mod format;
mod group_commit;
mod store;
mod tx;

#[doc(hidden)]
pub use format::decode_any;
pub(crate) use store::RedbStore;
