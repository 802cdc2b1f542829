//! Helpers for test suites and benchmarks that need a database of their
//! own; not a stable API.

use std::str::FromStr;

use postgres::NoTls;

use super::rows::describe;
use crate::error::{Error, Result};

/// Creates an empty schema named `<prefix>_<random hex>` and returns
/// `url` with that schema as the connection's search path.
pub fn fresh_schema(url: &str, prefix: &str) -> Result<String> {
    let ok = prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok || prefix.len() > 30 {
        return Err(Error::config(
            "the schema prefix must match [a-z][a-z0-9_]*",
        ));
    }
    let mut random = [0u8; 8];
    crate::rand::fill(&mut random)?;
    let schema = format!("{prefix}_{:016x}", u64::from_be_bytes(random));
    execute(url, &format!("CREATE SCHEMA {schema}"))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

/// Runs `sql` on a connection of its own and returns the first column
/// of every row, which must be a `bigint`.
pub fn query_i64(url: &str, sql: &str) -> Result<Vec<i64>> {
    let mut client = connect(url)?;
    let rows = client
        .query(sql, &[])
        .map_err(|e| Error::storage(describe(&e)))?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(|e| Error::storage(describe(&e))))
        .collect()
}

/// Runs `sql` (one or more statements) on a connection of its own.
pub fn execute(url: &str, sql: &str) -> Result<()> {
    connect(url)?
        .batch_execute(sql)
        .map_err(|e| Error::storage(describe(&e)))
}

/// A transaction on a connection of its own, open until dropped: tests
/// use it to hold a lock while the engine runs into it.
pub struct Held(#[allow(dead_code)] postgres::Client);

/// Begins a transaction, runs `sql` in it, and keeps it open.
pub fn hold(url: &str, sql: &str) -> Result<Held> {
    let mut client = connect(url)?;
    client
        .batch_execute(&format!("BEGIN; {sql}"))
        .map_err(|e| Error::storage(describe(&e)))?;
    Ok(Held(client))
}

fn connect(url: &str) -> Result<postgres::Client> {
    let config = postgres::Config::from_str(url)
        .map_err(|e| Error::config(format!("invalid URL: {}", describe(&e))))?;
    config
        .connect(NoTls)
        .map_err(|e| Error::storage(format!("cannot connect: {}", describe(&e))))
}
