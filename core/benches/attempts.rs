//! The cost of one counted attempt (`Engine::record_attempt`), and what its
//! relaxed commit saves over a durable one.
//!
//! `cargo bench -p tessera --bench attempts` for redb;
//! `tests/pg/with-postgres.sh --fsync -- cargo bench -p tessera --features postgres --bench attempts`
//! adds PostgreSQL.
//!
//! Cases, one thread, each a fresh store:
//! - redb file, one process: the counter commits with `Durability::None`;
//! - redb file, `multi_process`: redb refuses `Durability::None` when
//!   processes share the file, so the same operation commits durably:
//!   the difference is the price of the flush;
//! - PostgreSQL: `synchronous_commit = off` for the counter's transaction.
//!
//! Beside each, a durable write of one small row on the same store
//! (`revoke_user` of a user with no session: one mark), for the price of
//! a durable commit there.
//!
//! Each figure is the median of `TESSERA_BENCH_REPEATS` (default 5) runs of
//! `TESSERA_BENCH_OPS` (default 2000) operations, with the lowest and
//! highest run beside it. Keys rotate over 1000 accounts so that every
//! operation writes.
// A benchmark stops at the first failure; unwrap says so shortest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

const SECRET: &[u8] = b"attempts-benchmark-secret-for-tessera-0123456789";

fn config(multi_process: bool) -> EngineConfig {
    let mut cfg =
        EngineConfig::new(KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap());
    cfg.multi_process = multi_process;
    cfg
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Microseconds per operation: (median, lowest, highest) over the repeats.
fn measure(mut op: impl FnMut(u64)) -> (f64, f64, f64) {
    let repeats = env_number("TESSERA_BENCH_REPEATS", 5);
    let ops = env_number("TESSERA_BENCH_OPS", 2000);
    let mut n = 0u64;
    // Warm-up: the tables exist and the first pages are allocated.
    for _ in 0..100 {
        op(n);
        n += 1;
    }
    let mut runs: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ops {
                op(n);
                n += 1;
            }
            start.elapsed().as_secs_f64() * 1e6 / ops as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    (runs[runs.len() / 2], runs[0], runs[runs.len() - 1])
}

fn report(name: &str, (median, low, high): (f64, f64, f64)) {
    println!("{name:<58} {median:>9.1} µs/op  ({low:.1} – {high:.1})");
}

fn attempt(e: &Engine, n: u64) {
    let key = format!("login:user{}@example.com|203.0.113.7", n % 1000);
    e.record_attempt(&key, u32::MAX, 900).unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let one = Engine::open(dir.path().join("one.redb"), config(false)).unwrap();
    report(
        "redb file, one process: record_attempt (Durability::None)",
        measure(|n| attempt(&one, n)),
    );
    report(
        "redb file, one process: revoke_user (durable, one row)",
        measure(|n| {
            one.revoke_user(&format!("user{}", n % 1000)).unwrap();
        }),
    );
    let shared = Engine::open(dir.path().join("shared.redb"), config(true)).unwrap();
    report(
        "redb file, multi_process: record_attempt (Immediate)",
        measure(|n| attempt(&shared, n)),
    );
    report(
        "redb file, multi_process: revoke_user (durable, one row)",
        measure(|n| {
            shared.revoke_user(&format!("user{}", n % 1000)).unwrap();
        }),
    );
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES") {
        let pg = Engine::connect(&url, config(false)).unwrap();
        report(
            "PostgreSQL: record_attempt (synchronous_commit off)",
            measure(|n| attempt(&pg, n)),
        );
        report(
            "PostgreSQL: revoke_user (durable, one row)",
            measure(|n| {
                pg.revoke_user(&format!("user{}", n % 1000)).unwrap();
            }),
        );
    }
}
