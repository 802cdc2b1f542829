//! Durable rotations per second with 1, 4, 16 and 32 threads, with and
//! without group commit, in one run; p50/p99 latency per rotation; and the
//! fsync time of the disk under test.
//!
//! `cargo bench -p tessera --bench group_commit`
//!
//! Criterion measures one operation at a time; this needs whole-run
//! throughput across threads and a latency distribution, so it is a plain
//! timed harness. `TESSERA_BENCH_SECONDS` sets each cell's length (default 5).
//! Each file first holds `TESSERA_BENCH_SESSIONS` other sessions (default
//! 100,000), so that the rotating sessions' records lie on pages of their
//! own, as they would on a site with many users, not on a few shared ones.
//! `TESSERA_BENCH_CELL=multi,group,threads` (e.g. `false,true,32`) runs only
//! that cell, for profiling.
// A test program: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::fill;
use serde_json::Map;
use tessera::{Algorithm, Engine, EngineConfig, Key, KeySet};

fn engine(path: &std::path::Path, group_commit: bool, multi_process: bool) -> Engine {
    let key = Key::hmac(
        Algorithm::HS256,
        b"group-commit-bench-secret-0123456789abcdef",
    )
    .unwrap();
    let mut cfg = EngineConfig::new(KeySet::new(key).unwrap());
    cfg.group_commit = group_commit;
    cfg.multi_process = multi_process;
    Engine::open(path, cfg).unwrap()
}

struct Cell {
    per_second: f64,
    /// Rotations per write transaction: the mean batch.
    per_commit: f64,
    /// The mean time between commits: as the leader runs its batches back
    /// to back, one batch's duration.
    commit_time: Duration,
    p50: Duration,
    p99: Duration,
}

fn run(e: &Arc<Engine>, threads: usize, length: Duration) -> Cell {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (e, b) = (e.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut current = e.issue(&format!("bench{i}"), Map::new()).unwrap().refresh;
                let mut lat = Vec::with_capacity(100_000);
                b.wait();
                let end = Instant::now() + length;
                while Instant::now() < end {
                    let t = Instant::now();
                    current = e.refresh(&current).unwrap().refresh;
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let commits_before = e.store_transactions();
    barrier.wait();
    let start = Instant::now();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = start.elapsed();
    let commits = (e.store_transactions() - commits_before).max(1);
    all.sort();
    // Percentile of n sorted samples, as per-mille: index ⌊n·q/1000⌋, clamped.
    let pick = |per_mille: usize| all[(all.len() * per_mille / 1000).min(all.len() - 1)];
    Cell {
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        per_commit: all.len() as f64 / commits as f64,
        commit_time: elapsed / u32::try_from(commits).unwrap_or(u32::MAX),
        p50: pick(500),
        p99: pick(990),
    }
}

fn fsync_time(dir: &std::path::Path) -> Duration {
    let mut f = std::fs::File::create(dir.join("fsync.bin")).unwrap();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        f.write_all(&[1u8; 4096]).unwrap();
        f.sync_data().unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; any other argument is a filter we ignore.
    let seconds: u64 = std::env::var("TESSERA_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let length = Duration::from_secs(seconds);
    let only: Option<(bool, bool, usize)> = std::env::var("TESSERA_BENCH_CELL").ok().map(|s| {
        let v: Vec<&str> = s.split(',').collect();
        (
            v[0].parse().unwrap(),
            v[1].parse().unwrap(),
            v[2].parse().unwrap(),
        )
    });
    let sessions: usize = std::env::var("TESSERA_BENCH_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let fsync = fsync_time(dir.path());
    println!(
        "fsync (4 KiB write + fdatasync), median of 200: {:.1} µs",
        fsync.as_secs_f64() * 1e6
    );
    println!("{seconds} s per cell, 2 cores, {sessions} other sessions in each file\n");
    println!(
        "| mode | group commit | threads | rotations/s | p50 latency | p99 latency | rotations per commit | time per commit |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut single_rate = [0.0f64; 2];
    let mut single_p50 = [Duration::ZERO; 2];
    for multi in [false, true] {
        for (gi, group) in [false, true].into_iter().enumerate() {
            if only.is_some_and(|o| (o.0, o.1) != (multi, group)) {
                continue;
            }
            let path = dir.path().join(format!("gc-{multi}-{group}.redb"));
            let e = Arc::new(engine(&path, group, multi));
            fill(&e, sessions);
            for threads in [1, 4, 16, 32] {
                if only.is_some_and(|o| o != (multi, group, threads)) {
                    continue;
                }
                let c = run(&e, threads, length);
                // Each mode's ratios are against its own 1-thread cell.
                if threads == 1 {
                    single_rate[gi] = c.per_second;
                    single_p50[gi] = c.p50;
                }
                println!(
                    "| {} | {} | {threads} | {:.0} | {:.2} ms | {:.2} ms | {:.1} | {:.2} ms |",
                    if multi {
                        "multi_process"
                    } else {
                        "single process"
                    },
                    if group { "on" } else { "off" },
                    c.per_second,
                    c.p50.as_secs_f64() * 1e3,
                    c.p99.as_secs_f64() * 1e3,
                    c.per_commit,
                    c.commit_time.as_secs_f64() * 1e3,
                );
                if threads == 32 && group && only.is_none() {
                    println!(
                        "|  |  | ratio | {:.1}× the 1-thread rate | | p99 = {:.1}× one 1-thread commit | | p99 = {:.1}× one commit at this load |",
                        c.per_second / single_rate[1],
                        c.p99.as_secs_f64() / single_p50[1].as_secs_f64(),
                        c.p99.as_secs_f64() / c.commit_time.as_secs_f64()
                    );
                }
            }
        }
    }
}
