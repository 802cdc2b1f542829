//! Where an engine keeps its state, and opening the store found there. The
//! engine never names a concrete store: it asks this module for one.
//!
//! Invariant: a location's `Display` and `Debug` never show the credentials
//! a PostgreSQL URL may carry.

use std::fmt;
use std::path::PathBuf;

#[cfg(feature = "postgres")]
use super::postgres::PostgresStore;
use super::redb::RedbStore;
use super::traits::Store;
#[cfg(not(feature = "postgres"))]
use crate::error::Error;
use crate::error::Result;

/// Where an engine keeps its state; see [`crate::Engine::open_location`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// redb's in-memory backend: nothing outlives the engine.
    Memory,
    /// A redb file, created if missing.
    File(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…` or `postgresql://…`);
    /// needs the `postgres` feature.
    Postgres(String),
}

impl StoreLocation {
    /// Reads a store setting: a `postgres://` or `postgresql://` URL is a
    /// PostgreSQL database, anything else a file path.
    pub fn parse(setting: &str) -> StoreLocation {
        let is_url = setting.split_once("://").is_some_and(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
        });
        if is_url {
            StoreLocation::Postgres(setting.to_owned())
        } else {
            StoreLocation::File(PathBuf::from(setting))
        }
    }
}

/// Shows a URL without its user, password and parameters, which may hold
/// credentials: `postgres://host:port/db`, a file's path, or `memory`.
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Memory => f.write_str("memory"),
            StoreLocation::File(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                write!(f, "{scheme}://{host}{path}")
            }
        }
    }
}

/// As [`fmt::Display`]: never the credentials of a URL.
impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Memory => f.write_str("Memory"),
            StoreLocation::File(path) => f.debug_tuple("File").field(path).finish(),
            StoreLocation::Postgres(_) => write!(f, "Postgres(\"{self}\")"),
        }
    }
}

/// How to open a store; see the engine's configuration for each field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    /// Share one redb file between processes.
    pub multi_process: bool,
    /// Let concurrent durable writes share one commit (redb).
    pub group_commit: bool,
}

/// A store, and whether this process is its only writer: then every change
/// to its state goes through this process, which may cache what it read.
pub(crate) struct Opened {
    pub store: Box<dyn Store>,
    pub only_writer: bool,
}

/// Opens the store at `location`. A PostgreSQL location in a build without
/// the `postgres` feature is `config_invalid`.
pub(crate) fn open(location: StoreLocation, options: OpenOptions) -> Result<Opened> {
    Ok(match location {
        StoreLocation::Memory => Opened {
            store: Box::new(RedbStore::in_memory(options.group_commit)?),
            only_writer: true,
        },
        StoreLocation::File(path) => Opened {
            store: Box::new(RedbStore::open(
                &path,
                options.multi_process,
                options.group_commit,
            )?),
            // Without multi_process, redb locks the file to this process.
            only_writer: !options.multi_process,
        },
        #[cfg(feature = "postgres")]
        StoreLocation::Postgres(url) => Opened {
            store: Box::new(PostgresStore::connect(&url)?),
            only_writer: false,
        },
        #[cfg(not(feature = "postgres"))]
        StoreLocation::Postgres(_) => {
            return Err(Error::config(
                "a PostgreSQL store is unavailable: tessera was built without the postgres feature",
            ))
        }
    })
}
