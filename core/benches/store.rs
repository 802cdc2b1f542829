//! The two stores side by side: refresh-token rotation and PAT
//! verification throughput on PostgreSQL and on a durable redb file,
//! single-threaded and with 16 threads, in one run.
//!
//! `tests/pg/with-postgres.sh --fsync -- cargo bench -p tessera --features postgres --bench store`
//!
//! Each figure is the median of `TESSERA_BENCH_REPEATS` (default 5) runs of
//! `TESSERA_BENCH_SECONDS` (default 3) seconds, with the lowest and highest
//! run beside it. Rotation: every thread keeps exchanging the refresh token
//! of its own session (one durable write transaction each). PAT
//! verification: every thread verifies tokens from a set of 1,000, after a
//! warm-up that wrote their `last_used_at`, so each verification is one
//! point read.
// A benchmark stops at the first failure; unwrap says so shortest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::Map;
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

const SECRET: &[u8] = b"store-benchmark-secret-for-tessera-0123456789";
const PATS: usize = 1000;

fn config() -> EngineConfig {
    let mut cfg =
        EngineConfig::new(KeySet::new(Key::hmac(Algorithm::HS256, SECRET).unwrap()).unwrap());
    // Verification stays a pure read for the whole run.
    cfg.pat.last_used_interval = Duration::from_secs(3600);
    cfg
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Operations per second of `threads` threads running `op` for `length`;
/// `op` gets the thread's index and its own state.
fn throughput<S: Send + 'static>(
    threads: usize,
    length: Duration,
    state: impl Fn(usize) -> S,
    op: impl Fn(&mut S) + Send + Sync + 'static,
) -> f64 {
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (op, barrier, mut s) = (op.clone(), barrier.clone(), state(i));
            std::thread::spawn(move || {
                barrier.wait();
                let end = Instant::now() + length;
                let mut n = 0u64;
                while Instant::now() < end {
                    op(&mut s);
                    n += 1;
                }
                n
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let ops: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    // Precision loss above 2^53 operations is not a concern here.
    #[allow(clippy::cast_precision_loss)]
    let ops = ops as f64;
    ops / start.elapsed().as_secs_f64()
}

struct Figure {
    median: f64,
    low: f64,
    high: f64,
}

fn repeat(times: u64, mut run: impl FnMut() -> f64) -> Figure {
    let mut runs: Vec<f64> = (0..times.max(1)).map(|_| run()).collect();
    runs.sort_by(f64::total_cmp);
    Figure {
        median: runs[runs.len() / 2],
        low: runs[0],
        high: runs[runs.len() - 1],
    }
}

fn rotation(engine: &Arc<Engine>, threads: usize, length: Duration, repeats: u64) -> Figure {
    repeat(repeats, || {
        let e = engine.clone();
        throughput(
            threads,
            length,
            |_| engine.issue("bench", Map::new()).unwrap().refresh,
            move |token: &mut String| *token = e.refresh(token).unwrap().refresh,
        )
    })
}

fn pat_verification(
    engine: &Arc<Engine>,
    tokens: &Arc<Vec<String>>,
    threads: usize,
    length: Duration,
    repeats: u64,
) -> Figure {
    repeat(repeats, || {
        let (e, t) = (engine.clone(), tokens.clone());
        throughput(
            threads,
            length,
            |i| i * 37,
            move |next: &mut usize| {
                e.verify_pat(&t[*next % t.len()]).unwrap();
                *next += 1;
            },
        )
    })
}

fn main() {
    let Ok(url) = std::env::var("TESSERA_TEST_POSTGRES") else {
        eprintln!(
            "store bench: set TESSERA_TEST_POSTGRES (run it inside tests/pg/with-postgres.sh)"
        );
        return;
    };
    let length = Duration::from_secs(env_number("TESSERA_BENCH_SECONDS", 3));
    let repeats = env_number("TESSERA_BENCH_REPEATS", 5);
    let fsync = tessera::internal::postgres_testing::query_i64(
        &url,
        "SELECT (current_setting('fsync') = 'on')::int::bigint",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pg_url = tessera::internal::postgres_testing::fresh_schema(&url, "tessera_bench").unwrap();
    let stores = [
        (
            "redb (file)",
            Arc::new(Engine::open(dir.path().join("bench.redb"), config()).unwrap()),
        ),
        (
            "PostgreSQL",
            Arc::new(Engine::connect(&pg_url, config()).unwrap()),
        ),
    ];
    println!(
        "PostgreSQL fsync: {}; {repeats} runs of {} s each; operations per second, \
         median (lowest–highest)",
        if fsync == [1] { "on" } else { "off" },
        length.as_secs()
    );
    let mut rows = Vec::new();
    for (store, engine) in &stores {
        let tokens: Arc<Vec<String>> = Arc::new(
            (0..PATS)
                .map(|i| {
                    let user = format!("user{}", i % 100);
                    engine
                        .create_pat(&user, "bench", None, vec![])
                        .unwrap()
                        .token
                })
                .collect(),
        );
        for t in tokens.iter() {
            engine.verify_pat(t).unwrap();
        }
        for threads in [1, 16] {
            let r = rotation(engine, threads, length, repeats);
            rows.push(("rotation", threads, *store, r));
            let v = pat_verification(engine, &tokens, threads, length, repeats);
            rows.push(("PAT verification", threads, *store, v));
        }
    }
    rows.sort_by_key(|(operation, threads, store, _)| (*operation != "rotation", *threads, *store));
    println!();
    println!("| operation | threads | store | ops/s, median | lowest–highest |");
    println!("|---|---:|---|---:|---:|");
    for (operation, threads, store, f) in rows {
        println!(
            "| {operation} | {threads} | {store} | {:.0} | {:.0}–{:.0} |",
            f.median, f.low, f.high
        );
    }
}
