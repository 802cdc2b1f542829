//! The PostgreSQL store (feature `postgres`), for sites that span hosts.

mod rows;
mod schema;
mod store;
pub mod testing;

pub(crate) use store::PostgresStore;
